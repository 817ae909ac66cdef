"""Edges between the timing engine and the pure meeting rules: engine state -> meeting records.

The engine classifies one session; these adapters turn its rows into `RaceRow`s, its cars'
laps into practice laps, its AX-JUMP penalties into the meeting's list of offenders, and give
the results JSON its per-row heat `points` (scenario.md: heats of AX-/KA- presets carry points).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from service.engine.events import READ_TYPES

from .model import STATUSES, RaceRow
from .points import points_rule
from .redflag import RedFlagDecision, order_at_lap, red_flag_decision

if TYPE_CHECKING:
    from service.engine import Engine
    from service.engine.classify import Row


def race_rows(engine: Engine) -> list[RaceRow]:
    """The engine's classification as meeting rows (place = position in this session)."""
    from service.engine import classify

    out = []
    for r in classify(engine):
        status = r.status if r.status in STATUSES else "classified"
        out.append(RaceRow(r.number, r.position, r.laps, status, r.total_time_us))
    return out


def practice_laps(engine: Engine) -> dict[str, list[int]]:
    """Every lap time of every car that may count as a qualifying time, microseconds (AX-PRACTICE ranks
    on both sessions): hand-made or warned laps only once race control confirmed them."""
    return {number: car.record_laps() for number, car in engine.cars.items()}


def penalty_labels(engine: Engine) -> dict[str, list[str]]:
    """Each car's penalties as the classification labels them ("+10 s AX-JUMP")."""
    from service.engine import classify

    return {r.number: list(r.penalties) for r in classify(engine) if r.penalties}


def jump_offenders(engine: Engine) -> list[str]:
    """Cars with an AX-JUMP penalty that counts (a waived one does not make the next a repeat)."""
    return sorted({p.number for p in engine.penalties.all() if p.rule == "AX-JUMP" and p.counts})


def points_for(engine: Engine) -> Callable[[Row], int] | None:
    """The per-row `points` of a heat's results JSON, or None when the session scores none.

    Which scale applies to which session kind is preset data (`points` of autocross.json:
    AX-HEAT-POINTS on the place in this series; ffsa-karting.json: KA-POINTS with participants =
    entries of the session, super-heats included).
    """
    scale = points_rule(engine.params, engine.kind)
    if scale is None:
        return None
    laps, n = int(engine.params.get("laps") or 5), len(engine.cars)
    return lambda r: scale(RaceRow(r.number, r.position, r.laps, r.status), laps, n)


@dataclass(frozen=True, slots=True)
class RedFlagState:
    """What the engine knew when the red flag came out, and what AX-RED makes of it."""

    red_us: int
    leader_laps: int
    decision: RedFlagDecision
    lap_order: list[str]  # running order at the end of the decision's lap (all cars with a read)
    laps_before: dict[str, int]  # laps each car had completed before the red
    running: list[str]  # started and not retired before the red


def red_flag_state(engine: Engine, retired: Iterable[str] = ()) -> RedFlagState | None:
    """AX-RED from a live session: None until a `red` signal is in the log.

    ``retired``: cars race control saw stop before the red (only cars still running at the red
    may take the new start). Cars without any read never started.
    """
    reds = [ev.t for ev in engine.signals if ev.line.signal == "red"]
    if not reds:
        return None
    red = reds[-1]
    crossings = {n: [t for t in c.lap_ends if t < red] for n, c in engine.cars.items()}
    started = [n for n, c in engine.cars.items() if any(e.type in READ_TYPES and e.t < red for e in c.events)]
    grid = sorted(started, key=lambda n: (_grid_of(engine.cars[n].grid), n))
    leader = max((len(crossings[n]) for n in started), default=0)
    scheduled = int(engine.laps_target or engine.params.get("laps") or 0)
    decision = red_flag_decision(engine.kind, leader, scheduled)
    order = order_at_lap(crossings, decision.order_lap if decision.order_lap is not None else leader, grid)
    out = set(retired)
    return RedFlagState(
        red,
        leader,
        decision,
        order,
        {n: len(crossings[n]) for n in started},
        [n for n in order if n not in out],
    )


def _grid_of(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 1 << 30
