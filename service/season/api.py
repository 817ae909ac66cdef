"""REST for season championships (`/api/championships`) and the cross-country helpers (`/api/cc`).

Mount with `app.include_router(build_season_router(mgr))` before the static mount. The admin
token creates and edits seasons; anyone reads standings. A season's documents are live session
ids (results read at request time, so a penalty decided after the race changes the standings at
once), auto-cross meeting ids (`points`), or inline results objects. Seasons are small JSON files
in `DATA/championships/`.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse

from service import auth, limits, timeutil
from service.auth import ADMIN, TIMING

from .cc import by_category_rows, kids_aggregate, kids_grid, kids_second_grid, start_lines
from .export import csv_text, html_sheet
from .loader import parse_season
from .model import SeasonError
from .rules import available, championship_preset
from .standings import standings

if TYPE_CHECKING:
    from service.app import Manager
    from service.session import LiveSession

ADMIN_ONLY = frozenset({ADMIN})
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
    return None if t is None else timeutil.us_to_s(t - e.start_us)


class SeasonBook:
    """Seasons by id, one JSON file each: {id, created, season}."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.seasons: dict[str, dict[str, Any]] = {}
        self.rejected = 0  # seasons or events refused (400), see /api/championships/status
        if folder.is_dir():
            for path in sorted(folder.glob("c*.json")):
                try:
                    doc = json.loads(path.read_text(encoding="utf-8"))
                    self.seasons[doc["id"]] = doc
                except (ValueError, KeyError, TypeError):
                    continue  # a damaged file must not stop the service

    def get(self, cid: str) -> dict[str, Any]:
        doc = self.seasons.get(cid)
        if doc is None:
            raise HTTPException(404, f"no championship {cid!r}")
        return doc

    def save(self, doc: dict[str, Any]) -> None:
        self.seasons[doc["id"]] = doc
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f"{doc['id']}.json.tmp"
        tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, self.folder / f"{doc['id']}.json")

    def delete(self, cid: str) -> None:
        self.get(cid)
        del self.seasons[cid]
        (self.folder / f"{cid}.json").unlink(missing_ok=True)


def build_season_router(mgr: Manager) -> APIRouter:
    book = SeasonBook(Path(mgr.data_dir) / "championships")
    meetings = Path(mgr.data_dir) / "meetings"
    api = APIRouter(prefix="/api", tags=["championships"])

    def need(request: Request, roles: frozenset[str], session: LiveSession | None = None) -> str:
        if session is None:  # a session's token is known here, just not allowed (403, as in app.py)
            token = auth.token_from(request.headers, request.query_params)
            session = next((s for s in mgr.sessions.values()
                            if auth.role_of(token, mgr.admin_token, s.meta.get("tokens")) != "invalid"), None)  # fmt: skip
        return auth.require(request, mgr.admin_token, session.meta.get("tokens") if session else None, roles)

    async def body_of(request: Request) -> Any:
        raw = await request.body()
        try:
            return limits.parse_json(raw or b"null")
        except HTTPException as exc:
            book.rejected += 1
            log.warning("championships: %s", exc.detail)
            raise

    def session(sid: str) -> LiveSession:
        s = mgr.sessions.get(sid)
        if s is None:
            raise HTTPException(404, f"no session {sid!r}")
        return s

    def meeting_points(event: str, mid: str) -> dict[str, Any]:
        from service.meeting.api import meeting_from_state, points_rows
        from service.meeting.runner import AutocrossMeeting, MeetingError

        path = meetings / f"{mid}.json"
        if not mid.startswith("m") or "/" in mid or not path.is_file():
            raise SeasonError(f"event {event!r} points: no meeting {mid!r}")
        m = meeting_from_state(json.loads(path.read_text(encoding="utf-8"))["state"])  # saved on every change
        if not isinstance(m, AutocrossMeeting):
            raise SeasonError(f"event {event!r} points: meeting {mid!r} is not an auto-cross meeting")
        try:
            return {"division": m.division, "rows": points_rows(m)}
        except MeetingError as exc:
            raise SeasonError(f"event {event!r} points: meeting {mid!r} has no points yet ({exc})") from exc

    def fetch(event: str, role: str, ref: Any) -> dict[str, Any]:
        if isinstance(ref, dict):
            return ref
        if not isinstance(ref, str):
            raise SeasonError(f"event {event!r} {role}: a session id, a meeting id or a results object")
        if role == "points":
            return meeting_points(event, ref)
        s = mgr.sessions.get(ref)
        if s is None:
            raise SeasonError(f"event {event!r} {role}: no session {ref!r}")
        return s.results()

    def with_live_stops(season: dict[str, Any]) -> dict[str, Any]:
        """A live cross-country race stopped early: its stop time, unless the season states one."""
        events = []
        for ev in season.get("events") or []:
            ev = dict(ev) if isinstance(ev, dict) else ev
            if isinstance(ev, dict) and "stopped_at_s" not in ev and isinstance(ev.get("race"), str):
                s = mgr.sessions.get(ev["race"])
                if s is not None and s.engine.params["preset"] == "ffm-cc":
                    t = stopped_at_s(s)
                    if t is not None:
                        ev["stopped_at_s"] = t
            events.append(ev)
        return {**season, "events": events}

    def compute(cid: str) -> dict[str, Any]:
        doc = book.get(cid)
        try:
            return {"id": cid, **standings(with_live_stops(doc["season"]), fetch)}
        except SeasonError as exc:
            raise HTTPException(409, f"championship {cid}: {exc}") from exc

    def checked(season: Any) -> dict[str, Any]:
        """A season is accepted only if every document it names can be read and scored now."""
        try:
            parse_season(season)
            standings(with_live_stops(season), fetch)
        except SeasonError as exc:
            book.rejected += 1
            log.warning("season refused: %s", exc)
            raise HTTPException(400, str(exc)) from exc
        return season

    def summary(doc: dict[str, Any]) -> dict[str, Any]:
        s = doc["season"]
        return {"id": doc["id"], "name": s.get("name") or s["championship"], "championship": s["championship"],
                "events": [e.get("name") for e in s.get("events") or []], "created": doc.get("created")}  # fmt: skip

    @api.get("/championships")
    async def list_championships() -> list[dict[str, Any]]:
        return [summary(d) for _, d in sorted(book.seasons.items(), reverse=True)]

    @api.get("/championships/status")
    async def status() -> dict[str, Any]:
        return {"seasons": len(book.seasons), "rejected": book.rejected}

    @api.get("/championships/presets")
    async def presets() -> list[dict[str, Any]]:
        out = []
        for name in available():
            p = championship_preset(name)
            out.append({"name": name, "rule": p.get("rule"), "description": p.get("description", "")})
        return out

    @api.post("/championships", status_code=201)
    async def create(request: Request) -> dict[str, Any]:
        need(request, ADMIN_ONLY)
        season = checked(await body_of(request))
        cid = f"c{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        book.save({"id": cid, "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "season": season})
        return summary(book.get(cid))

    @api.get("/championships/{cid}")
    async def get_season(cid: str) -> dict[str, Any]:
        doc = book.get(cid)
        return {**summary(doc), "season": doc["season"]}

    @api.put("/championships/{cid}")
    async def replace(cid: str, request: Request) -> dict[str, Any]:
        need(request, ADMIN_ONLY)
        doc = book.get(cid)
        book.save({**doc, "season": checked(await body_of(request))})
        return summary(book.get(cid))

    @api.post("/championships/{cid}/events", status_code=201)
    async def add_event(cid: str, request: Request) -> dict[str, Any]:
        """Append the next event of the season (e.g. once its race is run)."""
        need(request, ADMIN_ONLY)
        doc = book.get(cid)
        event = await body_of(request)
        season = checked({**doc["season"], "events": [*(doc["season"].get("events") or []), event]})
        book.save({**doc, "season": season})
        return summary(book.get(cid))

    @api.delete("/championships/{cid}")
    async def delete(cid: str, request: Request) -> dict[str, Any]:
        need(request, ADMIN_ONLY)
        book.delete(cid)
        return {"ok": True}

    @api.get("/championships/{cid}/standings")
    async def standings_json(cid: str) -> dict[str, Any]:
        return compute(cid)

    @api.get("/championships/{cid}/standings.csv")
    async def standings_csv(cid: str) -> PlainTextResponse:
        return PlainTextResponse(csv_text(compute(cid)), media_type="text/csv",
                                 headers={"Content-Disposition": f'attachment; filename="{cid}.csv"'})  # fmt: skip

    @api.get("/championships/{cid}/standings.html", response_class=HTMLResponse)
    async def standings_sheet(cid: str, lang: str = "fr") -> HTMLResponse:
        return HTMLResponse(html_sheet(compute(cid), "en" if lang == "en" else "fr"))

    # -- cross-country helpers (RULES.md section 4) ---------------------------------------------------
    @api.get("/cc/sessions/{sid}/categories")
    async def categories(sid: str) -> dict[str, Any]:
        """CC-CLASSES: each category's classification extracted from the session's scratch."""
        s = session(sid)
        rows = s.results()["classification"]
        return {"rule": "CC-CLASSES", "categories": by_category_rows(rows, s.engine.params.get("category_order") or [])}

    def lines_for(sprint: LiveSession, race: LiveSession | None, line_size: int) -> list[dict[str, Any]]:
        if not 1 <= line_size <= 60:
            raise HTTPException(400, "line_size must be between 1 and 60 (CC-WAVES: 12-25 bikes a line)")
        entries = []
        if race is not None:
            entries = [{"number": c.number, "category": c.category} for c in race.engine.cars.values()]
        return start_lines(sprint.results()["classification"], entries, line_size)

    @api.get("/cc/sessions/{sid}/start-lines")
    async def sprint_lines(sid: str, line_size: int = 20, race: str | None = None) -> dict[str, Any]:
        """CC-SPRINT: start lines from this sprint test session (entries of `race` if given)."""
        return {"rule": "CC-SPRINT", "lines": lines_for(session(sid), session(race) if race else None, line_size)}

    @api.post("/cc/sessions/{rid}/start-lines")
    async def apply_lines(rid: str, request: Request) -> dict[str, Any]:
        """Timing crew: put each rider of race `rid` in the wave of its start line, from `sprint`."""
        race = session(rid)
        need(request, frozenset({ADMIN, TIMING}), race)
        body = await body_of(request)
        if not isinstance(body, dict) or not isinstance(body.get("sprint"), str):
            raise HTTPException(400, "body needs 'sprint': the sprint test session id (and 'line_size')")
        size = body.get("line_size", 20)
        if not isinstance(size, int) or isinstance(size, bool):
            raise HTTPException(400, "'line_size' must be an integer")
        lines = lines_for(session(body["sprint"]), race, size)
        for ln in lines:
            for n in ln["numbers"]:
                c = race.engine.cars.get(n)
                if c is not None and str(c.wave) != str(ln["line"]):
                    race.submit({**c.entry, "type": "entry", "wave": ln["line"]})
        return {"rule": "CC-SPRINT", "lines": lines}

    @api.get("/cc/kids")
    async def kids(endurance1: str, endurance2: str) -> dict[str, Any]:
        """CC-KIDS: the event's result over both endurances (live, recomputed on each read)."""
        rows = kids_aggregate([session(endurance1).results()["classification"],
                               session(endurance2).results()["classification"]])  # fmt: skip
        return {"rule": "CC-KIDS", "classification": rows}

    @api.get("/cc/kids/groups")
    async def kids_groups(tests: str | None = None, endurance1: str | None = None, group_size: int = 5) -> dict[str, Any]:
        """CC-KIDS start groups: from the special test session(s) (`tests=ID,ID`) or from endurance 1."""
        if not 1 <= group_size <= 25:
            raise HTTPException(400, "group_size must be between 1 and 25 (CC-WAVES kids: 2-5)")
        if endurance1:
            groups = kids_second_grid(session(endurance1).results()["classification"], group_size)
        elif tests:
            groups = kids_grid([session(t).results()["classification"] for t in tests.split(",") if t], group_size)
        else:
            raise HTTPException(400, "give 'tests' (special test session ids) or 'endurance1'")
        return {"rule": "CC-KIDS", "groups": groups}

    return api
