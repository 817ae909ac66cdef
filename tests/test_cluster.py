"""Spectator streams through a real 3-node NATS cluster and a venue leaf node (service/broadcast.py).

Real nats-server processes on 127.0.0.1 (tests/nats_helpers.py), a real `boucle serve --publish`
process, subscribers over MQTT and MQTT over WebSocket. What must hold:
- the node the service publishes to is killed mid-race: the publisher moves to another node by
  itself, a subscriber on a surviving node sees every delta with consecutive `seq` (the deltas the
  dead node never passed on are sent again), and a late subscriber on a third node, over WebSocket,
  rebuilds from the retained snapshot and deltas the board the service serves;
- the venue's leaf node loses its uplink: the local board keeps following the race, the cloud's
  stops; the uplink returns and the cloud's subscribers, connected or new, are current again.
Every wait is bounded (`until`); none measures time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import time
from pathlib import Path

import aiomqtt
import httpx
import pytest

from service.broadcast import parse_publish_url
from service.embedded_broker import free_port
from service.nats_cluster import NatsLeaf, NatsServer, nats_server_path
from tests.cut_proxy import CutProxy
from tests.nats_helpers import Board, nats_cluster, publisher_node
from tests.service_proc import ServiceProcess, until
from tests.test_service_live import make_session, post_passing

__all__ = ["nats_cluster"]  # fixture
pytestmark = pytest.mark.cluster

PREFIX = "boucle/cluster"
DOCKER = Path(__file__).resolve().parents[1] / "docker"


class Race:
    """Five cars of tests/test_service_live.py's session, lap after lap."""

    def __init__(self, url: str, sid: str) -> None:
        self.url, self.sid, self.lap, self.pid = url, sid, 0, 0

    async def laps(self, n: int) -> None:
        await asyncio.to_thread(self._laps, n)

    def _laps(self, n: int) -> None:
        with httpx.Client() as http:  # one connection, as a decoder link
            for _ in range(n):
                self.lap += 1
                for car in (3, 1, 2, 5, 4):
                    self.pid += 1
                    r = post_passing(self.url, self.sid, car, self.lap, self.pid, http)
                    assert r.status_code == 200, r.text

    def served(self) -> dict:
        return httpx.get(f"{self.url}/api/sessions/{self.sid}/classification").json()


async def current(board: Board, race: Race, timeout: float = 30.0, what: str = "board") -> None:
    """Wait until the board is what the service serves now: same seq, same rows."""

    async def same() -> bool:
        served = await asyncio.to_thread(race.served)
        return board.seq == served["seq"] and board.rows == {r["number"]: r for r in served["rows"]}

    await until(same, timeout, what)


@contextlib.asynccontextmanager
async def following(board: Board, host: str, port: int, websocket: bool = False):
    ready = asyncio.Event()
    task = asyncio.create_task(board.follow(host, port, websocket, ready))
    try:
        await asyncio.wait_for(asyncio.shield(ready.wait()), 20)
        yield board
    finally:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task


async def test_publishing_node_killed_mid_race(nats_cluster, tmp_path):
    c = nats_cluster
    with ServiceProcess(tmp_path / "data", extra=["--publish", c.publish_url(PREFIX)]) as svc:
        sid, _ = make_session(svc.url)
        race = Race(svc.url, sid)
        await until(lambda: publisher_node(c) == 0, 20, "publisher on the first node of the list")
        survivor = c.nodes[1]
        async with following(Board(PREFIX, sid), survivor.host, survivor.mqtt_port) as live:
            await race.laps(2)
            await current(live, race)
            before, gaps, snapshots = live.seq, live.gaps, live.snapshots
            c.nodes[0].kill()  # the node the service publishes to
            await race.laps(2)
            await current(live, race, what="the surviving node's subscriber after the failover")
            assert publisher_node(c) in (1, 2)
            # every delta across the failover, consecutive: no gap, no resync from a snapshot
            assert (live.gaps, live.snapshots) == (gaps, snapshots)
            after = [seq for seq in live.applied if seq > before]
            # (a busy machine may coalesce the two laps into one delta: the stream sends at most one per
            # 100 ms)
            assert after == list(range(before + 1, live.seq + 1)) and after, (before, live.applied)
            # a late spectator on the third node, over MQTT over WebSocket (/mqtt), as browsers
            third = c.nodes[2]
            async with following(Board(PREFIX, sid), third.host, third.ws_port, websocket=True) as late:
                await current(late, race, what="the late subscriber's board")
                assert late.snapshots >= 1  # it started from the retained snapshot
                await race.laps(1)
                await current(late, race, what="the late subscriber after one more lap")
                await current(live, race)
                assert late.rows == live.rows
        served = race.served()
        assert {r["number"]: r["laps"] for r in served["rows"]} == dict.fromkeys(("1", "2", "3", "4", "5"), 5)


async def test_venue_leaf_node_uplink_cut_and_restored(nats_cluster, tmp_path):
    c = nats_cluster
    hub = c.nodes[1]
    uplink = await CutProxy(hub.leaf_port).restore()
    leaf = await asyncio.to_thread(lambda: NatsLeaf([f"nats-leaf://127.0.0.1:{uplink.port}"]).start())

    def joined() -> int:
        return len(leaf.monitor("leafz").get("leafs") or [])

    try:
        await until(joined, 20, "the leaf node joined the cloud")
        publish = f"mqtt://127.0.0.1:{leaf.mqtt_port}/{PREFIX}"  # the service publishes at the venue
        with ServiceProcess(tmp_path / "data", extra=["--publish", publish]) as svc:
            sid, _ = make_session(svc.url)
            race = Race(svc.url, sid)
            cloud_node = c.nodes[2]
            async with (
                following(Board(PREFIX, sid), leaf.host, leaf.ws_port, websocket=True) as local,
                following(Board(PREFIX, sid), cloud_node.host, cloud_node.mqtt_port) as cloud,
            ):
                await race.laps(1)
                await current(local, race, what="local board")
                await current(cloud, race, what="cloud board")
                await uplink.cut()
                await until(lambda: joined() == 0, 20, "the leaf node lost its uplink")
                cut_at = cloud.seq
                await race.laps(2)
                await current(local, race, what="the local board while the uplink is down")
                assert cloud.seq == cut_at  # nothing reached the cloud
                await uplink.restore()
                await until(joined, 30, "the leaf node back on the cloud")
                await current(cloud, race, what="the cloud board after the uplink came back")
                # a spectator joining in the cloud now: the cloud's retained snapshot is current again
                first = c.nodes[0]
                async with following(Board(PREFIX, sid), first.host, first.ws_port, websocket=True) as late:
                    await current(late, race, what="a late cloud subscriber")
                await race.laps(1)
                await current(cloud, race)
                await current(local, race)
    finally:
        await uplink.cut()
        await asyncio.to_thread(leaf.close)


def _local(conf: str, store: Path, ports: dict[str, int]) -> str:
    """A deployment file (docker/nats/) made to run here: loopback only, free ports, a temporary store."""
    conf = re.sub(r"store_dir: .*", f'store_dir: "{store}"', conf)
    conf = re.sub(r"(listen|http): [\d.]+:(\d+)", lambda m: f"{m[1]}: 127.0.0.1:{ports[m[2]]}", conf)
    conf = re.sub(r"\bport: (\d+)", lambda m: f"listen: 127.0.0.1:{ports[m[1]]}", conf)
    return re.sub(r"nats-route://(nats\d):6222", lambda m: f"nats-route://127.0.0.1:{ports[m[1]]}", conf)


async def test_deployment_files_run(tmp_path):
    """docker/compose.cluster.yaml parses and names the nodes; docker/nats/cluster.conf forms a 3-node
    cluster, docker/nats/venue-leaf.conf joins it; spectators read anonymously, the service writes with
    its password, a wrong one is refused; a retained snapshot published at the venue reaches the cloud."""
    yaml = pytest.importorskip("yaml")
    if nats_server_path() is None:
        pytest.skip("nats-server is not installed")
    compose = yaml.safe_load((DOCKER / "compose.cluster.yaml").read_text())
    assert {"nats1", "nats2", "nats3", "boucle"} <= set(compose["services"])
    cmd = compose["services"]["boucle"]["command"]
    target = parse_publish_url(cmd[cmd.index("--publish") + 1])
    assert [h for h, _ in target.nodes] == ["nats1", "nats2", "nats3"] and target.username == "boucle"
    assert yaml.safe_load((DOCKER / "compose.yaml").read_text())["services"]

    env = {**os.environ, "BOUCLE_MQTT_PASSWORD": "pub-secret", "VENUE_LEAF_PASSWORD": "leaf-secret"}
    names = ("nats1", "nats2", "nats3")
    routes = {name: free_port() for name in names}
    nodes = []
    for name in names:
        node = NatsServer(name, tmp_path)
        ports = {
            "4222": node.client_port,
            "8222": node.http_port,
            "1883": node.mqtt_port,
            "8080": node.ws_port,
            "6222": routes[name],
            "7422": free_port(),
            **routes,
        }
        node.leaf_port = ports["7422"]
        node.conf_text = _local((DOCKER / "nats" / "cluster.conf").read_text(), tmp_path / name, ports)
        node.env = {**env, "NODE_NAME": name}
        nodes.append(node)
    leaf = NatsServer("venue", tmp_path)
    leaf.conf_text = _local(
        (DOCKER / "nats" / "venue-leaf.conf").read_text(),
        tmp_path / "venue",
        {"4222": leaf.client_port, "8222": leaf.http_port, "1883": leaf.mqtt_port, "8080": leaf.ws_port},
    )
    leaf.env = {**env, "CLOUD_LEAF_URL": f"nats-leaf://venue:leaf-secret@127.0.0.1:{nodes[0].leaf_port}"}
    try:
        for server in (*nodes, leaf):
            server.launch()
        deadline = time.monotonic() + 60
        for server in (*nodes, leaf):
            await asyncio.to_thread(server.wait_ready, deadline)
        await until(lambda: leaf.monitor("leafz").get("leafs"), 60, "the venue joined the cloud")
        with pytest.raises(aiomqtt.MqttError):
            async with aiomqtt.Client("127.0.0.1", leaf.mqtt_port, username="boucle", password="wrong"):
                pass
        late = Board(PREFIX, "s1")
        async with aiomqtt.Client(
            "127.0.0.1", leaf.mqtt_port, username="boucle", password="pub-secret"
        ) as pub:
            snap = {"type": "snapshot", "seq": 7, "rows": [{"number": "1", "v": 1, "laps": 3}]}
            await pub.publish(f"{PREFIX}/sessions/s1/snapshot", json.dumps(snap).encode(), qos=1, retain=True)
        async with following(late, "127.0.0.1", nodes[2].ws_port, websocket=True):  # anonymous, in the cloud
            await until(lambda: late.seq == 7, 60, "the venue's retained snapshot in the cloud")
        assert late.rows == {"1": {"number": "1", "v": 1, "laps": 3}}
    finally:
        for server in (leaf, *nodes):
            server.stop()
