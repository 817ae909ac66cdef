"""Setting a session up from the pages: its name and session line, its entry list one entry at a
time (add, edit, remove), and whether it may be deleted. Commands over a `LiveSession`, domain
errors only (the routers, sessions/api.py and meetings/api.py, translate HTTP).

Every change to the entry list is an `entry` line in the session's log (shared/spec/scenario.md),
so a replay gives the same cars at the same moments:
- an edit is a new `entry` line for the number: the engine keeps the car's reads and spare
  transponders and derives it again (a transponder changed during the race counts from then on,
  the laps already read stay the car's);
- a removal is an `entry` line with `"withdrawn": true`, accepted only while no line names the
  car (no read, no penalty, no correction): a car that has run keeps its history; race control
  disqualifies it, or the crew edits it;
- a new number is a removal and an addition in one transaction, under the same condition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from service.errors import Conflict, Invalid, NotFound

if TYPE_CHECKING:
    from service.engine.engine import Engine
    from service.sessions.live import LiveSession

# what the timing crew edits; other fields of the entry line (wave, division, grid) are kept
EDITABLE = ("name", "team", "category", "transponder", "drivers")
KEPT = ("wave", "division", "grid")
MAX_NAME = 200


def has_run(s: LiveSession) -> bool:
    """Anything happened beyond the set-up: a read (even of an unknown transponder), a flag, a clock."""
    return bool(s.engine.events) or s.state != "upcoming"


def check_deletable(s: LiveSession, seasons: list[str]) -> None:
    """A session is deleted only if it never ran and no season counts it: nothing timed is lost."""
    if has_run(s):
        raise Conflict("sessions.already_run")
    if seasons:
        raise Conflict("meeting.in_season", seasons=", ".join(seasons))


def named_numbers(engine: Engine) -> set[str]:
    """Cars some logged line names (read, penalty, correction, action): their history must stay."""
    return {ev.number for ev in engine.events if ev.number is not None}


def entry_list(s: LiveSession) -> list[dict[str, Any]]:
    """The session's entries as the timing crew edits them, with what they already have."""
    named = named_numbers(s.engine)
    out = []
    for car in s.engine.cars.values():
        e = car.entry
        out.append(
            {
                "number": car.number,
                "name": car.name,
                "team": str(e.get("team") or ""),
                "category": car.category,
                "transponder": car.transponder,
                "spares": list(car.spares),
                "drivers": list(car.drivers),
                **{k: e[k] for k in KEPT if e.get(k) is not None},
                "laps": car.laps,
                "has_history": car.number in named,
            }
        )
    return out


def _text(fields: dict[str, Any], key: str) -> str:
    v = fields.get(key)
    if v is None:
        return ""
    if not isinstance(v, str | int | float) or isinstance(v, bool) or len(str(v)) > MAX_NAME:
        raise Invalid("entries.bad_field", field=key)
    return str(v).strip()


def _drivers(value: Any) -> list[dict[str, Any]]:
    """Drivers as the form sends them: [{name, weight_kg?}] (ids given in order when absent)."""
    if value in (None, ""):
        return []
    if not isinstance(value, list) or len(value) > 50:
        raise Invalid("entries.bad_field", field="drivers")
    out = []
    for i, d in enumerate(value, 1):
        if not isinstance(d, dict):
            raise Invalid("entries.bad_field", field="drivers")
        name = _text(d, "name")
        w = d.get("weight_kg")
        if not name and w in (None, ""):
            continue  # an empty line of the form
        driver: dict[str, Any] = {"id": _text(d, "id") or f"d{i}", "name": name}
        if w not in (None, ""):
            try:
                kg = float(str(w).replace(",", "."))
            except ValueError:
                raise Invalid("entry.bad_weight", value=str(w)[:20]) from None
            if not 0 < kg <= 500:
                raise Invalid("entry.bad_weight", value=str(w)[:20])
            driver["weight_kg"] = kg
        out.append(driver)
    return out


def entry_line(fields: Any, number: str | None = None) -> dict[str, Any]:
    """An `entry` line from the form's fields (number, name, team, category, transponder, drivers);
    without a name, the drivers' names (or the team) name the car."""
    if not isinstance(fields, dict):
        raise Invalid("entries.bad_field", field="entry")
    new = _text(fields, "number") or (number or "")
    if not new:
        raise Invalid("entry.no_number")
    line: dict[str, Any] = {
        "type": "entry",
        "number": new,
        "name": _text(fields, "name"),
        "category": _text(fields, "category"),
        "transponder": _text(fields, "transponder"),
    }
    team = _text(fields, "team")
    if team:
        line["team"] = team
    drivers = _drivers(fields.get("drivers"))
    if drivers:
        line["drivers"] = drivers
    if not line["name"]:
        line["name"] = " / ".join(d["name"] for d in drivers if d["name"]) or team
    return line


def put_entry(s: LiveSession, number: str, fields: Any, by: str | None = None) -> dict[str, Any]:
    """The entry `number` as the form says: added when there is none, else changed (its fields,
    or its number while it has no history). Returns the entry as `entry_list` shows it."""
    engine = s.engine
    line = entry_line(fields, number)
    new = line["number"]
    old = engine.cars.get(number)
    if new != number and new in engine.cars:
        raise Conflict("entries.number_taken", number=new)
    if old is not None and new != number and number in named_numbers(engine):
        raise Conflict("entries.renumber_has_history", number=number)
    holder = engine.by_transponder.get(line["transponder"]) if line["transponder"] else None
    if holder is not None and holder.number not in (number, new):
        raise Conflict("entry.transponder_taken", transponder=line["transponder"], number=holder.number)
    lines: list[dict[str, Any]] = [line]
    if old is not None:
        line.update({k: old.entry[k] for k in KEPT if old.entry.get(k) is not None})
        if new != number:
            lines.insert(0, {"type": "entry", "number": number, "withdrawn": True})
        elif number in named_numbers(engine):
            # A scenario lists its entries first (scenario.md): once the car has reads, a new
            # transponder is a timed `assign` that replaces (a correction, undoable), so what was
            # read with the old one stays the car's in any replay; the entry line keeps the entered one.
            wanted = line["transponder"]
            line["transponder"] = str(old.entry.get("transponder") or "")
            if not wanted and old.transponder:
                raise Conflict("entries.transponder_has_history", number=number)
            if wanted and wanted != old.transponder:
                lines.append(
                    {
                        "type": "assign",
                        "number": number,
                        "transponder": wanted,
                        "replace": True,
                        **({"by": by} if by else {}),
                    }
                )
    s.submit_many(lines)
    return next(e for e in entry_list(s) if e["number"] == new)


def remove_entry(s: LiveSession, number: str) -> None:
    """Take an entry off the list while nothing in the log names it (its history stays otherwise)."""
    if number not in s.engine.cars:
        raise NotFound("session.no_car", number=number)
    if number in named_numbers(s.engine):
        raise Conflict("entries.has_history", number=number)
    s.submit({"type": "entry", "number": number, "withdrawn": True})


def rename(s: LiveSession, name: Any) -> None:
    """The session's name as lists and pages show it (not a line of the log: it changes nothing timed)."""
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise Invalid("sessions.bad_name")
    s.name = name.strip()
    s.meta["name"] = s.name
    s.store.set_meta("name", s.name)


SESSION_FIELDS = ("preset", "kind", "duration_s", "laps")


def reconfigure(s: LiveSession, fields: dict[str, Any]) -> None:
    """A new `session` line (preset, kind, duration, laps) while the session has not run: the
    engine configures itself again; after the start the session's format stays as it was run."""
    changes = {k: fields[k] for k in SESSION_FIELDS if k in fields}
    if not changes:
        return
    now = {k: v for k, v in s.engine.session_line.items() if k != "type"}
    line = dict(now)
    for k, v in changes.items():
        if v in (None, ""):
            line.pop(k, None)
        else:
            line[k] = v
    if line == now:
        return
    if has_run(s):
        raise Conflict("sessions.already_run")
    s.submit({**line, "type": "session"})
