"""End to end: simulator over P3 TCP -> a real `boucle serve` -> classification equals the replay.

The simulator listens like real decoders on 127.0.0.1; the service connects to them through its
API (`POST /decoders` with rtc_zero_us = the decoder's rtc_base_us), and what no loop sees
(green flag, driver changes, refuels, mechanicals) is posted to `/events` at its session time, as
race control would. The service's results must equal `boucle replay --json` of the scenario the
simulator writes for the same seed; with missed reads, the difference stays within those reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import httpx
import pytest

from simulator import model, scenario
from simulator.emit import play
from tests.mqtt_broker import running_mosquitto
from tests.service_proc import TOKEN, ServiceProcess
from tests.sim_helpers import KeptUp, post_played_line, replay, rows

REPO = Path(__file__).resolve().parents[1]
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
pytestmark = pytest.mark.timeout(90)


async def unlinked(http: httpx.AsyncClient, sid: str) -> None:
    """The service is shared by the module: a race's links stop retrying when it is over, passed or not."""
    for i in reversed(range(len((await http.get(f"/sessions/{sid}/decoders")).json()))):
        await http.delete(f"/sessions/{sid}/decoders/{i}")


async def run_live(
    race: model.Race, svc: ServiceProcess, speed: float, target: str = "p3tcp://127.0.0.1:0"
) -> dict:
    lines = [json.loads(x) for x in scenario.lines(race) if x.startswith("{")]
    head = lines[0]
    entries = [x for x in lines if x["type"] == "entry"]
    async with httpx.AsyncClient(base_url=f"{svc.url}/api", headers=ADMIN, timeout=10) as http:
        body = {k: v for k, v in head.items() if k != "type"}
        r = await http.post("/sessions", json={"name": "sim e2e", **body})
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        try:
            r = await http.post(f"/sessions/{sid}/entries", json=entries)
            assert r.status_code == 200, r.text
            pending: list[asyncio.Task] = []
            urls: set[str] = set()

            def announce(info: dict) -> None:
                if info["url"] in urls:  # MQTT: one subscription carries every decoder (loop in the payload)
                    return
                urls.add(info["url"])
                link = {
                    "url": f"{info['url']}?retry_min=0.05&retry_max=0.2",
                    "rtc_zero_us": info["rtc_base_us"],
                }
                if not info["url"].startswith("mqtt"):
                    link["loop"] = info["loop"]
                    link["url"] += (
                        "&probe=0.5"  # a decoder gone quiet is asked for reads after its newest soon
                    )
                pending.append(asyncio.create_task(http.post(f"/sessions/{sid}/decoders", json=link)))

            async def on_event(line: dict) -> None:
                r = await post_played_line(http, f"/sessions/{sid}/events", line)
                assert r.status_code == 200, r.text

            if target.startswith("mqtt"):  # the service subscribes before the race starts
                for info in [{"url": target, "loop": None, "rtc_base_us": 1_767_225_600_000_000}]:
                    announce(info)
                await asyncio.gather(*pending)
                await wait_connected(http, sid)

            async def all_in() -> bool:
                return await logged(http, sid) >= len(race.reads)

            # the decoders stay up until every read is in (a loaded machine delays the last ones, or their
            # resend), so that none comes after the close: those are kept aside for the crew (issue 20)
            await play(
                race,
                [KeptUp(target, all_in, every_s=0.5, timeout_s=30)],
                speed=speed,
                announce=announce,
                wait_clients_s=15,
                linger_s=0.0,
                status_every_s=0.5,
                on_event=on_event,
            )
            for t in pending:
                assert (await t).status_code == 201
            await logged_all(
                http, sid, len(race.reads), timeout_s=10
            )  # (MQTT: the broker may hold the last ones)
            # race control closes the session, as replay does at the end of the file (end-of-race rules)
            # (at the session time just after the last read: the service's own clock runs at 1x)
            end_t = round(max(r.t for r in race.reads) + 1.0, 6)
            r = await http.post(
                f"/sessions/{sid}/events", json={"type": "signal", "signal": "finish_session", "t": end_t}
            )
            assert r.status_code == 200, r.text
            decs = (await http.get(f"/sessions/{sid}/decoders")).json()
            shown = [
                {k: d.get(k) for k in ("loop", "state", "passings", "received", "late", "passings_lost")}
                for d in decs
            ]
            assert sum(d["passings"] for d in decs) == len(race.reads), shown  # every read arrived, once
            res = (await http.get(f"/sessions/{sid}/results")).json()
            return res
        finally:
            await unlinked(http, sid)


async def logged(http: httpx.AsyncClient, sid: str) -> int:
    return sum(d["passings"] for d in (await http.get(f"/sessions/{sid}/decoders")).json())


async def logged_all(http: httpx.AsyncClient, sid: str, n: int, timeout_s: float = 30.0) -> None:
    """Wait (bounded) until the decoders have handed `n` reads to the session; the caller asserts."""
    for _ in range(int(timeout_s / 0.1)):
        if await logged(http, sid) >= n:
            return
        await asyncio.sleep(0.1)


async def wait_connected(http: httpx.AsyncClient, sid: str) -> None:
    for _ in range(250):
        decs = (await http.get(f"/sessions/{sid}/decoders")).json()
        if decs and all(d["state"] == "connected" for d in decs):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"decoders not connected: {decs}")


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    """One service for the module's races, each in a session of its own."""
    svc = ServiceProcess(tmp_path_factory.mktemp("sim-e2e") / "data").start(
        timeout=60
    )  # a busy machine starts it slowly
    yield svc
    svc.stop()


@pytest.mark.parametrize("transport", ["p3tcp", "serial", pytest.param("mqtt", marks=pytest.mark.mqtt)])
def test_endurance_race_played_live_equals_the_replay(transport, svc, tmp_path):
    # 30 min of a Le Mans 2H with rule infringements: stops, driver changes, early mechanical stops
    p = model.Params(closed_pit_mechanical=0.4, short_stop=0.15, late_change=0.2)
    race = model.generate("lemans-270-2h", 8, 17, p, duration_s=1800.0)
    want = replay(race, tmp_path)
    with contextlib.ExitStack() as stack:
        target = {"p3tcp": "p3tcp://127.0.0.1:0", "serial": "serial"}.get(transport)
        if transport == "mqtt":
            broker = stack.enter_context(running_mosquitto())
            target = f"mqtt://127.0.0.1:{broker.port}/track1"
        got = asyncio.run(run_live(race, svc, speed=500, target=target))
    assert rows(got) == rows(want)
    pens = lambda res: sorted((x["number"], x["rule"], x["laps"]) for x in res["penalties"])  # noqa: E731
    assert pens(got) == pens(want) != []


def test_with_missed_reads_the_difference_stays_within_them(svc, tmp_path):
    clean = model.generate("generic-timed", 8, 23, duration_s=900.0)
    race = model.generate("generic-timed", 8, 23, model.Params(missed_read=0.03), duration_s=900.0)
    want = {r["number"]: r["laps"] for r in replay(clean, tmp_path)["classification"]}
    got = asyncio.run(run_live(race, svc, speed=300))
    missed = race.stats["missed"]
    assert missed > 0
    short = {r["number"]: want[r["number"]] - r["laps"] for r in got["classification"]}
    assert all(d >= 0 for d in short.values())
    assert 0 < sum(short.values()) <= missed
