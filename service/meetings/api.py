"""REST for sprint meetings (auto-cross, FFSA karting): create a meeting from a preset and an entry
list, generate each stage's series and grids, open them as live sessions, record their results,
read every intermediate classification, print start lists and results, and sign them off
(AX-PUBLISH).

`create_app` (service/app.py) builds the `MeetingBook` and the `MeetingService` (over the app's
session Manager, which creates the live sessions) and mounts `build_meeting_router(mgr, svc,
seasons)`. Every route translates HTTP to a `MeetingService` command
and its answer back; meetings are small JSON files in `DATA/meetings/` (`MeetingBook`).
Roles (service/auth.py): the service admin token does everything; each meeting has its own
`timing`, `race_director` and `stewards` tokens (returned once, at creation) for sign-off and
decisions. The admin creates, edits and deletes meetings (date, place, organiser, logo); the
admin or the meeting's timing crew sets up its entry list and adds sessions by hand. The page
reads everything it shows from `GET /{id}/board`, answered 304 while nothing changed (ETag).
"""

from __future__ import annotations

import asyncio
import hashlib
from functools import partial
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from service import auth, limits, schemas
from service.api import doc_lang, draw, publication
from service.entries import check_entry_list, import_lines
from service.errors import Forbidden, Invalid, NotFound
from service.i18n import coded, stage_label, word
from service.i18n import print_text as tr
from service.meetings.divisions import AX_DIVISIONS
from service.meetings.html import page, race_table, startlist_html, table
from service.meetings.publish import (
    RACE_DIRECTOR,
    SIGN_ROLES,
    STEWARDS,
    TIMING,
    doc_status,
    may_sign,
    provisional_due,
)
from service.meetings.runner import SessionPlan
from service.meetings.service import MeetingService, OpenSession, manual_rows
from service.sessions import setup as session_setup

if TYPE_CHECKING:
    from service.seasons.store import SeasonBook
    from service.sessions.manager import Manager


def field(body: Any, name: str) -> str:
    """One text field of a JSON object body ("" when absent or the body is not an object)."""
    return str(body.get(name) if isinstance(body, dict) else "")


def lang_of(request: Request) -> str:
    """The one rule of every document: `?lang=`, else the browser's language, else English."""
    return doc_lang(request)


def build_meeting_router(mgr: Manager, svc: MeetingService, seasons: SeasonBook | None = None) -> APIRouter:
    """The meeting routes over `svc` (built by `create_app` with the manager's `MeetingBook`);
    `seasons`: a meeting or session a season names is not deleted."""
    book = svc.book
    api = APIRouter(prefix="/api/meetings", tags=["meetings"])

    def staff(request: Request, mid: str | None, *roles: str) -> str:
        """The caller's role: the admin, or one of `roles` of this meeting (401/403 otherwise)."""
        return auth.require(
            request,
            mgr.admin_token,
            book.tokens(mid),
            frozenset({auth.ADMIN, *roles}),
            needs=roles or (auth.ADMIN,),
        )

    def seasons_naming(ref: str) -> list[str]:
        return seasons.naming(ref) if seasons is not None else []

    def summary(mid: str) -> dict[str, Any]:
        m = svc.get(mid)
        d = m.decisions()
        info = book.info(mid)
        st = m.state()
        return {
            "id": mid,
            "name": m.name,
            "division": m.division,
            "preset": m.preset,
            "stage": m.current_stage(),
            "stages": m.stages(),
            "entries": len(m.entries),
            "stopped_after": d["stopped_after"],
            "sessions": book.sessions(mid),
            "recorded": sorted(m.results),
            "unable_to_start": d["unable_to_start"],
            "signoffs": m.signoffs,
            "cancelled": d["cancelled"],
            "date": info.get("date", ""),
            "place": info.get("place", ""),
            "organiser": info.get("organiser", ""),
            "logo": f"api/meetings/{mid}/logo?v={book.version(mid)}" if info.get("logo") else None,
            "setup": {k: st[k] for k in ("track_length_m", "track_capacity", "wet") if k in st},
        }

    def plan_dict(mid: str, p: SessionPlan) -> dict[str, Any]:
        return {
            **p.public(),
            "session_id": book.sessions(mid).get(p.key),
            "recorded": p.key in svc.get(mid).results,
        }

    def opened(mid: str, o: OpenSession) -> dict[str, Any]:
        return {**plan_dict(mid, o.plan), "session_id": o.session_id, "tokens": o.tokens}

    def entries_of(body: Any, required: bool = True) -> list[dict[str, Any]]:
        entries = body.get("entries") if isinstance(body, dict) else None
        if entries is None and not required:
            return []  # the entry list is set up afterwards, on the meeting page
        if not isinstance(entries, list) or (required and not entries):
            raise Invalid("meeting.needs_entries")
        return entries

    async def decision(request: Request) -> dict[str, Any]:
        return schemas.check(await limits.object_body(request, empty_ok=True), schemas.DecisionBody)

    @api.get("")
    async def list_meetings() -> list[dict[str, Any]]:
        return [summary(mid) for mid in svc.ids()]

    @api.post("", status_code=201)
    async def create(request: Request) -> dict[str, Any]:
        staff(request, None)
        body = await limits.object_body(request, empty_ok=True)
        entries = entries_of(body, required=False)
        schemas.check(body, schemas.MeetingBody)
        check_entry_list(entries, {})
        mid = svc.create(body.get("preset", "autocross"), entries, body)
        warnings = svc.get(mid).entry_warnings()
        return {
            **summary(mid),
            "tokens": book.tokens(mid),
            "warnings": warnings,
            "warnings_said": [coded(w) for w in warnings],
        }

    @api.get("/formats")
    async def formats() -> list[dict[str, Any]]:
        """The meeting formats the set-up form offers, with the auto-cross divisions (run order)."""
        return [
            {"preset": "autocross", "divisions": list(AX_DIVISIONS)},
            {"preset": "ffsa-karting"},
            {"preset": "free"},
        ]

    # -- UFOLEP calendars (RULES.md 5): declared before /{mid} so "calendar" is not taken for an id
    @api.post("/calendar")
    async def import_calendar(request: Request) -> dict[str, Any]:
        """Import a tab-separated regional calendar (replaces the previous import)."""
        staff(request, None)
        text = (await request.body()).decode("utf-8", errors="replace")
        events, warnings = svc.import_calendar(text)
        return {
            "events": len(events),
            "timed": sum(bool(e["timed"]) for e in events),
            "warnings": warnings,
            "warnings_said": [coded(w) for w in warnings],
        }

    @api.get("/calendar")
    async def calendar(region: str | None = None, timed: bool | None = None) -> list[dict[str, Any]]:
        return svc.calendar(region, timed)

    @api.post("/calendar/{index}", status_code=201)
    async def meeting_from_calendar(index: int, request: Request) -> dict[str, Any]:
        """A club picks its event: the meeting is created with its entry list, sessions follow."""
        staff(request, None)
        ev = svc.calendar_event(index)
        body = await limits.object_body(request, empty_ok=True)
        entries = entries_of(body, required=False)
        check_entry_list(entries, {})
        schemas.check(body, schemas.CalendarMeetingBody)
        mid = svc.create_from_calendar(index, entries, str(body.get("division") or ""))
        return {**summary(mid), "tokens": book.tokens(mid), "event": ev}

    @api.get("/{mid}")
    async def get_meeting(mid: str) -> dict[str, Any]:
        return summary(mid)

    @api.patch("/{mid}")
    async def edit_meeting(mid: str, request: Request) -> dict[str, Any]:
        """Name, date, place, organiser at any time; format fields and entries before the start."""
        staff(request, None)
        svc.update(mid, await limits.object_body(request))
        return summary(mid)

    @api.delete("/{mid}")
    async def delete_meeting(mid: str, request: Request) -> dict[str, Any]:
        """The meeting goes with its sessions that never ran; sessions that ran stay on their own."""
        staff(request, None)
        kept = await svc.delete(mid, seasons_naming(mid))
        return {"ok": True, "kept_sessions": kept}

    @api.get("/{mid}/board")
    async def board(mid: str, request: Request) -> Response:
        """Everything the meeting page shows; 304 while nothing changed (If-None-Match), so pages
        can ask every few seconds for the price of a header."""
        svc.get(mid)
        lang = lang_of(request)
        # what the board shows of its live sessions: state, name, format (edited on other pages)
        states = "|".join(
            f"{sid}:{s.state}:{s.name}:{s.engine.session_line}"
            for sid in book.sessions(mid).values()
            if (s := mgr.sessions.get(sid)) is not None
        )
        tag = '"' + hashlib.sha1(f"{book.version(mid)}|{lang}|{states}".encode()).hexdigest()[:20] + '"'
        headers = {"ETag": tag, "Cache-Control": "no-cache"}
        if request.headers.get("if-none-match") == tag:
            return Response(status_code=304, headers=headers)
        body = {**summary(mid), **svc.board(mid, lang), "version": tag}
        return JSONResponse(body, headers=headers)

    # -- the organiser's logo (page header, printed sheets) ------------------------------------------
    @api.put("/{mid}/logo")
    @api.delete("/{mid}/logo")
    async def set_logo(mid: str, request: Request) -> dict[str, Any]:
        """PUT: a PNG, JPEG, GIF or WebP image as the body (or a multipart `file`), at most 512 KB;
        DELETE: no logo any more."""
        staff(request, None)
        svc.set_logo(mid, await limits.read_upload(request) if request.method == "PUT" else None)
        return summary(mid)

    @api.get("/{mid}/logo")
    async def get_logo(mid: str) -> Response:
        logo = book.logo(mid)
        if logo is None:
            raise NotFound("meeting.no_logo")
        return Response(
            logo[0],
            media_type=logo[1],
            headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
        )

    # -- the meeting's entry list, before its first session opens --------------------------------
    @api.get("/{mid}/entries")
    async def meeting_entries(mid: str, request: Request) -> list[dict[str, Any]]:
        staff(request, mid, *SIGN_ROLES)
        return list(svc.get(mid).entries.values())

    @api.post("/{mid}/entries")
    async def import_meeting_entries(mid: str, request: Request) -> dict[str, Any]:
        """The whole list replaced by a club's file (CSV/TSV/xlsx, read as for a session, the same
        query options) or a JSON list."""
        staff(request, mid, TIMING)
        ctype = request.headers.get("content-type", "")
        raw = await limits.read_upload(request)
        lines = await asyncio.to_thread(import_lines, raw, ctype, dict(request.query_params))
        check_entry_list(lines, {})
        svc.set_entries(mid, [ln.to_dict() for ln in lines])
        return summary(mid)

    @api.put("/{mid}/entries/{number}")
    async def put_meeting_entry(mid: str, number: str, request: Request) -> dict[str, Any]:
        staff(request, mid, TIMING)
        return svc.put_entry(mid, number, await limits.object_body(request))

    @api.delete("/{mid}/entries/{number}")
    async def delete_meeting_entry(mid: str, number: str, request: Request) -> dict[str, Any]:
        staff(request, mid, TIMING)
        svc.remove_entry(mid, number)
        return {"ok": True}

    # -- sessions added by hand (any preset), edited and removed ----------------------------------
    def session_info(mid: str, key: str) -> dict[str, Any]:
        s = svc.session_of(mid, key)
        return {
            "key": key,
            "session_id": s.id,
            "name": s.name,
            "preset": s.engine.params["preset"],
            "kind": s.engine.kind,
            "state": s.state,
        }

    @api.post("/{mid}/sessions", status_code=201)
    async def add_session(mid: str, request: Request) -> dict[str, Any]:
        """{"name", "preset", "kind", "duration_s"?, "laps"?}: a live session of the meeting."""
        staff(request, mid, TIMING)
        key, _ = svc.add_session(mid, await limits.object_body(request))
        return session_info(mid, key)

    @api.patch("/{mid}/sessions/{key}")
    async def edit_session(mid: str, key: str, request: Request) -> dict[str, Any]:
        """The name at any time; preset, kind, duration and laps while the session has not run."""
        staff(request, mid, TIMING)
        body = await limits.object_body(request)
        s = svc.session_of(mid, key)
        session_setup.reconfigure(s, body)
        if "name" in body:
            session_setup.rename(s, body["name"])
        return session_info(mid, key)

    @api.delete("/{mid}/sessions/{key}")
    async def delete_session(mid: str, key: str, request: Request) -> dict[str, Any]:
        """A session that never ran (opened by mistake); a stage's session can be opened again."""
        staff(request, mid, TIMING)
        await svc.delete_session(mid, key, seasons_naming(svc.session_of(mid, key).id))
        return {"ok": True}

    @api.get("/{mid}/stages/{stage}")
    async def stage_plans(mid: str, stage: str) -> dict[str, Any]:
        return {"stage": stage, "sessions": [plan_dict(mid, p) for p in svc.plans(mid, stage)]}

    @api.post("/{mid}/stages/{stage}/start")
    async def start_stage(mid: str, stage: str, request: Request) -> list[dict[str, Any]]:
        """Open the stage's sessions as live sessions (entries with their grid places)."""
        staff(request, mid, TIMING)
        return [opened(mid, o) for o in svc.start_stage(mid, stage)]

    @api.post("/{mid}/sessions/{key}/finish")
    async def finish_session(mid: str, key: str, request: Request) -> dict[str, Any]:
        """Close the live session (if still open) and record its classification in the meeting."""
        staff(request, mid, TIMING)
        sid = svc.finish(mid, key)
        return {"key": key, "session_id": sid, "stage": svc.get(mid).current_stage()}

    @api.post("/{mid}/sessions/{key}/result")
    async def manual_result(mid: str, key: str, request: Request) -> dict[str, Any]:
        """Record a result typed in (e.g. the final after an AX-RED restart for the remaining laps)."""
        staff(request, mid, TIMING, RACE_DIRECTOR)
        svc.plan(mid, key)
        svc.record(mid, key, manual_rows(await limits.object_body(request, empty_ok=True)))
        return {"key": key, "stage": svc.get(mid).current_stage()}

    @api.post("/{mid}/sessions/{key}/red")
    async def red(mid: str, key: str, request: Request) -> dict[str, Any]:
        """AX-RED on a live session stopped by a red flag: {"causers": [...], "retired": [...]}.

        The result stands (final > 5 laps) and is recorded, or a new live session is opened for
        the new start (re-run, full restart, or the remaining laps on the lap order); finishing
        it records the session's result with the cause(s) last of the running cars.
        """
        staff(request, mid, RACE_DIRECTOR, TIMING)
        svc.red_flag_session(mid, key)
        body = schemas.check(await limits.object_body(request, empty_ok=True), schemas.RedFlagBody)
        done = svc.red_flag_restart(
            mid, key, [str(n) for n in body.get("causers") or ()], [str(n) for n in body.get("retired") or ()]
        )
        st = done.state
        out: dict[str, Any] = {
            "rule": "AX-RED",
            "action": str(st.decision.action),
            "leader_laps": st.leader_laps,
            "laps_to_run": st.decision.laps_to_run,
            "lap_order": st.lap_order,
        }
        if done.restart is not None:
            r = done.restart
            out.update(session_id=r.session_id, grid=r.plan.grid, rows=r.plan.rows, tokens=r.tokens)
        return out

    @api.post("/{mid}/unable")
    async def unable(mid: str, request: Request) -> dict[str, Any]:
        """AX-FINAL: a finalist cannot reach the grid; the final's grid is rebuilt."""
        staff(request, mid, RACE_DIRECTOR)
        body = schemas.check(await limits.object_body(request, empty_ok=True), schemas.DecisionBody)
        number = str(body.get("number") or "").strip()
        svc.declare_unable(mid, number)
        return summary(mid)

    @api.post("/{mid}/stop")
    async def stop(mid: str, request: Request) -> dict[str, Any]:
        """AX-POINTS: the meeting stops after heat2, heat3 or semis; points are halved."""
        staff(request, mid, RACE_DIRECTOR, STEWARDS)
        svc.stop(mid, field(await decision(request), "after"))
        return summary(mid)

    @api.post("/{mid}/cancel")
    async def cancel(mid: str, request: Request) -> dict[str, Any]:
        """AX-HEAT-TOTAL: the stewards cancel a heat {"heat": "heat3"}; everyone reaches the semis."""
        staff(request, mid, STEWARDS)
        svc.cancel_heat(mid, field(await decision(request), "heat"))
        return summary(mid)

    @api.post("/{mid}/admit")
    async def admit(mid: str, request: Request) -> dict[str, Any]:
        """AX-PRACTICE: the stewards admit a driver without a practice lap {"number"}."""
        staff(request, mid, STEWARDS)
        svc.admit_without_lap(mid, field(await decision(request), "number"))
        return summary(mid)

    @api.get("/{mid}/red_flag")
    async def red_flag(mid: str, kind: str, leader_laps: int) -> dict[str, Any]:
        """AX-RED: what to do after a red flag, for the race director."""
        d = svc.red_flag_advice(mid, kind, leader_laps)
        return {
            "rule": "AX-RED",
            "action": str(d.action),
            "laps_to_run": d.laps_to_run,
            "order_lap": d.order_lap,
        }

    @api.get("/{mid}/classifications/{doc}")
    async def classification(mid: str, doc: str) -> dict[str, Any]:
        m = svc.get(mid)
        ranking = svc.ranking(mid, doc)
        st = svc.status(mid, doc)
        extra: dict[str, Any] = {}
        if doc in ("general", "points"):
            extra["stopped_after"] = m.decisions()["stopped_after"]
            extra["provisional_due"] = provisional_due(m.recorded_at.get("final"))
        return {"document": doc, "division": m.division, **publication(st), "rows": ranking.json, **extra}

    @api.post("/{mid}/signoff")
    async def signoff(mid: str, request: Request) -> dict[str, Any]:
        """AX-PUBLISH: sign a document (a session key, a ranking, or 'grid:KEY' for a start list)."""
        r = staff(request, mid, *SIGN_ROLES)
        body = await limits.object_body(request, empty_ok=True)
        if body.get("document"):
            schemas.check(body, schemas.SignoffBody)
        doc = str(body.get("document") or "")
        as_role = str(body.get("role") or r) if r == auth.ADMIN else r
        if not doc:
            raise Invalid("meeting.sign_needs_document")
        if not may_sign(as_role, doc):
            raise Forbidden("meeting.may_not_sign", role=as_role, document=doc)
        st = svc.sign_off(mid, doc, as_role, str(body.get("by") or as_role))
        return {"document": doc, **publication(st)}

    @api.get("/{mid}/startlist/{key}.html", response_class=HTMLResponse)
    async def startlist(mid: str, key: str, request: Request) -> HTMLResponse:
        m = svc.get(mid)
        p = svc.plan(mid, key)
        lang = lang_of(request)
        html = await draw(
            request,
            startlist_html,
            m.name or "Auto-cross",
            f"{m.division} {stage_label(lang, key)}".strip(),
            p.rows,
            m.entries,
            p.laps,
            doc_status(f"grid:{key}", m.signoffs),
            lang,
            book.info(mid),
        )
        return HTMLResponse(html)

    @api.get("/{mid}/results/{doc}.html", response_class=HTMLResponse)
    async def results_page(mid: str, doc: str, request: Request) -> HTMLResponse:
        m = svc.get(mid)
        lang = lang_of(request)
        title = m.name or "Auto-cross"
        if doc in m.ranking_docs():
            cols, rows, _ = svc.ranking(mid, doc)
            body = await draw(request, partial(table, numeric=(0,), lang=lang), cols, rows)
            label = word(lang, f"doc.{doc}", stage_label(lang, doc))  # "Classement des essais", "Manche 1"...
            stopped = m.decisions()["stopped_after"]
            if stopped and doc in ("general", "points"):
                label += tr(
                    lang, " (meeting stopped after {stage}: points halved)", stage=stage_label(lang, stopped)
                )
        else:
            p, rows_, pts = svc.session_result(mid, doc)
            body = await draw(request, race_table, rows_, m.entries, pts, m.penalties.get(doc), lang)
            label = tr(lang, "{doc} results, {laps} laps", doc=stage_label(lang, doc), laps=p.laps, n=p.laps)
        return HTMLResponse(
            page(
                title,
                f"{m.division} {label}".strip(),
                body,
                doc_status(doc, m.signoffs),
                lang,
                book.info(mid),
            )
        )

    return api
