"""Point scales: auto-cross heat points (AX-HEAT-POINTS), championship points (AX-POINTS) and
karting heat points (KA-POINTS)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from service.errors import Invalid

from .model import DSQ, RaceRow

# AX-HEAT-POINTS (003 art. 7.3.1.2)
AX_HEAT_DSQ = 90
AX_HEAT_DNS = 85
AX_HEAT_MISSED_MAX = 20  # starter who did 0-2 of 5 laps
AX_HEAT_MISSED_BASE = 15  # starter with 3 or 4 laps: 15 + laps not done (17, 16)
AX_HEAT_MISSED_SCALED = 2  # laps missing that still get 15 + missing; more -> 20

# AX-POINTS championship scales
AX_PRACTICE_POINTS: tuple[int, ...] = (5, 4, 3, 2, 1)
AX_HEATS_POINTS: tuple[int, ...] = (10, 9, 8, 7, 6, 5, 4, 3, 2, 1)
AX_FINAL_POINTS: tuple[int, ...] = (
    48,
    43,
    39,
    36,
    33,
    31,
    29,
    28,
    26,
    24,
    22,
    20,
    18,
    17,
    16,
    15,
    14,
    13,
    12,
    11,
    10,
    9,
    8,
    7,
    6,
    5,
    4,
    3,
    2,
    1,
)


def ax_heat_points(row: RaceRow, scheduled_laps: int = 5) -> int:
    """AX-HEAT-POINTS: points of one car in its heat series (fewer is better).

    Place points (1st 1 ... 15th 15) go only to starters who did every lap; a starter short of
    laps scores 15 + laps not done for 1-2 missing (4 laps 16, 3 laps 17), else 20; a
    non-starter 85; a disqualified car 90. Being lapped and flagged counts as laps not done.
    """
    if row.status == DSQ:
        return AX_HEAT_DSQ
    if not row.started:
        return AX_HEAT_DNS
    missing = scheduled_laps - row.laps
    if missing <= 0:
        return row.place
    if missing <= AX_HEAT_MISSED_SCALED:
        return AX_HEAT_MISSED_BASE + missing
    return AX_HEAT_MISSED_MAX


def scale_points(scale: tuple[int, ...], position: int) -> int:
    """Points of a 1-based position on a scale; 0 beyond its end."""
    return scale[position - 1] if 1 <= position <= len(scale) else 0


def ka_place_points(place: int) -> int:
    """KA-POINTS: 1st 0, 2nd 2, 3rd 3, 4th 4, ... (+1 per place down to the last classified)."""
    if place < 1:
        raise Invalid("points.place")
    return 0 if place == 1 else place


def ka_points(row: RaceRow, participants: int) -> int:
    """KA-POINTS for one kart in a heat or super-heat of ``participants`` karts.

    A non-starter scores participants + 1 (the super-heat rule of seed 001 art. 21d).
    **Decision:** the same applies to a heat non-starter and to a disqualified kart, which the
    regulation leaves open; every other kart scores its place.
    """
    if not row.started or row.status == DSQ:
        return participants + 1
    return ka_place_points(row.place)


# Heat points as preset data: a preset's `points` maps a session kind to a rule ID
# (autocross.json `{"heat": "AX-HEAT-POINTS"}`, ffsa-karting.json `{"heat": "KA-POINTS"}`); this
# registry maps the rule ID to its scale. A scale takes (row, scheduled laps, participants).
HeatPoints = Callable[[RaceRow, int, int], int]
HEAT_POINTS: dict[str, HeatPoints] = {
    "AX-HEAT-POINTS": lambda row, laps, participants: ax_heat_points(row, laps),
    "KA-POINTS": lambda row, laps, participants: ka_points(row, participants),
}


def points_rule(params: Mapping[str, Any], kind: str | None) -> HeatPoints | None:
    """The points scale a session of `kind` scores with, from resolved preset parameters
    (`service.presets.resolve`), or None when that kind scores no points."""
    rule = (params.get("points") or {}).get(kind or "")
    if rule is None:
        return None
    try:
        return HEAT_POINTS[rule]
    except KeyError:
        raise Invalid("points.rule", rule=rule, known=", ".join(HEAT_POINTS)) from None


def session_points(
    params: Mapping[str, Any], kind: str | None, rows: Sequence[RaceRow], laps: int
) -> dict[str, int] | None:
    """Each car's points in one recorded session (participants = its rows), or None."""
    scale = points_rule(params, kind)
    if scale is None:
        return None
    return {r.number: scale(r, laps, len(rows)) for r in rows}
