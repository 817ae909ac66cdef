"""A meeting's tokens on the meeting's own live sessions, and which meeting a session belongs to.

A meeting hands out `timing`, `race_director` and `stewards` tokens; its sessions are opened by
the meeting (stages, AX-RED restarts). On those sessions the meeting's timing token acts as the
session's timing crew and the race director's and stewards' tokens as race control, so one
token per job runs the whole meeting. Pure lookups over the MeetingBook's metadata.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from service.auth import same_token
from service.meetings.publish import RACE_DIRECTOR, STEWARDS, TIMING

if TYPE_CHECKING:
    from service.meetings.store import MeetingBook

# meeting role -> the session role it acts as (service/auth.py names)
SESSION_ROLE = {TIMING: "timing", RACE_DIRECTOR: "race_control", STEWARDS: "race_control"}


def meetings_of(book: MeetingBook | None, sid: str) -> list[str]:
    """Ids of the meetings that opened session `sid` (normally one)."""
    if book is None:
        return []
    return [mid for mid, meta in book.meta.items() if sid in meta.get("sessions", {}).values()]


def meeting_role(book: MeetingBook | None, mid: str, token: str | None) -> str | None:
    """The meeting role `token` stands for in meeting `mid`, or None."""
    if book is None or not token:
        return None
    for role, tok in (book.meta.get(mid, {}).get("tokens") or {}).items():
        if same_token(token, tok):
            return role
    return None


def session_tokens(
    book: MeetingBook | None, sid: str, own: dict[str, str] | None, token: str | None
) -> dict[str, str]:
    """The session's tokens, plus the presented token under its session role when it is a token of
    a meeting that owns the session (so `auth.role_of` accepts it, and only for this session)."""
    tokens = dict(own or {})
    for mid in meetings_of(book, sid):
        r = meeting_role(book, mid, token)
        if r in SESSION_ROLE and token is not None:
            tokens[SESSION_ROLE[r]] = token
            break
    return tokens


def find_token(book: MeetingBook | None, token: str | None) -> tuple[str, str] | None:
    """(meeting id, meeting role) of a meeting token, for /api/whoami without a session."""
    if book is None or not token:
        return None
    for mid in book.meta:
        r = meeting_role(book, mid, token)
        if r is not None:
            return mid, r
    return None


def session_meetings(book: MeetingBook | None) -> dict[str, dict[str, Any]]:
    """session id -> {id, name, key} of its meeting, for the session list grouped by meeting."""
    out: dict[str, dict[str, Any]] = {}
    if book is None:
        return out
    for mid, meta in book.meta.items():
        m = book.meetings.get(mid)
        for key, sid in meta.get("sessions", {}).items():
            out.setdefault(sid, {"id": mid, "name": (m.name if m else "") or mid, "key": key.split("#")[0]})
    return out
