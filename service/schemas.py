"""Schemas of the request bodies that are not scenario lines: meetings, their sign-offs, seasons.

Scenario lines have theirs in service/engine/events.py. These are checked at the router (`check`)
before a command sees the body: a field of the wrong type or out of its range is a coded 400
naming the field, never a text made of a list (`"[1]"`) or a 500 further down. The body itself is
passed on unchanged; the formats read the fields they know.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec

from service.errors import Invalid

Text = Annotated[str, msgspec.Meta(max_length=200)]
Key = Annotated[str, msgspec.Meta(max_length=100)]
Id = str | int  # a number or transponder: text, or a whole number as a spreadsheet writes it


class _Open(msgspec.Struct, forbid_unknown_fields=False):
    """Fields not named here are allowed (each format reads its own); the named ones are checked."""


class MeetingEntry(_Open):
    number: Id
    name: Text = ""
    transponder: Id | None = None
    category: Text = ""
    division: Text = ""


class MeetingBody(_Open):
    entries: Annotated[
        list[MeetingEntry], msgspec.Meta(max_length=2000)
    ] = []  # or set up on the meeting page
    preset: Key = "autocross"
    name: Text = ""
    division: Text = ""
    category: Text = ""
    track_length_m: Annotated[float, msgspec.Meta(gt=0, le=100_000)] | None = None
    track_capacity: Annotated[int, msgspec.Meta(ge=2, le=1000)] | None = None
    wet: Annotated[list[Key], msgspec.Meta(max_length=50)] | None = None
    admitted_without_lap: Annotated[list[Id], msgspec.Meta(max_length=2000)] | None = None


class CalendarMeetingBody(_Open):
    entries: Annotated[list[MeetingEntry], msgspec.Meta(max_length=2000)] = []
    division: Text = ""


class SignoffBody(_Open):
    document: Key
    role: Key | None = None
    by: Text | None = None


class DecisionBody(_Open):
    """The one-field bodies of race direction's decisions (unable, stop, cancel, admit)."""

    number: Id | None = None
    after: Key | None = None
    heat: Key | None = None


class RedFlagBody(_Open):
    causers: Annotated[list[Id], msgspec.Meta(max_length=2000)] | None = None
    retired: Annotated[list[Id], msgspec.Meta(max_length=2000)] | None = None


def check(body: dict[str, Any], schema: type[msgspec.Struct]) -> dict[str, Any]:
    """`body` when it fits `schema`, else a coded 400 naming the field (`entries[3].name`)."""
    try:
        msgspec.convert(body, schema, strict=True)
    except msgspec.ValidationError as exc:
        text = str(exc)
        m = re.match(r"^(.*) - at `\$(.*)`$", text)
        where, why = (m.group(2).lstrip(".") or "body", m.group(1)) if m else ("body", text)
        raise Invalid("request.field", field=where, error=why.replace("`", "")) from None
    return body
