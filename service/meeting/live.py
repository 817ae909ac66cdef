"""Edges between the timing engine and the pure meeting rules: engine state -> meeting records.

The engine classifies one session; these adapters turn its rows into `RaceRow`s, its cars'
laps into practice laps, its AX-JUMP penalties into the meeting's list of offenders, and give
the results JSON its per-row heat `points` (scenario.md: heats of AX-/KA- presets carry points).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .model import STATUSES, RaceRow
from .points import ax_heat_points, ka_points

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
    """Every counted lap time of every car, microseconds (AX-PRACTICE ranks on both sessions)."""
    return {number: list(car.lap_times) for number, car in engine.cars.items()}


def penalty_labels(engine: Engine) -> dict[str, list[str]]:
    """Each car's penalties as the classification labels them ("+10 s AX-JUMP")."""
    from service.engine import classify

    return {r.number: list(r.penalties) for r in classify(engine) if r.penalties}


def jump_offenders(engine: Engine) -> list[str]:
    """Cars with an AX-JUMP penalty that counts (a waived one does not make the next a repeat)."""
    return sorted({p.number for p in engine.penalties.all() if p.rule == "AX-JUMP" and p.counts})


def points_for(engine: Engine) -> Callable[[Row], int] | None:
    """The per-row `points` of a heat's results JSON, or None when the session scores none.

    autocross `heat`: AX-HEAT-POINTS on the place in this series; ffsa-karting `heat`
    (super-heat included): KA-POINTS with participants = entries of the session.
    """
    preset, kind = engine.params.get("preset"), engine.kind
    if kind != "heat":
        return None
    if preset == "autocross":
        laps = int(engine.params.get("laps") or 5)
        return lambda r: ax_heat_points(RaceRow(r.number, r.position, r.laps, r.status), laps)
    if preset == "ffsa-karting":
        n = len(engine.cars)
        return lambda r: ka_points(RaceRow(r.number, r.position, r.laps, r.status), n)
    return None
