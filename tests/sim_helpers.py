"""Small simulated races shared by the simulator playback and source tests."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from simulator import model, scenario
from simulator.emit.base import Target
from simulator.emit.targets import make_target

REPO = Path(__file__).resolve().parents[1]


def small_race(**rates) -> model.Race:
    """5 karts, 7 min of a 2h Le Mans, each with an early (mechanical) stop: finish, pit_in and
    pit_out decoders all read something."""
    p = model.Params(closed_pit_mechanical=1.0)
    for k, v in rates.items():
        setattr(p, k, v)
    return model.generate("lemans-270-2h", 5, 12, p, duration_s=420.0)


def with_outages(race: model.Race) -> model.Race:
    """Drop the finish decoder's link over 4 of its reads and pit_out's over one (not the last)."""
    fin = [r.t for r in race.reads if r.decoder == "finish"]
    out = [r.t for r in race.reads if r.decoder == "pit_out"]
    race.outages = [("finish", fin[5] - 0.01, fin[8] + 0.01), ("pit_out", out[1] - 0.01, out[1] + 0.01)]
    return race


def scenario_passings(race: model.Race) -> list[tuple[float, str, str]]:
    """The scenario's passings as sorted (t, transponder, loop)."""
    out = []
    for line in scenario.lines(race):
        if line.startswith("{") and '"passing"' in line:
            o = json.loads(line)
            out.append((o["t"], o["transponder"], o["loop"]))
    return sorted(out)


def replay(race: model.Race, tmp_path: Path) -> dict:
    """What `boucle replay FILE --json` (the external contract) makes of the race's scenario."""
    path = tmp_path / "scenario.jsonl"
    scenario.write(race, path)
    r = subprocess.run(
        [sys.executable, "-m", "service.cli", "replay", str(path), "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


async def post_played_line(http, path: str, line: dict, wait_s: float = 10.0):
    """POST a race-control line of a race played faster than real time. The session clock is then its
    newest read, so a line waits (bounded) for the reads before it, as it would at 1x: a busy machine
    delays them, and a line far ahead of the clock is refused (`time.after_clock`, issue 20)."""
    for _ in range(int(wait_s / 0.1)):
        r = await http.post(path, json=line)
        if r.status_code != 400 or r.json().get("code") != "time.after_clock":
            return r
        await asyncio.sleep(0.1)
    return r


class KeptUp(Target):
    """A simulator target that outlives the race until `done()` (bounded by `timeout_s`): its decoders
    keep sending statuses and answering resend requests until the service has every read, where a
    fixed linger was either too short on a busy machine (reads still in a pty's buffer, a resend not
    yet answered) or wasted time on an idle one. The caller's assertions say what is missing."""

    def __init__(
        self, target: str, done: Callable[[], Awaitable[bool]], every_s: float = 0.3, timeout_s: float = 45.0
    ) -> None:
        self.target, self.done, self.every_s, self.timeout_s = make_target(target), done, every_s, timeout_s
        self.feeds: list = []
        self.url = self.target.url

    async def start(self, feeds):
        self.feeds = feeds
        return await self.target.start(feeds)

    async def passing(self, feed, p):
        await self.target.passing(feed, p)

    async def status(self, feed):
        await self.target.status(feed)

    async def down(self, feed):
        await self.target.down(feed)

    async def up(self, feed):
        await self.target.up(feed)

    async def reboot(self, feed):
        await self.target.reboot(feed)

    def clients(self, feed) -> int:
        return self.target.clients(feed)

    async def stop(self) -> None:
        try:
            async with asyncio.timeout(self.timeout_s):
                while not await self.done():
                    await asyncio.sleep(self.every_s)
                    for f in self.feeds:
                        if f.online:
                            await self.target.status(f)
        except TimeoutError:
            pass
        finally:
            await self.target.stop()


def rows(res: dict) -> list[tuple]:
    """What two classifications must agree on, row by row (the live service vs the replay)."""
    return [
        (
            r["position"],
            r["number"],
            r["laps"],
            r["status"],
            r["total_time_s"],
            r["best_lap_s"],
            r["pit_stops"],
            r["penalty_laps"],
        )
        for r in res["classification"]
    ]
