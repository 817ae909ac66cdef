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

from .model import SeasonError, where
from .rules import Championship, SeasonEvent, championship

Fetch = Callable[[str, str, Any], dict[str, Any]]  # (event name, role, reference) -> results document
OPTIONS = ("stopped_at_s", "duration_s", "division", "date")


def parse_season(obj: Any) -> tuple[Championship, str, list[dict[str, Any]]]:
    """Check the season's shape (not its documents): its championship, name and event specs."""
    if not isinstance(obj, dict):
        raise SeasonError("season.not_object")
    champ = championship(str(obj.get("championship") or ""))
    events = obj.get("events")
    if not isinstance(events, list):
        raise SeasonError("season.events_list")
    names: set[str] = set()
    for i, ev in enumerate(events, 1):
        if not isinstance(ev, dict) or not str(ev.get("name") or "").strip():
            raise SeasonError("season.event_name", index=i)
        if ev["name"] in names:
            raise SeasonError("season.event_twice", index=i, event=ev["name"])
        names.add(ev["name"])
        missing = [r for r in champ.required if ev.get(r) in (None, "")]
        if missing:
            raise SeasonError(
                "season.event_needs", event=ev["name"], championship=champ.name, missing=", ".join(missing)
            )
        unknown = sorted(set(ev) - {"name", *champ.roles, *OPTIONS})
        if unknown:
            raise SeasonError(
                "season.event_unknown_fields",
                event=ev["name"],
                fields=", ".join(unknown),
                documents=", ".join(champ.roles),
                options=", ".join(OPTIONS),
            )
    return champ, str(obj.get("name") or obj["championship"]), events


def resolve_events(champ: Championship, events: list[dict[str, Any]], fetch: Fetch) -> list[SeasonEvent]:
    out = []
    for ev in events:
        docs = {
            role: fetch(ev["name"], role, ev[role]) for role in champ.roles if ev.get(role) not in (None, "")
        }
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
            raise SeasonError(
                "season.cannot_read", where=where(event, role), path=str(path), error=exc.strerror
            ) from exc
        except ValueError as exc:
            raise SeasonError(
                "season.not_json", where=where(event, role), path=str(path), error=str(exc)
            ) from exc

    return fetch


def load_season_file(path: str | Path) -> tuple[dict[str, Any], Fetch]:
    path = Path(path)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SeasonError("season.file_cannot_read", path=str(path), error=exc.strerror) from exc
    except ValueError as exc:
        raise SeasonError("season.file_not_json", path=str(path), error=str(exc)) from exc
    return obj, file_fetch(path.parent)
