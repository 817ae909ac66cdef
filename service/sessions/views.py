"""What a live session shows: its header, its place in the list, the crew's details, rows and
results, a car's laps, the lap chart, unknown transponders, corrections and a missed crossing's
estimate; and the lookups that refuse with a domain error (a car, a penalty, a correction).

`SessionViews` only reads: the engine's state, the log's counters, the session's meta and clock.
`LiveSession` (live.py), the single writer, inherits it, so pages and routers ask the session
itself (`s.header()`, `s.laps_of("7")`) while every write stays in live.py.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from service.engine import Engine, classify, row_public
from service.engine.car import Car
from service.engine.penalties import AMOUNTS, Penalty
from service.errors import Invalid, NotFound
from service.i18n import Said, coded, said
from service.results import results
from service.timeutil import us_to_s

if TYPE_CHECKING:
    from service.sessions.intake import Intake


def wall_us() -> int:
    return time.time_ns() // 1000


NOISE_STRENGTH = 60  # P3 signal strength below which a lone read is likely a stray transponder nearby
NOISE_HITS = 2


def noise_reasons(u: dict[str, Any]) -> list[Said]:
    """Why an unknown transponder's reads look like noise rather than a car on track (may be empty)."""
    why = []
    if u["count"] <= 1:
        why.append(said("noise.single_read"))
    if u["max_strength"] is not None and u["max_strength"] < NOISE_STRENGTH:
        why.append(said("noise.weak_signal", strength=u["max_strength"]))
    if u["max_hits"] is not None and u["max_hits"] <= NOISE_HITS:
        why.append(said("noise.few_hits", hits=u["max_hits"]))
    if u["loops"] and "finish" not in u["loops"]:
        why.append(said("noise.not_on_finish"))
    return why


class SessionViews:
    """The read side of a `LiveSession` (see the module doc)."""

    id: str
    name: str
    meta: dict[str, Any]
    origin_us: int  # wall clock at session t = 0
    rate: float
    engine: Engine
    counters: dict[str, int]
    set_aside: list[dict[str, Any]]
    damage: list[dict[str, Any]]
    intake: Intake

    # -- the session clock, read ---------------------------------------------------------------------
    def now_t(self) -> float:
        """Seconds on the session clock, from the wall clock."""
        return round((wall_us() - self.origin_us) * self.rate / 1e6, 6)

    # -- lookups that refuse with a domain error --------------------------------------------------------
    def car(self, number: str) -> Car:
        car = self.engine.cars.get(number)
        if car is None:
            raise NotFound("session.no_car", number=number)
        return car

    def penalty(self, pid: str) -> Penalty:
        p = self.engine.penalties.get(pid)
        if p is None:
            raise NotFound("penalty.not_found", penalty=pid)
        return p

    def correction(self, cid: Any) -> dict[str, Any]:
        c = self.engine.corrections.get(cid) if isinstance(cid, str) else None
        if c is None:
            raise NotFound("correction.not_found", target=cid)
        return c

    def penalties(self) -> list[Penalty]:
        return self.engine.penalties.all()

    def transponders(self) -> dict[str, list[str]]:
        """Each car's counting transponders (its own first, then spares; not one another car took)."""
        counting = self.engine.by_transponder
        return {
            n: [tr for tr in (c.transponder, *c.spares) if tr and counting.get(tr) is c]
            for n, c in self.engine.cars.items()
        }

    def rule_amounts(self) -> dict[str, dict[str, Any]]:
        """The rule IDs race control may cite without choosing "other", with the preset's amounts."""
        rules = self.engine.params.get("rules") or {}
        return {
            rid: ({k: rp[k] for k in AMOUNTS if k in rp} if isinstance(rp, dict) else {})
            for rid, rp in rules.items()
            if rp is not False
        }

    # -- views ----------------------------------------------------------------------------------------
    def header(self) -> dict[str, Any]:
        e = self.engine
        now = max(e.now_us, round(self.now_t() * 1e6)) if not e.closed else e.now_us
        end = e.end_us if e.green_us is not None or e.format == "best_lap" else None
        leader_laps = max((c.laps for c in e.cars.values()), default=0)
        return {
            "id": self.id,
            "name": self.name,
            "preset": e.params["preset"],
            "kind": e.kind,
            "format": e.format,
            "flag": e.flag_state if e.flag_us is None else "chequered",
            "closed": e.closed,
            "clock": {
                "now_s": us_to_s(now),
                "green_s": us_to_s(e.green_us),
                "duration_s": None if e.duration_us is None else e.duration_us / 1e6,
                "remaining_s": None if end is None else us_to_s(max(0, end - now)),
                "laps_target": e.laps_target,
                "leader_laps": leader_laps,
                "rate": self.rate,
            },
            "wall_ms": time.time_ns() // 1_000_000,
            "origin_ms": self.origin_us // 1000,  # wall clock at t = 0: times of day <-> session times
            "log": {
                **self.counters,
                "set_aside": len(self.set_aside),
                "missing": self.lines_missing,
                **self.intake.header(),
            },
            "meeting": self.meta.get("meeting"),
        }

    @property
    def state(self) -> str:
        """finished (closed), live (flag shown or cars crossing), or upcoming (nothing yet)."""
        e = self.engine
        if e.closed:
            return "finished"
        if e.flag_state != "none" or e.green_us is not None or e.now_us > 0:
            return "live"
        return "upcoming"

    def listing(self, meeting: dict[str, Any] | None = None) -> dict[str, Any]:
        """The session in the list of sessions (the picker, the admin page), with its meeting if any."""
        e = self.engine
        return {
            "id": self.id,
            "name": self.name,
            "preset": e.params["preset"],
            "kind": e.kind,
            "created": self.meta.get("created"),
            "closed": e.closed,
            "flag": e.flag_state,
            "state": self.state,
            "meeting": meeting,
            "set_aside": len(self.set_aside),
            "missing": self.lines_missing,
        }

    @property
    def lines_missing(self) -> int:
        """Lines the log lost (found when it was opened; see `damage`)."""
        return sum(int(d.get("lines_missing", 0)) for d in self.damage)

    def details(self) -> dict[str, Any]:
        """The header plus what the timing crew must check: log lines set aside at load and why, lines
        the log lost (which, found when, the damaged file kept)."""
        warnings = self.engine.warnings[-100:]
        return {
            **self.header(),
            "set_aside": self.set_aside[:100],
            "damage": self.damage,
            "warnings": warnings,
            "warnings_said": [coded(w) for w in warnings],
        }

    def rows(self) -> list[dict[str, Any]]:
        return [row_public(r) for r in classify(self.engine)]

    def results(self, detail: bool = False) -> dict[str, Any]:
        return results(self.engine, detail)

    def laps_of(self, number: str) -> list[dict[str, Any]]:
        """Every counted lap of one car: time, flags (manual, estimated...) and lap-time warnings."""
        car = self.car(number)
        warnings = dict(car.lap_warnings)
        out = []
        for i, (t, lt, flag) in enumerate(
            zip(car.lap_ends[: car.laps], car.lap_times, car.lap_flags, strict=False)
        ):
            lap = {"lap": i + 1, "t": us_to_s(t), "lap_s": us_to_s(lt)}
            if flag:
                lap["flag"] = flag
            if i + 1 in warnings:
                lap["warning"] = warnings[i + 1]
            out.append(lap)
        return out

    def lap_chart(self) -> dict[str, list[str]]:
        """Positions lap by lap: order of crossing the line on each lap (wave-corrected)."""
        e = self.engine
        max_laps = max((c.laps for c in e.cars.values()), default=0)
        chart: dict[str, list[str]] = {}
        for n in range(1, max_laps + 1):
            done = [(c.lap_ends[n - 1] - c.offset_us, c.number) for c in e.cars.values() if c.laps >= n]
            chart[str(n)] = [num for _, num in sorted(done)]
        return chart

    def unknown(self) -> list[dict[str, Any]]:
        """Unknown transponders with what tells a real car from noise: loops, reads, strength, hits."""
        out = []
        for tr, count in self.engine.unknown_transponders.items():
            if tr in self.engine.by_transponder:
                continue
            reads = self.engine.unassigned_reads(tr)
            last = max((ev.t for ev in reads), default=None)
            loops: dict[str, int] = {}
            for ev in reads:
                loops[ev.loop] = loops.get(ev.loop, 0) + 1
            strength = [ev.line.strength for ev in reads if ev.line.strength is not None]
            hits = [ev.line.hits for ev in reads if ev.line.hits is not None]
            d = {
                "transponder": tr,
                "count": count,
                "last_t": None if last is None else last / 1e6,
                "loops": loops,
                "max_strength": max(strength, default=None),
                "max_hits": max(hits, default=None),
            }
            d["noise"] = noise_reasons(d)
            d["noise_said"] = [coded(w) for w in d["noise"]]  # the pages say them in their language
            out.append(d)
        return sorted(out, key=lambda d: -d["count"])

    def corrections(self) -> list[dict[str, Any]]:
        """Every correction (newest first): what, who, when, and whether a revert undid it."""
        e = self.engine
        out = []
        for c in reversed(e.corrections.values()):
            d = {**c, "t": c["t"], "reverted": c["id"] in e.reverted}
            if c["type"] == "manual_passing":
                d["confirmed"] = c["id"] in e.confirmed
            out.append(d)
        return out

    def estimate(self, number: str, lap: int | None = None) -> dict[str, Any]:
        """The time a missed crossing of this car is estimated at (the crew checks it before saving).
        `lap`: inside that (too long) lap, interpolated; else after the last crossing, from the pace."""
        e = self.engine
        self.car(number)
        if lap is not None:
            found = e.interpolate_passing(number, lap)
            if found is None:
                raise Invalid("manual.lap_too_short", lap=lap, number=number)
            return {
                "number": number,
                "t": us_to_s(found[0]),
                "basis": "interpolated",
                "lap": lap,
                "missing": found[1],
                "min_lap_s": e.min_lap_us / 1e6,
            }
        t_us, basis = e.estimate_passing(number, max(e.now_us, round(self.now_t() * 1e6)))
        car = e.cars[number]
        last = car.lap_ends[-1] if car.lap_ends else None
        return {
            "number": number,
            "t": us_to_s(t_us),
            "basis": basis,
            "last_crossing_t": us_to_s(last),
            "min_lap_s": e.min_lap_us / 1e6,
        }
