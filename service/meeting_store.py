"""The meetings' files: one JSON file per meeting in `DATA/meetings/`, and the imported calendar.

`MeetingBook` is the file edge of the pure `service/meeting` package: it loads each meeting by the
preset in its state (`meeting_from_state`), keeps the meeting's tokens and live-session ids beside
it, and writes atomically (`service/jsonfile.py`; 0600 as the file holds the tokens).
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

from service.errors import NotFound
from service.jsonfile import write_json
from service.meeting.protocol import Meeting, meeting_from_state
from service.meeting.publish import SIGN_ROLES


class MeetingBook:
    """Meetings by id, each one JSON file: {id, tokens, sessions: {key: session id}, state}."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.meetings: dict[str, Meeting] = {}
        self.meta: dict[str, dict[str, Any]] = {}
        self._calendar: list[dict[str, Any]] = []
        cal = folder / "calendar.json"
        if cal.is_file():
            try:
                self._calendar = list(json.loads(cal.read_text(encoding="utf-8")))
            except ValueError:
                self._calendar = []
        if folder.is_dir():
            for path in sorted(folder.glob("m*.json")):
                try:
                    doc = json.loads(path.read_text(encoding="utf-8"))
                    self.meetings[doc["id"]] = meeting_from_state(doc["state"])
                    self.meta[doc["id"]] = {"tokens": doc["tokens"], "sessions": doc.get("sessions", {}),
                                            "info": dict(doc.get("info") or {})}  # fmt: skip
                except (ValueError, KeyError, TypeError):
                    continue  # a damaged file must not stop the service

    @property
    def calendar(self) -> list[dict[str, Any]]:
        return self._calendar

    def set_calendar(self, events: list[dict[str, Any]]) -> None:
        self._calendar = events
        write_json(self.folder / "calendar.json", events)

    def create(self, meeting: Meeting, info: dict[str, str] | None = None) -> str:
        """Store a new meeting under a new id, with its own staff tokens (AX-PUBLISH roles) and what
        every printed sheet says of it (`info`: date, place, organiser)."""
        mid = f"m{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        self.meetings[mid] = meeting
        self.meta[mid] = {"tokens": {r: secrets.token_urlsafe(18) for r in SIGN_ROLES}, "sessions": {},
                          "info": dict(info or {})}  # fmt: skip
        self.save(mid)
        return mid

    def get(self, mid: str) -> Meeting:
        m = self.meetings.get(mid)
        if m is None:
            raise NotFound("meeting.not_found", meeting=mid)
        return m

    def tokens(self, mid: str | None) -> dict[str, str]:
        """The meeting's staff tokens by role (none for an unknown meeting or no meeting)."""
        return dict(self.meta.get(mid or "", {}).get("tokens") or {})

    def info(self, mid: str) -> dict[str, str]:
        """The meeting's date (ISO), place and organiser, those it has."""
        return dict(self.meta.get(mid, {}).get("info") or {})

    def session_doc(self, sid: str) -> tuple[str, str] | None:
        """(meeting id, plan key) of a live session a meeting opened, or None."""
        return next(((mid, key) for mid, meta in self.meta.items() for key, s in meta["sessions"].items()
                     if s == sid), None)  # fmt: skip

    def sessions(self, mid: str) -> dict[str, str]:
        """Plan key -> live session id of the meeting (the live dict: callers add to it)."""
        return self.meta[mid]["sessions"]

    def save(self, mid: str) -> None:
        doc = {"id": mid, **self.meta[mid], "state": self.meetings[mid].state()}
        write_json(self.folder / f"{mid}.json", doc, private=True)  # it holds the meeting's tokens
