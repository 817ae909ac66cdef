"""REST for season championships (`/api/championships`) and the cross-country helpers (`/api/cc`).

The admin token creates and edits seasons; anyone reads standings. A season's documents are live
session ids (results read at request time, so a penalty decided after the race changes the
standings at once), auto-cross meeting ids (`points`), or inline results objects. The commands
are `SeasonService`'s (service/seasons/service.py); seasons are stored by `SeasonBook`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from service import auth
from service.api import attachment, doc_lang, draw
from service.auth import ADMIN, TIMING
from service.errors import Invalid
from service.seasons.export import csv_text, html_sheet
from service.seasons.service import SeasonService, summary

if TYPE_CHECKING:
    from service.sessions.manager import Manager

ADMIN_ONLY = frozenset({ADMIN})


def build_season_router(mgr: Manager, svc: SeasonService) -> APIRouter:
    """The championship routes over `svc` (built by `create_app`); `mgr` answers who the caller is."""
    api = APIRouter(prefix="/api", tags=["championships"])

    async def body_of(request: Request) -> Any:
        return svc.read(await request.body())

    @api.get("/championships")
    async def list_championships() -> list[dict[str, Any]]:
        return [summary(svc.get(cid)) for cid in svc.ids()]

    @api.get("/championships/status")
    async def status() -> dict[str, Any]:
        return {"seasons": len(svc.book.seasons), "rejected": svc.book.rejected}

    @api.get("/championships/presets")
    async def presets() -> list[dict[str, Any]]:
        return svc.presets()

    @api.post("/championships", status_code=201)
    async def create(request: Request) -> dict[str, Any]:
        auth.need(request, mgr, None, ADMIN_ONLY)
        return summary(svc.create(await body_of(request)))

    @api.get("/championships/{cid}")
    async def get_season(cid: str) -> dict[str, Any]:
        doc = svc.get(cid)
        return {**summary(doc), "season": doc["season"]}

    @api.put("/championships/{cid}")
    async def replace(cid: str, request: Request) -> dict[str, Any]:
        auth.need(request, mgr, None, ADMIN_ONLY)
        svc.get(cid)
        return summary(svc.replace(cid, await body_of(request)))

    @api.post("/championships/{cid}/events", status_code=201)
    async def add_event(cid: str, request: Request) -> dict[str, Any]:
        """Append the next event of the season (e.g. once its race is run)."""
        auth.need(request, mgr, None, ADMIN_ONLY)
        svc.get(cid)
        return summary(svc.add_event(cid, await body_of(request)))

    @api.delete("/championships/{cid}")
    async def delete(cid: str, request: Request) -> dict[str, Any]:
        auth.need(request, mgr, None, ADMIN_ONLY)
        svc.delete(cid)
        return {"ok": True}

    @api.get("/championships/{cid}/standings")
    async def standings_json(cid: str) -> dict[str, Any]:
        return svc.standings(cid)

    @api.get("/championships/{cid}/standings.csv")
    async def standings_csv(cid: str, request: Request) -> Response:
        """The standings for spreadsheets, in the caller's language (`?lang=`, else Accept-Language)."""
        lang = doc_lang(request)
        return attachment(
            await draw(request, csv_text, svc.standings(cid), lang), "text/csv; charset=utf-8", f"{cid}.csv"
        )

    @api.get("/championships/{cid}/standings.html", response_class=HTMLResponse)
    async def standings_sheet(cid: str, request: Request) -> HTMLResponse:
        return HTMLResponse(await draw(request, html_sheet, svc.standings(cid), doc_lang(request)))

    # -- cross-country helpers (RULES.md section 4) ---------------------------------------------------
    @api.get("/cc/sessions/{sid}/categories")
    async def categories(sid: str) -> dict[str, Any]:
        """CC-CLASSES: each category's classification extracted from the session's scratch."""
        return {"rule": "CC-CLASSES", "categories": svc.categories(sid)}

    @api.get("/cc/sessions/{sid}/start-lines")
    async def sprint_lines(sid: str, line_size: int = 20, race: str | None = None) -> dict[str, Any]:
        """CC-SPRINT: start lines from this sprint test session (entries of `race` if given)."""
        return {"rule": "CC-SPRINT", "lines": svc.start_lines(sid, race, line_size)}

    @api.post("/cc/sessions/{rid}/start-lines")
    async def apply_lines(rid: str, request: Request) -> dict[str, Any]:
        """Timing crew: put each rider of race `rid` in the wave of its start line, from `sprint`."""
        auth.need(request, mgr, svc.session(rid), frozenset({ADMIN, TIMING}))
        body = await body_of(request)
        if not isinstance(body, dict) or not isinstance(body.get("sprint"), str):
            raise Invalid("season.needs_sprint")
        size = body.get("line_size", 20)
        if not isinstance(size, int) or isinstance(size, bool):
            raise Invalid("season.line_size_int")
        return {"rule": "CC-SPRINT", "lines": svc.apply_start_lines(rid, body["sprint"], size)}

    @api.get("/cc/kids")
    async def kids(endurance1: str, endurance2: str) -> dict[str, Any]:
        """CC-KIDS: the event's result over both endurances (live, recomputed on each read)."""
        return {"rule": "CC-KIDS", "classification": svc.kids(endurance1, endurance2)}

    @api.get("/cc/kids/groups")
    async def kids_groups(
        tests: str | None = None, endurance1: str | None = None, group_size: int = 5
    ) -> dict[str, Any]:
        """CC-KIDS start groups: from the special test session(s) (`tests=ID,ID`) or from endurance 1."""
        return {"rule": "CC-KIDS", "groups": svc.kids_groups(tests, endurance1, group_size)}

    return api
