"""A free meeting: sessions the organiser adds by hand (any preset: an endurance weekend's
practice, qualifying and race, a club's training day), grouped under one name, date and place.

Nothing is derived from one session for the next, so the format answers the `Meeting` protocol
with no stages, no plans and no rankings; asked for one it raises `MeetingError` (a conflict).
Its optional entry list is copied into each session the organiser adds (service/meetings/service.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .model import RaceRow
from .runner import MeetingError, SessionPlan

if TYPE_CHECKING:
    from .tables import Ranking


class FreeMeeting:
    """Sessions by hand; the meeting keeps a name, a label (`division`) and a default entry list."""

    preset = "free"

    def __init__(self, entries: Sequence[dict[str, Any]] = (), *, name: str = "", division: str = "") -> None:
        self.name = name
        self._division = division
        self.entries: dict[str, dict[str, Any]] = {}
        for e in entries:
            number = str(e.get("number") or "").strip()
            if not number:
                raise MeetingError("meeting.entry_no_number")
            if number in self.entries:
                raise MeetingError("meeting.entry_twice", number=number)
            self.entries[number] = {**e, "type": "entry", "number": number}
        self.results: dict[str, list[RaceRow]] = {}
        self.penalties: dict[str, dict[str, list[str]]] = {}
        self.recorded_at: dict[str, str] = {}
        self.signoffs: list[dict[str, Any]] = []

    @classmethod
    def create(cls, entries: Sequence[dict[str, Any]], fields: dict[str, Any]) -> FreeMeeting:
        return cls(entries, name=str(fields.get("name") or ""), division=str(fields.get("division") or ""))

    @property
    def division(self) -> str:
        return self._division

    def state(self) -> dict[str, Any]:
        return {
            "preset": self.preset,
            "name": self.name,
            "division": self._division,
            "entries": list(self.entries.values()),
            "signoffs": self.signoffs,
        }

    @classmethod
    def from_state(cls, st: dict[str, Any]) -> FreeMeeting:
        m = cls(st.get("entries") or (), name=st.get("name", ""), division=st.get("division", ""))
        m.signoffs = list(st.get("signoffs", ()))
        return m

    # -- the protocol's answers: nothing is chained, nothing is ranked across sessions -------------
    def stages(self) -> list[str]:
        return []

    def current_stage(self) -> str | None:
        return None

    def plans(self, stage: str) -> list[SessionPlan]:
        raise MeetingError("meeting.no_stages")

    def plan(self, key: str) -> SessionPlan:
        raise MeetingError("meeting.no_stages")

    def record(self, key: str, rows: Sequence[RaceRow], *, at: str | None = None) -> None:
        raise MeetingError("meeting.no_stages")

    def record_engine(self, key: str, engine: Any, at: str | None = None) -> None:
        raise MeetingError("meeting.no_stages")

    def ranking_docs(self) -> tuple[str, ...]:
        return ()

    def ranking(self, doc: str) -> Ranking:
        raise MeetingError("meeting.no_stages")

    def entry_warnings(self) -> list[str]:
        return []

    def decisions(self) -> dict[str, Any]:
        return {"stopped_after": None, "unable_to_start": [], "cancelled": []}

    def check_decision(self, name: str) -> None:
        raise MeetingError("meeting.no_stages")

    def declare_unable(self, number: str) -> None:
        raise MeetingError("meeting.no_stages")

    def stop(self, after: str) -> None:
        raise MeetingError("meeting.no_stages")

    def cancel_heat(self, stage: str) -> None:
        raise MeetingError("meeting.no_stages")

    def admit_without_lap(self, number: str) -> None:
        raise MeetingError("meeting.no_stages")

    def red_flag(self, key: str, *args: Any, **kwargs: Any) -> SessionPlan | None:
        raise MeetingError("meeting.no_stages")
