"""RuleContext: everything a rule may read or do during a session, and nothing more.

Rules are written against this protocol, never against the engine: the engine satisfies it
structurally (its attributes and properties have these names), and a test runs rules against a
minimal object that has only these members. Read-only views: a rule changes the session only
through `penalize(...)`, its per-car `Rule.state(car)` and its per-session `session_state(id)`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from service.engine.car import Car
    from service.engine.events import Event


@runtime_checkable
class RuleContext(Protocol):
    @property
    def now_us(self) -> int:
        """Session clock: the latest event time applied."""
        ...

    @property
    def start_us(self) -> int:
        """Race time origin: the green flag (0 until one is shown)."""
        ...

    @property
    def end_us(self) -> int | None:
        """When the race time is up (start + duration), None for a race without a duration."""
        ...

    @property
    def green_us(self) -> int | None: ...

    @property
    def flag_us(self) -> int | None:
        """The chequered flag: cars finish at their first crossing at or after it."""
        ...

    @property
    def kind(self) -> str:
        """Session kind: race, qualifying, heat, semi, final..."""
        ...

    @property
    def cars(self) -> Mapping[str, Car]: ...

    @property
    def events(self) -> Sequence[Event]:
        """Accepted timed events in arrival order (race-control lines included)."""
        ...

    @property
    def signals(self) -> Sequence[Event]:
        """Flag and start-procedure signals in time order."""
        ...

    def penalize(
        self,
        car: Car,
        rule: str,
        key: tuple,
        t: int,
        evidence: str,
        *,
        laps: int = 0,
        seconds: float = 0.0,
        best_lap_seconds: float = 0.0,
        dsq: bool = False,
        state: str | None = None,
    ) -> object:
        """Emit a penalty; `key` names the infringement so a recomputation keeps the same id."""
        ...

    def session_state(self, rule_id: str) -> dict[str, Any]:
        """The rule's session-wide scratch space, emptied whenever the session is recomputed."""
        ...


MEMBERS = frozenset(n for n in vars(RuleContext) if not n.startswith("_"))
