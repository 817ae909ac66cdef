"""Small shared records: one car's line of a lap race as the engine classified it, and the names
every module of a meeting agrees on (statuses, the auto-cross heats)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

CLASSIFIED = "classified"
DNF = "dnf"
DNS = "dns"
DSQ = "dsq"
NOT_CLASSIFIED = "not_classified"

STATUSES = frozenset({CLASSIFIED, DNF, DNS, DSQ, NOT_CLASSIFIED})
HEAT_STAGES = ("heat1", "heat2", "heat3")  # AX-HEAT1: the three heats of an auto-cross meeting


@dataclass(frozen=True, slots=True)
class RaceRow:
    """One car in one series/heat/semi/final, in the engine's finishing order.

    ``place`` is the place inside its own race (1 = winner): laps first, then crossing order
    (LAP-FINISH, 003 art. 7.3.1.5), penalties already applied. ``total_time_us`` is the finishing
    crossing plus time penalties, in integer microseconds (``None`` when the car has no time).
    """

    number: str
    place: int
    laps: int
    status: str = CLASSIFIED
    total_time_us: int | None = None

    @property
    def started(self) -> bool:
        """A non-starter never took the grid under its own power (003 art. 7.3.1.2)."""
        return self.status != DNS


def by_place(rows: Iterable[RaceRow]) -> list[RaceRow]:
    """Rows sorted by place; the engine already ranks, this only guards the caller's order."""
    return sorted(rows, key=lambda r: (r.place, r.number))
