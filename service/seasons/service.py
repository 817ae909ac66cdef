"""Season championships' front door: commands over the stored seasons and the live documents
they name (session results, auto-cross meeting points), raising domain errors only.

A season is accepted only if every document it names can be read and scored now (else `Invalid`,
counted as refused); standings are recomputed on every read, so a penalty decided after a race
changes them at once (a season that cannot be scored any more is a `Conflict`). The cross-country
helpers (CC-SPRINT start lines, CC-KIDS) work on live sessions the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from service import limits
from service.errors import Conflict, Invalid, NotFound
from service.meetings.runner import MeetingError
from service.seasons.cc import by_category_rows, kids_aggregate, kids_grid, kids_second_grid, start_lines
from service.seasons.loader import OPTIONS, parse_season
from service.seasons.model import SeasonError, where
from service.seasons.rules import available, championship, championship_preset
from service.seasons.standings import standings
from service.seasons.store import SeasonBook
from service.timeutil import us_to_s

if TYPE_CHECKING:
    from service.meetings.protocol import Meeting
    from service.sessions.live import LiveSession

log = logging.getLogger(__name__)


def stopped_at_s(session: LiveSession) -> float | None:
    """Race time at which a live cross-country race was stopped early (red not resumed, or the
    chequered flag before the time was up), else None (CC-POINTS half points)."""
    from service.rules.ffm import Pit

    e = session.engine
    if not e.closed or not Pit.stopped_early(e):
        return None
    red = flag = None
    for ev in e.signals:
        sig = ev.line.signal
        if sig == "red" and red is None:
            red = ev.t
        elif sig in ("resume", "green"):
            red = None
        elif sig == "chequered" and flag is None:
            flag = ev.t
    t = red if red is not None else flag
    return None if t is None else us_to_s(t - e.start_us)


def summary(doc: dict[str, Any]) -> dict[str, Any]:
    s = doc["season"]
    return {
        "id": doc["id"],
        "name": s.get("name") or s["championship"],
        "championship": s["championship"],
        "events": [e.get("name") for e in s.get("events") or []],
        "created": doc.get("created"),
    }


class SeasonService:
    """`sessions`: live sessions by id; `meeting`: a meeting by id, or None when there is none."""

    def __init__(
        self, book: SeasonBook, sessions: dict[str, LiveSession], meeting: Callable[[str], Meeting | None]
    ) -> None:
        self.book = book
        self.sessions = sessions
        self.meeting = meeting

    # -- seasons ---------------------------------------------------------------------------------
    def refused(self, why: Exception) -> None:
        """Count and log a season or event refused (bad JSON included)."""
        self.book.rejected += 1
        log.warning("championships: %s", why)

    def read(self, raw: bytes) -> Any:
        """A request body as strict JSON (empty: null); a refused body is counted like a refused season."""
        try:
            return limits.parse_json(raw or b"null")
        except Invalid as exc:
            self.refused(exc)
            raise

    def ids(self) -> list[str]:
        return sorted(self.book.seasons, reverse=True)

    def get(self, cid: str) -> dict[str, Any]:
        return self.book.get(cid)

    def create(self, season: Any) -> dict[str, Any]:
        return self.book.add(self.checked(season))

    def replace(self, cid: str, season: Any) -> dict[str, Any]:
        doc = self.book.get(cid)
        self.book.save({**doc, "season": self.checked(season)})
        return self.book.get(cid)

    def add_event(self, cid: str, event: Any) -> dict[str, Any]:
        """Append the next event of the season (e.g. once its race is run)."""
        doc = self.book.get(cid)
        season = self.checked({**doc["season"], "events": [*(doc["season"].get("events") or []), event]})
        self.book.save({**doc, "season": season})
        return self.book.get(cid)

    def delete(self, cid: str) -> None:
        self.book.delete(cid)

    def standings(self, cid: str) -> dict[str, Any]:
        doc = self.book.get(cid)
        try:
            return {"id": cid, **standings(self.with_live_stops(doc["season"]), self.fetch)}
        except SeasonError as exc:
            raise Conflict("season.championship_error", id=cid, why=exc) from exc

    def checked(self, season: Any) -> dict[str, Any]:
        """A season is accepted only if every document it names can be read and scored now."""
        try:
            parse_season(season)
            standings(self.with_live_stops(season), self.fetch)
        except SeasonError as exc:
            self.refused(exc)
            raise Invalid(exc.code, **exc.params) from exc
        return season

    @staticmethod
    def presets() -> list[dict[str, Any]]:
        """The championships, with the documents an event names (`required` first, then optional)
        and the event's options: what the season form asks."""
        out = []
        for name in available():
            p = championship_preset(name)
            c = championship(name)
            out.append(
                {
                    "name": name,
                    "rule": p.get("rule"),
                    "description": p.get("description", ""),
                    "required": list(c.required),
                    "optional": list(c.optional),
                    "options": list(OPTIONS),
                }
            )
        return out

    # -- the documents a season names ------------------------------------------------------------
    def fetch(self, event: str, role: str, ref: Any) -> dict[str, Any]:
        """One document of an event: an inline results object, a session id, or a meeting id (`points`)."""
        if isinstance(ref, dict):
            return ref
        if not isinstance(ref, str):
            raise SeasonError("season.ref_kind", where=where(event, role))
        if role == "points":
            return self.meeting_points(event, ref)
        s = self.sessions.get(ref)
        if s is None:
            raise SeasonError("season.ref_no_session", where=where(event, role), session=ref)
        return s.results()

    def meeting_points(self, event: str, mid: str) -> dict[str, Any]:
        m = self.meeting(mid)
        if m is None:
            raise SeasonError("season.ref_no_meeting", where=where(event, "points"), meeting=mid)
        if "points" not in m.ranking_docs():
            raise SeasonError("season.ref_not_autocross", where=where(event, "points"), meeting=mid)
        try:
            return {"division": m.division, "rows": m.ranking("points").json}
        except MeetingError as exc:
            raise SeasonError(
                "season.ref_no_points", where=where(event, "points"), meeting=mid, why=exc
            ) from exc

    def with_live_stops(self, season: dict[str, Any]) -> dict[str, Any]:
        """A live cross-country race stopped early: its stop time, unless the season states one."""
        events = []
        for ev in season.get("events") or []:
            ev = dict(ev) if isinstance(ev, dict) else ev
            if isinstance(ev, dict) and "stopped_at_s" not in ev and isinstance(ev.get("race"), str):
                s = self.sessions.get(ev["race"])
                if s is not None and s.engine.params["preset"] == "ffm-cc":
                    t = stopped_at_s(s)
                    if t is not None:
                        ev["stopped_at_s"] = t
            events.append(ev)
        return {**season, "events": events}

    # -- cross-country helpers (RULES.md section 4) --------------------------------------------------
    def session(self, sid: str) -> LiveSession:
        s = self.sessions.get(sid)
        if s is None:
            raise NotFound("session.not_found", session=sid)
        return s

    def categories(self, sid: str) -> list[dict[str, Any]]:
        """CC-CLASSES: each category's classification extracted from the session's scratch."""
        s = self.session(sid)
        return by_category_rows(s.results()["classification"], s.engine.params.get("category_order") or [])

    def start_lines(self, sprint: str, race: str | None, line_size: int) -> list[dict[str, Any]]:
        """CC-SPRINT: start lines from the sprint test session (entries of `race` if given)."""
        sprint_s = self.session(sprint)
        race_s = self.session(race) if race is not None else None
        if not 1 <= line_size <= 60:
            raise Invalid("season.line_size_range")
        entries = []
        if race_s is not None:
            entries = [{"number": c.number, "category": c.category} for c in race_s.engine.cars.values()]
        return start_lines(sprint_s.results()["classification"], entries, line_size)

    def apply_start_lines(self, race: str, sprint: str, line_size: int) -> list[dict[str, Any]]:
        """Put each rider of `race` in the wave of its start line (an `entry` line per moved rider)."""
        lines = self.start_lines(sprint, race, line_size)
        s = self.session(race)
        for ln in lines:
            for n in ln["numbers"]:
                c = s.engine.cars.get(n)
                if c is not None and str(c.wave) != str(ln["line"]):
                    s.submit({**c.entry, "type": "entry", "wave": ln["line"]})
        return lines

    def kids(self, endurance1: str, endurance2: str) -> list[dict[str, Any]]:
        """CC-KIDS: the event's result over both endurances (live, recomputed on each read)."""
        return kids_aggregate(
            [
                self.session(endurance1).results()["classification"],
                self.session(endurance2).results()["classification"],
            ]
        )

    def kids_groups(self, tests: str | None, endurance1: str | None, group_size: int) -> list[Any]:
        """CC-KIDS start groups: from the special test session(s) (`tests=ID,ID`) or from endurance 1."""
        if not 1 <= group_size <= 25:
            raise Invalid("season.group_size_range")
        if endurance1:
            return kids_second_grid(self.session(endurance1).results()["classification"], group_size)
        if tests:
            return kids_grid(
                [self.session(t).results()["classification"] for t in tests.split(",") if t], group_size
            )
        raise Invalid("season.kids_needs")
