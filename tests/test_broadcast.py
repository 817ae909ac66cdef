"""`boucle serve --publish mqtt://...`: spectator streams through a real mosquitto (service/broadcast.py).

The service runs as a real process publishing to a real broker; a subscriber (aiomqtt) checks the
retained index and snapshot, consecutive deltas with the WebSocket's JSON, and that snapshot +
deltas rebuild exactly what a fresh snapshot says (lean row patches applied by row version).
"""

from __future__ import annotations

import asyncio
import json

import aiomqtt
import httpx
import pytest

from service import cli
from service.broadcast import parse_publish_url
from tests.mqtt_broker import running_mosquitto
from tests.service_proc import ServiceProcess
from tests.test_service_live import make_session, post_passing

PREFIX = "boucle/test"


def apply(rows: dict[str, dict], delta: dict) -> None:
    """A delta onto rows by number, as web/js/store.js does: a patch must follow the row's version."""
    for p in delta.get("rows", []):
        old = rows.get(p["number"])
        if p["v"] == 1:
            rows[p["number"]] = dict(p)
        else:
            assert old is not None and old["v"] == p["v"] - 1, (old, p)
            rows[p["number"]] = {**old, **p}
    for n in delta.get("removed", []):
        rows.pop(n, None)


async def _next(msgs, topic: str, timeout: float = 10.0) -> dict:
    async def find():
        async for m in msgs:
            if m.topic.value == topic:
                return json.loads(m.payload)
        raise AssertionError("subscription ended")

    return await asyncio.wait_for(find(), timeout)


def test_publish_url_is_checked(capsys):
    t = parse_publish_url("mqtt://127.0.0.1:1884/boucle/club")
    assert (t.host, t.port, t.prefix, t.topic("sessions")) == (
        "127.0.0.1",
        1884,
        "boucle/club",
        "boucle/club/sessions",
    )
    assert parse_publish_url("mqtt://broker/x").port == 1883
    for bad in ("http://h/x", "mqtt:///x", "mqtt://h/a/#"):
        with pytest.raises(ValueError):
            parse_publish_url(bad)
    # `boucle serve --publish tcp://...` (service/cli.py main, in this process: no new Python to import)
    try:
        code = cli.main(["serve", "--publish", "tcp://h/x", "--data", "/nonexistent"])
    except SystemExit as exc:
        code = exc.code
    assert code == 2 and "mqtt://HOST[:PORT][,HOST[:PORT]...]/PREFIX" in capsys.readouterr().err


@pytest.mark.asyncio
async def test_spectator_stream_through_the_broker(tmp_path):
    with running_mosquitto() as broker:
        extra = ["--publish", f"{broker.url}/{PREFIX}", "--publish-ws", "ws://127.0.0.1:9/"]
        with ServiceProcess(tmp_path / "data", extra=extra) as svc:
            sid, _ = make_session(svc.url)
            assert httpx.get(f"{svc.url}/api/config").json() == {
                "broker": {"urls": ["ws://127.0.0.1:9/"], "prefix": PREFIX}
            }
            base = f"{PREFIX}/sessions/{sid}"
            async with aiomqtt.Client(broker.host, broker.port) as sub:
                await sub.subscribe(f"{PREFIX}/#")
                msgs = sub.messages
                index = await _next(msgs, f"{PREFIX}/sessions")  # retained; a new session within 2 s
                while not index["sessions"]:
                    index = await _next(msgs, f"{PREFIX}/sessions")
                assert [s["id"] for s in index["sessions"]] == [sid]
                assert index["sessions"][0]["snapshot"] == f"{base}/snapshot"
                snap = await _next(msgs, f"{base}/snapshot")  # retained
                for _ in range(
                    5
                ):  # the retained one may predate the entries: the refresh (every 2-3 s) has them
                    if len(snap["rows"]) == 5:
                        break
                    snap = await _next(msgs, f"{base}/snapshot")
                assert snap["type"] == "snapshot" and len(snap["rows"]) == 5
                rows = {r["number"]: r for r in snap["rows"]}
                seq = snap["seq"]
                pid = 0
                for lap in (1, 2):
                    for n in (3, 1, 2, 5, 4):
                        pid += 1
                        assert (
                            await asyncio.to_thread(post_passing, svc.url, sid, n, lap, pid)
                        ).status_code == 200
                # deltas (coalesced, consecutive seq) until every car shows two laps
                seen_snapshots = 0
                while not all(r["laps"] == 2 for r in rows.values()):
                    m = await asyncio.wait_for(anext(aiter(msgs)), 10)
                    body = json.loads(m.payload)
                    if m.topic.value.endswith("/snapshot"):
                        seen_snapshots += 1  # a periodic refresh: at our seq or ahead of the deltas
                        continue
                    if m.topic.value != f"{base}/delta":
                        continue
                    assert body["type"] == "delta" and body["stream"] == "spectator"
                    if body["seq"] <= seq:
                        continue
                    assert body["seq"] == seq + 1
                    seq = body["seq"]
                    apply(rows, body)
                    assert all("stint_s" not in r for r in body["rows"])  # lean: absolute times only
            # a late subscriber gets the retained snapshot: the same rows we rebuilt from deltas
            async with aiomqtt.Client(broker.host, broker.port) as late:
                await late.subscribe(f"{base}/snapshot")
                fresh = await _next(late.messages, f"{base}/snapshot", timeout=15)
                while fresh["seq"] < seq:  # refreshed within SNAPSHOT_EVERY seconds
                    fresh = await _next(late.messages, f"{base}/snapshot", timeout=15)
            assert fresh["seq"] == seq
            assert {n: r for n, r in rows.items()} == {r["number"]: r for r in fresh["rows"]}
            served = httpx.get(f"{svc.url}/api/sessions/{sid}/classification").json()
            assert served["seq"] == seq and served["rows"] == fresh["rows"]


@pytest.mark.asyncio
async def test_publisher_survives_a_broker_restart(tmp_path):
    with running_mosquitto() as broker:
        with ServiceProcess(tmp_path / "data", extra=["--publish", f"{broker.url}/{PREFIX}"]) as svc:
            sid, _ = make_session(svc.url)
            base = f"{PREFIX}/sessions/{sid}"
            async with aiomqtt.Client(broker.host, broker.port) as sub:
                await sub.subscribe(f"{base}/snapshot")
                first = await _next(sub.messages, f"{base}/snapshot")
            broker.restart()  # persistence off: the retained messages are gone with it
            assert (await asyncio.to_thread(post_passing, svc.url, sid, 1, 1, 1)).status_code == 200
            for _ in range(40):  # the publisher reconnects (backoff <= 5 s) and republishes
                try:
                    async with aiomqtt.Client(broker.host, broker.port) as sub:
                        await sub.subscribe(f"{base}/snapshot")
                        snap = await _next(sub.messages, f"{base}/snapshot", timeout=2)
                        if snap["seq"] > first["seq"]:
                            break
                except (TimeoutError, aiomqtt.MqttError):
                    await asyncio.sleep(0.5)
            else:
                pytest.fail("no snapshot republished after the broker came back")
            assert {r["number"]: r["laps"] for r in snap["rows"]}["1"] == 1
