"""The meetings' front door, beside `LiveSession`: commands that return domain objects.

`MeetingService` ties the pure meeting formats (`service/meetings`), their files (`MeetingBook`)
and the live sessions a meeting opens (the app's session manager). It owns the edge's business:
the wall clock (sign-off and recording times), opening live sessions for a stage or an AX-RED
restart, saving after every change. It raises domain errors only (`service/errors.py`); the HTTP
router (`service/meetings/api.py`) translates requests to these commands and answers back.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from service.errors import Conflict, Invalid, NotFound, render
from service.meetings.calendar import parse_calendar
from service.meetings.lengths import ax_laps
from service.meetings.live import RedFlagState, jump_offenders, red_flag_state
from service.meetings.model import STATUSES, RaceRow
from service.meetings.points import session_points
from service.meetings.protocol import Meeting, new_meeting
from service.meetings.publish import DocStatus, doc_status
from service.meetings.redflag import RedFlagDecision, red_flag_decision
from service.meetings.runner import MeetingError, SessionPlan
from service.meetings.store import MeetingBook
from service.meetings.tables import Ranking
from service.presets import resolve
from service.sessions import setup as session_setup
from service.text import fold
from service.timeutil import s_to_us

if TYPE_CHECKING:
    from service.sessions.live import LiveSession


def manual_rows(body: Any) -> list[RaceRow]:
    """Manual result rows, e.g. a final run in two parts after a red flag (AX-RED)."""
    items = body.get("rows") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise Invalid("meeting.needs_rows")
    rows = []
    for i, r in enumerate(items, 1):
        if not isinstance(r, dict) or not str(r.get("number") or "").strip():
            raise Invalid("meeting.row_number", row=i)
        status = r.get("status", "classified")
        if status not in STATUSES:
            raise Invalid("meeting.row_status", row=i, known=", ".join(sorted(STATUSES)))
        try:
            t = r.get("total_time_s")
            rows.append(
                RaceRow(
                    str(r["number"]).strip(),
                    int(r.get("place", i)),
                    int(r.get("laps", 0)),
                    status,
                    None if t is None else s_to_us(float(t)),
                )
            )
        except (TypeError, ValueError) as exc:
            raise Invalid("meeting.row_value", row=i, error=str(exc)) from exc
    return rows


class Sessions(Protocol):
    """The app's session manager (`service.sessions.manager.Manager`): where a meeting opens live sessions."""

    sessions: dict[str, LiveSession]

    def create(self, name: str, session_line: dict[str, Any]) -> LiveSession: ...

    async def delete(self, sid: str) -> None: ...


INFO_FIELDS = ("date", "place", "organiser")
MAX_TEXT = 200


MAX_LOGO = 512 * 1024  # bytes: a club's logo for the page and the printed sheets, not a photo
LOGO_TYPES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def logo_type(data: bytes) -> str:
    """The media type of a logo, read from its first bytes (PNG, JPEG, GIF or WebP; never SVG,
    which can carry scripts); Invalid for anything else or too big."""
    if len(data) > MAX_LOGO:
        raise Invalid("meeting.logo_too_big", kb=MAX_LOGO // 1024)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for magic, media in LOGO_TYPES:
        if data.startswith(magic):
            return media
    raise Invalid("meeting.logo_type")


def checked_info(fields: dict[str, Any]) -> dict[str, str]:
    """The organiser's details of a request: `date` as YYYY-MM-DD, `place` and `organiser` as short texts."""
    out = {}
    for k in INFO_FIELDS:
        if k not in fields:
            continue
        v = fields[k]
        if v is None:
            v = ""
        if not isinstance(v, str) or len(v) > MAX_TEXT:
            raise Invalid("meeting.bad_field", field=k)
        v = v.strip()
        if k == "date" and v:
            try:
                v = datetime.date.fromisoformat(v).isoformat()
            except ValueError:
                raise Invalid("meeting.bad_date", value=v[:20]) from None
        out[k] = v
    return out


def now_iso() -> str:
    """Wall clock, the edge's business: sign-off and recording times."""
    return time.strftime("%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True, slots=True)
class OpenSession:
    """A plan of the meeting and the live session that runs it."""

    plan: SessionPlan
    session_id: str
    tokens: dict[str, str]


@dataclass(frozen=True, slots=True)
class RedRestart:
    """AX-RED applied: what the engine saw, and the new start's live session (None when the
    result stands and was recorded at once)."""

    state: RedFlagState
    restart: OpenSession | None


class MeetingService:
    """Meeting commands over the meeting files and the live sessions."""

    def __init__(self, book: MeetingBook, sessions: Sessions, clock: Callable[[], str] = now_iso) -> None:
        self.book = book
        self.live = sessions
        self.clock = clock

    # ---------------------------------------------------------------- reading
    def get(self, mid: str) -> Meeting:
        return self.book.get(mid)

    def ids(self) -> list[str]:
        """Meeting ids, newest first."""
        return sorted(self.book.meetings, reverse=True)

    def plan(self, mid: str, key: str) -> SessionPlan:
        """A session of the meeting as it stands now (NotFound when there is none)."""
        try:
            return self.get(mid).plan(key)
        except MeetingError as exc:
            raise NotFound("meeting.no_session_now", key=key, why=exc) from exc

    def plans(self, mid: str, stage: str) -> list[SessionPlan]:
        return self.get(mid).plans(stage)

    def ranking(self, mid: str, doc: str) -> Ranking:
        """A ranking document of the meeting (NotFound for a document its format has not)."""
        m = self.get(mid)
        docs = m.ranking_docs()
        if doc not in docs:
            raise NotFound("meeting.unknown_doc", doc=doc, known=", ".join(docs))
        return m.ranking(doc)

    def status(self, mid: str, doc: str) -> DocStatus:
        return doc_status(doc, self.get(mid).signoffs)

    def session_result(self, mid: str, key: str) -> tuple[SessionPlan, list[RaceRow], dict[str, int] | None]:
        """A recorded session: its plan, rows and each car's points when its kind scores some
        (the preset's `points`: AX-HEAT-POINTS, KA-POINTS)."""
        m, plan = self.get(mid), self.plan(mid, key)
        rows = m.results.get(key)
        if rows is None:
            raise Conflict("meeting.not_recorded", key=key)
        params = resolve({"preset": m.preset, "kind": plan.kind})
        return plan, rows, session_points(params, plan.kind, rows, plan.laps)

    def red_flag_advice(self, mid: str, kind: str, leader_laps: int) -> RedFlagDecision:
        """AX-RED: what to do after a red flag, for the race director."""
        self.get(mid)
        if kind not in ("heat", "semi", "final"):
            raise Invalid("meeting.red_kind")
        if leader_laps < 0:
            raise Invalid("meeting.leader_laps")
        return red_flag_decision(kind, leader_laps, ax_laps(kind))

    # ---------------------------------------------------------------- creating
    def create(self, preset: Any, entries: Sequence[dict[str, Any]], fields: dict[str, Any]) -> str:
        """A new meeting of `preset` (the registry of formats), with the organiser's details; its id."""
        info = checked_info(fields)
        return self.book.create(new_meeting(preset, entries, fields), info)

    def started(self, mid: str) -> bool:
        """Some session of the meeting was opened, or a result recorded: the inputs its grids are
        built from are fixed (a free meeting builds nothing: its list only seeds new sessions)."""
        m = self.get(mid)
        return bool(m.stages()) and (bool(self.book.sessions(mid)) or bool(m.results))

    def update(self, mid: str, fields: dict[str, Any]) -> None:
        """Edit a meeting: name and the organiser's details at any time; the format's own fields
        (division or category, track, wet stages) and the entry list only before its first session
        opens (the grids and results are built from them)."""
        m = self.get(mid)
        info = checked_info(fields)
        name = fields.get("name", m.name)
        if not isinstance(name, str) or len(name) > MAX_TEXT:
            raise Invalid("meeting.bad_field", field="name")
        inputs = {k: v for k, v in fields.items() if k not in (*INFO_FIELDS, "name", "preset")}
        if "preset" in fields and fields["preset"] != m.preset:
            inputs["preset"] = fields["preset"]
        if inputs:
            if self.started(mid):
                raise Conflict("meeting.inputs_fixed")
            st = m.state()
            entries = inputs.pop("entries", st.get("entries") or [])
            merged = {**st, **inputs, "name": name.strip()}
            self.book.replace(mid, new_meeting(merged.pop("preset", m.preset), entries, merged))
        else:
            m.name = name.strip()
        self.book.info(mid).update(info)
        self.book.save(mid)

    def set_logo(self, mid: str, data: bytes | None) -> str | None:
        """The meeting's logo (checked: type and size), or none (`None`); its media type."""
        self.get(mid)
        media = None if data is None else logo_type(data)
        self.book.set_logo(mid, data, media or "")
        return media

    async def delete(self, mid: str, seasons: Sequence[str] = ()) -> list[str]:
        """Delete a meeting no season counts: the sessions that never ran go with it, the others
        stay as sessions of their own (what was timed is never lost). Returns the ids kept."""
        self.get(mid)
        if seasons:
            raise Conflict("meeting.in_season", seasons=", ".join(seasons))
        kept = []
        for sid in set(self.book.sessions(mid).values()):
            s = self.live.sessions.get(sid)
            if s is not None and not session_setup.has_run(s):
                await self.live.delete(sid)
            elif s is not None:
                kept.append(sid)
        self.book.delete(mid)
        return kept

    # ---------------------------------------------------------------- the meeting's entry list
    def put_entry(self, mid: str, number: str, fields: Any) -> dict[str, Any]:
        """The entry `number` added or changed, before the meeting's first session opens. The list
        keeps its order (AX-PRACTICE builds the practice series from it); a new entry goes last."""
        m = self.get(mid)
        line = session_setup.entry_line(fields, number)
        new = line["number"]
        if new != number and new in m.entries:
            raise Conflict("entries.number_taken", number=new)
        tr = line["transponder"]
        for e in m.entries.values():
            if tr and str(e.get("transponder") or "") == tr and e["number"] not in (number, new):
                raise Conflict("entry.transponder_taken", transponder=tr, number=e["number"])
        items = [line if n == number else e for n, e in m.entries.items()]
        if number not in m.entries:
            items.append(line)
        self.update(mid, {"entries": items})
        return line

    def remove_entry(self, mid: str, number: str) -> None:
        m = self.get(mid)
        if number not in m.entries:
            raise NotFound("session.no_car", number=number)
        self.update(mid, {"entries": [e for n, e in m.entries.items() if n != number]})

    def set_entries(self, mid: str, entries: Sequence[dict[str, Any]]) -> None:
        """The whole entry list replaced (an imported file), before the first session opens."""
        self.update(mid, {"entries": list(entries)})

    # ---------------------------------------------------------------- sessions added by hand
    def add_session(self, mid: str, fields: dict[str, Any]) -> tuple[str, LiveSession]:
        """A session added to the meeting by hand (any preset), with the meeting's entry list."""
        m = self.get(mid)
        name = fields.get("name") or ""
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_TEXT:
            raise Invalid("sessions.bad_name")
        line = {k: v for k, v in fields.items() if k not in ("name", "type") and v not in (None, "")}
        line.setdefault("preset", "generic-timed")
        line.setdefault("kind", "race")
        sessions = self.book.sessions(mid)
        n = 1
        while f"s{n}" in sessions:
            n += 1
        s = self.live.create(name.strip(), line)
        if m.entries:
            s.submit_many([{k: v for k, v in e.items() if k not in ("grid",)} for e in m.entries.values()])
        sessions[f"s{n}"] = s.id
        self.book.save(mid)
        return f"s{n}", s

    def session_of(self, mid: str, key: str) -> LiveSession:
        """The live session of a meeting's session key."""
        sid = self.book.sessions(mid).get(key)
        s = None if sid is None else self.live.sessions.get(sid)
        if s is None:
            raise NotFound("meeting.no_session", key=key)
        return s

    async def delete_session(self, mid: str, key: str, seasons: Sequence[str] = ()) -> None:
        """Remove a session of the meeting that never ran (opened by mistake: a stage can be
        opened again); a session that ran keeps its log."""
        s = self.session_of(mid, key)
        session_setup.check_deletable(s, list(seasons))
        self.book.forget_session(s.id)
        await self.live.delete(s.id)

    # ---------------------------------------------------------------- the page's view
    def board(self, mid: str, lang: str = "en") -> dict[str, Any]:
        """Everything the meeting page shows, in one answer: stages with their plans or why they
        wait, the sessions added by hand, each document's status. Nothing asked out of order is
        an error here: a stage that waits says so."""
        m = self.get(mid)
        sessions = self.book.sessions(mid)
        plan_keys: set[str] = set()
        stages = []
        for stage in m.stages():
            try:
                plans = m.plans(stage)
            except Conflict as exc:
                stages.append({"stage": stage, "sessions": [], "waiting": render(exc.code, exc.params, lang)})
                continue
            rows = []
            for p in plans:
                plan_keys.add(p.key)
                sid = sessions.get(p.key)
                live = None if sid is None else self.live.sessions.get(sid)
                rows.append(
                    {
                        **p.public(),
                        "session_id": sid,
                        "recorded": p.key in m.results,
                        "state": None if live is None else live.state,
                        "has_run": live is not None and session_setup.has_run(live),
                    }
                )
            stages.append({"stage": stage, "sessions": rows, "waiting": None})
        extra = []
        for key, sid in sessions.items():
            if key in plan_keys or "#" in key or key.split(".")[0] in m.stages():
                continue
            s = self.live.sessions.get(sid)
            if s is not None:
                extra.append(
                    {
                        "key": key,
                        "session_id": sid,
                        "name": s.name,
                        "preset": s.engine.params["preset"],
                        "kind": s.engine.kind,
                        "state": s.state,
                        "has_run": session_setup.has_run(s),
                        "duration_s": s.engine.session_line.get("duration_s"),
                        "laps": s.engine.session_line.get("laps"),
                    }
                )
        docs = []
        for doc in m.ranking_docs():
            try:
                m.ranking(doc)
                ready = True
            except Conflict:
                ready = False
            st = doc_status(doc, m.signoffs)
            docs.append(
                {
                    "document": doc,
                    "ready": ready,
                    "status": st.status,
                    "posted_at": st.posted_at,
                    "final_at": st.final_at,
                }
            )
        return {"stages": stages, "extra_sessions": extra, "documents": docs, "started": self.started(mid)}

    def import_calendar(self, text: str) -> tuple[list[dict[str, Any]], list[str]]:
        """A tab-separated regional calendar replaces the previous import (RULES.md 5)."""
        events, warnings = parse_calendar(text)
        if not events:
            raise (
                Invalid("calendar.no_event", warnings="; ".join(warnings[:5]))
                if warnings
                else Invalid("calendar.empty")
            )
        rows = [e.as_dict() for e in events]
        self.book.set_calendar(rows)
        return rows, warnings

    def calendar(self, region: str | None = None, timed: bool | None = None) -> list[dict[str, Any]]:
        """The imported events with their index, by region (accents and case aside) and timing."""
        out = []
        for i, e in enumerate(self.book.calendar):
            if region is not None and fold(region) != fold(str(e["region"])):
                continue
            if timed is not None and bool(e["timed"]) != timed:
                continue
            out.append({"index": i, **e})
        return out

    def calendar_event(self, index: int) -> dict[str, Any]:
        """A timed event of the calendar a club can run as an auto-cross meeting."""
        if not 0 <= index < len(self.book.calendar):
            raise NotFound("calendar.not_found", index=index)
        ev = self.book.calendar[index]
        if not ev["timed"]:
            raise Conflict("calendar.not_timed", disciplines=", ".join(ev["disciplines"]))
        return ev

    def create_from_calendar(self, index: int, entries: Sequence[dict[str, Any]], division: str) -> str:
        """The club's event becomes a meeting (its date, venue and club as date, place and
        organiser), with its entry list now or later."""
        ev = self.calendar_event(index)
        name = f"{ev['venue']} {ev['start']} ({ev['club']})"
        return self.create(
            "autocross",
            entries,
            {
                "name": name,
                "division": division,
                "date": ev["start"],
                "place": ev["venue"],
                "organiser": ev["club"],
            },
        )

    # ---------------------------------------------------------------- sessions
    def _live(self, mid: str, key: str) -> LiveSession | None:
        sid = self.book.sessions(mid).get(key)
        return None if sid is None else self.live.sessions.get(sid)

    def _open(
        self, mid: str, plan: SessionPlan, line: dict[str, Any], name: str, restart: bool = False
    ) -> LiveSession:
        s = self.live.create(name, {k: v for k, v in line.items() if k != "type"})
        m = self.get(mid)
        s.belongs_to(
            {
                "id": mid,
                "key": plan.key,
                "name": m.name,
                "division": m.division,
                **({"restart": True} if restart else {}),
            }
        )
        for e in plan.entries:
            s.submit(e)
        return s

    def start_stage(self, mid: str, stage: str) -> list[OpenSession]:
        """Open the stage's sessions as live sessions (entries with their grid places); a session
        already open stays as it is."""
        m = self.get(mid)
        if not m.entries:
            raise Conflict("meeting.no_entries")
        sessions = self.book.sessions(mid)
        out = []
        for p in m.plans(stage):
            s = self._live(mid, p.key)
            if s is None:
                s = self._open(mid, p, p.session_line, p.session_line.get("name", p.key))
                sessions[p.key] = s.id
            out.append(OpenSession(p, s.id, s.meta["tokens"]))
        self.book.save(mid)
        return out

    def finish(self, mid: str, key: str) -> str:
        """Close the live session (if still open) and record its classification; its id."""
        self.plan(mid, key)
        s = self._live(mid, key)
        if s is None:
            raise Conflict("meeting.not_started_hint", key=key)
        if not s.engine.closed:
            s.submit({"type": "signal", "signal": "finish_session"})
        self.get(mid).record_engine(key, s.engine, self.clock())
        self.book.save(mid)
        return s.id

    def record(self, mid: str, key: str, rows: Sequence[RaceRow]) -> None:
        """A result typed in (e.g. the final after an AX-RED restart for the remaining laps)."""
        self.plan(mid, key)
        self.get(mid).record(key, rows, at=self.clock())
        self.book.save(mid)

    # ---------------------------------------------------------------- race direction
    def red_flag_session(self, mid: str, key: str) -> LiveSession:
        """The live session an AX-RED decision applies to (the format must have AX-RED)."""
        self.get(mid).check_decision("red_flag")
        self.plan(mid, key)
        s = self._live(mid, key)
        if s is None:
            raise Conflict("meeting.not_started", key=key)
        return s

    def red_flag_restart(
        self, mid: str, key: str, causers: Sequence[str] = (), retired: Sequence[str] = ()
    ) -> RedRestart:
        """AX-RED on a live session stopped by a red flag. The result stands (final > 5 laps) and
        is recorded, or a new live session is opened for the new start (re-run, full restart, or
        the remaining laps on the lap order); finishing it records the session's result with the
        cause(s) last of the running cars."""
        first = self.red_flag_session(mid, key)
        m = self.get(mid)
        st = red_flag_state(first.engine, list(retired))
        if st is None:
            raise Conflict("meeting.no_red_flag")
        plan = m.red_flag(key, st.decision, st.lap_order, st.laps_before, st.running, list(causers))
        restart = None
        if plan is not None:
            line = {k: v for k, v in plan.session_line.items() if k != "type"}
            # a jump start of the first start makes a new one a repeat (AX-JUMP)
            rules = line.get("rules", {})
            prior = sorted({*rules.get("AX-JUMP", {}).get("prior", ()), *jump_offenders(first.engine)})
            line["rules"] = {**rules, "AX-JUMP": {"prior": prior}}
            s = self._open(mid, plan, line, f"{line.get('name', key)} (restart)", restart=True)
            # "tout avertissement ou pénalité applicable lors du premier départ sera appliqué lors du
            # second départ" (003 art. 7.4): carry the first start's penalties of the cars admitted
            admitted = {e["number"] for e in plan.entries}
            for p in first.engine.penalties.all():
                if p.counts and p.number in admitted:
                    s.submit(
                        {
                            "type": "penalty",
                            "t": 0.0,
                            "number": p.number,
                            "rule": p.rule,
                            "laps": p.laps,
                            "seconds": p.seconds,
                            "best_lap_seconds": p.best_lap_seconds,
                            "dsq": p.dsq,
                            "note": f"first start ({p.id}): {p.evidence}",
                            "other": True,
                        }
                    )  # a first-start "other" rule stays allowed
            sessions = self.book.sessions(mid)
            sessions[f"{key}#1"] = first.id
            sessions[key] = s.id
            restart = OpenSession(plan, s.id, s.meta["tokens"])
        self.book.save(mid)
        return RedRestart(st, restart)

    def declare_unable(self, mid: str, number: str) -> None:
        """AX-FINAL: a finalist cannot reach the grid; the final's grid is rebuilt."""
        self.get(mid).declare_unable(number)
        self.book.save(mid)

    def stop(self, mid: str, after: str) -> None:
        """AX-POINTS: the meeting stops after heat2, heat3 or semis; points are halved."""
        self.get(mid).stop(after)
        self.book.save(mid)

    def cancel_heat(self, mid: str, heat: str) -> None:
        """AX-HEAT-TOTAL: the stewards cancel a heat; everyone reaches the semis."""
        self.get(mid).cancel_heat(heat)
        self.book.save(mid)

    def admit_without_lap(self, mid: str, number: str) -> None:
        """AX-PRACTICE: the stewards admit a driver without a practice lap."""
        self.get(mid).admit_without_lap(number)
        self.book.save(mid)

    def sign_off(self, mid: str, doc: str, role: str, by: str) -> DocStatus:
        """AX-PUBLISH: `role` signs `doc` now (the caller checked the role may sign it)."""
        m = self.get(mid)
        m.signoffs.append({"document": doc, "role": role, "by": by, "at": self.clock()})
        self.book.save(mid)
        return doc_status(doc, m.signoffs)
