"""Scenario lines (shared/spec/scenario.md) parsed into engine events.

The engine never sees raw JSON: each line becomes one `Event` with an integer-microsecond time and
an arrival sequence number, so late and out-of-order lines can be put back in their place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from service.timeutil import s_to_us

HEADER_TYPES = frozenset({"session", "entry"})
TIMED_TYPES = frozenset(
    {
        "passing",
        "signal",
        "driver_change",
        "refuel",
        "mechanical",
        "grid_move",
        "weight_check",
        "ballast_check",
        "penalty",
        "waive",
        "manual_passing",
        "invalidate",
    }
)
# Events about one car, found by `number` (passings are found by transponder).
CAR_TYPES = frozenset(
    {"driver_change", "refuel", "mechanical", "grid_move", "weight_check", "ballast_check", "manual_passing"}
)
SIGNALS = frozenset(
    {
        "green",
        "yellow",
        "sc",
        "red",
        "resume",
        "chequered",
        "stop_category",
        "start_procedure",
        "start_lights_green",
        "finish_session",
    }
)


class EventError(ValueError):
    """A line that cannot become an event; the message says why (it ends up in `warnings`)."""


@dataclass(slots=True)
class Event:
    type: str
    t: int  # session clock, microseconds
    seq: int  # arrival order, breaks ties between equal times
    data: dict[str, Any] = field(repr=False)
    number: str | None = None  # car, once resolved
    loop: str | None = None
    transponder: str | None = None
    passing_key: tuple | None = None  # (decoder, passing_id) when the source numbers its reads

    @property
    def sort_key(self) -> tuple[int, int]:
        return (self.t, self.seq)


def parse_event(data: dict[str, Any], seq: int) -> Event:
    """Validate one timed line. Raises EventError with a readable reason."""
    kind = data.get("type")
    if kind not in TIMED_TYPES:
        raise EventError(f"unknown type {kind!r}")
    t = data.get("t")
    if isinstance(t, bool) or not isinstance(t, int | float):
        raise EventError(f"{kind}: missing or non-numeric 't'")
    ev = Event(kind, s_to_us(t), seq, data)
    if kind == "passing":
        transponder = data.get("transponder")
        loop = data.get("loop")
        if transponder is None or transponder == "":
            raise EventError("passing without 'transponder'")
        if not isinstance(loop, str) or not loop:
            raise EventError("passing without 'loop'")
        ev.transponder = str(transponder)
        ev.loop = loop
        pid = data.get("passing_id")
        if pid is not None:
            ev.passing_key = (str(data.get("decoder", "")), str(pid))
    elif kind == "signal":
        sig = data.get("signal")
        if sig not in SIGNALS:
            raise EventError(f"unknown signal {sig!r}")
    elif kind in CAR_TYPES or kind == "penalty":
        number = data.get("number")
        if number is None or number == "":
            raise EventError(f"{kind} without 'number'")
        ev.number = str(number)
        if kind == "manual_passing":
            loop = data.get("loop") or "finish"
            if not isinstance(loop, str):
                raise EventError("manual_passing: 'loop' must be a string")
            ev.loop = loop
        elif kind == "driver_change" and not data.get("driver"):
            raise EventError("driver_change without 'driver'")
        elif kind == "weight_check" and not isinstance(data.get("kg"), int | float):
            raise EventError("weight_check without numeric 'kg'")
    elif kind == "waive":
        if not data.get("penalty_id"):
            raise EventError("waive without 'penalty_id'")
    elif kind == "invalidate":
        # timing crew marks one read invalid: by passing_id (+decoder) or by transponder+loop+t
        if data.get("target_t") is None or not data.get("transponder"):
            raise EventError("invalidate needs 'transponder' and 'target_t'")
    return ev
