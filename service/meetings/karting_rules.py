"""FFSA karting meeting (seed 001 art. 21-23): heat groups (KA-SERIES), grids (KA-GRID), points
and ties (KA-POINTS), super-heats (KA-SUPERHEAT) and the final classification (KA-FINAL)."""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from service.errors import Invalid

from .model import RaceRow, by_place
from .points import ka_points

KA_GROUP_MAX = 18  # KA-SERIES: at most 18 drivers per series
KA_SINGLE_GROUP_HEATS = 3  # KA-SERIES: one group runs at least 3 heats
KA_SUPERHEAT_ONE_MAX = 36  # KA-SUPERHEAT: up to 36 -> one super-heat
KA_SUPERHEAT_LIMIT = 72  # KA-SUPERHEAT: alternation runs down to the 72nd
KA_FINALISTS = 36  # KA-SUPERHEAT: 36 finalists


def group_name(i: int) -> str:
    """Series names A, B, C... (seed 001 art. 21c)."""
    return string.ascii_uppercase[i]


def ka_groups(
    qualifying_order: Sequence[str], track_capacity: int, group_max: int = KA_GROUP_MAX
) -> list[list[str]]:
    """KA-SERIES: one group when the entry fits the track, else series of at most half the
    track capacity (and at most 18).

    **Decision:** drivers are dealt round-robin in qualifying order (1st -> A, 2nd -> B, ...) so
    every series has the same strength; each series stays in qualifying order.
    """
    n = len(qualifying_order)
    if n <= track_capacity:
        return [list(qualifying_order)] if n else []
    size = min(track_capacity // 2, group_max)
    if size < 1:
        raise Invalid("meeting.capacity_small")
    k = -(-n // size)
    groups: list[list[str]] = [[] for _ in range(k)]
    for i, number in enumerate(qualifying_order):
        groups[i % k].append(number)
    return groups


def ka_heat_pairings(n_groups: int) -> list[tuple[int, int]]:
    """KA-SERIES: which two series race together in each heat when the entry is split.

    **Decision:** every pair of series meets once, scheduled in rounds where no series races
    twice (round-robin "circle" method): A-B, C-D, A-C, B-D, A-D, B-C for four series.
    """
    if n_groups < 2:
        return []
    slots: list[int | None] = list(range(n_groups))
    if n_groups % 2:
        slots.append(None)
    m = len(slots)
    rounds: list[list[tuple[int, int]]] = []
    for _ in range(m - 1):
        pairs = []
        for i in range(m // 2):
            a, b = slots[i], slots[m - 1 - i]
            if a is not None and b is not None:
                pairs.append((min(a, b), max(a, b)))
        rounds.append(sorted(pairs))
        slots = [slots[0], slots[-1], *slots[1:-1]]
    # The circle method ends on A-B; run its rounds backwards so the heats open with A-B.
    return [pair for rnd in reversed(rounds) for pair in rnd]


def ka_heat_grid(previous_order: Sequence[str], drivers: Sequence[str] | None = None) -> list[str]:
    """KA-GRID: heat 1 lines up in qualifying order, heat 2 in heat 1's finishing order, heat 3
    in heat 2's. ``drivers`` restricts the order to one heat's field (split entries)."""
    if drivers is None:
        return list(previous_order)
    field = set(drivers)
    ranked = [n for n in previous_order if n in field]
    return ranked + [n for n in drivers if n not in set(ranked)]


def ka_heat_points(rows: Sequence[RaceRow]) -> dict[str, int]:
    """KA-POINTS for one heat or super-heat: participants = karts on its entry list."""
    return {row.number: ka_points(row, len(rows)) for row in rows}


@dataclass(frozen=True, slots=True)
class KaStanding:
    number: str
    points: int


def ka_standings(points: Sequence[Mapping[str, int]], qualifying_order: Sequence[str]) -> list[KaStanding]:
    """KA-POINTS: the intermediate classification: sum of points (fewer is better), ties broken
    by the qualifying rank. A driver absent from a heat's points scores nothing there."""
    idx = {n: i for i, n in enumerate(qualifying_order)}
    far = len(idx)
    numbers = list(dict.fromkeys([*qualifying_order, *(n for p in points for n in p)]))
    standings = [KaStanding(n, sum(p.get(n, 0) for p in points)) for n in numbers]
    return sorted(standings, key=lambda s: (s.points, idx.get(s.number, far), s.number))


def ka_superheat_grids(
    intermediate: Sequence[str], one_max: int = KA_SUPERHEAT_ONE_MAX, limit: int = KA_SUPERHEAT_LIMIT
) -> list[list[str]]:
    """KA-SUPERHEAT: grid(s) from the intermediate classification.

    Below 36 drivers one super-heat in that order; above 36, rank 1 takes pole of A, rank 2 pole
    of B, alternating down to the 72nd. **Decision:** exactly 36 still run one super-heat.
    """
    field = list(intermediate[:limit])
    if len(field) <= one_max:
        return [field] if field else []
    return [field[0::2], field[1::2]]


def ka_finalists(
    heat_points: Sequence[Mapping[str, int]],
    superheat_points: Mapping[str, int],
    qualifying_order: Sequence[str],
    size: int = KA_FINALISTS,
) -> list[KaStanding]:
    """KA-SUPERHEAT: heat + super-heat points decide the finalists (top 36, final grid order)."""
    return ka_standings([*heat_points, superheat_points], qualifying_order)[:size]


@dataclass(frozen=True, slots=True)
class KaFinalLine:
    position: int
    number: str
    finalist: bool
    podium: bool


def ka_final_classification(
    final_rows: Sequence[RaceRow], intermediate: Sequence[str] = ()
) -> list[KaFinalLine]:
    """KA-FINAL: the final's result is the meeting's championship classification; top 3 to the
    podium. Non-finalists follow in intermediate-classification order, marked as such."""
    out: list[KaFinalLine] = []
    for row in by_place(final_rows):
        pos = len(out) + 1
        out.append(KaFinalLine(pos, row.number, True, pos <= 3))
    seen = {line.number for line in out}
    for number in intermediate:
        if number not in seen:
            seen.add(number)
            out.append(KaFinalLine(len(out) + 1, number, False, False))
    return out
