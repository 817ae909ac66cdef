"""What every meeting format answers (`Meeting`), and the registry of formats by preset.

The service, the store and the API only talk to a `Meeting`: stages and their session plans,
recorded results, rankings as columns and rows, sign-offs, race-direction decisions. What differs
between formats is a method of the format; a decision a format does not have raises a domain
error (`MeetingError`, a conflict). `FORMATS` maps a preset name to its class, used both to create
a meeting from a request and to load one from its saved state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from service.errors import Invalid

from .autocross import AutocrossMeeting
from .free import FreeMeeting
from .karting import KartingMeeting
from .model import RaceRow
from .runner import MeetingError, SessionPlan
from .tables import Ranking


@runtime_checkable
class Meeting(Protocol):
    """A sprint meeting of one format for one division or category (pure: no I/O, no clock)."""

    preset: str
    name: str
    entries: dict[str, dict[str, Any]]
    results: dict[str, list[RaceRow]]
    penalties: dict[str, dict[str, list[str]]]
    recorded_at: dict[str, str]
    signoffs: list[dict[str, Any]]

    @property
    def division(self) -> str: ...

    # state
    def state(self) -> dict[str, Any]: ...

    # stages and plans
    def stages(self) -> list[str]: ...
    def current_stage(self) -> str | None: ...
    def plans(self, stage: str) -> list[SessionPlan]: ...
    def plan(self, key: str) -> SessionPlan: ...

    # recording (`at`: the wall-clock time, given by the edge)
    def record(self, key: str, rows: Sequence[RaceRow], *, at: str | None = None) -> None: ...
    def record_engine(self, key: str, engine: Any, at: str | None = None) -> None: ...

    # rankings, rendered the same way for every format
    def ranking_docs(self) -> tuple[str, ...]: ...
    def ranking(self, doc: str) -> Ranking: ...

    # checks and race-direction decisions (a format without one raises MeetingError)
    def entry_warnings(self) -> list[str]: ...
    def decisions(self) -> dict[str, Any]: ...
    def check_decision(self, name: str) -> None: ...
    def declare_unable(self, number: str) -> None: ...
    def stop(self, after: str) -> None: ...
    def cancel_heat(self, stage: str) -> None: ...
    def admit_without_lap(self, number: str) -> None: ...
    def red_flag(
        self,
        key: str,
        decision: Any,
        lap_order: Sequence[str],
        laps_before: dict[str, int],
        running: Sequence[str],
        causers: Sequence[str] = (),
    ) -> SessionPlan | None: ...


class MeetingFormat(Protocol):
    """A meeting class: made from a request's fields, or loaded from its saved state."""

    def create(self, entries: Sequence[dict[str, Any]], fields: dict[str, Any]) -> Meeting: ...
    def from_state(self, st: dict[str, Any]) -> Meeting: ...


DEFAULT_PRESET = "autocross"  # a meeting saved without a preset is an auto-cross one
FORMATS: dict[str, MeetingFormat] = {
    "autocross": AutocrossMeeting,
    "ffsa-karting": KartingMeeting,
    "free": FreeMeeting,  # sessions added by hand, any preset
}


def format_of(preset: Any) -> MeetingFormat:
    """The meeting class of a preset, or Invalid naming the known ones."""
    fmt = FORMATS.get(preset) if isinstance(preset, str) else None
    if fmt is None:
        raise Invalid("meeting.preset", known=list(FORMATS))
    return fmt


def new_meeting(preset: Any, entries: Sequence[dict[str, Any]], fields: dict[str, Any]) -> Meeting:
    """A new meeting of `preset`; a bad entry list or field is Invalid (the request's fault)."""
    fmt = format_of(preset)
    try:
        return fmt.create(entries, {**fields, "preset": preset})
    except MeetingError as exc:
        raise Invalid(exc.code, **exc.params) from exc


def meeting_from_state(st: dict[str, Any]) -> Meeting:
    """A saved meeting, by the preset written in its state."""
    return FORMATS.get(st.get("preset") or DEFAULT_PRESET, FORMATS[DEFAULT_PRESET]).from_state(st)
