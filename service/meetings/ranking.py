"""Auto-cross rankings: practice (AX-PRACTICE), each heat (AX-HEAT-RANK), after the heats
(AX-HEAT-TOTAL), after the semis (AX-SEMI) and the meeting's general classification (AX-FINAL)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .model import DNS, DSQ, RaceRow, by_place
from .points import AX_HEAT_DNS, ax_heat_points

NO_TIME = 1 << 62  # sorts after every real time in microseconds
SEMI_POINTS_LIMIT = 40  # AX-HEAT-TOTAL: fewer than 40 points over two heats to reach the semis
HEATS_COUNTED = 2  # AX-HEAT-TOTAL: the two best heat results count


# --------------------------------------------------------------------------------------------
# AX-PRACTICE


@dataclass(frozen=True, slots=True)
class PracticeLine:
    number: str
    best_us: int | None
    second_us: int | None
    laps: int

    @property
    def qualified(self) -> bool:
        """AX-PRACTICE: at least one timed lap to qualify."""
        return self.laps >= 1


def practice_ranking(laps_us: Mapping[str, Sequence[int]], entry_order: Sequence[str]) -> list[PracticeLine]:
    """AX-PRACTICE: rank on the best lap of both sessions, ties on the second best lap.

    ``laps_us`` holds every timed lap of a car over both sessions. Cars without a lap follow
    (not qualified: the stewards may still let them race); the entry order settles what the
    regulation leaves tied, so the ranking is deterministic.
    """
    entry_idx = {n: i for i, n in enumerate(entry_order)}
    lines = []
    for number in entry_order:
        laps = sorted(laps_us.get(number, ()))
        lines.append(
            PracticeLine(
                number=number,
                best_us=laps[0] if laps else None,
                second_us=laps[1] if len(laps) > 1 else None,
                laps=len(laps),
            )
        )

    def key(line: PracticeLine) -> tuple[int, int, int, int]:
        return (
            0 if line.qualified else 1,
            line.best_us if line.best_us is not None else NO_TIME,
            line.second_us if line.second_us is not None else NO_TIME,
            entry_idx[line.number],
        )

    return sorted(lines, key=key)


# --------------------------------------------------------------------------------------------
# AX-HEAT-RANK


@dataclass(frozen=True, slots=True)
class HeatLine:
    """One car's result in one heat, with its AX-HEAT-POINTS."""

    number: str
    series: int  # 0-based series index inside the heat
    place: int
    points: int
    laps: int
    complete: bool  # did every scheduled lap
    total_time_us: int | None
    status: str


def heat_lines(series_rows: Sequence[Sequence[RaceRow]], scheduled_laps: int = 5) -> list[HeatLine]:
    """Score every series of one heat (AX-HEAT-POINTS)."""
    out = []
    for s, rows in enumerate(series_rows):
        for row in rows:
            out.append(
                HeatLine(
                    number=row.number,
                    series=s,
                    place=row.place,
                    points=ax_heat_points(row, scheduled_laps),
                    laps=row.laps,
                    complete=row.started and row.status != DSQ and row.laps >= scheduled_laps,
                    total_time_us=row.total_time_us,
                    status=row.status,
                )
            )
    return out


def heat_ranking(
    series_rows: Sequence[Sequence[RaceRow]],
    practice_best_us: Mapping[str, int | None],
    scheduled_laps: int = 5,
) -> list[HeatLine]:
    """AX-HEAT-RANK: one overall ranking of a heat from the places in each series.

    **Decision:** ranked on heat points, which are the series place for cars that did every lap
    and the fixed 16/17/20/85/90 otherwise, so a car short of laps never ranks ahead of a
    finisher. Equal points: total heat time for cars that did all laps, else the practice time
    (003 art. 7.3.1.2); then series order, so the result is deterministic.
    """
    lines = heat_lines(series_rows, scheduled_laps)

    def key(line: HeatLine) -> tuple[int, int, int, int, str]:
        if line.complete:
            tie = line.total_time_us if line.total_time_us is not None else NO_TIME
        else:
            best = practice_best_us.get(line.number)
            tie = best if best is not None else NO_TIME
        return (line.points, tie, line.series, line.place, line.number)

    return sorted(lines, key=key)


# --------------------------------------------------------------------------------------------
# AX-HEAT-TOTAL


@dataclass(frozen=True, slots=True)
class HeatTotal:
    number: str
    heat_points: tuple[int, ...]  # one per heat run, in heat order
    total: int  # sum of the counted (best) results
    dropped: int  # points of the heats not counted (0 when none dropped)
    best_laps: int  # best heat performance, for the last tie-break
    best_time_us: int | None
    qualified: bool  # reaches the semis


def heat_totals(
    heats: Sequence[Sequence[HeatLine]],
    field_order: Sequence[str],
    limit: int = SEMI_POINTS_LIMIT,
    counted: int = HEATS_COUNTED,
    heat_cancelled: bool = False,
) -> list[HeatTotal]:
    """AX-HEAT-TOTAL: ranking after the heats on the sum of the two best heat results.

    Ties: points of the dropped heat, then the best total time in any heat at equal laps (more
    laps first). ``field_order`` lists every driver (pass the practice ranking): a driver
    missing from a heat scores as a non-starter (85), and the order settles the last ties.
    Only totals under ``limit`` reach the semis, unless the stewards cancelled a heat.
    """
    by_heat = [{line.number: line for line in heat} for heat in heats]
    idx = {n: i for i, n in enumerate(field_order)}
    totals = []
    for number in field_order:
        pts: list[int] = []
        best_laps, best_time = 0, None
        for heat in by_heat:
            line = heat.get(number)
            if line is None:
                pts.append(AX_HEAT_DNS)
                continue
            pts.append(line.points)
            if line.status in (DNS, DSQ):
                continue
            t = line.total_time_us
            if line.laps > best_laps or (
                line.laps == best_laps and t is not None and (best_time is None or t < best_time)
            ):
                best_laps, best_time = line.laps, t
        ordered = sorted(pts)
        total = sum(ordered[:counted])
        dropped = sum(ordered[counted:])
        totals.append(
            HeatTotal(
                number=number,
                heat_points=tuple(pts),
                total=total,
                dropped=dropped,
                best_laps=best_laps,
                best_time_us=best_time,
                qualified=heat_cancelled or total < limit,
            )
        )

    def key(t: HeatTotal) -> tuple[int, int, int, int, int]:
        time = t.best_time_us if t.best_time_us is not None else NO_TIME
        return (t.total, t.dropped, -t.best_laps, time, idx[t.number])

    return sorted(totals, key=key)


# --------------------------------------------------------------------------------------------
# AX-SEMI


@dataclass(frozen=True, slots=True)
class SemiLine:
    number: str
    semi: int  # 0-based semi index
    place: int
    laps: int
    status: str

    @property
    def ran(self) -> bool:
        """Started and not disqualified: may go to the final and score final points (AX-POINTS)."""
        return self.status not in (DNS, DSQ)


def semi_ranking(
    semis: Sequence[Sequence[RaceRow]], heat_order: Sequence[str], laps_first: bool = False
) -> list[SemiLine]:
    """AX-SEMI: merge the semis into one ranking (the final's 15 and its grid).

    Cars are taken place by place across the semis; at equal place more laps first; at equal
    place and laps the ranking after the heats decides (003 art. 7.3.1.6 worked example).
    ``laps_first`` ranks on laps before place, the other reading of the text *(config)*; both
    give the worked example. Non-starters and disqualified cars come last, by heat ranking.
    """
    heat_idx = {n: i for i, n in enumerate(heat_order)}
    far = len(heat_idx)
    lines = [
        SemiLine(number=r.number, semi=s, place=r.place, laps=r.laps, status=r.status)
        for s, rows in enumerate(semis)
        for r in rows
    ]

    def key(line: SemiLine) -> tuple[int, int, int, int, str]:
        rank = heat_idx.get(line.number, far)
        if not line.ran:
            return (1, 0, 0, rank, line.number)
        if laps_first:
            return (0, -line.laps, line.place, rank, line.number)
        return (0, line.place, -line.laps, rank, line.number)

    return sorted(lines, key=key)


# --------------------------------------------------------------------------------------------
# AX-FINAL general classification


@dataclass(frozen=True, slots=True)
class GeneralLine:
    position: int
    number: str
    stage: str  # "final", "final_non_starter", "semi", "heats", "practice"
    scores: bool  # may score the final-table championship points (AX-POINTS)


def general_classification(
    final_rows: Sequence[RaceRow],
    semi_lines: Sequence[SemiLine],
    heat_order: Sequence[str] = (),
    non_starters: Sequence[str] = (),
) -> list[GeneralLine]:
    """AX-FINAL: places 1-15 from the final, then 16+ from the semi ranking.

    A finalist replaced before the start (``non_starters``, from ``final_grid``) takes the
    16th/17th place points (003 art. 7.3.1.6); then the other semi runners in semi order; then,
    without final points, drivers who did not run a semi, in heat ranking order. Disqualified
    drivers are listed last without points.
    """
    out: list[GeneralLine] = []
    seen: set[str] = set()

    def add(number: str, stage: str, scores: bool) -> None:
        if number in seen:
            return
        seen.add(number)
        out.append(GeneralLine(position=len(out) + 1, number=number, stage=stage, scores=scores))

    ran_semi = {s.number for s in semi_lines if s.ran}
    # A disqualified driver is left out and everyone behind moves up (003 art. 7.3.1.2).
    dsq = [r.number for r in final_rows if r.status == DSQ] + [
        s.number for s in semi_lines if s.status == DSQ
    ]
    seen.update(dsq)
    for row in by_place(final_rows):
        add(row.number, "final", row.number in ran_semi)
    for number in non_starters:
        add(number, "final_non_starter", number in ran_semi)
    for line in semi_lines:
        add(line.number, "semi", line.ran)
    for number in heat_order:
        add(number, "heats", False)
    for number in dict.fromkeys(dsq):
        out.append(GeneralLine(position=len(out) + 1, number=number, stage="dsq", scores=False))
    return out


def stopped_classification(
    heat_totals_: Sequence[HeatTotal], semi_lines: Sequence[SemiLine] = ()
) -> list[GeneralLine]:
    """AX-POINTS: the general classification of a meeting stopped early.

    Stopped after heat 2 or heat 3: the ranking after those heats, every driver who started a
    heat scoring. Stopped after the semis (``semi_lines`` given): the semi ranking, only semi
    runners scoring, then the others in heat order. The caller halves the points.
    """
    if semi_lines:
        return general_classification((), semi_lines, [t.number for t in heat_totals_])
    out = []
    for t in heat_totals_:
        started = any(p < AX_HEAT_DNS for p in t.heat_points)
        out.append(GeneralLine(position=len(out) + 1, number=t.number, stage="heats", scores=started))
    return out
