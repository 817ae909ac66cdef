"""The meetings' front door, beside `LiveSession`: commands that return domain objects.

`MeetingService` ties the pure meeting formats (`service/meeting`), their files (`MeetingBook`)
and the live sessions a meeting opens (the app's session manager). It owns the edge's business:
the wall clock (sign-off and recording times), opening live sessions for a stage or an AX-RED
restart, saving after every change. It raises domain errors only (`service/errors.py`); the HTTP
router (`service/api/meetings.py`) translates requests to these commands and answers back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

from service.errors import Conflict, Invalid, NotFound
from service.meeting.calendar import parse_calendar
from service.meeting.lengths import ax_laps
from service.meeting.live import RedFlagState, jump_offenders, red_flag_state
from service.meeting.model import STATUSES, RaceRow
from service.meeting.points import session_points
from service.meeting.protocol import Meeting, new_meeting
from service.meeting.publish import DocStatus, doc_status
from service.meeting.redflag import RedFlagDecision, red_flag_decision
from service.meeting.runner import MeetingError, SessionPlan
from service.meeting.tables import Ranking
from service.meeting_store import MeetingBook
from service.presets import resolve
from service.text import fold
from service.timeutil import s_to_us

if TYPE_CHECKING:
    from service.session import LiveSession


INFO_FIELDS = ("date", "place", "organiser")


def meeting_info(fields: Any) -> dict[str, str]:
    """What every sheet of the meeting prints: `date` (YYYY-MM-DD), `place`, `organiser` (optional)."""
    out = {}
    for key in INFO_FIELDS:
        value = fields.get(key) if isinstance(fields, dict) else None
        if value in (None, ""):
            continue
        if not isinstance(value, str) or len(value) > 200:
            raise Invalid("meeting.info_text", field=key)
        if key == "date":
            try:
                date.fromisoformat(value)
            except ValueError:
                raise Invalid("meeting.info_date", value=value) from None
        out[key] = value.strip()
    return out


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
            rows.append(RaceRow(str(r["number"]).strip(), int(r.get("place", i)), int(r.get("laps", 0)), status,
                                None if t is None else s_to_us(float(t))))  # fmt: skip
        except (TypeError, ValueError) as exc:
            raise Invalid("meeting.row_value", row=i, error=str(exc)) from exc
    return rows


class Sessions(Protocol):
    """The app's session manager (`service.app.Manager`): where a meeting opens live sessions."""

    sessions: dict[str, LiveSession]

    def create(self, name: str, session_line: dict[str, Any]) -> LiveSession: ...


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
        """A new meeting of `preset` (the registry of formats), with its optional `date` (ISO),
        `place` and `organiser`; returns its id."""
        info = meeting_info(fields)
        return self.book.create(new_meeting(preset, entries, fields), info)

    def import_calendar(self, text: str) -> tuple[list[dict[str, Any]], list[str]]:
        """A tab-separated regional calendar replaces the previous import (RULES.md 5)."""
        events, warnings = parse_calendar(text)
        if not events:
            raise Invalid("calendar.no_event", warnings="; ".join(warnings[:5])) if warnings else Invalid("calendar.empty")
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
        """The club's event becomes a meeting with its entry list."""
        ev = self.calendar_event(index)
        name = f"{ev['venue']} {ev['start']} ({ev['club']})"
        return self.create("autocross", entries, {"name": name, "division": division, "date": ev["start"],
                                                  "place": ev["venue"], "organiser": ev["club"]})  # fmt: skip

    # ---------------------------------------------------------------- sessions
    def _live(self, mid: str, key: str) -> LiveSession | None:
        sid = self.book.sessions(mid).get(key)
        return None if sid is None else self.live.sessions.get(sid)

    def _open(self, mid: str, plan: SessionPlan, line: dict[str, Any], name: str, restart: bool = False) -> LiveSession:
        s = self.live.create(name, {k: v for k, v in line.items() if k != "type"})
        m = self.get(mid)
        s.belongs_to({"id": mid, "key": plan.key, "name": m.name, "division": m.division,
                      **({"restart": True} if restart else {})})  # fmt: skip
        for e in plan.entries:
            s.submit(e)
        return s

    def start_stage(self, mid: str, stage: str) -> list[OpenSession]:
        """Open the stage's sessions as live sessions (entries with their grid places); a session
        already open stays as it is."""
        m = self.get(mid)
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
                    s.submit({"type": "penalty", "t": 0.0, "number": p.number, "rule": p.rule, "laps": p.laps,
                              "seconds": p.seconds, "best_lap_seconds": p.best_lap_seconds, "dsq": p.dsq,
                              "note": f"first start ({p.id}): {p.evidence}",
                              "other": True})  # fmt: skip  # a first-start "other" rule stays allowed
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
