"""The session routes: sessions, race control, the timing crew's corrections, decoders, exports.

Each route: who may call it (service/auth.py), the body read within limits (service/limits.py),
one command of the session (`LiveSession`), and the domain object it returns as JSON. Reads are
public (spectators need nothing); every write needs a token.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from decoders.reach import mask_url
from service import auth, limits, openapi
from service.api import attachment, session_publication
from service.auth import ADMIN, RACE_CONTROL, TIMING
from service.documents import Documents, version_of
from service.engine.outcome import Outcome
from service.engine.penalties import AMOUNTS
from service.entries import import_lines, read_entries
from service.errors import Invalid
from service.http_errors import caller_lang
from service.hub import public_penalty, typed_note
from service.i18n import coded
from service.meetings import access
from service.outputs.files import export_csv_text
from service.presets import describe
from service.rules import RULES
from service.sessions import setup as session_setup
from service.sessions.live import DecoderLink, LiveSession
from service.sessions.manager import Manager
from service.store import texts_scenario

if TYPE_CHECKING:
    from service.seasons.store import SeasonBook

RC = frozenset({ADMIN, RACE_CONTROL})
TC = frozenset({ADMIN, TIMING})
ANY_STAFF = frozenset({ADMIN, RACE_CONTROL, TIMING})


@dataclass(frozen=True, slots=True)
class Caller:
    """Who calls, on which session (resolved by the `caller` dependency before the route runs)."""

    session: LiveSession
    role: str


def answer(outcome: Outcome) -> dict[str, Any]:
    """What a write returns: the engine's warnings, and the correction id when the line made one."""
    out: dict[str, Any] = {
        "ok": True,
        "warnings": outcome.warnings,
        "warnings_said": [coded(w) for w in outcome.warnings],
    }
    if outcome.correction:
        out["id"] = outcome.correction
    return out


def entry_file_options(
    mapping: str | None = Query(None, description='JSON {"column header" or "3": "field" or null}'),
    encoding: str | None = Query(
        None, description="utf-8, utf-8-sig, utf-16, windows-1252, ... (default: detected)"
    ),
    separator: str | None = Query(None, description="; , tab | (default: detected)"),
    header: str | None = Query(None, description="line of the header row; 0: none (default: detected)"),
    sheet: str | None = Query(None, description="xlsx sheet (default: the active one)"),
    skip: str | None = Query(None, description="lines to leave out, comma-separated"),
) -> dict[str, str]:
    """How to read an entry-list file (service/entries.py `Options`): what the crew chose over detection."""
    given = {
        "mapping": mapping,
        "encoding": encoding,
        "separator": separator,
        "header": header,
        "sheet": sheet,
        "skip": skip,
    }
    return {k: v for k, v in given.items() if v is not None}


FILE_OPTIONS = Depends(entry_file_options)


def documents(request: Request) -> Documents:
    """The app's document workers and cache (service/documents.py)."""
    return request.app.state.documents


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def build_router(mgr: Manager, seasons: SeasonBook | None = None) -> APIRouter:
    """The session routes over the manager's sessions; `seasons`: a session a season names is not
    deleted."""
    api = APIRouter(prefix="/api")

    def need(request: Request, session: LiveSession | None, roles: frozenset[str]) -> str:
        return auth.need(request, mgr, session, roles)

    def caller(roles: frozenset[str]) -> Any:
        """A dependency: the session named in the path (404) and the caller's role on it (401/403)."""

        async def dep(sid: str, request: Request) -> Caller:
            s = mgr.get(sid)
            return Caller(s, need(request, s, roles))

        return Depends(dep)

    AS_RC, AS_TC, AS_STAFF = caller(RC), caller(TC), caller(ANY_STAFF)  # noqa: N806 - read as constants

    def revert_roles(s: LiveSession, target: Any) -> frozenset[str]:
        """Whoever may make a kind of correction may undo it."""
        return auth.EVENT_ROLES.get(s.correction(target)["type"], RC)

    @api.get("/whoami")
    async def whoami(
        request: Request, session: str | None = None, meeting: str | None = None
    ) -> dict[str, Any]:
        token = auth.token_from(request.headers, request.query_params)
        tokens = mgr.tokens_for(mgr.sessions[session], token) if session in mgr.sessions else None
        role = auth.role_of(token, mgr.admin_token, tokens)
        if role == "invalid" and session is None:  # a meeting's token: its role there
            found = access.find_token(mgr.meetings, token)
            if found is not None and meeting in (None, found[0]):
                return {
                    "role": access.SESSION_ROLE[found[1]],
                    "session": None,
                    "meeting": found[0],
                    "meeting_role": found[1],
                }
        if role == "invalid" and session is None:  # a session token, but which session?
            for s in mgr.sessions.values():
                r = auth.role_of(token, mgr.admin_token, s.meta.get("tokens"))
                if r != "invalid":
                    return {"role": r, "session": s.id}
        if role == "invalid":
            raise auth.invalid_token()
        return {"role": role, "session": session}

    @api.get("/presets")
    async def presets() -> list[dict[str, Any]]:
        return describe()

    @api.get("/sessions")
    async def sessions() -> list[dict[str, Any]]:
        """Every session, newest first, with its state (live / upcoming / finished) and meeting; then
        the logs that could not be loaded, with why."""
        meetings = access.session_meetings(mgr.meetings)
        loaded = [
            s.listing(meetings.get(s.id))
            for s in sorted(mgr.sessions.values(), key=lambda s: s.id, reverse=True)
        ]
        return loaded + [{"id": sid, "error": why} for sid, why in sorted(mgr.broken.items())]

    @api.post("/sessions", status_code=201)
    async def create_session(request: Request) -> dict[str, Any]:
        need(request, None, frozenset({ADMIN}))
        body = await limits.object_body(request)
        name = body.pop("name", "") or ""
        if not isinstance(name, str) or len(name) > 200:
            raise Invalid("session.name")
        line = {"preset": body.pop("preset", "generic-timed"), "kind": body.pop("kind", "race"), **body}
        s = mgr.create(name, line)
        return {**s.header(), "tokens": s.meta["tokens"]}

    @api.get("/sessions/{sid}")
    async def session_header(sid: str) -> dict[str, Any]:
        """The session; for a meeting's session also its meeting and the AX-PUBLISH status of its results."""
        details = mgr.get(sid).details()
        pub = session_publication(mgr, sid)
        return {**details, "publication": pub} if pub else details

    @api.patch("/sessions/{sid}")
    async def edit_session(sid: str, request: Request) -> dict[str, Any]:
        """The organiser renames a session, or changes its preset, kind, duration, laps before it runs."""
        s = mgr.get(sid)
        need(request, None, frozenset({ADMIN}))
        body = await limits.object_body(request)
        session_setup.reconfigure(s, body)
        if "name" in body:
            session_setup.rename(s, body["name"])
        return s.header()

    @api.delete("/sessions/{sid}")
    async def delete_session(sid: str, request: Request) -> dict[str, Any]:
        """A session that never ran (created by mistake) goes, log and all; one that ran is kept."""
        s = mgr.get(sid)
        need(request, None, frozenset({ADMIN}))
        session_setup.check_deletable(s, seasons.naming(sid) if seasons is not None else [])
        if mgr.meetings is not None:
            mgr.meetings.forget_session(sid)
        await mgr.delete(sid)
        return {"ok": True}

    @api.get("/sessions/{sid}/tokens")
    async def tokens(sid: str, request: Request) -> dict[str, str]:
        need(request, None, frozenset({ADMIN}))
        return mgr.get(sid).meta["tokens"]

    def is_staff(request: Request, s: LiveSession) -> bool:
        """A valid staff token on this session (notes are for staff; anyone else reads without them)."""
        token = auth.token_from(request.headers)
        return auth.role_of(token, mgr.admin_token, mgr.tokens_for(s, token)) in ANY_STAFF

    @api.get("/sessions/{sid}/results")
    async def results(sid: str, request: Request) -> Response:
        """The classification, penalties and warnings; encoded once per session version and audience."""
        s = mgr.get(sid)
        staff = is_staff(request, s)

        def prepare() -> tuple:
            res = s.results(detail=True)
            if not staff:
                res["penalties"] = [
                    public_penalty(p, typed_note(s.engine, p.get("source"))) for p in res["penalties"]
                ]
            return (res,)

        body = await documents(request).get(("results", sid, version_of(s), staff), prepare, json_bytes)
        return Response(body, media_type="application/json")

    @api.get("/sessions/{sid}/classification")
    async def classification(sid: str) -> Response:
        mgr.get(sid)
        return Response(mgr.hubs[sid].spectator.snapshot(), media_type="application/json")

    @api.get("/sessions/{sid}/cars/{number}/laps")
    async def car_laps(sid: str, number: str) -> dict[str, Any]:
        return {"number": number, "laps": mgr.get(sid).laps_of(number)}

    @api.get("/sessions/{sid}/lapchart")
    async def lapchart(sid: str) -> dict[str, Any]:
        return {"laps": mgr.get(sid).lap_chart()}

    @api.post("/sessions/{sid}/entries")
    async def entries(
        request: Request, replace: bool = False, c: Caller = AS_TC, how: dict[str, str] = FILE_OPTIONS
    ) -> dict[str, Any]:
        """An entry list (JSON, or a club's CSV/TSV/xlsx). `replace=true`: an entry may take a transponder
        another car counts (that car stops counting it), as `/assign` with `replace`; refused otherwise."""
        raw = await limits.read_upload(request)
        # read and validated off the event loop (pure), then logged in one transaction and applied:
        # all or none
        lines = await asyncio.to_thread(import_lines, raw, request.headers.get("content-type", ""), how)
        return {"ok": True, "entries": c.session.add_entries(lines, replace)}

    @api.post("/sessions/{sid}/entries/preview")
    async def entries_preview(
        request: Request, c: Caller = AS_TC, how: dict[str, str] = FILE_OPTIONS
    ) -> dict[str, Any]:
        """The same body as `/entries`, read and checked, nothing logged: what the import would do."""
        raw = await limits.read_upload(request)
        reading = await asyncio.to_thread(read_entries, raw, request.headers.get("content-type", ""), how)
        return reading.describe(caller_lang(request))

    @api.get("/sessions/{sid}/entries")
    async def entry_list(c: Caller = AS_STAFF) -> list[dict[str, Any]]:
        """The entries as the timing crew edits them (spares, drivers, whether the car has a history)."""
        return session_setup.entry_list(c.session)

    @api.put("/sessions/{sid}/entries/{number}")
    async def put_entry(number: str, request: Request, c: Caller = AS_TC) -> dict[str, Any]:
        """Add or change one entry (an `entry` line in the log; a new "number" renumbers it while
        nothing names the car yet)."""
        return session_setup.put_entry(c.session, number, await limits.object_body(request), c.role)

    @api.delete("/sessions/{sid}/entries/{number}")
    async def delete_entry(number: str, c: Caller = AS_TC) -> dict[str, Any]:
        """Take an entry off the list while no line names the car (a withdrawn `entry` line)."""
        session_setup.remove_entry(c.session, number)
        return {"ok": True}

    @api.post("/sessions/{sid}/events", openapi_extra=openapi.LINE_BODY)
    async def events(sid: str, request: Request) -> dict[str, Any]:
        s = mgr.get(sid)
        line = await limits.json_body(request)  # the line's type says who may send it: read before the role
        if (
            not isinstance(line, dict)
            or not isinstance(line.get("type"), str)
            or line["type"] not in auth.EVENT_ROLES
        ):
            raise Invalid("session.line_type", known=", ".join(sorted(auth.EVENT_ROLES)))
        role = need(request, s, auth.EVENT_ROLES[line["type"]])
        if line["type"] == "revert":
            need(request, s, revert_roles(s, line.get("target")))
        return answer(s.record(line, role))

    @api.post("/sessions/{sid}/signal")
    async def signal(sid: str, request: Request) -> dict[str, Any]:
        s = mgr.get(sid)
        body = await limits.object_body(request)
        # the timing crew starts and stops the session; flags are race control's
        need(request, s, ANY_STAFF if body.get("signal") in ("green", "finish_session") else RC)
        return answer(s.signal(body))

    @api.get("/sessions/{sid}/penalties")
    async def penalties(sid: str, request: Request) -> list[dict[str, Any]]:
        """Every penalty; race control's notes only for a staff token."""
        s = mgr.get(sid)
        shown = [p.detail() for p in s.penalties()]
        return (
            shown
            if is_staff(request, s)
            else [public_penalty(p, typed_note(s.engine, p.get("source"))) for p in shown]
        )

    @api.post("/sessions/{sid}/penalties", status_code=201)
    async def add_penalty(request: Request, c: Caller = AS_RC) -> dict[str, Any]:
        penalty, outcome = c.session.add_penalty(await limits.object_body(request), c.role)
        return penalty.detail() if penalty is not None else answer(outcome)

    @api.get("/sessions/{sid}/rules")
    async def session_rules(sid: str) -> dict[str, Any]:
        """The rule IDs race control may cite without choosing "other", with the preset's amounts, and
        every rule ID the service implements (`implemented`, the registry's: cited as "other")."""
        return {"rules": mgr.get(sid).rule_amounts(), "implemented": sorted(RULES)}

    @api.post("/sessions/{sid}/penalties/{pid}/waive")
    async def waive(pid: str, request: Request, c: Caller = AS_RC) -> dict[str, Any]:
        c.session.penalty(pid)
        note = (await limits.object_body(request, empty_ok=True)).get("note") or ""
        return c.session.waive(pid, note, c.role).detail()

    @api.post("/sessions/{sid}/penalties/{pid}/approve")
    async def approve(pid: str, request: Request, c: Caller = AS_RC) -> dict[str, Any]:
        """Apply a proposed penalty with the amount race control chose (default: the proposal's)."""
        body = await limits.object_body(request, empty_ok=True)
        return c.session.approve(
            pid, {k: body[k] for k in (*AMOUNTS, "note") if body.get(k) is not None}, c.role
        ).detail()

    @api.get("/sessions/{sid}/corrections")
    async def corrections(c: Caller = AS_STAFF) -> list[dict[str, Any]]:
        return c.session.corrections()

    @api.post("/sessions/{sid}/revert")
    async def revert(request: Request, c: Caller = AS_STAFF) -> dict[str, Any]:
        """Undo one correction by id: whoever may make that kind of correction may undo it."""
        body = await limits.object_body(request)
        target = body.get("id")
        role = need(request, c.session, revert_roles(c.session, target))
        return answer(c.session.revert(target, body.get("note"), role))

    @api.post("/sessions/{sid}/confirm")
    async def confirm(request: Request, c: Caller = AS_RC) -> dict[str, Any]:
        """Race control confirms a manual passing (`id`) or a warned lap (`number`, `lap_t`): it may then
        be a best lap, a qualifying time, the fastest lap."""
        body = await limits.object_body(request)
        return answer(
            c.session.confirm(
                body.get("id"), body.get("note"), c.role, number=body.get("number"), lap_t=body.get("lap_t")
            )
        )

    @api.post("/sessions/{sid}/cars/{number}/{action}")
    async def car_action(number: str, action: str, request: Request, c: Caller = AS_RC) -> dict[str, Any]:
        return answer(
            c.session.car_action(number, action, await limits.object_body(request, empty_ok=True), c.role)
        )

    @api.get("/sessions/{sid}/passings")
    async def passings(limit: int = 200, c: Caller = AS_STAFF) -> list[dict[str, Any]]:
        return list(c.session.feed)[-max(1, min(limit, 500)) :][::-1]

    @api.get("/sessions/{sid}/unknown")
    async def unknown(c: Caller = AS_STAFF) -> list[dict[str, Any]]:
        return c.session.unknown()

    @api.post("/sessions/{sid}/assign")
    async def assign(request: Request, c: Caller = AS_TC) -> dict[str, Any]:
        """The car counts this transponder too (a spare); `replace: true` makes its others stop counting."""
        body = await limits.object_body(request)
        a = c.session.assign(body.get("number"), body.get("transponder"), body.get("replace", False), c.role)
        return {
            **answer(a.outcome),
            "number": a.number,
            "transponder": a.transponder,
            "stopped_counting": a.stopped_counting,
        }

    @api.get("/sessions/{sid}/transponders")
    async def transponders(c: Caller = AS_STAFF) -> dict[str, list[str]]:
        """Each car's counting transponders (its own first, then spares),
        e.g. to name what a replace stops."""
        return c.session.transponders()

    @api.get("/sessions/{sid}/cars/{number}/estimate")
    async def estimate(number: str, lap: int | None = None, c: Caller = AS_TC) -> dict[str, Any]:
        """Where a missed crossing of this car most likely was (its pace, or inside a too-long `lap`)."""
        return c.session.estimate(number, lap)

    @api.post("/sessions/{sid}/manual_passing")
    async def manual_passing(request: Request, c: Caller = AS_TC) -> dict[str, Any]:
        """A missed read. Without 't' its time is estimated from the car's pace and flagged `estimated`."""
        mp = c.session.manual_passing(await limits.object_body(request), c.role)
        return {**answer(mp.outcome), "t": mp.t, "estimated": mp.estimated, "interpolated": mp.interpolated}

    @api.post("/sessions/{sid}/invalidate")
    async def invalidate(request: Request, c: Caller = AS_TC) -> dict[str, Any]:
        return answer(c.session.invalidate(await limits.object_body(request), c.role))

    @api.get("/sessions/{sid}/decoders")
    async def decoders(c: Caller = AS_STAFF) -> list[dict[str, Any]]:
        return [d.describe() for d in c.session.decoders]

    @api.post("/sessions/{sid}/decoders", status_code=201)
    async def add_decoder(request: Request, c: Caller = AS_TC) -> dict[str, Any]:
        link = DecoderLink.from_request(await limits.object_body(request))
        await mgr.start_decoder(c.session, link)
        return link.describe()

    @api.delete("/sessions/{sid}/decoders/{index}")
    async def remove_decoder(index: int, c: Caller = AS_TC) -> dict[str, Any]:
        link = await mgr.remove_decoder(c.session, index)
        return {"ok": True, "removed": mask_url(link.url)}

    @api.get("/sessions/{sid}/export.jsonl")
    async def export_jsonl(request: Request, c: Caller = AS_STAFF) -> Response:
        s = c.session  # set-aside lines and losses included; drawn off the loop, once per version
        body, _ = await documents(request).get(
            ("export.jsonl", s.id, version_of(s)),
            lambda: ([text for _, text in s.store.texts()], s.damage),
            texts_scenario,
        )
        return attachment(body, "application/x-ndjson", f"{s.id}.jsonl")

    @api.get("/sessions/{sid}/export.csv")
    async def export_csv(sid: str, request: Request) -> Response:
        s = mgr.get(sid)
        body = await documents(request).get(
            ("export.csv", sid, version_of(s)), lambda: (s.results(detail=True),), export_csv_text
        )
        return attachment(body, "text/csv", f"{sid}.csv")

    return api
