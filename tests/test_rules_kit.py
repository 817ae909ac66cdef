"""A small scenario builder for the rule tests: write JSONL to tmp_path, replay it, read results.

Karts drive fixed-length laps; a pit stop replaces the crossing of the line (the pit lane bypasses
it, scenario.md), so the lap through the pit lane ends at pit_out and the next crossing comes one
lap later. Every time in the tests is therefore computable by hand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from service.engine import Engine
from service.results import replay_file, replay_lines, results


class Scenario:
    def __init__(self, preset: str, kind: str = "race", **session: Any) -> None:
        self.header: list[dict[str, Any]] = [{"type": "session", "preset": preset, "kind": kind, **session}]
        self.events: list[dict[str, Any]] = [{"type": "signal", "t": 0.0, "signal": "green"}]

    def entry(
        self, number: str, category: str = "Sport", drivers: int = 3, weight: float = 70.0, **extra: Any
    ) -> str:
        ds = [{"id": f"d{i}", "name": f"Driver {i}", "weight_kg": weight} for i in range(1, drivers + 1)]
        self.header.append(
            {
                "type": "entry",
                "number": number,
                "name": f"Team {number}",
                "transponder": f"T{number}",
                "category": category,
                "drivers": ds,
                **extra,
            }
        )
        return number

    def add(self, type_: str, t: float, **fields: Any) -> None:
        self.events.append({"type": type_, "t": round(t, 6), **fields})

    def passing(self, number: str, t: float, loop: str = "finish") -> None:
        self.add("passing", t, transponder=f"T{number}", loop=loop)

    def drive(
        self,
        number: str,
        lap_s: float,
        until: float,
        stops: list[dict[str, Any]] = (),
        first: float | None = None,
    ) -> list[float]:
        """Laps of `lap_s` until a crossing after `until`; each stop {in, dur, driver?, ...} sits
        between two crossings. Returns the finish crossing times."""
        crossings, t = [], first if first is not None else lap_s
        for s in sorted(stops, key=lambda s: s["in"]):
            while t < s["in"]:
                self.passing(number, t)
                crossings.append(t)
                t += lap_s
            self.passing(number, s["in"], "pit_in")
            if s.get("mechanical") is not None:
                self.add("mechanical", s["in"] + s["mechanical"], number=number)
            for k, d in enumerate(s.get("drivers", [s["driver"]] if s.get("driver") else [])):
                self.add("driver_change", s.get("change_at", s["in"] + 30) + k, number=number, driver=d)
            for r in s.get("refuels", []):
                self.add("refuel", s["in"] + r, number=number)
            out = s["in"] + s["dur"]
            self.passing(number, out, "pit_out")
            t = out + lap_s
        while True:
            self.passing(number, t)
            crossings.append(t)
            if t > until:
                return crossings
            t += lap_s

    def lines(self, upto: float | None = None) -> list[str]:
        evs = sorted(self.events, key=lambda e: e["t"])  # stable: same-time lines keep their order
        if upto is not None:
            evs = [e for e in evs if e["t"] <= upto]
        return [json.dumps(x) for x in self.header + evs]

    def write(self, path: Path) -> Path:
        path.write_text("\n".join(self.lines()) + "\n", encoding="utf-8")
        return path

    def replay(self, tmp_path: Path, name: str = "scenario.jsonl") -> dict[str, Any]:
        return results(replay_file(self.write(tmp_path / name)))

    def engine(self, tmp_path: Path, name: str = "scenario.jsonl") -> Engine:
        return replay_file(self.write(tmp_path / name))

    def live(self, upto: float) -> Engine:
        """The engine as race control sees it at `upto` (lines up to then, session not closed)."""
        return replay_lines(self.lines(upto), finalize=False)


def change_stops(
    times: list[float], dur: float = 130.0, start_driver: int = 1, drivers: int = 3
) -> list[dict]:
    """Driver-change stops at `times`, cycling d1 -> d2 -> d3 -> d1..."""
    out, cur = [], start_driver
    for t in times:
        cur = cur % drivers + 1
        out.append({"in": t, "dur": dur, "driver": f"d{cur}"})
    return out


def penalties(res: dict[str, Any], rule: str | None = None) -> list[dict[str, Any]]:
    return [p for p in res["penalties"] if rule is None or p["rule"] == rule]


def row(res: dict[str, Any], number: str) -> dict[str, Any]:
    return next(r for r in res["classification"] if r["number"] == number)


def test_kit_drives_hand_computable_laps(tmp_path):
    sc = Scenario("generic-timed", duration_s=600)
    sc.entry("1")
    crossings = sc.drive("1", 60.0, 600.0, [{"in": 250.0, "dur": 100.0, "driver": "d2"}])
    # 60..240 on track, pit 250 -> 350 (lap ends at pit_out), then 410, 470, 530, 590, 650
    assert crossings == [60.0, 120.0, 180.0, 240.0, 410.0, 470.0, 530.0, 590.0, 650.0]
    r = row(sc.replay(tmp_path), "1")
    assert (r["laps"], r["total_time_s"], r["pit_stops"]) == (10, 650.0, 1)
