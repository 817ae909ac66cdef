"""Seasons as data: `{"championship": "lemans-270", "name"?, "events": [{"name": "2H Mars",
"qualifying": "e1-q.json", "race": "e1-race.json"}, ...]}`. Each document reference is resolved
by a `fetch` callback: a path relative to the season file (CLI), or a live session / meeting id
or an inline results object (API). Only this module and the API touch files or sessions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .model import SeasonError
from .rules import Championship, SeasonEvent, championship

Fetch = Callable[[str, str, Any], dict[str, Any]]  # (event name, role, reference) -> results document
OPTIONS = ("stopped_at_s", "duration_s", "division", "date")


def parse_season(obj: Any) -> tuple[Championship, str, list[dict[str, Any]]]:
    """Check the season's shape (not its documents): its championship, name and event specs."""
    if not isinstance(obj, dict):
        raise SeasonError("a season is a JSON object with 'championship' and 'events'")
    champ = championship(str(obj.get("championship") or ""))
    events = obj.get("events")
    if not isinstance(events, list):
        raise SeasonError("'events' must be a list of {name, <documents>}")
    names: set[str] = set()
    for i, ev in enumerate(events, 1):
        if not isinstance(ev, dict) or not str(ev.get("name") or "").strip():
            raise SeasonError(f"event {i}: needs a 'name'")
        if ev["name"] in names:
            raise SeasonError(f"event {i}: name {ev['name']!r} used twice")
        names.add(ev["name"])
        missing = [r for r in champ.required if ev.get(r) in (None, "")]
        if missing:
            raise SeasonError(f"event {ev['name']!r}: {champ.name} needs {', '.join(missing)}")
        unknown = sorted(set(ev) - {"name", *champ.roles, *OPTIONS})
        if unknown:
            raise SeasonError(f"event {ev['name']!r}: unknown field(s) {', '.join(unknown)} "
                              f"(documents: {', '.join(champ.roles)}; options: {', '.join(OPTIONS)})")  # fmt: skip
    return champ, str(obj.get("name") or obj["championship"]), events


def resolve_events(champ: Championship, events: list[dict[str, Any]], fetch: Fetch) -> list[SeasonEvent]:
    out = []
    for ev in events:
        docs = {role: fetch(ev["name"], role, ev[role]) for role in champ.roles if ev.get(role) not in (None, "")}
        out.append(SeasonEvent(str(ev["name"]), docs, {k: ev[k] for k in OPTIONS if k in ev}))
    return out


def file_fetch(folder: Path) -> Fetch:
    """Results files named relative to the season file's folder."""

    def fetch(event: str, role: str, ref: Any) -> dict[str, Any]:
        if isinstance(ref, dict):
            return ref
        path = folder / str(ref)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise SeasonError(f"event {event!r} {role}: cannot read {path}: {exc.strerror}") from exc
        except ValueError as exc:
            raise SeasonError(f"event {event!r} {role}: {path} is not JSON ({exc})") from exc

    return fetch


def load_season_file(path: str | Path) -> tuple[dict[str, Any], Fetch]:
    path = Path(path)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SeasonError(f"cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise SeasonError(f"{path} is not JSON ({exc})") from exc
    return obj, file_fetch(path.parent)
