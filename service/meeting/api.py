"""REST for sprint meetings (auto-cross): create a meeting from a preset and an entry list,
generate each stage's series and grids, open them as live sessions, record their results, read
every intermediate classification, print start lists and results, and sign them off (AX-PUBLISH).

Mount with `app.include_router(build_meeting_router(mgr))` where `mgr` is the app's session
Manager (it creates the live sessions). Meetings are small JSON files in `DATA/meetings/`.
Roles: the service admin token does everything; each meeting has its own `timing`,
`race_director` and `stewards` tokens (returned once, at creation) for sign-off and decisions.
"""

from __future__ import annotations

import json
import os
import secrets
import time
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from service import auth, limits
from service.i18n import pick_lang
from service.i18n import print_text as tr

from .calendar import parse_calendar
from .divisions import entry_warnings
from .html import page, race_table, startlist_html, table
from .karting import ka_heat_points
from .karting_runner import KartingMeeting
from .lengths import ax_laps
from .live import jump_offenders, red_flag_state
from .model import STATUSES, RaceRow
from .points import ax_heat_points
from .publish import RACE_DIRECTOR, SIGN_ROLES, STEWARDS, TIMING, doc_status, may_sign, provisional_due
from .redflag import red_flag_decision
from .runner import HEAT_STAGES, AutocrossMeeting, MeetingError, SessionPlan

if TYPE_CHECKING:
    from service.app import Manager

ADMIN = "admin"
RANKING_DOCS = ("practice", *HEAT_STAGES, "heats", "semis", "general", "points")
KA_RANKING_DOCS = ("qualifying", "heats", "finalists", "general")
Meeting = AutocrossMeeting | KartingMeeting


def meeting_from_state(st: dict[str, Any]) -> Meeting:
    if st.get("preset") == "ffsa-karting":
        return KartingMeeting.from_state(st)
    return AutocrossMeeting.from_state(st)


def ranking_docs(m: Meeting) -> tuple[str, ...]:
    return KA_RANKING_DOCS if isinstance(m, KartingMeeting) else RANKING_DOCS


def now_iso() -> str:
    """Wall clock, the edge's business: sign-off and posting times."""
    return time.strftime("%Y-%m-%dT%H:%M:%S")


class MeetingBook:
    """Meetings by id, each one JSON file: {id, tokens, sessions: {key: session id}, state}."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.meetings: dict[str, Meeting] = {}
        self.meta: dict[str, dict[str, Any]] = {}
        self._calendar: list[dict[str, Any]] = []
        cal = folder / "calendar.json"
        if cal.is_file():
            try:
                self._calendar = list(json.loads(cal.read_text(encoding="utf-8")))
            except ValueError:
                self._calendar = []
        if folder.is_dir():
            for path in sorted(folder.glob("m*.json")):
                try:
                    doc = json.loads(path.read_text(encoding="utf-8"))
                    self.meetings[doc["id"]] = meeting_from_state(doc["state"])
                    self.meta[doc["id"]] = {"tokens": doc["tokens"], "sessions": doc.get("sessions", {})}
                except (ValueError, KeyError, TypeError):
                    continue  # a damaged file must not stop the service

    @property
    def calendar(self) -> list[dict[str, Any]]:
        return self._calendar

    def set_calendar(self, events: list[dict[str, Any]]) -> None:
        self._calendar = events
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / "calendar.json.tmp"
        tmp.write_text(json.dumps(events, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, self.folder / "calendar.json")

    def create(self, meeting: Meeting) -> str:
        mid = f"m{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        self.meetings[mid] = meeting
        self.meta[mid] = {"tokens": {r: secrets.token_urlsafe(18) for r in SIGN_ROLES}, "sessions": {}}
        self.save(mid)
        return mid

    def get(self, mid: str) -> Meeting:
        m = self.meetings.get(mid)
        if m is None:
            raise HTTPException(404, f"no meeting {mid!r}")
        return m

    def save(self, mid: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        doc = {"id": mid, **self.meta[mid], "state": self.meetings[mid].state()}
        tmp = self.folder / f"{mid}.json.tmp"
        fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)  # it holds the meeting's tokens
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(doc, ensure_ascii=False, indent=1))
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.folder / f"{mid}.json")


def _rows_from_body(body: Any) -> list[RaceRow]:
    """Manual result rows, e.g. a final run in two parts after a red flag (AX-RED)."""
    items = body.get("rows") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise HTTPException(400, "body needs 'rows': [{number, place, laps, status?, total_time_s?}]")
    rows = []
    for i, r in enumerate(items, 1):
        if not isinstance(r, dict) or not str(r.get("number") or "").strip():
            raise HTTPException(400, f"row {i}: needs a 'number'")
        status = r.get("status", "classified")
        if status not in STATUSES:
            raise HTTPException(400, f"row {i}: status must be one of {', '.join(sorted(STATUSES))}")
        try:
            t = r.get("total_time_s")
            rows.append(RaceRow(str(r["number"]).strip(), int(r.get("place", i)), int(r.get("laps", 0)), status,
                                None if t is None else round(float(t) * 1_000_000)))  # fmt: skip
        except (TypeError, ValueError) as exc:
            raise HTTPException(400, f"row {i}: {exc}") from exc
    return rows


def _fold(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c)).casefold()


def _s(us: int | None) -> float | None:
    return None if us is None else round(us / 1e6, 3)


def points_rows(m: AutocrossMeeting) -> list[dict[str, Any]]:
    """The general classification with each driver's AX-POINTS: the `points` document a season
    sums (service/season). Raises MeetingError while the meeting has no general classification."""
    name = {n: str(e.get("name") or "") for n, e in m.entries.items()}
    pts = {p.number: p for p in m.points()}
    js = []
    for g in m.general():
        p = pts.get(g.number)
        js.append({"position": g.position, "number": g.number, "name": name.get(g.number, ""), "stage": g.stage,
                   "practice": p.practice if p else 0, "heats": p.heats if p else 0,
                   "final": p.final if p else 0, "total": p.total if p else 0})  # fmt: skip
    return js


def build_meeting_router(mgr: Manager, folder: Path | None = None) -> APIRouter:
    book = MeetingBook(folder or Path(mgr.data_dir) / "meetings")
    mgr.meetings = book  # its tokens also act on its sessions (service/meeting/access.py)
    api = APIRouter(prefix="/api/meetings", tags=["meetings"])

    def role(request: Request, mid: str | None) -> str:
        token = auth.token_from(request.headers, request.query_params)
        if not token:
            raise HTTPException(401, "authentication required: send 'Authorization: Bearer <token>'")
        if auth.same_token(token, mgr.admin_token):
            return ADMIN
        for r, tok in (book.meta.get(mid or "", {}).get("tokens") or {}).items():
            if auth.same_token(token, tok):
                return r
        raise HTTPException(401, "invalid token")

    def need(request: Request, mid: str | None, *roles: str) -> str:
        r = role(request, mid)
        if r != ADMIN and r not in roles:
            raise HTTPException(403, f"role {r!r} may not do this (needs {' or '.join(roles) or 'admin'})")
        return r

    async def body_of(request: Request) -> Any:
        raw = await request.body()
        if not raw.strip():
            return {}
        return limits.parse_json(raw)

    def guard(fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except MeetingError as exc:
            raise HTTPException(409, str(exc)) from exc

    def summary(mid: str) -> dict[str, Any]:
        m = book.get(mid)
        return {"id": mid, "name": m.name, "division": m.division, "preset": m.preset,
                "stage": m.current_stage(), "stages": m.stages(), "entries": len(m.entries), "stopped_after": m.stopped_after,
                "sessions": book.meta[mid]["sessions"], "recorded": sorted(m.results),
                "unable_to_start": sorted(m.unable_to_start), "signoffs": m.signoffs,
                "cancelled": list(getattr(m, "cancelled", ()))}  # fmt: skip

    def plan_dict(mid: str, p: SessionPlan) -> dict[str, Any]:
        return {"key": p.key, "stage": p.stage, "kind": p.kind, "series": p.series, "laps": p.laps,
                "grid": p.grid, "rows": p.rows, "session_id": book.meta[mid]["sessions"].get(p.key),
                "recorded": p.key in book.get(mid).results}  # fmt: skip

    def find_plan(m: Meeting, key: str) -> SessionPlan:
        try:
            return m.plan(key)
        except MeetingError as exc:
            raise HTTPException(404, f"no session {key!r} now: {exc}") from exc

    def autocross(m: Meeting) -> AutocrossMeeting:
        if not isinstance(m, AutocrossMeeting):
            raise HTTPException(409, "this decision belongs to auto-cross meetings (RULES.md section 3)")
        return m

    @api.get("")
    async def list_meetings() -> list[dict[str, Any]]:
        return [summary(mid) for mid in sorted(book.meetings, reverse=True)]

    @api.post("", status_code=201)
    async def create(request: Request) -> dict[str, Any]:
        need(request, None)
        body = await body_of(request)
        if not isinstance(body, dict) or not isinstance(body.get("entries"), list) or not body["entries"]:
            raise HTTPException(400, "a meeting needs 'entries': [{number, name, transponder, ...}]")
        preset = body.get("preset", "autocross")
        m: Meeting
        try:
            if preset == "autocross":
                m = AutocrossMeeting(body["entries"], name=str(body.get("name") or ""),
                                     division=str(body.get("division") or ""), preset=preset,
                                     admitted_without_lap=body.get("admitted_without_lap") or ())  # fmt: skip
            elif preset == "ffsa-karting":
                length, capacity = body.get("track_length_m"), body.get("track_capacity")
                if (
                    not isinstance(length, int | float)
                    or length <= 0
                    or not isinstance(capacity, int)
                    or capacity < 2
                ):
                    raise HTTPException(
                        400, "a karting meeting needs 'track_length_m' (> 0) and 'track_capacity'"
                    )
                m = KartingMeeting(body["entries"], category=str(body.get("category") or body.get("division") or ""),
                                   track_length_m=length, track_capacity=capacity, name=str(body.get("name") or ""),
                                   wet=body.get("wet") or ())  # fmt: skip
            else:
                raise HTTPException(400, "a meeting's preset is 'autocross' or 'ffsa-karting'")
        except MeetingError as exc:
            raise HTTPException(400, str(exc)) from exc
        mid = book.create(m)
        warnings = entry_warnings(m.division, list(m.entries)) if isinstance(m, AutocrossMeeting) else []
        return {**summary(mid), "tokens": book.meta[mid]["tokens"], "warnings": warnings}

    # -- UFOLEP calendars (RULES.md 5): declared before /{mid} so "calendar" is not taken for an id
    @api.post("/calendar")
    async def import_calendar(request: Request) -> dict[str, Any]:
        """Import a tab-separated regional calendar (replaces the previous import)."""
        need(request, None)
        text = (await request.body()).decode("utf-8", errors="replace")
        events, warnings = parse_calendar(text)
        if not events:
            raise HTTPException(400, "no event found: " + ("; ".join(warnings[:5]) or "empty calendar"))
        book.set_calendar([e.as_dict() for e in events])
        return {"events": len(events), "timed": sum(e.timed for e in events), "warnings": warnings}

    @api.get("/calendar")
    async def calendar(region: str | None = None, timed: bool | None = None) -> list[dict[str, Any]]:
        out = []
        for i, e in enumerate(book.calendar):
            if region is not None and _fold(region).strip() != _fold(str(e["region"])):
                continue
            if timed is not None and bool(e["timed"]) != timed:
                continue
            out.append({"index": i, **e})
        return out

    @api.post("/calendar/{index}", status_code=201)
    async def meeting_from_calendar(index: int, request: Request) -> dict[str, Any]:
        """A club picks its event: the meeting is created with its entry list, sessions follow."""
        need(request, None)
        if not 0 <= index < len(book.calendar):
            raise HTTPException(404, f"no calendar event #{index}")
        ev = book.calendar[index]
        if not ev["timed"]:
            raise HTTPException(409, f"{', '.join(ev['disciplines'])} is scored on zones, not timed")
        body = await body_of(request)
        entries = body.get("entries") if isinstance(body, dict) else None
        if not isinstance(entries, list) or not entries:
            raise HTTPException(400, "a meeting needs 'entries': [{number, name, transponder, ...}]")
        name = f"{ev['venue']} {ev['start']} ({ev['club']})"
        try:
            m = AutocrossMeeting(entries, name=name, division=str(body.get("division") or ""))
        except MeetingError as exc:
            raise HTTPException(400, str(exc)) from exc
        mid = book.create(m)
        return {**summary(mid), "tokens": book.meta[mid]["tokens"], "event": ev}

    @api.get("/{mid}")
    async def get_meeting(mid: str) -> dict[str, Any]:
        return summary(mid)

    @api.get("/{mid}/stages/{stage}")
    async def stage_plans(mid: str, stage: str) -> dict[str, Any]:
        m = book.get(mid)
        return {"stage": stage, "sessions": [plan_dict(mid, p) for p in guard(m.plans, stage)]}

    @api.post("/{mid}/stages/{stage}/start")
    async def start_stage(mid: str, stage: str, request: Request) -> list[dict[str, Any]]:
        """Open the stage's sessions as live sessions (entries with their grid places)."""
        need(request, mid, TIMING)
        m = book.get(mid)
        out = []
        for p in guard(m.plans, stage):
            sid = book.meta[mid]["sessions"].get(p.key)
            if sid is None or sid not in mgr.sessions:
                s = mgr.create(
                    p.session_line.get("name", p.key),
                    {k: v for k, v in p.session_line.items() if k != "type"},
                )
                for e in p.entries:
                    s.submit(e)
                sid = s.id
                book.meta[mid]["sessions"][p.key] = sid
            out.append({**plan_dict(mid, p), "session_id": sid, "tokens": mgr.sessions[sid].meta["tokens"]})
        book.save(mid)
        return out

    @api.post("/{mid}/sessions/{key}/finish")
    async def finish_session(mid: str, key: str, request: Request) -> dict[str, Any]:
        """Close the live session (if still open) and record its classification in the meeting."""
        need(request, mid, TIMING)
        m = book.get(mid)
        find_plan(m, key)
        sid = book.meta[mid]["sessions"].get(key)
        if sid is None or sid not in mgr.sessions:
            raise HTTPException(409, f"session {key!r} was not started (POST .../stages/STAGE/start)")
        s = mgr.sessions[sid]
        if not s.engine.closed:
            s.submit({"type": "signal", "signal": "finish_session"})
        guard(m.record_engine, key, s.engine, now_iso())
        book.save(mid)
        return {"key": key, "session_id": sid, "stage": m.current_stage()}

    @api.post("/{mid}/sessions/{key}/result")
    async def manual_result(mid: str, key: str, request: Request) -> dict[str, Any]:
        """Record a result typed in (e.g. the final after an AX-RED restart for the remaining laps)."""
        need(request, mid, TIMING, RACE_DIRECTOR)
        m = book.get(mid)
        find_plan(m, key)
        rows = _rows_from_body(await body_of(request))
        guard(lambda: m.record(key, rows, at=now_iso()))
        book.save(mid)
        return {"key": key, "stage": m.current_stage()}

    @api.post("/{mid}/sessions/{key}/red")
    async def red(mid: str, key: str, request: Request) -> dict[str, Any]:
        """AX-RED on a live session stopped by a red flag: {"causers": [...], "retired": [...]}.

        The result stands (final > 5 laps) and is recorded, or a new live session is opened for
        the new start (re-run, full restart, or the remaining laps on the lap order); finishing
        it records the session's result with the cause(s) last of the running cars.
        """
        need(request, mid, RACE_DIRECTOR, TIMING)
        m = autocross(book.get(mid))
        find_plan(m, key)
        sessions = book.meta[mid]["sessions"]
        sid = sessions.get(key)
        if sid is None or sid not in mgr.sessions:
            raise HTTPException(409, f"session {key!r} was not started")
        body = await body_of(request)
        body = body if isinstance(body, dict) else {}
        causers = [str(n) for n in body.get("causers") or ()]
        st = red_flag_state(mgr.sessions[sid].engine, [str(n) for n in body.get("retired") or ()])
        if st is None:
            raise HTTPException(409, "no red flag in this session (signal 'red' first)")
        plan = guard(lambda: m.red_flag(key, st.decision, st.lap_order, st.laps_before, st.running, causers))
        out: dict[str, Any] = {"rule": "AX-RED", "action": str(st.decision.action), "leader_laps": st.leader_laps,
                               "laps_to_run": st.decision.laps_to_run, "lap_order": st.lap_order}  # fmt: skip
        if plan is not None:
            first = mgr.sessions[sid].engine
            line = {k: v for k, v in plan.session_line.items() if k != "type"}
            # a jump start of the first start makes a new one a repeat (AX-JUMP)
            prior = sorted(
                {*line.get("rules", {}).get("AX-JUMP", {}).get("prior", ()), *jump_offenders(first)}
            )
            line["rules"] = {**line.get("rules", {}), "AX-JUMP": {"prior": prior}}
            s = mgr.create(f"{line.get('name', key)} (restart)", line)
            for e in plan.entries:
                s.submit(e)
            # "tout avertissement ou pénalité applicable lors du premier départ sera appliqué lors du
            # second départ" (003 art. 7.4): carry the first start's penalties of the cars admitted
            admitted = {e["number"] for e in plan.entries}
            for p in first.penalties.all():
                if p.counts and p.number in admitted:
                    s.submit({"type": "penalty", "t": 0.0, "number": p.number, "rule": p.rule, "laps": p.laps,
                              "seconds": p.seconds, "best_lap_seconds": p.best_lap_seconds, "dsq": p.dsq,
                              "note": f"first start ({p.id}): {p.evidence}",
                              "other": True})  # fmt: skip  # a first-start "other" rule stays allowed
            sessions[f"{key}#1"] = sid
            sessions[key] = s.id
            out.update(session_id=s.id, grid=plan.grid, rows=plan.rows, tokens=s.meta["tokens"])
        book.save(mid)
        return out

    @api.post("/{mid}/unable")
    async def unable(mid: str, request: Request) -> dict[str, Any]:
        """AX-FINAL: a finalist cannot reach the grid; the final's grid is rebuilt."""
        need(request, mid, RACE_DIRECTOR)
        body = await body_of(request)
        number = str(body.get("number") or "").strip() if isinstance(body, dict) else ""
        m = autocross(book.get(mid))
        if number not in m.entries:
            raise HTTPException(400, "body needs the 'number' of an entry")
        m.declare_unable(number)
        book.save(mid)
        return summary(mid)

    async def decide(request: Request, mid: str, roles: tuple[str, ...], method: str, key: str) -> dict[str, Any]:
        """A race-direction decision taking one field of the body: authorise, apply, save."""
        need(request, mid, *roles)
        body = await body_of(request)
        m = autocross(book.get(mid))
        guard(getattr(m, method), str(body.get(key) if isinstance(body, dict) else ""))
        book.save(mid)
        return summary(mid)

    @api.post("/{mid}/stop")
    async def stop(mid: str, request: Request) -> dict[str, Any]:
        """AX-POINTS: the meeting stops after heat2, heat3 or semis; points are halved."""
        return await decide(request, mid, (RACE_DIRECTOR, STEWARDS), "stop", "after")

    @api.post("/{mid}/cancel")
    async def cancel(mid: str, request: Request) -> dict[str, Any]:
        """AX-HEAT-TOTAL: the stewards cancel a heat {"heat": "heat3"}; everyone reaches the semis."""
        return await decide(request, mid, (STEWARDS,), "cancel_heat", "heat")

    @api.post("/{mid}/admit")
    async def admit(mid: str, request: Request) -> dict[str, Any]:
        """AX-PRACTICE: the stewards admit a driver without a practice lap {"number"}."""
        return await decide(request, mid, (STEWARDS,), "admit_without_lap", "number")

    @api.get("/{mid}/red_flag")
    async def red_flag(mid: str, kind: str, leader_laps: int) -> dict[str, Any]:
        """AX-RED: what to do after a red flag, for the race director."""
        book.get(mid)
        if kind not in ("heat", "semi", "final"):
            raise HTTPException(400, "kind must be heat, semi or final")
        if leader_laps < 0:
            raise HTTPException(400, "leader_laps must be >= 0")
        d = red_flag_decision(kind, leader_laps, ax_laps(kind))
        return {
            "rule": "AX-RED",
            "action": str(d.action),
            "laps_to_run": d.laps_to_run,
            "order_lap": d.order_lap,
        }

    def ka_ranking(m: KartingMeeting, doc: str) -> tuple[list[str], list[tuple], list[dict[str, Any]]]:
        name = {n: str(e.get("name") or "") for n, e in m.entries.items()}
        if doc == "qualifying":
            js = [{"position": i, "number": n} for i, n in enumerate(guard(m.qualifying_order), 1)]
            return (
                ["Pos", "No", "Driver"],
                [(j["position"], j["number"], name.get(j["number"], "")) for j in js],
                js,
            )
        if doc in ("heats", "finalists"):
            lines = guard(m.intermediate if doc == "heats" else m.finalists)
            js = [{"position": i, "number": x.number, "points": x.points} for i, x in enumerate(lines, 1)]
            rows = [(j["position"], j["number"], name.get(j["number"], ""), j["points"]) for j in js]
            return ["Pos", "No", "Driver", "Points"], rows, js
        lines_ = guard(m.classification)
        js = [
            {"position": x.position, "number": x.number, "finalist": x.finalist, "podium": x.podium}
            for x in lines_
        ]
        rows = [(j["position"], j["number"], name.get(j["number"], ""), "yes" if j["finalist"] else "no",
                 "yes" if j["podium"] else "") for j in js]  # fmt: skip
        return ["Pos", "No", "Driver", "Finalist", "Podium"], rows, js

    def ranking(m: Meeting, doc: str) -> tuple[list[str], list[tuple], list[dict[str, Any]]]:
        """One ranking as (headers, table rows, JSON rows)."""
        if isinstance(m, KartingMeeting):
            return ka_ranking(m, doc)
        name = {n: str(e.get("name") or "") for n, e in m.entries.items()}
        if doc == "practice":
            lines = guard(m.practice)
            js = [{"position": i, "number": p.number, "best_lap_s": _s(p.best_us), "second_lap_s": _s(p.second_us),
                   "laps": p.laps, "qualified": p.qualified} for i, p in enumerate(lines, 1)]  # fmt: skip
            cols = ["Pos", "No", "Driver", "Best", "2nd best", "Laps", "Qualified"]
            rows = [(j["position"], j["number"], name.get(j["number"], ""), j["best_lap_s"] or "",
                     j["second_lap_s"] or "", j["laps"], "yes" if j["qualified"] else "no") for j in js]  # fmt: skip
        elif doc in HEAT_STAGES:
            lines = guard(m.heat_ranking, doc)
            js = [{"position": i, "number": h.number, "series": h.series + 1, "place": h.place, "points": h.points,
                   "laps": h.laps, "total_time_s": _s(h.total_time_us), "status": h.status}
                  for i, h in enumerate(lines, 1)]  # fmt: skip
            cols = ["Pos", "No", "Driver", "Series", "Place", "Laps", "Time", "Points"]
            rows = [(j["position"], j["number"], name.get(j["number"], ""), j["series"], j["place"], j["laps"],
                     j["total_time_s"] or "", j["points"]) for j in js]  # fmt: skip
        elif doc == "heats":
            totals = guard(m.heat_totals)
            js = [{"position": i, "number": t.number, "heat_points": list(t.heat_points), "total": t.total,
                   "dropped": t.dropped, "qualified": t.qualified} for i, t in enumerate(totals, 1)]  # fmt: skip
            cols = ["Pos", "No", "Driver", "Heats", "Total", "Dropped", "Semis"]
            rows = [(j["position"], j["number"], name.get(j["number"], ""), " / ".join(map(str, j["heat_points"])),
                     j["total"], j["dropped"], "yes" if j["qualified"] else "no") for j in js]  # fmt: skip
        elif doc == "semis":
            lines = guard(m.semi_ranking)
            js = [{"position": i, "number": s.number, "semi": s.semi + 1, "place": s.place, "laps": s.laps,
                   "status": s.status, "ran": s.ran} for i, s in enumerate(lines, 1)]  # fmt: skip
            cols = ["Pos", "No", "Driver", "Semi", "Place", "Laps", "Status"]
            rows = [(j["position"], j["number"], name.get(j["number"], ""), j["semi"], j["place"], j["laps"],
                     j["status"]) for j in js]  # fmt: skip
        else:  # general / points
            js = guard(points_rows, m)
            cols = ["Pos", "No", "Driver", "From", "Practice", "Heats", "Final", "Total"]
            rows = [(j["position"], j["number"], name.get(j["number"], ""), j["stage"], j["practice"], j["heats"],
                     f"{j['final']:g}", f"{j['total']:g}") for j in js]  # fmt: skip
        return cols, rows, js

    @api.get("/{mid}/classifications/{doc}")
    async def classification(mid: str, doc: str) -> dict[str, Any]:
        m = book.get(mid)
        if doc not in ranking_docs(m):
            raise HTTPException(404, f"unknown classification {doc!r}; one of {', '.join(ranking_docs(m))}")
        st = doc_status(doc, m.signoffs)
        extra: dict[str, Any] = {}
        if doc in ("general", "points"):
            extra["stopped_after"] = m.stopped_after
            extra["provisional_due"] = provisional_due(m.recorded_at.get("final"))
        return {"document": doc, "division": m.division, "status": st.status, "posted_at": st.posted_at,
                "final_at": st.final_at, "rows": ranking(m, doc)[2], **extra}  # fmt: skip

    @api.post("/{mid}/signoff")
    async def signoff(mid: str, request: Request) -> dict[str, Any]:
        """AX-PUBLISH: sign a document (a session key, a ranking, or 'grid:KEY' for a start list)."""
        r = role(request, mid)
        body = await body_of(request)
        doc = str(body.get("document") or "") if isinstance(body, dict) else ""
        as_role = str(body.get("role") or r) if r == ADMIN else r
        if not doc:
            raise HTTPException(400, "body needs the 'document' to sign")
        if not may_sign(as_role, doc):
            raise HTTPException(403, f"{as_role!r} may not sign {doc!r}")
        m = book.get(mid)
        m.signoffs.append(
            {"document": doc, "role": as_role, "by": str(body.get("by") or as_role), "at": now_iso()}
        )
        book.save(mid)
        st = doc_status(doc, m.signoffs)
        return {"document": doc, "status": st.status, "posted_at": st.posted_at, "final_at": st.final_at}

    def lang_of(request: Request) -> str:
        """Printed documents in French for a French browser or ?lang=fr (service/i18n.py)."""
        return pick_lang(request.query_params.get("lang"), request.headers.get("accept-language"))

    @api.get("/{mid}/startlist/{key}.html", response_class=HTMLResponse)
    async def startlist(mid: str, key: str, request: Request) -> HTMLResponse:
        m = book.get(mid)
        p = find_plan(m, key)
        html = startlist_html(m.name or "Auto-cross", f"{m.division} {key}".strip(), p.rows, m.entries, p.laps,
                              doc_status(f"grid:{key}", m.signoffs), lang_of(request))  # fmt: skip
        return HTMLResponse(html)

    @api.get("/{mid}/results/{doc}.html", response_class=HTMLResponse)
    async def results_page(mid: str, doc: str, request: Request) -> HTMLResponse:
        m = book.get(mid)
        lang = lang_of(request)
        title = m.name or "Auto-cross"
        if doc in ranking_docs(m):
            cols, rows, _ = ranking(m, doc)
            body = table(cols, rows, numeric=(0,), lang=lang)
            label = tr(lang, {"heats": "after the heats", "semis": "semi-final ranking",
                              "general": "general classification", "points": "championship points"}.get(doc, doc))  # fmt: skip
            if m.stopped_after and doc in ("general", "points"):
                label += tr(lang, " (meeting stopped after {stage}: points halved)", stage=m.stopped_after)
        else:
            p = find_plan(m, doc)
            rows_ = m.results.get(doc)
            if rows_ is None:
                raise HTTPException(409, f"{doc!r} is not recorded yet")
            if p.kind != "heat":
                pts = None
            elif isinstance(m, KartingMeeting):
                pts = ka_heat_points(rows_)
            else:
                pts = {r.number: ax_heat_points(r, p.laps) for r in rows_}
            body = race_table(rows_, m.entries, pts, m.penalties.get(doc), lang)
            label = tr(lang, "{doc} results, {laps} laps", doc=doc, laps=p.laps)
        return HTMLResponse(page(title, f"{m.division} {label}".strip(), body, doc_status(doc, m.signoffs), lang))

    return api
