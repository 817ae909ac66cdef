"""What every meeting format shares: a session to run (`SessionPlan`) and a step asked out of order
(`MeetingError`). The formats (autocross.py, karting.py, free.py) import these; nothing here
imports a format."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from service.errors import Conflict

from .grids import AX_GRID_PATTERN, Slot, grid_rows


class MeetingError(Conflict, ValueError):
    """A step asked out of order (e.g. the semis before heat 3 is recorded): a domain conflict (409).
    Still a `ValueError` for pure callers that catch that."""


@dataclass(frozen=True, slots=True)
class SessionPlan:
    """One session to run: who starts where, and the scenario header that sets it up."""

    key: str  # "heat2.2" = heat 2, series 2
    stage: str
    kind: str
    series: int  # 1-based
    laps: int
    grid: list[Slot]  # grid order; None = a cell left free
    session_line: dict[str, Any] = field(default_factory=dict)
    entries: list[dict[str, Any]] = field(default_factory=list)
    pattern: tuple[int, ...] = AX_GRID_PATTERN  # cars per grid row, repeating

    @property
    def rows(self) -> list[list[Slot]]:
        """The grid drawn in rows: 3-2-3-2 with the pole inside for auto-cross (AX-LENGTH)."""
        return grid_rows(self.grid, self.pattern)

    def public(self) -> dict[str, Any]:
        """What the pages show of the plan (the session it became is the caller's to add)."""
        return {
            "key": self.key,
            "stage": self.stage,
            "kind": self.kind,
            "series": self.series,
            "laps": self.laps,
            "grid": self.grid,
            "rows": self.rows,
        }

    def header_lines(self) -> list[dict[str, Any]]:
        """The `session` and `entry` lines of this session's scenario (shared/spec/scenario.md)."""
        return [self.session_line, *self.entries]
