"""Classification rows from engine state: order, gaps, penalties, live car state.

Computed on demand from the engine (a full sort of a few dozen cars is microseconds); the hub diffs
successive classifications to send only the rows that changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from service.engine.car import Car
from service.engine.engine import Engine
from service.engine.finish import NEVER
from service.i18n import coded
from service.presets import norm
from service.timeutil import fmt_duration, us_to_s

GROUP_RUNNING, GROUP_OUT, GROUP_DNS, GROUP_DSQ = 0, 1, 2, 3


@dataclass(slots=True)
class Row:
    number: str
    name: str
    category: str
    status: str
    laps: int
    raw_laps: int
    penalty_laps: int
    penalty_seconds: float
    best_lap_penalty_s: float
    total_time_us: int | None
    best_lap_us: int | None
    best_lap_no: int | None
    last_lap_us: int | None
    pit_stops: int
    in_pit: bool
    driver: str | None
    driver_name: str | None
    stint_us: int | None
    stint_laps: int
    finished: bool
    penalties: list[str]
    wave: Any = None
    division: Any = None
    position: int = 0
    category_position: int = 0
    gap: str = ""
    interval: str = ""
    sort_key: tuple = ()
    rules: dict[str, Any] = field(default_factory=dict)
    stint_start_us: int | None = None  # absolute: pages count the stint themselves (lean deltas)
    anomalies: int = 0
    race_group: int = 0  # CC-DURATION: minus the race length of the car's category (longest first)
    lap_flags: dict[str, str] = field(default_factory=dict)  # lap number -> manual/estimated/warned/confirmed
    # [lap, lap_s, why, its code, t of the crossing that ends it]: lap-time sanity
    lap_warnings: list[list[Any]] = field(default_factory=list)


def _penalty_summary(engine: Engine, car: Car) -> tuple[int, float, float, bool, list[str]]:
    laps, secs, best, dsq, labels = 0, 0.0, 0.0, False, []
    for p in engine.penalties.for_car(car.number):
        if not p.counts:
            if p.state == "proposed":
                labels.append(f"? {p.rule} (proposed)")
            continue
        laps += p.laps
        secs += p.seconds
        best += p.best_lap_seconds
        dsq = dsq or p.dsq
        if p.dsq:
            labels.append(f"DSQ {p.rule}")
        if p.laps:
            labels.append(f"-{p.laps} lap{'s' if p.laps != 1 else ''} {p.rule}")
        if p.seconds:
            labels.append(f"+{p.seconds:g} s {p.rule}")
        if p.best_lap_seconds:
            labels.append(f"+{p.best_lap_seconds:g} s best lap {p.rule}")
    return laps, secs, best, dsq, labels


def _gap(ahead: Row, row: Row, best_lap: bool) -> str:
    if best_lap:
        if ahead.best_lap_us is None or row.best_lap_us is None:
            return ""
        a = ahead.best_lap_us + round(ahead.best_lap_penalty_s * 1e6)
        b = row.best_lap_us + round(row.best_lap_penalty_s * 1e6)
        return f"+{(b - a) / 1e6:.3f}"
    if ahead.total_time_us is None or row.total_time_us is None:
        return ""
    dl = ahead.laps - row.laps
    if dl >= 1:
        return f"+{dl} lap{'s' if dl != 1 else ''}"
    return f"+{(row.total_time_us - ahead.total_time_us) / 1e6:.3f}"


def classify(engine: Engine, final: bool | None = None) -> list[Row]:
    """The classification at the engine's current state. `final`: the session is over (dnf decided)."""
    final = engine.closed if final is None else final
    best_lap_format = engine.format == "best_lap"
    rows: list[Row] = []
    fin = engine.finish  # the finish regime: scratches per race duration, finish window (finish.py)
    for car in engine.cars.values():
        pen_laps, pen_s, pen_best, dsq, labels = _penalty_summary(engine, car)
        raw = car.laps
        last_cross = car.last_crossing_us
        total = None
        if last_cross is not None:
            total = last_cross - engine.start_us - car.offset_us + round(pen_s * 1e6)
        seen = car.first_seen_us is not None
        if dsq:
            status = "dsq"
        elif not seen:
            status = "dns"
        elif final and not best_lap_format and car.finish_us is None:
            status = "dnf"
        else:
            status = "classified"
        stint_us = stint_start = None
        if car.stint_start_us is not None and not car.finish_us:
            stint_us = max(0, engine.now_us - car.stint_start_us)
            stint_start = car.stint_start_us
        last_lap = car.lap_times[raw - 1] if raw else None
        rows.append(
            Row(
                number=car.number,
                name=car.name,
                category=car.category,
                status=status,
                laps=max(0, raw - pen_laps),
                raw_laps=raw,
                penalty_laps=min(pen_laps, raw) if raw else pen_laps,
                penalty_seconds=pen_s,
                best_lap_penalty_s=pen_best,
                total_time_us=total,
                best_lap_us=car.best_us,
                best_lap_no=car.best_no,
                last_lap_us=last_lap,
                pit_stops=sum(1 for s in car.stops if s.out_us is not None),
                in_pit=car.in_pit is not None,
                driver=car.driver,
                driver_name=car.driver_name(car.driver),
                stint_us=stint_us,
                stint_laps=raw - car.stint_start_lap if raw else 0,
                finished=car.finish_us is not None,
                penalties=labels,
                wave=car.wave,
                division=car.division,
                anomalies=len(car.anomalies),
                stint_start_us=stint_start,
                lap_flags={str(n): f for n, f in car.flagged.items() if n <= raw},
                lap_warnings=[
                    [n, us_to_s(car.lap_times[n - 1]), why, coded(why), us_to_s(car.lap_ends[n - 1])]
                    for n, why in car.lap_warnings
                    if n <= raw
                ],
            )
        )
        if fin.grouped:
            rows[-1].race_group = fin.race_group(car)
    if final and not best_lap_format:
        fin.apply_window(rows, engine.cars)  # CC-FINISH
    for r in rows:
        r.sort_key = _sort_key(r, best_lap_format, final)
        if fin.grouped:  # one scratch per race duration, the longest first
            r.sort_key = (r.status in ("dns", "dsq"), r.race_group, *r.sort_key)
    rows.sort(key=lambda r: r.sort_key)
    by_cat: dict[str, int] = {}
    leaders: dict[int, Row] = {}
    for i, r in enumerate(rows, 1):
        r.position = i
        c = norm(r.category)
        by_cat[c] = by_cat.get(c, 0) + 1
        r.category_position = by_cat[c]
        leader = leaders.setdefault(r.race_group, r)
        if leader is not r and r.status not in ("dns", "dsq"):
            r.gap = _gap(leader, r, best_lap_format)
            r.interval = _gap(rows[i - 2], r, best_lap_format)
    if engine.rules:
        for r in rows:
            r.rules = engine.rule_status(engine.cars[r.number])
    return rows


def _natural(number: str) -> tuple:
    return (0, int(number), "") if number.isdigit() else (1, 0, number)


def _sort_key(r: Row, best_lap: bool, final: bool) -> tuple:
    if r.status == "dsq":
        return (GROUP_DSQ, 0, 0, _natural(r.number))
    if r.status == "dns":
        return (GROUP_DNS, 0, 0, _natural(r.number))
    if best_lap:
        if r.best_lap_us is None:
            return (GROUP_OUT, 0, NEVER, _natural(r.number))
        return (GROUP_RUNNING, 0, r.best_lap_us + round(r.best_lap_penalty_s * 1e6), _natural(r.number))
    group = GROUP_RUNNING if (r.status == "classified" or not final) else GROUP_OUT
    time = r.total_time_us if r.total_time_us is not None else NEVER
    return (group, -r.laps, time, _natural(r.number))


def row_public(r: Row) -> dict[str, Any]:
    """A row as the WebSocket/REST API sends it (times in seconds, strings ready to show)."""
    return {
        "position": r.position,
        "number": r.number,
        "name": r.name,
        "category": r.category,
        "category_position": r.category_position,
        "status": r.status,
        "laps": r.laps,
        "penalty_laps": r.penalty_laps,
        "penalty_seconds": round(float(r.penalty_seconds), 3),
        "total_time_s": us_to_s(r.total_time_us),
        "best_lap_s": us_to_s(r.best_lap_us),
        "best_lap_no": r.best_lap_no,
        "last_lap_s": us_to_s(r.last_lap_us),
        "pit_stops": r.pit_stops,
        "in_pit": r.in_pit,
        "driver": r.driver,
        "driver_name": r.driver_name,
        "stint_s": None if r.stint_us is None else round(r.stint_us / 1e6, 1),
        "stint_start_s": us_to_s(r.stint_start_us),
        "stint_laps": r.stint_laps,
        "finished": r.finished,
        "gap": r.gap,
        "interval": r.interval,
        "penalties": r.penalties,
        "wave": r.wave,
        "division": r.division,
        "rules": r.rules,
        "anomalies": r.anomalies,
        "lap_flags": r.lap_flags,
        "last_lap_flag": r.lap_flags.get(str(r.raw_laps)),
        "lap_warnings": r.lap_warnings,
    }


def format_table(rows: list[Row]) -> str:
    """A readable classification for the terminal (`boucle replay FILE`)."""
    head = (
        f"{'Pos':>3} {'No':>4}  {'Name':<24} {'Cat':<10} {'Laps':>4} {'Time':>12} {'Best':>9} {'Pit':>3}  "
        f"{'Gap':<10} Status / penalties"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r.position:>3} {r.number:>4}  {r.name[:24]:<24} {r.category[:10]:<10} {r.laps:>4} "
            f"{fmt_duration(r.total_time_us):>12} {fmt_duration(r.best_lap_us):>9} {r.pit_stops:>3}  "
            f"{r.gap:<10} {r.status}{'  ' + '; '.join(r.penalties) if r.penalties else ''}"
        )
    return "\n".join(lines)
