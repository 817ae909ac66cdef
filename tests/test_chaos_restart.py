"""Chaos: a race through simulated P3 TCP decoders into `boucle serve`, killed three times, one link cut.

The simulator plays a short Le Mans race at high speed as real decoders on 127.0.0.1; the service
reads them through links added from the timing-crew API (stored with the session). The service is
SIGKILLed twice mid-race and once in the last laps (restarted only after the last passing, so no
higher passing number ever reveals what it missed), and the finish decoder's link is cut for a
while. What no loop sees (green flag, driver changes...) is posted as race control would, held
back while the service is down. At the end the log holds every read exactly once and `/results`
equal `boucle replay` of the same race's scenario.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

import httpx
import pytest

from service.results import RESULT_KEYS
from simulator import model, scenario
from simulator.emit import Feed, play
from simulator.emit.p3tcp import P3TcpTarget
from tests.service_proc import TOKEN, ServiceProcess, until
from tests.sim_helpers import replay

ADMIN = {"Authorization": f"Bearer {TOKEN}"}
SPEED = 50.0
pytestmark = pytest.mark.timeout(240)


class WatchedTarget(P3TcpTarget):
    """The simulator's P3 TCP decoders, with their session clock readable by the test."""

    def __init__(self) -> None:
        super().__init__("p3tcp://127.0.0.1:0")
        self.feeds: list[Feed] = []

    async def start(self, feeds: list[Feed]) -> list[dict]:
        self.feeds = feeds
        return await super().start(feeds)

    def now(self) -> float:
        return self.feeds[0].now() if self.feeds else 0.0


def chaos_race() -> model.Race:
    """8 karts, 25 min of a Le Mans 2H with stops and rule infringements, finish link cut mid-race."""
    p = model.Params(closed_pit_mechanical=0.5, short_stop=0.2, late_change=0.2)
    race = model.generate("lemans-270-2h", 8, 29, p, duration_s=1500.0)
    end = max(r.t for r in race.reads)
    race.outages = [("finish", 0.36 * end, 0.44 * end)]
    return race


class Chaos:
    """One service process at a time on a fixed port and data folder; race control posts queued."""

    def __init__(self, svc: ServiceProcess) -> None:
        self.svc = svc
        self.lock = asyncio.Lock()  # a kill never cuts a race-control post in half (no doubled event)
        self.events: asyncio.Queue[dict] = asyncio.Queue()
        self.kills = 0

    async def kill(self) -> None:
        async with self.lock:
            self.svc.kill()
            self.kills += 1

    async def restart(self) -> None:
        async with self.lock:  # starting blocks: in a thread, so the decoders keep playing meanwhile
            self.svc = ServiceProcess(self.svc.data, port=self.svc.port)
            await asyncio.to_thread(self.svc.start, 60.0)

    async def post_events(self, http: httpx.AsyncClient, sid: str) -> None:
        """Post each race-control line in order, retrying while the service is down. Race control types
        a line when it happens, so never ahead of the session clock (the service refuses that): after a
        restart it waits for the decoders' RESEND to bring the clock back to the race."""
        while True:
            line = await self.events.get()
            while True:
                async with self.lock:
                    try:
                        clock = (await http.get(f"/api/sessions/{sid}")).json()["clock"]["now_s"]
                        ahead = line.get("t", 0) > clock + 60
                        r = None if ahead else await http.post(f"/api/sessions/{sid}/events", json=line)
                    except httpx.TransportError:
                        r = None
                if r is not None:
                    assert r.status_code == 200, r.text
                    break
                await asyncio.sleep(0.05)
            self.events.task_done()


async def logged_reads(http: httpx.AsyncClient, sid: str) -> list[tuple[str, int]] | None:
    try:
        r = await http.get(f"/api/sessions/{sid}/export.jsonl")
    except httpx.TransportError:
        return None
    if r.status_code != 200:
        return None
    lines = [json.loads(x) for x in r.text.splitlines() if x.strip()]
    return [(x["decoder"], x["passing_id"]) for x in lines if x["type"] == "passing"]


async def run_chaos(race: model.Race, svc: ServiceProcess) -> tuple[dict, list, list, int]:
    lines = [json.loads(x) for x in scenario.lines(race) if x.startswith("{")]
    entries = [x for x in lines if x["type"] == "entry"]
    end = max(r.t for r in race.reads)
    chaos = Chaos(svc)
    target = WatchedTarget()
    async with httpx.AsyncClient(base_url=svc.url, headers=ADMIN, timeout=10) as http:
        r = await http.post(
            "/api/sessions", json={"name": "chaos", **{k: v for k, v in lines[0].items() if k != "type"}}
        )
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        r = await http.post(f"/api/sessions/{sid}/entries", json=entries)
        assert r.status_code == 200, r.text
        adding: list[asyncio.Task] = []

        def announce(info: dict) -> None:
            link = {
                "url": f"{info['url']}?retry_min=0.05&retry_max=0.2",
                "loop": info["loop"],
                "rtc_zero_us": info["rtc_base_us"],
            }
            adding.append(asyncio.create_task(http.post(f"/api/sessions/{sid}/decoders", json=link)))

        poster = asyncio.create_task(chaos.post_events(http, sid))
        player = asyncio.create_task(
            play(
                race,
                [target],
                speed=SPEED,
                announce=announce,
                wait_clients_s=20,
                linger_s=120,
                status_every_s=0.5,
                on_event=chaos.events.put_nowait,
            )
        )
        try:
            for at in (0.22, 0.58):  # mid-race: killed, restarted at once (it misses what is read meanwhile)
                await until(
                    lambda at=at: target.now() >= at * end or player.done(), 60, f"race time {at:.0%}"
                )
                assert not player.done()
                await chaos.kill()
                await chaos.restart()
            await until(lambda: target.now() >= 0.93 * end, 60, "the last laps")
            await chaos.kill()  # in the last laps; back only once every read is taken
            await until(lambda: target.now() >= end + 2, 60, "the last passing")
            await chaos.restart()
            n, seen = len(race.reads), [0]
            await until(lambda: _has(http, sid, n, seen), 90, f"{n} reads in the log (last count: {seen})")
            await asyncio.wait_for(chaos.events.join(), 60)
            assert chaos.kills == 3 and not player.done()
            for t in adding:
                assert (await t).status_code == 201
            reads = await logged_reads(http, sid)
            decoders = (await http.get(f"/api/sessions/{sid}/decoders")).json()
            # race control closes the session just after the last read, as replay does at the end of the file
            r = await http.post(
                f"/api/sessions/{sid}/events",
                json={"type": "signal", "signal": "finish_session", "t": round(end + 1.0, 6)},
            )
            assert r.status_code == 200, r.text
            res = (await http.get(f"/api/sessions/{sid}/results")).json()
            resent = sum(f.resent for f in target.feeds)
        finally:
            for task in (player, poster):
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            chaos.svc.kill()
    return res, reads, decoders, resent


async def _has(http: httpx.AsyncClient, sid: str, n: int, seen: list[int]) -> bool:
    reads = await logged_reads(http, sid)
    if reads is not None:
        seen[0] = len(reads)
    return reads is not None and len(reads) >= n


def test_three_kills_and_a_link_cut_lose_nothing_and_double_nothing(tmp_path):
    race = chaos_race()
    want = replay(race, tmp_path)
    svc = ServiceProcess(tmp_path / "data").start(60.0)  # a bound, as for the restarts
    got, reads, decoders, resent = asyncio.run(run_chaos(race, svc))

    # every read the decoders took is in the log exactly once
    sent = sorted((f.decoder_id, p.number) for f in _feeds(race) for p in f.passings)
    assert len(reads) == len(set(reads)), "a read was logged twice"
    assert sorted(reads) == sent
    # the last process's decoder status tells the truth: nothing lost, nothing still outstanding
    assert len(decoders) == 3 and all(d["state"] == "connected" for d in decoders), decoders
    assert all(d["passings_lost"] == 0 and d["recovering"] == 0 for d in decoders), decoders
    assert sum(d["passings"] for d in decoders) > 0  # the last restart fetched the end-of-race reads
    assert resent >= sum(d["passings"] for d in decoders)  # ...by asking the decoders (RESEND), as the others
    assert spec_view(got) == spec_view(want)


PENALTY_KEYS = ("id", "number", "rule", "laps", "seconds", "best_lap_seconds", "t", "evidence", "state")


def spec_view(res: dict) -> dict:
    """The results as shared/spec/scenario.md defines them (the API adds lap flags and decisions)."""
    return {
        **res,
        "classification": [{k: r[k] for k in RESULT_KEYS} for r in res["classification"]],
        "penalties": [{k: p[k] for k in PENALTY_KEYS} for p in res["penalties"]],
    }


def _feeds(race: model.Race) -> list[Feed]:
    from simulator.emit import build_feeds

    return build_feeds(race, 1_767_225_600_000_000)
