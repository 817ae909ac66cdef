"""The meetings' files: one JSON file per meeting in `DATA/meetings/`, and the imported calendar.

`MeetingBook` is the file edge of the pure `service/meetings` package: it loads each meeting by the
preset in its state (`meeting_from_state`), keeps the meeting's tokens, live-session ids and
organiser's details (date, place, organiser, whether it has a logo) beside it, and writes
atomically (`service/jsonfile.py`; 0600 as the file holds the tokens). The logo is its own file
(`ID.logo`, its media type in `info`). Each save bumps the meeting's version: pages ask for the
meeting with that version as ETag and get a 304 until something changed.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

from service.errors import NotFound
from service.jsonfile import write_json
from service.meetings.protocol import Meeting, meeting_from_state
from service.meetings.publish import SIGN_ROLES


class MeetingBook:
    """Meetings by id, each one JSON file: {id, tokens, sessions: {key: session id}, state}."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.meetings: dict[str, Meeting] = {}
        self.meta: dict[str, dict[str, Any]] = {}
        self._calendar: list[dict[str, Any]] = []
        self.boot = secrets.token_hex(3)  # versions restart with the process: ETags must not repeat
        self.versions: dict[str, int] = {}
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
                    self.meta[doc["id"]] = {
                        "tokens": doc["tokens"],
                        "sessions": doc.get("sessions", {}),
                        "info": dict(doc.get("info") or {}),
                    }
                except (ValueError, KeyError, TypeError):
                    continue  # a damaged file must not stop the service

    @property
    def calendar(self) -> list[dict[str, Any]]:
        return self._calendar

    def set_calendar(self, events: list[dict[str, Any]]) -> None:
        self._calendar = events
        write_json(self.folder / "calendar.json", events)

    def create(self, meeting: Meeting, info: dict[str, Any] | None = None) -> str:
        """Store a new meeting under a new id, with its own staff tokens (AX-PUBLISH roles) and what
        every printed sheet says of it (`info`: date, place, organiser, logo)."""
        mid = f"m{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        self.meetings[mid] = meeting
        self.meta[mid] = {
            "tokens": {r: secrets.token_urlsafe(18) for r in SIGN_ROLES},
            "sessions": {},
            "info": dict(info or {}),
        }
        self.save(mid)
        return mid

    def replace(self, mid: str, meeting: Meeting) -> None:
        """The same meeting (id, tokens, sessions) rebuilt from new inputs, e.g. its entry list."""
        self.get(mid)
        self.meetings[mid] = meeting
        self.save(mid)

    def delete(self, mid: str) -> None:
        """Forget the meeting: its file and logo go; its sessions are the manager's business."""
        self.get(mid)
        del self.meetings[mid], self.meta[mid]
        self.versions.pop(mid, None)
        for path in (self.folder / f"{mid}.json", self._logo_path(mid)):
            path.unlink(missing_ok=True)

    def info(self, mid: str) -> dict[str, Any]:
        """The organiser's details: `date` (ISO), `place`, `organiser`, `logo` (media type or absent)."""
        self.get(mid)
        return self.meta[mid].setdefault("info", {})

    def version(self, mid: str) -> str:
        """Changes with every save of the meeting (an ETag for the pages)."""
        return f"{self.boot}-{self.versions.get(mid, 0)}"

    def _logo_path(self, mid: str) -> Path:
        return self.folder / f"{mid}.logo"

    def set_logo(self, mid: str, data: bytes | None, media_type: str = "") -> None:
        """Store (or with None remove) the meeting's logo, already checked by the caller."""
        info = self.info(mid)
        path = self._logo_path(mid)
        if data is None:
            path.unlink(missing_ok=True)
            info.pop("logo", None)
        else:
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
            info["logo"] = media_type
        self.save(mid)

    def logo(self, mid: str) -> tuple[bytes, str] | None:
        """The logo's bytes and media type, or None."""
        media = self.info(mid).get("logo")
        try:
            return (self._logo_path(mid).read_bytes(), media) if media else None
        except OSError:
            return None

    def get(self, mid: str) -> Meeting:
        m = self.meetings.get(mid)
        if m is None:
            raise NotFound("meeting.not_found", meeting=mid)
        return m

    def tokens(self, mid: str | None) -> dict[str, str]:
        """The meeting's staff tokens by role (none for an unknown meeting or no meeting)."""
        return dict(self.meta.get(mid or "", {}).get("tokens") or {})

    def session_doc(self, sid: str) -> tuple[str, str] | None:
        """(meeting id, plan key) of a live session a meeting opened, or None."""
        return next(
            (
                (mid, key)
                for mid, meta in self.meta.items()
                for key, s in meta["sessions"].items()
                if s == sid
            ),
            None,
        )

    def sessions(self, mid: str) -> dict[str, str]:
        """Plan key -> live session id of the meeting (the live dict: callers add to it)."""
        self.get(mid)
        return self.meta[mid]["sessions"]

    def forget_session(self, sid: str) -> None:
        """A deleted live session leaves every meeting that listed it."""
        for mid, meta in self.meta.items():
            keys = [k for k, v in meta.get("sessions", {}).items() if v == sid]
            for k in keys:
                del meta["sessions"][k]
            if keys:
                self.save(mid)

    def save(self, mid: str) -> None:
        self.versions[mid] = self.versions.get(mid, 0) + 1
        doc = {"id": mid, **self.meta[mid], "state": self.meetings[mid].state()}
        write_json(self.folder / f"{mid}.json", doc, private=True)  # it holds the meeting's tokens
