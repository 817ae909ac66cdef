"""The FastAPI application: REST for sessions and race control, WebSockets, the static pages.

All writes go through `LiveSession.submit` (log first, then engine). Every route that changes
data checks a token (service/auth.py); reads are public so spectators need nothing.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import secrets
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import PlainTextResponse, Response

from decoders.sources import split_decoder_spec
from service import auth, http_errors, limits, openapi
from service import meeting_access as access
from service.api.meetings import build_meeting_router
from service.auth import ADMIN, RACE_CONTROL, TIMING
from service.engine.events import CORRECTION_TYPES, SIGNALS, Line, parse_lines
from service.engine.penalties import AMOUNTS
from service.fanout import RawSendMiddleware, raw_socket
from service.hub import SessionHub
from service.outputs.api import build_outputs_router, start_rmonitor
from service.presets import describe
from service.season.api import build_season_router
from service.session import LOOPS, DecoderLink, LiveSession
from service.staff_links import build_links_router
from service.static import WebAssets
from service.store import EventStore, scenario_lines

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
RC = frozenset({ADMIN, RACE_CONTROL})
TC = frozenset({ADMIN, TIMING})
ANY_STAFF = frozenset({ADMIN, RACE_CONTROL, TIMING})
CAR_ACTIONS = {"mechanical", "refuel", "driver_change", "weight_check", "ballast_check", "grid_move"}


class Manager:
    """All sessions of this service, loaded from the data folder at start (crash recovery)."""

    def __init__(self, data_dir: Path, admin_token: str, synchronous: str = "FULL") -> None:
        self.data_dir = data_dir
        self.admin_token = admin_token
        self.synchronous = synchronous
        self.sessions: dict[str, LiveSession] = {}
        self.hubs: dict[str, SessionHub] = {}
        self.broken: dict[str, str] = {}  # session logs that could not be opened at all: file -> why
        self.meetings: Any = None  # the MeetingBook, set by build_meeting_router

    def tokens_for(self, session: LiveSession, token: str | None) -> dict[str, str]:
        """The session's tokens, and the presented one when it is a token of the session's meeting."""
        return access.session_tokens(self.meetings, session.id, session.meta.get("tokens"), token)

    def load_all(self) -> None:
        """Open every session log. One that cannot load is listed with its error; the others load."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for path in sorted(self.data_dir.glob("*.sqlite")):
            store = None
            try:
                store = EventStore(path, self.synchronous)
                meta = store.get_meta()
                if "id" not in meta:
                    store.close()
                    continue
                self._add(LiveSession(store, meta))
            except Exception as exc:  # noqa: BLE001 - any failure of one file must not stop the others
                log.exception("session log %s cannot be loaded", path)
                self.broken[path.stem] = f"{type(exc).__name__}: {exc}"
                if store is not None:
                    store.close()

    def _add(self, session: LiveSession) -> LiveSession:
        self.sessions[session.id] = session
        self.hubs[session.id] = SessionHub(session)
        return session

    def create(self, name: str, session_line: dict[str, Any]) -> LiveSession:
        return self._add(LiveSession.create(self.data_dir, name, session_line, self.synchronous))

    def get(self, sid: str) -> LiveSession:
        s = self.sessions.get(sid)
        if s is None:
            raise HTTPException(404, f"no session {sid!r}")
        return s

    def newest(self) -> LiveSession | None:
        return max(self.sessions.values(), key=lambda s: s.id, default=None)

    async def start_decoder(self, session: LiveSession, link: DecoderLink, save: bool = True) -> None:
        """Open the link (ValueError for a URL no source takes) and keep it in the session's meta."""
        from decoders.sources import open_source

        link.source = open_source(link.url)
        link.source.resume_from(session.logged_numbers)  # after a restart: ask from the log's last read on
        link.task = asyncio.create_task(link.source.run(lambda p: session.on_passing(link, p)),
                                        name=f"decoder {link.url}")  # fmt: skip
        session.decoders.append(link)
        if save:
            session.save_decoders()

    async def restore_decoders(self) -> None:
        """Reopen every session's stored decoder links (a restart must not drop a link)."""
        for session in self.sessions.values():
            for link in session.stored_decoders():
                try:
                    await self.start_decoder(session, link, save=False)
                except ValueError as exc:  # stored by an older version: listed with its error, removable
                    log.warning("session %s: cannot reopen decoder %s: %s", session.id, link.url, exc)
                    link.error = str(exc)
                    session.decoders.append(link)

    async def remove_decoder(self, session: LiveSession, index: int) -> DecoderLink:
        link = session.decoders.pop(index)
        session.save_decoders()
        await self.stop_decoder(link)
        return link

    async def stop_decoder(self, link: DecoderLink) -> None:
        if link.source is not None:
            link.source.stop()
        if link.task is not None:
            link.task.cancel()
            try:
                await link.task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - stopping whatever state it is in
                pass

    async def shutdown(self) -> None:
        for s in self.sessions.values():
            for link in list(s.decoders):
                await self.stop_decoder(link)
            s.close()


def parse_entries_csv(text: str) -> list[dict[str, Any]]:
    """CSV: number,name,transponder,category,drivers (drivers `id:name:kg|id:name:kg`)."""
    entries = []
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if not reader.fieldnames or "number" not in [f.strip().lower() for f in reader.fieldnames]:
        raise HTTPException(400, "CSV needs a header line with at least: number,name,transponder,category,drivers")
    for i, raw in enumerate(reader, 2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        if not row.get("number"):
            raise HTTPException(400, f"CSV line {i}: empty number")
        entry: dict[str, Any] = {"type": "entry", "number": row["number"], "name": row.get("name", ""),
                                 "transponder": row.get("transponder", ""), "category": row.get("category", "")}  # fmt: skip
        drivers = []
        for j, part in enumerate(filter(None, (row.get("drivers") or "").split("|")), 1):
            bits = part.split(":")
            d: dict[str, Any] = {"id": bits[0] or f"d{j}", "name": bits[1] if len(bits) > 1 else bits[0]}
            if len(bits) > 2 and bits[2]:
                try:
                    d["weight_kg"] = float(bits[2])
                except ValueError as exc:
                    raise HTTPException(400, f"CSV line {i}: driver weight {bits[2]!r} is not a number") from exc
            drivers.append(d)
        if drivers:
            entry["drivers"] = drivers
        for extra in ("wave", "division", "grid"):
            if row.get(extra):
                entry[extra] = row[extra]
        entries.append(entry)
    return entries


def validate_entry(obj: Any) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise HTTPException(400, "each entry must be a JSON object with a 'number'")
    return {**obj, "type": "entry"}


def decoder_link(body: dict[str, Any]) -> DecoderLink:
    """A decoder link from a request body, every field checked (it is stored and reopened on restart)."""
    url = body.get("url")
    if not isinstance(url, str) or "://" not in url or len(url) > 1000:
        raise HTTPException(400, "a decoder needs a 'url' such as p3tcp://HOST:5403")
    loop = body.get("loop")
    if loop is not None and loop not in LOOPS:
        raise HTTPException(400, f"loop must be one of {', '.join(LOOPS)}")
    loops = body.get("loops") or {}
    if not isinstance(loops, dict) or not all(isinstance(k, str) and v in LOOPS for k, v in loops.items()):
        raise HTTPException(400, f"'loops' maps decoder ids to a loop, one of {', '.join(LOOPS)}")
    zero = body.get("rtc_zero_us")
    if zero is not None and (isinstance(zero, bool) or not isinstance(zero, int) or not 0 <= zero < 1 << 63):
        raise HTTPException(400, "'rtc_zero_us' must be a whole number of microseconds on the decoder clock")
    return DecoderLink(url=url, loop=loop, loops=dict(loops), rtc_zero_us=zero)


def session_state(s: LiveSession) -> str:
    """finished (closed), live (flag shown or cars crossing), or upcoming (nothing yet)."""
    if s.engine.closed:
        return "finished"
    if s.engine.flag_state != "none" or s.engine.green_us is not None or s.engine.now_us > 0:
        return "live"
    return "upcoming"


def entry_lines(raw: bytes, csv_text: bool) -> list[Line]:
    """An entry list (JSON list or object, or CSV) as typed lines; a clear 4xx for anything wrong."""
    if csv_text:
        items = parse_entries_csv(raw.decode("utf-8", errors="replace"))
    else:
        body = limits.parse_json(raw)
        items = [validate_entry(e) for e in (body if isinstance(body, list) else [body])]
    if len(items) > limits.MAX_ENTRIES:
        raise HTTPException(413, f"at most {limits.MAX_ENTRIES} entries per request")
    return parse_lines(items)


async def _json(request: Request) -> Any:
    """The body as JSON: strict (no NaN/Infinity), nesting bounded, size bounded by `limits`."""
    return limits.parse_json(await request.body())


async def _object(request: Request, empty_ok: bool = False) -> dict[str, Any]:
    """A body that must be a JSON object (or nothing at all, where `empty_ok`)."""
    raw = await request.body()
    if empty_ok and not raw.strip():
        return {}
    body = limits.parse_json(raw)
    if not isinstance(body, dict):
        raise HTTPException(400, "body must be a JSON object")
    return body


def build_router(mgr: Manager) -> APIRouter:
    api = APIRouter(prefix="/api")

    def need(request: Request, session: LiveSession | None, roles: frozenset[str]) -> str:
        if session is None:  # a service-level call: a session token is known, just not allowed (403)
            token = auth.token_from(request.headers, request.query_params)
            owner = next((s for s in mgr.sessions.values()
                          if auth.role_of(token, mgr.admin_token, s.meta.get("tokens")) != "invalid"), None)  # fmt: skip
            session = owner
        token = auth.token_from(request.headers, request.query_params)
        return auth.require(request, mgr.admin_token, mgr.tokens_for(session, token) if session else None, roles)

    def submit(session: LiveSession, line: dict[str, Any], by: str | None = None) -> dict[str, Any]:
        """One line through the session's single writer (errors: LineError/ApplyError handlers).
        `by`: the caller's role, recorded on corrections (who decided)."""
        if by is not None and line.get("type") in CORRECTION_TYPES | {"revert"}:
            line = {**line, "by": by}
        deltas = session.submit(line)
        out: dict[str, Any] = {"ok": True, "warnings": [d[1] for d in deltas if d[0] == "warning"]}
        ids = [d[1] for d in deltas if d[0] == "correction"]
        if ids:
            out["id"] = ids[-1]
        return out

    @api.get("/whoami")
    async def whoami(request: Request, session: str | None = None, meeting: str | None = None) -> dict[str, Any]:
        token = auth.token_from(request.headers, request.query_params)
        tokens = mgr.tokens_for(mgr.sessions[session], token) if session in mgr.sessions else None
        role = auth.role_of(token, mgr.admin_token, tokens)
        if role == "invalid" and session is None:  # a meeting's token: its role there
            found = access.find_token(mgr.meetings, token)
            if found is not None and meeting in (None, found[0]):
                return {"role": access.SESSION_ROLE[found[1]], "session": None, "meeting": found[0],
                        "meeting_role": found[1]}  # fmt: skip
        if role == "invalid" and session is None:  # a session token, but which session?
            for s in mgr.sessions.values():
                r = auth.role_of(token, mgr.admin_token, s.meta.get("tokens"))
                if r != "invalid":
                    return {"role": r, "session": s.id}
        if role == "invalid":
            raise HTTPException(401, "invalid token")
        return {"role": role, "session": session}

    @api.get("/presets")
    async def presets() -> list[dict[str, Any]]:
        return describe()

    @api.get("/sessions")
    async def sessions() -> list[dict[str, Any]]:
        """Every session, newest first, with its state (live / upcoming / finished) and meeting; then
        the logs that could not be loaded, with why."""
        meetings = access.session_meetings(mgr.meetings)
        loaded = [{"id": s.id, "name": s.name, "preset": s.engine.params["preset"], "kind": s.engine.kind,
                   "created": s.meta.get("created"), "closed": s.engine.closed, "flag": s.engine.flag_state,
                   "state": session_state(s), "meeting": meetings.get(s.id), "set_aside": len(s.set_aside)}
                  for s in sorted(mgr.sessions.values(), key=lambda s: s.id, reverse=True)]  # fmt: skip
        return loaded + [{"id": sid, "error": why} for sid, why in sorted(mgr.broken.items())]

    @api.post("/sessions", status_code=201)
    async def create_session(request: Request) -> dict[str, Any]:
        need(request, None, frozenset({ADMIN}))
        body = await _object(request)
        name = body.pop("name", "") or ""
        if not isinstance(name, str) or len(name) > 200:
            raise HTTPException(400, "'name' must be a text of at most 200 characters")
        line = {"preset": body.pop("preset", "generic-timed"), "kind": body.pop("kind", "race"), **body}
        s = mgr.create(name, line)
        return {**s.header(), "tokens": s.meta["tokens"]}

    @api.get("/sessions/{sid}")
    async def session_header(sid: str) -> dict[str, Any]:
        return mgr.get(sid).details()

    @api.get("/sessions/{sid}/tokens")
    async def tokens(sid: str, request: Request) -> dict[str, str]:
        need(request, None, frozenset({ADMIN}))
        return mgr.get(sid).meta["tokens"]

    @api.get("/sessions/{sid}/results")
    async def results(sid: str) -> dict[str, Any]:
        return mgr.get(sid).results(detail=True)

    @api.get("/sessions/{sid}/classification")
    async def classification(sid: str) -> Response:
        mgr.get(sid)
        return Response(mgr.hubs[sid].spectator.snapshot(), media_type="application/json")

    @api.get("/sessions/{sid}/cars/{number}/laps")
    async def car_laps(sid: str, number: str) -> dict[str, Any]:
        laps = mgr.get(sid).laps_of(number)
        if laps is None:
            raise HTTPException(404, f"no car {number!r}")
        return {"number": number, "laps": laps}

    @api.get("/sessions/{sid}/lapchart")
    async def lapchart(sid: str) -> dict[str, Any]:
        return {"laps": mgr.get(sid).lap_chart()}

    @api.post("/sessions/{sid}/entries")
    async def entries(sid: str, request: Request) -> dict[str, Any]:
        s = mgr.get(sid)
        need(request, s, TC)
        ctype = request.headers.get("content-type", "")
        raw = await limits.read_upload(request)
        csv_text = any(k in ctype for k in ("csv", "text/plain", "multipart/form-data"))
        # read and validated off the event loop (pure), then logged in one transaction and applied: all or none
        lines = await asyncio.to_thread(entry_lines, raw, csv_text)
        s.submit_many(lines)
        return {"ok": True, "entries": len(lines)}

    @api.post("/sessions/{sid}/events", openapi_extra=openapi.LINE_BODY)
    async def events(sid: str, request: Request) -> dict[str, Any]:
        s = mgr.get(sid)
        line = await _json(request)
        if not isinstance(line, dict) or not isinstance(line.get("type"), str) or line["type"] not in auth.EVENT_ROLES:
            raise HTTPException(400, f"'type' must be one of: {', '.join(sorted(auth.EVENT_ROLES))}")
        role = need(request, s, auth.EVENT_ROLES[line["type"]])
        if line["type"] == "revert":
            need(request, s, revert_roles(s, line.get("target")))
        return submit(s, line, role)

    @api.post("/sessions/{sid}/signal")
    async def signal(sid: str, request: Request) -> dict[str, Any]:
        s = mgr.get(sid)
        body = await _object(request)
        sig = body.get("signal")
        sig = sig if isinstance(sig, str) else None
        # the timing crew starts and stops the session; flags are race control's
        need(request, s, ANY_STAFF if sig in ("green", "finish_session") else RC)
        if sig not in SIGNALS:
            raise HTTPException(400, f"unknown signal {sig!r}; one of {', '.join(sorted(SIGNALS))}")
        return submit(s, {"type": "signal", **{k: v for k, v in body.items() if k != "type"}})

    @api.get("/sessions/{sid}/penalties")
    async def penalties(sid: str) -> list[dict[str, Any]]:
        return [p.detail() for p in mgr.get(sid).engine.penalties.all()]

    @api.post("/sessions/{sid}/penalties", status_code=201)
    async def add_penalty(sid: str, request: Request) -> dict[str, Any]:
        s = mgr.get(sid)
        role = need(request, s, RC)
        body = await _object(request)
        if not body.get("number") or not body.get("rule"):
            raise HTTPException(400, "a penalty needs 'number' and 'rule' (a RULES.md ID)")
        before = {p.id for p in s.engine.penalties.all()}
        out = submit(s, {"type": "penalty", **{k: v for k, v in body.items() if k not in ("type", "by")}}, role)
        new = [p.detail() for p in s.engine.penalties.all() if p.id not in before]
        return new[0] if new else out

    @api.get("/sessions/{sid}/rules")
    async def session_rules(sid: str) -> dict[str, Any]:
        """The rule IDs race control may cite without choosing "other", with the preset's amounts."""
        rules = mgr.get(sid).engine.params.get("rules") or {}
        return {"rules": {rid: ({k: rp[k] for k in AMOUNTS if k in rp} if isinstance(rp, dict) else {})
                          for rid, rp in rules.items() if rp is not False}}  # fmt: skip

    @api.post("/sessions/{sid}/penalties/{pid}/waive")
    async def waive(sid: str, pid: str, request: Request) -> dict[str, Any]:
        s = mgr.get(sid)
        role = need(request, s, RC)
        if s.engine.penalties.get(pid) is None:
            raise HTTPException(404, f"no penalty {pid!r}")
        note = (await _object(request, empty_ok=True)).get("note") or ""
        submit(s, {"type": "waive", "penalty_id": pid, **({"note": note} if note else {})}, role)
        return s.engine.penalties.get(pid).detail()

    @api.post("/sessions/{sid}/penalties/{pid}/approve")
    async def approve(sid: str, pid: str, request: Request) -> dict[str, Any]:
        """Apply a proposed penalty with the amount race control chose (default: the proposal's)."""
        s = mgr.get(sid)
        role = need(request, s, RC)
        body = await _object(request, empty_ok=True)
        fields = {k: body[k] for k in (*AMOUNTS, "note") if body.get(k) is not None}
        submit(s, {"type": "approve", "penalty_id": pid, **fields}, role)
        return s.engine.penalties.get(pid).detail()

    @api.get("/sessions/{sid}/corrections")
    async def corrections(sid: str, request: Request) -> list[dict[str, Any]]:
        s = mgr.get(sid)
        need(request, s, ANY_STAFF)
        return s.corrections()

    @api.post("/sessions/{sid}/revert")
    async def revert(sid: str, request: Request) -> dict[str, Any]:
        """Undo one correction by id: whoever may make that kind of correction may undo it."""
        s = mgr.get(sid)
        need(request, s, ANY_STAFF)
        body = await _object(request)
        target = body.get("id")
        role = need(request, s, revert_roles(s, target))
        note = body.get("note")
        return submit(s, {"type": "revert", "target": target, **({"note": note} if note else {})}, role)

    @api.post("/sessions/{sid}/confirm")
    async def confirm(sid: str, request: Request) -> dict[str, Any]:
        """Race control confirms a manual passing: its laps may then be best laps."""
        s = mgr.get(sid)
        role = need(request, s, RC)
        body = await _object(request)
        return submit(s, {"type": "confirm", "target": body.get("id"),
                          **({"note": body["note"]} if body.get("note") else {})}, role)  # fmt: skip

    def revert_roles(s: LiveSession, target: Any) -> frozenset[str]:
        c = s.engine.corrections.get(target) if isinstance(target, str) else None
        if c is None:
            raise HTTPException(404, f"no correction {target!r}")
        return auth.EVENT_ROLES.get(c["type"], RC)

    @api.post("/sessions/{sid}/cars/{number}/{action}")
    async def car_action(sid: str, number: str, action: str, request: Request) -> dict[str, Any]:
        s = mgr.get(sid)
        role = need(request, s, RC)
        if action not in CAR_ACTIONS:
            raise HTTPException(404, f"unknown action {action!r}; one of {', '.join(sorted(CAR_ACTIONS))}")
        if number not in s.engine.cars:
            raise HTTPException(404, f"no car {number!r}")
        body = await _object(request, empty_ok=True)
        fields = {k: v for k, v in body.items() if k not in ("type", "number", "by")}
        return submit(s, {"type": action, "number": number, **fields}, role)

    @api.get("/sessions/{sid}/passings")
    async def passings(sid: str, request: Request, limit: int = 200) -> list[dict[str, Any]]:
        s = mgr.get(sid)
        need(request, s, ANY_STAFF)
        return list(s.feed)[-max(1, min(limit, 500)):][::-1]

    @api.get("/sessions/{sid}/unknown")
    async def unknown(sid: str, request: Request) -> list[dict[str, Any]]:
        s = mgr.get(sid)
        need(request, s, ANY_STAFF)
        return s.unknown()

    @api.post("/sessions/{sid}/assign")
    async def assign(sid: str, request: Request) -> dict[str, Any]:
        """The car counts this transponder too (a spare); `replace: true` makes its others stop counting."""
        s = mgr.get(sid)
        role = need(request, s, TC)
        body = await _object(request)
        car = s.engine.cars.get(str(body.get("number")))
        if car is None or not body.get("transponder"):
            raise HTTPException(400, "assign needs an existing 'number' and a 'transponder'")
        replace = body.get("replace", False)
        if not isinstance(replace, bool):
            raise HTTPException(400, "'replace' must be true or false")
        stops = [tr for tr in (car.transponder, *car.spares) if tr and tr != str(body["transponder"])] if replace else []
        out = submit(s, {"type": "assign", "number": car.number, "transponder": body["transponder"],
                         **({"replace": True} if replace else {})}, role)  # fmt: skip
        return {**out, "number": car.number, "transponder": str(body["transponder"]), "stopped_counting": stops}

    @api.get("/sessions/{sid}/transponders")
    async def transponders(sid: str, request: Request) -> dict[str, list[str]]:
        """Each car's counting transponders (its own first, then spares), e.g. to name what a replace stops."""
        s = mgr.get(sid)
        need(request, s, ANY_STAFF)
        return {n: [tr for tr in (c.transponder, *c.spares) if tr] for n, c in s.engine.cars.items()}

    @api.get("/sessions/{sid}/cars/{number}/estimate")
    async def estimate(sid: str, number: str, request: Request, lap: int | None = None) -> dict[str, Any]:
        """Where a missed crossing of this car most likely was (its pace, or inside a too-long `lap`)."""
        s = mgr.get(sid)
        need(request, s, TC)
        if number not in s.engine.cars:
            raise HTTPException(404, f"no car {number!r}")
        return s.estimate(number, lap)

    @api.post("/sessions/{sid}/manual_passing")
    async def manual_passing(sid: str, request: Request) -> dict[str, Any]:
        """A missed read. Without 't' its time is estimated from the car's pace and flagged `estimated`."""
        s = mgr.get(sid)
        role = need(request, s, TC)
        body = await _object(request)
        number = str(body.get("number"))
        if number not in s.engine.cars:
            raise HTTPException(400, "manual_passing needs the 'number' of an entry")
        line: dict[str, Any] = {"type": "manual_passing", "number": number, "loop": body.get("loop") or "finish"}
        if body.get("t") is not None:
            line["t"] = body["t"]
            if body.get("estimated") is True:  # the page's estimate, checked (maybe edited) by the crew
                line["estimated"] = True
            if body.get("interpolated") is True:  # a too-long lap split by Boucle, checked by the crew
                line["interpolated"] = True
        else:
            line["t"], line["estimated"] = s.estimate(number)["t"], True
        out = submit(s, line, role)
        return {**out, "t": s.engine.corrections[out["id"]]["t"], "estimated": bool(line.get("estimated")),
                "interpolated": bool(line.get("interpolated"))}  # fmt: skip

    @api.post("/sessions/{sid}/invalidate")
    async def invalidate(sid: str, request: Request) -> dict[str, Any]:
        s = mgr.get(sid)
        role = need(request, s, TC)
        body = await _object(request)
        if not body.get("transponder") or body.get("target_t") is None:
            raise HTTPException(400, "invalidate needs 'transponder', 'loop' and 'target_t'")
        return submit(s, {"type": "invalidate", "transponder": str(body["transponder"]),
                          "loop": body.get("loop") or "finish", "target_t": body["target_t"]}, role)  # fmt: skip

    @api.get("/sessions/{sid}/decoders")
    async def decoders(sid: str, request: Request) -> list[dict[str, Any]]:
        s = mgr.get(sid)
        need(request, s, ANY_STAFF)
        return [d.describe() for d in s.decoders]

    @api.post("/sessions/{sid}/decoders", status_code=201)
    async def add_decoder(sid: str, request: Request) -> dict[str, Any]:
        s = mgr.get(sid)
        need(request, s, TC)
        link = decoder_link(await _object(request))
        try:
            await mgr.start_decoder(s, link)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc
        return link.describe()

    @api.delete("/sessions/{sid}/decoders/{index}")
    async def remove_decoder(sid: str, index: int, request: Request) -> dict[str, Any]:
        s = mgr.get(sid)
        need(request, s, TC)
        if not 0 <= index < len(s.decoders):
            raise HTTPException(404, f"no decoder #{index}")
        link = await mgr.remove_decoder(s, index)
        return {"ok": True, "removed": link.url}

    @api.get("/sessions/{sid}/export.jsonl")
    async def export_jsonl(sid: str, request: Request) -> PlainTextResponse:
        s = mgr.get(sid)
        need(request, s, ANY_STAFF)
        body = "".join(json.dumps(ln, ensure_ascii=False) + "\n" for ln in scenario_lines(list(s.store.lines())))
        return PlainTextResponse(body, media_type="application/x-ndjson",
                                 headers={"Content-Disposition": f'attachment; filename="{sid}.jsonl"'})  # fmt: skip

    @api.get("/sessions/{sid}/export.csv")
    async def export_csv(sid: str) -> PlainTextResponse:
        res = mgr.get(sid).results(detail=True)
        out = io.StringIO()
        cols = ["position", "number", "name", "category", "category_position", "status", "laps", "penalty_laps",
                "penalty_seconds", "total_time_s", "best_lap_s", "best_lap_no", "pit_stops", "gap", "interval",
                "flagged_laps"]  # fmt: skip
        w = csv.DictWriter(out, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for row in res["classification"]:  # flagged laps: "12 estimated; 13 manual" (hand-made times)
            w.writerow({**row, "flagged_laps": "; ".join(f"{n} {f}" for n, f in row["lap_flags"].items())})
        return PlainTextResponse(out.getvalue(), media_type="text/csv",
                                 headers={"Content-Disposition": f'attachment; filename="{sid}.csv"'})  # fmt: skip

    return api


def create_app(data_dir: str | Path = "data", admin_token: str | None = None, synchronous: str = "FULL",
               decoders: list[str] | None = None, decoder_session: str | None = None,
               rmonitor: str | None = None, publish: str | None = None,
               publish_ws: str | None = None) -> FastAPI:  # fmt: skip
    """The service. `decoders`: `URL[=LOOP]` sources started for `decoder_session` (default newest).

    `rmonitor`: `[HOST:]PORT` of the RMonitor scoreboard feed (service/outputs/), off when None.
    `publish`: `mqtt://HOST[:PORT]/PREFIX`, the broker the spectator streams are published to
    (service/broadcast.py); `publish_ws`: that broker's WebSocket URL as browsers reach it.
    """
    from service.broadcast import BrokerPublisher, parse_publish_url

    broker = parse_publish_url(publish) if publish else None  # a bad URL fails before serving
    mgr = Manager(Path(data_dir), admin_token or secrets.token_urlsafe(18), synchronous)
    mgr.load_all()
    publisher: BrokerPublisher | None = None

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await mgr.restore_decoders()
        if decoders:
            target = mgr.sessions.get(decoder_session or "") or mgr.newest()
            if target is None:
                target = mgr.create("track", {"preset": "generic-timed", "kind": "race"})
            for spec in decoders:
                url, loop = split_decoder_spec(spec)
                known = next((ln for ln in target.decoders if ln.url == url), None)
                if known is None:
                    await mgr.start_decoder(target, DecoderLink(url=url, loop=loop))
                elif loop is not None and known.loop != loop:  # the command line says where it sits now
                    known.loop = loop
                    target.save_decoders()
        feed = await start_rmonitor(app, mgr, rmonitor, decoder_session) if rmonitor else None
        if publisher is not None:
            publisher.start()
        yield
        if publisher is not None:
            await publisher.stop()
        if feed is not None:
            await feed.stop()
        await mgr.shutdown()

    app = FastAPI(title="Boucle", version="0.1.0", lifespan=lifespan)
    app.state.manager = mgr
    if broker is not None:
        publisher = BrokerPublisher(mgr, broker, publish_ws)
    app.state.publisher = publisher
    app.add_middleware(RawSendMiddleware)  # the WebSocket hub writes frames to the server's sockets
    app.include_router(build_router(mgr))
    app.include_router(build_meeting_router(mgr))
    app.include_router(build_season_router(mgr))
    app.include_router(build_outputs_router(app, mgr))
    app.include_router(build_links_router(mgr))
    limits.install(app)
    openapi.install(app)

    http_errors.install(app)

    @app.get("/api/config")
    async def config() -> dict[str, Any]:
        """What pages need to know about this deployment: the MQTT broker browsers may read from."""
        if publisher is None or not publisher.ws_url:
            return {"broker": None}
        return {"broker": {"url": publisher.ws_url, "prefix": publisher.target.prefix}}

    @app.websocket("/ws/sessions/{sid}")
    async def ws(websocket: WebSocket, sid: str) -> None:
        session = mgr.sessions.get(sid)
        if session is None:  # accept then close: browsers only see close codes, not HTTP statuses
            await websocket.accept()
            await websocket.close(code=4404, reason=f"no session {sid}")
            return
        name = websocket.query_params.get("stream", "spectator")
        if name == "live":
            token = auth.token_from(websocket.headers, websocket.query_params)
            role = auth.role_of(token, mgr.admin_token, mgr.tokens_for(session, token))
            if role not in ANY_STAFF:
                await websocket.accept()
                await websocket.close(code=4401, reason="the live stream needs a race-control or timing token")
                return
        await websocket.accept()
        since_raw = websocket.query_params.get("since")
        since = int(since_raw) if since_raw and since_raw.lstrip("-").isdigit() else None

        async def receive() -> str | None:
            try:
                return await websocket.receive_text()
            except (WebSocketDisconnect, RuntimeError):
                return None

        raw = raw_socket(websocket.scope.get("boucle.send"))  # None: not a server we write frames for
        try:
            await mgr.hubs[sid].serve(mgr.hubs[sid].stream(name), websocket.send_text, receive, since, raw)
        except (WebSocketDisconnect, RuntimeError):
            pass

    if WEB_DIR.is_dir():
        app.mount("/", WebAssets(WEB_DIR), name="web")
    return app
