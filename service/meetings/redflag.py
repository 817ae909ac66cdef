"""AX-RED: what happens after a red flag, and the order it leaves behind.

003 art. 7.4: a heat or semi stopped is run again; a final is fully restarted (< 2 laps),
restarted for the remaining laps (2-5 laps) or left as it stands (> 5 laps). Only cars still
running at the red may take the new start, never the one that caused it, which is classified
last of the cars still running.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from service.errors import Invalid

from .grids import Slot
from .model import DNF, RaceRow, by_place

FULL_RESTART_BELOW = 2  # final: fewer laps than this -> full restart on the original grid
STANDS_ABOVE = 5  # final: more laps than this -> the result stands


class RedAction(StrEnum):
    RERUN = "rerun"  # heat or semi: run again in full
    FULL_RESTART = "full_restart"  # final, < 2 laps
    RESTART_REMAINING = "restart_remaining"  # final, 2-5 laps
    RESULT_STANDS = "result_stands"  # final, > 5 laps


@dataclass(frozen=True, slots=True)
class RedFlagDecision:
    action: RedAction
    laps_to_run: int  # laps of the new start (0 when the result stands)
    order_lap: int | None  # lap whose order makes the new grid / the result (None: original grid)


def red_flag_decision(kind: str, leader_laps: int, scheduled_laps: int) -> RedFlagDecision:
    """AX-RED: the decision for a session of ``kind`` stopped after the leader's ``leader_laps``.

    For the final, the "lap before the stop" is the last lap the leader completed before the
    red: the new grid (2-5 laps) or the result (> 5 laps) is the order at the end of that lap.
    """
    if leader_laps < 0:
        raise Invalid("meeting.leader_laps")
    if kind != "final":
        return RedFlagDecision(RedAction.RERUN, scheduled_laps, None)
    if leader_laps < FULL_RESTART_BELOW:
        return RedFlagDecision(RedAction.FULL_RESTART, scheduled_laps, None)
    if leader_laps <= STANDS_ABOVE:
        return RedFlagDecision(RedAction.RESTART_REMAINING, max(scheduled_laps - leader_laps, 0), leader_laps)
    return RedFlagDecision(RedAction.RESULT_STANDS, 0, leader_laps)


def order_at_lap(crossings_us: Mapping[str, Sequence[int]], lap: int, grid_order: Sequence[str]) -> list[str]:
    """The running order at the end of ``lap``: laps done (capped at ``lap``), then who crossed first.

    ``crossings_us`` holds each car's ``finish`` crossings before the red, in time order; a car
    with no lap keeps its grid order. Only cars in ``grid_order`` are ranked.
    """
    grid_idx = {n: i for i, n in enumerate(grid_order)}

    def key(number: str) -> tuple[int, int, int]:
        times = crossings_us.get(number, ())
        done = min(len(times), lap)
        at = times[done - 1] if done else 0
        return (-done, at, grid_idx[number])

    return sorted(grid_order, key=key)


def restart_grid(
    decision: RedFlagDecision,
    original_grid: Sequence[Slot],
    running: Collection[str],
    causers: Collection[str],
    lap_order: Sequence[str] = (),
) -> list[Slot]:
    """The grid of the new start, admitted cars only (running at the red, not the cause).

    Re-runs and full restarts keep the original grid with the cells of cars not admitted left
    free; a restart for the remaining laps lines up in ``lap_order`` (``order_at_lap``).
    """
    admitted = set(running) - set(causers)
    if decision.action is RedAction.RESULT_STANDS:
        return []
    if decision.action is RedAction.RESTART_REMAINING:
        return [n for n in lap_order if n in admitted]
    return [n if n is not None and n in admitted else None for n in original_grid]


def classify_after_red(
    result_order: Sequence[str], causers: Sequence[str], retired_before_red: Sequence[str] = ()
) -> list[str]:
    """AX-RED: final order = the admitted cars' order, then the cause(s) of the red (last of the
    cars still running), then the cars that had retired before the red."""
    out = [n for n in result_order if n not in causers] + list(dict.fromkeys(causers))
    return out + [n for n in retired_before_red if n not in out]


def rows_after_red(
    decision: RedFlagDecision,
    lap_order: Sequence[str],
    laps_before: Mapping[str, int],
    causers: Sequence[str],
    retired_before_red: Sequence[str],
    second: Sequence[RaceRow] = (),
) -> list[RaceRow]:
    """AX-RED: the session's result once the red-flag procedure is over.

    - result stands (final > 5 laps): the order at the end of ``decision.order_lap``;
    - restart for the remaining laps: the second part's finish, laps counted over both parts;
    - re-run / full restart: the second start's result.
    Then the cause(s) of the red, last of the cars still running, then the cars that had retired
    before it (both ``dnf``, with the laps they had done before the red, 0 after a re-run).
    """
    kept = [n for n in lap_order if n not in causers and n not in retired_before_red]
    part1 = decision.order_lap or 0
    rows: list[RaceRow] = []
    if decision.action is RedAction.RESULT_STANDS:
        for n in kept:
            rows.append(RaceRow(n, len(rows) + 1, min(laps_before.get(n, 0), part1)))
    else:
        carried = part1 if decision.action is RedAction.RESTART_REMAINING else 0
        for r in by_place(second):
            if r.number in causers or r.number in retired_before_red:
                continue
            rows.append(RaceRow(r.number, len(rows) + 1, r.laps + carried, r.status, r.total_time_us))
    counted = decision.action in (RedAction.RESULT_STANDS, RedAction.RESTART_REMAINING)
    for n in classify_after_red([], causers, retired_before_red):
        if any(r.number == n for r in rows):
            continue
        laps = min(laps_before.get(n, 0), part1) if counted else 0
        rows.append(RaceRow(n, len(rows) + 1, laps, DNF))
    return rows
