"""Starting grids: rows 3-2-3-2 with the pole on the inside (AX-LENGTH), semis (AX-SEMI) and
the final with its replacement rule (AX-FINAL)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from service.errors import Invalid

AX_GRID_PATTERN: tuple[int, ...] = (3, 2)  # AX-LENGTH: grids 3-2-3-2
SEMI_TWO_FROM = 11  # AX-SEMI: two semis when at least 11 are classified after the heats
SEMI_MAX = 30  # AX-SEMI: at most 30 drivers in the semis
FINAL_SIZE = 15  # AX-FINAL: 15 finalists

Slot = str | None  # a car number, or None for a place left free on its row


def grid_rows(order: Sequence[Slot], pattern: Sequence[int] = AX_GRID_PATTERN) -> list[list[Slot]]:
    """Cut a grid order into rows (3, 2, 3, 2, ...), each row listed from the inside (pole side).

    A ``None`` keeps its cell: "les emplacements des pilotes absents restent libres sur la
    même ligne" (003 art. 7.3.1.2), so absent cars do not shift the rows behind them.
    """
    if not pattern or any(p < 1 for p in pattern):
        raise Invalid("grid.pattern")
    rows: list[list[Slot]] = []
    i = 0
    r = 0
    while i < len(order):
        size = pattern[r % len(pattern)]
        rows.append(list(order[i : i + size]))
        i += size
        r += 1
    return rows


def with_vacancies(order: Sequence[str], absent: Collection[str]) -> list[Slot]:
    """Grid order where absent cars leave an empty cell instead of moving the others up."""
    return [None if n in absent else n for n in order]


def semi_split(
    ranking: Sequence[str], max_total: int = SEMI_MAX, two_from: int = SEMI_TWO_FROM
) -> list[list[str]]:
    """AX-SEMI: the semi-final line-ups from the ranking after the heats (qualified only).

    At most ``max_total`` take part; with at least ``two_from`` of them, odd ranks go to semi 1
    and even ranks to semi 2, else everyone runs one semi. Each list is grid order.
    """
    field_ = list(ranking[:max_total])
    if not field_:
        return []
    if len(field_) < two_from:
        return [field_]
    return [field_[0::2], field_[1::2]]


@dataclass(frozen=True, slots=True)
class FinalGrid:
    """The final's grid order and who was swapped (AX-FINAL)."""

    grid: list[str]
    non_starters: list[str] = field(default_factory=list)  # finalists replaced, semi-ranking order
    substitutes: list[str] = field(default_factory=list)  # first non-qualified, in the order called


def final_grid(
    semi_order: Sequence[str],
    eligible: Collection[str],
    unable_to_start: Collection[str] = (),
    size: int = FINAL_SIZE,
) -> FinalGrid:
    """AX-FINAL: the first ``size`` of the semi ranking who ran their semi, in that order.

    A finalist unable to reach the grid is replaced by the first non-qualified driver, who
    starts last while the others move up (003 art. 7.3.1.6). A driver absent from the semis
    (not in ``eligible``) is not replaced: the final simply has one car fewer.
    """
    top = list(semi_order[:size])
    qualified = [n for n in top if n in eligible]
    starters = [n for n in qualified if n not in unable_to_start]
    non_starters = [n for n in qualified if n in unable_to_start]
    reserves = [n for n in semi_order[size:] if n in eligible and n not in unable_to_start]
    substitutes = reserves[: len(non_starters)]
    return FinalGrid(grid=starters + substitutes, non_starters=non_starters, substitutes=substitutes)
