"""What one scenario line did to the engine: the typed answer of `Engine.apply_line`.

The engine fills one `Outcome` per line as it works; the live session uses it to answer the
caller (warnings, the correction id, the penalty a line created), to label raw reads for the
timing crew, and to tell the hub whether anything a client can see changed. The hub still
diffs classifications for the wire: an `Outcome` says *what* changed, the hub's deltas say *how*
each row now reads.

One is made per line on the replay path, so it is a slotted class whose collections start as a
shared empty tuple and become a list or set on first write (through the methods below).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

ACCEPTED, DUPLICATE, UNKNOWN, REJECTED = "accepted", "duplicate", "unknown", "rejected"
_EMPTY: tuple = ()


class Outcome:
    """One line's effect. `status`: accepted, duplicate (a read already counted), unknown (a read of
    a transponder no car counts) or rejected (the engine ignored the line, `warnings` say why).

    `cars`: cars whose state changed; `penalties`: penalty ids created or changed, in order;
    `corrections`: correction ids the line made or undid; `signals`; `finished`: cars that took the
    chequered flag; `laps`: a car completed a lap; `session`: session-wide state changed;
    `rebuilt`: every car was rebuilt (a revert, a late line before the finish, a rollback).
    """

    __slots__ = (
        "status",
        "warnings",
        "cars",
        "penalties",
        "corrections",
        "signals",
        "finished",
        "laps",
        "session",
        "rebuilt",
    )

    def __init__(self, status: str = ACCEPTED, rebuilt: bool = False) -> None:
        self.status = status
        self.warnings: Sequence[str] = _EMPTY
        self.cars: Collection[str] = _EMPTY
        self.penalties: Sequence[str] = _EMPTY
        self.corrections: Sequence[str] = _EMPTY
        self.signals: Sequence[str] = _EMPTY
        self.finished: Sequence[str] = _EMPTY
        self.laps = False
        self.session = False
        self.rebuilt = rebuilt

    def __repr__(self) -> str:
        shown = {k: getattr(self, k) for k in self.__slots__ if getattr(self, k)}
        return f"Outcome({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    # -- what the engine records ------------------------------------------------------------------
    def car(self, number: str) -> None:
        if self.cars is _EMPTY:
            self.cars = {number}
        else:
            self.cars.add(number)  # type: ignore[attr-defined]

    def warn(self, message: str) -> None:
        self.warnings = [*self.warnings, message]

    def penalty(self, pid: str) -> None:
        if pid not in self.penalties:
            self.penalties = [*self.penalties, pid]

    def corrected(self, cid: str) -> None:
        self.corrections = [*self.corrections, cid]

    def signal(self, name: str) -> None:
        self.signals = [*self.signals, name]

    def finish(self, number: str) -> None:
        self.finished = [*self.finished, number]

    # -- what callers ask ---------------------------------------------------------------------------
    @property
    def changed(self) -> bool:
        """Anything at all happened (a warning or a refused read counts: the crew sees it)."""
        return bool(
            self.status != ACCEPTED
            or self.warnings
            or self.cars
            or self.penalties
            or self.corrections
            or self.signals
            or self.finished
            or self.session
            or self.rebuilt
        )

    @property
    def order_may_change(self) -> bool:
        """The finishing order may differ: a lap, a finish, a penalty, a signal or a rebuild."""
        return bool(
            self.laps or self.finished or self.penalties or self.signals or self.session or self.rebuilt
        )

    @property
    def read_state(self) -> str:
        """How the timing crew's feed labels a raw read: ok, duplicate, unknown or rejected."""
        if self.status in (UNKNOWN, DUPLICATE):
            return self.status
        return "rejected" if self.status == REJECTED or self.warnings else "ok"

    @property
    def correction(self) -> str | None:
        """The id a correction line was logged under (the last one, for a line that made several)."""
        return self.corrections[-1] if self.corrections else None
