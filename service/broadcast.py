"""Spectator streams published to MQTT broker nodes, for audiences one process cannot serve.

`boucle serve --publish mqtt://H1[:P1][,H2[:P2]...]/PREFIX` taps every session's spectator stream
(the hub sees the publisher as one more client) and publishes the JSON of the WebSocket, plus the
publishing process's `epoch` in snapshots and deltas:

    PREFIX/sessions                  retained: the session index
    PREFIX/sessions/<id>/snapshot    retained: the latest snapshot, with its `seq`
    PREFIX/sessions/<id>/delta       every delta, consecutive `seq`
    PREFIX/heartbeat                 every HEARTBEAT_S: this process's epoch, server time, sessions' `seq`

The broker (mosquitto, or a NATS cluster: service/nats_cluster.py, docs/scaling.md) does the
fan-out; browsers read it directly (web/js/mqtt-feed.js). With several nodes the publisher talks to
one; when it dies the publisher moves to the next by itself. Deltas are read from the stream's own
backlog (service/hub.py) from the last `seq` a broker acknowledged, so after a failover the new
node gets the deltas the dead one may have lost, then the index and every snapshot again: `seq`
stays consecutive for subscribers on the surviving nodes, and a subscriber joining anywhere gets a
board at once. The heartbeat lets a page tell a quiet race from a dead feed (the "delayed since"
banner) and notice a delta it missed even when no other follows.

A retained snapshot is refreshed every SNAPSHOT_EVERY seconds while its stream moves, and every
QUIET_REFRESH_S for RECENT_S after it stopped: a broker that missed publications (a venue leaf node
whose uplink was cut) is current again within seconds of getting them back, quiet race or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from service.errors import Invalid
from service.fanout import Message

if TYPE_CHECKING:
    import aiomqtt

log = logging.getLogger(__name__)

SNAPSHOT_EVERY = 2.0  # seconds between retained snapshot refreshes of a moving stream
QUIET_REFRESH_S = 3.0  # ... of a stream that stopped moving less than RECENT_S ago
RECENT_S = 600.0
HEARTBEAT_S = 2.0  # a page without heartbeat for a few of these says its board is delayed
KEEPALIVE_S = 10  # MQTT keepalive: a node that stops answering is left after ~1.5 of these
PUBLISH_TIMEOUT_S = 5.0  # a delta not acknowledged by then: the node is left
# A CONNECT, or a retained message, on NATS waits for its JetStream (MQTT sessions and retained
# messages are streams): after a node dies, the streams it led elect a new leader, which takes
# seconds. Waiting that out beats hopping from node to node, where every CONNECT waits the same.
STORE_TIMEOUT_S = 20.0
RETRY_S = (0.5, 1.0, 2.0, 5.0)  # pause after a whole round of nodes failed


@dataclass(frozen=True)
class BrokerTarget:
    nodes: tuple[tuple[str, int], ...]
    prefix: str
    username: str | None = None  # the service's own broker user (write access to PREFIX/#), for every node
    password: str | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        return self.nodes[0][0]

    @property
    def port(self) -> int:
        return self.nodes[0][1]

    def topic(self, *parts: str) -> str:
        return "/".join((self.prefix, *parts)) if self.prefix else "/".join(parts)


def _node(text: str, url: str) -> tuple[str, int]:
    u = urlsplit(f"//{text}")
    try:
        port = 1883 if u.port is None else u.port
    except ValueError:
        port = 0
    if not u.hostname or not 0 < port < 65536:
        raise Invalid("publish.bad_url", url=url)
    return u.hostname, port


def parse_publish_url(url: str) -> BrokerTarget:
    """`mqtt://[USER[:PASSWORD]@]HOST[:PORT][,HOST[:PORT]...]/PREFIX` -> BrokerTarget; Invalid otherwise.

    A USER without PASSWORD takes it from BOUCLE_MQTT_PASSWORD. (Invalid is a ValueError; its text
    never repeats a password.)"""
    scheme, sep, rest = url.partition("://")
    netloc, _, path = rest.partition("/")
    user, at, hosts = netloc.rpartition("@")
    shown = f"{scheme}://{'***@' if at else ''}{hosts}/{path}"
    if scheme != "mqtt" or not sep:
        raise Invalid("publish.bad_url", url=shown)
    if any(c in path for c in "#+?"):
        raise Invalid("publish.wildcard", prefix=path)
    nodes = tuple(_node(n.strip(), shown) for n in hosts.split(","))
    name, _, password = user.partition(":")
    if name and not password:  # a user without a password in the URL (which `ps` shows): from the environment
        password = os.environ.get("BOUCLE_MQTT_PASSWORD", "")
    return BrokerTarget(
        nodes, path.strip("/"), unquote(name) or None, unquote(password) if password else None
    )


def parse_ws_urls(text: str | None) -> list[str]:
    """`--publish-ws`: the brokers' WebSocket listeners as browsers reach them, comma-separated."""
    urls = [u.strip() for u in (text or "").split(",") if u.strip()]
    for u in urls:
        p = urlsplit(u)
        if p.scheme not in ("ws", "wss") or not p.hostname:
            raise Invalid("publish.bad_ws_url", url=u)
    return urls


class _Tap:
    """Stands among a spectator stream's clients: a delta it is offered wakes the publisher."""

    def __init__(self, publisher: BrokerPublisher, sid: str) -> None:
        self.publisher, self.sid = publisher, sid

    def offer(self, msg: Message) -> None:
        self.publisher.moved(self.sid)

    def close(self) -> None:
        pass


class BrokerPublisher:
    """Publishes the spectator stream of every session of `manager` (service/sessions/manager.py Manager)."""

    def __init__(self, manager: Any, target: BrokerTarget, ws_urls: list[str] | None = None) -> None:
        self.manager = manager
        self.target = target
        self.ws_urls = list(ws_urls or [])  # the brokers' WebSocket listeners as browsers reach them
        self.taps: dict[str, _Tap] = {}
        self.acked: dict[str, int] = {}  # per session: a broker has everything up to this seq
        self.snap_at: dict[
            str, tuple[int, float]
        ] = {}  # per session: seq and time of the last retained snapshot
        self.moved_at: dict[str, float] = {}  # per session: monotonic time its stream last moved
        self.pending: set[str] = set()  # sessions with deltas not yet published
        self.wake = asyncio.Event()
        self.index_key: str | None = None
        self.index_at = 0.0
        self.node: tuple[str, int] | None = None  # the node we publish to now
        self.connects = 0  # connection attempts
        # This process's streams: their seq starts again at 0 when the service restarts, so a page
        # that sees another epoch in the heartbeat drops its board's seq and takes the new snapshot.
        self.epoch = secrets.token_hex(4)
        # As brokers list us (NATS /connz), + the attempt number: a NATS cluster holds on to the id of
        # a client whose node died, and would make a new connection with that id wait.
        self.client_id = f"boucle-publisher-{self.epoch}"
        self._task: asyncio.Task | None = None
        manager.on_new_hub.append(self.attach)

    # -- the hub side (synchronous, on the event loop) --------------------------------------------
    def attach(self, sid: str, hub: Any) -> None:
        """Tap a session's spectator stream (at start, and as soon as a session is created)."""
        if sid not in self.taps:
            tap = _Tap(self, sid)
            self.taps[sid] = tap
            hub.spectator.clients.add(tap)
            self.pending.add(sid)  # its first snapshot
            self.wake.set()

    def moved(self, sid: str) -> None:
        self.pending.add(sid)
        self.moved_at[sid] = time.monotonic()
        self.wake.set()

    def index(self) -> dict[str, Any]:
        sessions = []
        for sid in sorted(self.taps):
            s = self.manager.sessions.get(sid)
            if s is None:
                continue
            e = s.engine
            sessions.append(
                {
                    "id": sid,
                    "name": s.name,
                    "preset": e.params.get("preset"),
                    "kind": e.kind,
                    "flag": e.flag_state if e.flag_us is None else "chequered",
                    "closed": e.closed,
                    "snapshot": self.target.topic("sessions", sid, "snapshot"),
                    "delta": self.target.topic("sessions", sid, "delta"),
                }
            )
        return {"sessions": sessions}

    # -- the broker side ----------------------------------------------------------------------------
    def start(self) -> None:
        for sid, hub in list(self.manager.hubs.items()):
            self.attach(sid, hub)
        self._task = asyncio.create_task(self.run(), name="mqtt publisher")

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self.manager.on_new_hub.remove(self.attach)
        for sid, tap in self.taps.items():
            hub = self.manager.hubs.get(sid)
            if hub is not None:
                hub.spectator.clients.discard(tap)
        self.taps.clear()  # started again (a machine promoted back), every session is tapped anew
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def run(self) -> None:
        """Publish to one node at a time; when it fails, the next one at once, and so round the list."""
        import aiomqtt  # only a service that publishes loads the MQTT client

        t = self.target
        i = failed = 0
        while True:
            host, port = t.nodes[i]
            self.connects += 1
            try:
                async with aiomqtt.Client(
                    host,
                    port,
                    identifier=f"{self.client_id}-{self.connects}",
                    keepalive=KEEPALIVE_S,
                    timeout=STORE_TIMEOUT_S,
                    username=t.username,
                    password=t.password,
                ) as client:
                    failed = 0
                    self.node = (host, port)
                    log.info("publishing spectator streams to mqtt://%s:%d/%s", host, port, t.prefix)
                    await self._publish_loop(client)
            except aiomqtt.MqttError as exc:
                log.warning("mqtt publisher: node %s:%d: %s", host, port, exc)
            self.node = None
            i = (i + 1) % len(t.nodes)
            failed += 1
            if failed % len(t.nodes) == 0:  # every node refused: wait before the next round
                await asyncio.sleep(RETRY_S[min(failed // len(t.nodes) - 1, len(RETRY_S) - 1)])

    async def _publish_loop(self, client: aiomqtt.Client) -> None:
        # a new node: the deltas the last one may have lost, then the index and every snapshot
        self.index_key = None
        self.snap_at.clear()
        self.pending.update(self.taps)
        await self._deltas(client)
        await self._refresh(client)
        loop = asyncio.get_running_loop()
        next_refresh = next_beat = loop.time()
        while True:
            now = loop.time()
            if now >= next_beat:
                await self._heartbeat(client)
                next_beat = now + HEARTBEAT_S
            if now >= next_refresh:
                await self._refresh(client)
                next_refresh = now + SNAPSHOT_EVERY
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), max(0.0, min(next_beat, next_refresh) - loop.time()))
            self.wake.clear()
            await self._deltas(client)

    async def _deltas(self, client: aiomqtt.Client) -> None:
        """Each moved session's deltas after the last acknowledged seq, from its stream's backlog,
        in order."""
        todo, self.pending = self.pending, set()
        for sid in sorted(todo):
            hub = self.manager.hubs.get(sid)
            if hub is None:
                continue
            stream = hub.spectator
            acked = self.acked.get(sid)
            missed = stream.since(acked) if acked is not None else None
            if missed is None:  # never published, or older than the backlog: a snapshot covers it
                self.acked[sid] = await self._snapshot(client, sid, stream)
                continue
            # in order, without waiting for each acknowledgement (a broker across a WAN answers in
            # tens of ms); the backlog holds consecutive seqs
            topic = self.target.topic("sessions", sid, "delta")
            done = await asyncio.gather(
                *(client.publish(topic, self._stamped(m), qos=1, timeout=PUBLISH_TIMEOUT_S) for m in missed),
                return_exceptions=True,
            )
            for k, result in enumerate(done):
                if isinstance(result, BaseException):
                    raise result  # the node is left; the next one gets this delta again
                self.acked[sid] = acked + k + 1

    async def _snapshot(self, client: aiomqtt.Client, sid: str, stream: Any) -> int:
        """Publish the retained snapshot; its seq. (Deltas go on from `acked`, not from here: a
        subscriber that follows the delta topic must get every one.)"""
        snap = stream.snapshot_message()
        seq = stream.seq  # the snapshot is at the stream's seq (no await in between)
        await client.publish(
            self.target.topic("sessions", sid, "snapshot"), self._stamped(snap), qos=1, retain=True
        )
        self.snap_at[sid] = (seq, time.monotonic())
        return seq

    def _stamped(self, msg: Message) -> bytes:
        """The WebSocket's JSON plus this process's `epoch`: a retained snapshot left by the service
        before a restart (higher seq, other epoch) is then not mistaken for the current one."""
        return f'{{"epoch":"{self.epoch}",{msg.text[1:]}'.encode()

    def _recent(self, sid: str, now: float) -> bool:
        return now - self.moved_at.get(sid, -RECENT_S) < RECENT_S

    async def _refresh(self, client: aiomqtt.Client) -> None:
        """The index when it changed; retained snapshots that moved (or were never published on this
        connection), and those of recently moved streams every QUIET_REFRESH_S anyway."""
        now = time.monotonic()
        idx = json.dumps(self.index(), sort_keys=True)
        if idx != self.index_key or now - self.index_at >= QUIET_REFRESH_S:
            await client.publish(self.target.topic("sessions"), idx.encode(), qos=1, retain=True)
            self.index_key, self.index_at = idx, now
        for sid in list(self.taps):
            hub = self.manager.hubs.get(sid)
            if hub is None:
                continue
            seq, at = self.snap_at.get(sid, (-1, 0.0))
            if seq != hub.spectator.seq or (self._recent(sid, now) and now - at >= QUIET_REFRESH_S):
                await self._snapshot(client, sid, hub.spectator)

    async def _heartbeat(self, client: aiomqtt.Client) -> None:
        """Server time and the seq a broker has of each recently moved session
        (a page that is behind resyncs)."""
        now = time.monotonic()
        seqs = {sid: seq for sid, seq in sorted(self.acked.items()) if self._recent(sid, now)}
        beat = {
            "type": "heartbeat",
            "epoch": self.epoch,
            "server_ms": time.time_ns() // 1_000_000,
            "seq": seqs,
        }
        await client.publish(
            self.target.topic("heartbeat"), json.dumps(beat, separators=(",", ":")).encode(), qos=0
        )
