"""What one scenario line did to the engine: the typed answer of `Engine.apply_line`.

The engine fills one `Outcome` per line as it works; the live session uses it to answer the
caller (warnings, the correction id, the penalty a line created), to label raw reads for the
timing crew, and to tell the hub whether anything a client can see changed. The hub still
diffs classifications for the wire: an `Outcome` says *what* changed, the hub's deltas say *how*
each row now reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ACCEPTED, DUPLICATE, UNKNOWN, REJECTED = "accepted", "duplicate", "unknown", "rejected"


@dataclass(slots=True)
class Outcome:
    """One line's effect. `status`: accepted, duplicate (a read already counted), unknown (a read of
    a transponder no car counts) or rejected (the engine ignored the line, `warnings` say why)."""

    status: str = ACCEPTED
    warnings: list[str] = field(default_factory=list)
    cars: set[str] = field(default_factory=set)  # cars whose state changed
    penalties: list[str] = field(default_factory=list)  # penalty ids created or changed, in order
    corrections: list[str] = field(default_factory=list)  # correction ids this line made or undid
    signals: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)  # cars that took the chequered flag
    laps: bool = False  # a car completed (or lost) a lap: positions may move
    session: bool = False  # session-wide state changed (configuration, the session closed)
    rebuilt: bool = False  # every car was rebuilt (a revert, a late line before the finish, a rollback)

    @property
    def changed(self) -> bool:
        """Anything at all happened (a warning or a refused read counts: the crew sees it)."""
        return bool(self.status != ACCEPTED or self.warnings or self.cars or self.penalties or self.corrections
                    or self.signals or self.finished or self.session or self.rebuilt)  # fmt: skip

    @property
    def order_may_change(self) -> bool:
        """The finishing order may differ: a lap, a finish, a penalty, a signal or a rebuild."""
        return bool(self.laps or self.finished or self.penalties or self.signals or self.session or self.rebuilt)

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

    def merge(self, other: Outcome) -> None:
        """Fold a later line's outcome into this one (a batch of lines answered as one)."""
        if other.status != ACCEPTED and self.status == ACCEPTED:
            self.status = other.status
        self.warnings += other.warnings
        self.cars |= other.cars
        self.penalties += [p for p in other.penalties if p not in self.penalties]
        self.corrections += other.corrections
        self.signals += other.signals
        self.finished += other.finished
        self.laps |= other.laps
        self.session |= other.session
        self.rebuilt |= other.rebuilt

    def penalty(self, pid: str) -> None:
        if pid not in self.penalties:
            self.penalties.append(pid)
