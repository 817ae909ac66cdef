"""An auto-cross meeting for one division: a chain of sessions where each result builds the next.

`AutocrossMeeting` holds only inputs (entries, each session's recorded rows, practice laps,
jump-start offenders, finalists unable to start, an early stop) and derives everything else
with the pure rules of this package, so its state is a small JSON document and replaying the
same results always gives the same grids, classifications and points.

Stages: practice1, practice2 (same series, AX-PRACTICE) -> heat1 (AX-HEAT1) -> heat2, heat3
(AX-MIX) -> semis (AX-SEMI) -> final (AX-FINAL). `plans(stage)` gives the sessions of a stage
(series, grid, session line, entry lines); `record(key, rows)` stores a session's result.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from service.errors import Invalid
from service.i18n import said
from service.printed import seconds_time
from service.timeutil import us_to_s

from .championship import HALVED_STAGES, MeetingPoints, ax_championship_points
from .grids import FinalGrid, Slot, final_grid, semi_split, with_vacancies
from .lengths import ax_laps
from .model import HEAT_STAGES, RaceRow
from .ranking import (
    GeneralLine,
    HeatLine,
    HeatTotal,
    PracticeLine,
    SemiLine,
    general_classification,
    heat_ranking,
    heat_totals,
    practice_ranking,
    semi_ranking,
    stopped_classification,
)
from .redflag import RedAction, RedFlagDecision, restart_grid, rows_after_red
from .runner import MeetingError, SessionPlan
from .series import heat_series, practice_series
from .tables import Ranking, entry_names

STAGES = ("practice1", "practice2", "heat1", "heat2", "heat3", "semis", "final")
KIND_OF = {
    "practice1": "practice",
    "practice2": "practice",
    "heat1": "heat",
    "heat2": "heat",
    "heat3": "heat",
    "semis": "semi",
    "final": "final",
}


class AutocrossMeeting:
    """One division's auto-cross meeting (RULES.md section 3); a `Meeting` (protocol.py)."""

    RANKING_DOCS = ("practice", *HEAT_STAGES, "heats", "semis", "general", "points")

    def __init__(
        self,
        entries: Sequence[dict[str, Any]],
        *,
        name: str = "",
        division: str = "",
        preset: str = "autocross",
        admitted_without_lap: Iterable[str] = (),
    ) -> None:
        self.name = name
        self.division = division
        self.preset = preset
        self.entries: dict[str, dict[str, Any]] = {}
        for e in entries:
            number = str(e.get("number") or "").strip()
            if not number:
                raise MeetingError("meeting.entry_number")
            if number in self.entries:
                raise MeetingError("meeting.entry_twice", number=number)
            self.entries[number] = {**e, "type": "entry", "number": number}
        self.admitted_without_lap = set(admitted_without_lap)  # stewards' decision, AX-PRACTICE
        self.results: dict[str, list[RaceRow]] = {}
        self.laps_us: dict[str, dict[str, list[int]]] = {}  # practice session key -> laps per car
        self.jumpers: dict[str, list[str]] = {}  # session key -> AX-JUMP offenders
        self.penalties: dict[str, dict[str, list[str]]] = {}  # session key -> car -> penalty labels
        self.recorded_at: dict[str, str] = {}  # session key -> wall-clock ISO time (set at the edge)
        self.reds: dict[str, dict[str, Any]] = {}  # session key -> AX-RED procedure in progress
        self.unable_to_start: set[str] = set()  # finalists who cannot reach the grid
        self.cancelled: list[str] = []  # heats cancelled by the stewards
        self.stopped_after: str | None = None
        self.signoffs: list[dict[str, Any]] = []  # AX-PUBLISH, kept with the meeting
        self._memo: dict[tuple, Any] = {}  # derived values; cleared by every change of the inputs

    def _cached(self, key: tuple, fn: Any) -> Any:
        """Derived classifications chain (final <- semis <- heats <- practice): compute each once
        per state of the inputs instead of once per question."""
        if key not in self._memo:
            self._memo[key] = fn()
        return list(self._memo[key])  # a copy: callers may sort or edit what they get

    def _changed(self) -> None:
        self._memo.clear()

    @classmethod
    def create(cls, entries: Sequence[dict[str, Any]], fields: dict[str, Any]) -> AutocrossMeeting:
        """A new meeting from a request's fields (`name`, `division`, `admitted_without_lap`)."""
        return cls(
            entries,
            name=str(fields.get("name") or ""),
            division=str(fields.get("division") or ""),
            preset=str(fields.get("preset") or "autocross"),
            admitted_without_lap=fields.get("admitted_without_lap") or (),
        )

    def entry_warnings(self) -> list[str]:
        """Entry-list checks of the division (number ranges, at most 60 starters)."""
        from .divisions import entry_warnings

        return entry_warnings(self.division, list(self.entries))

    def decisions(self) -> dict[str, Any]:
        """The race direction's decisions so far (AX-POINTS stop, AX-FINAL, AX-HEAT-TOTAL)."""
        return {
            "stopped_after": self.stopped_after,
            "unable_to_start": sorted(self.unable_to_start),
            "cancelled": list(self.cancelled),
        }

    def check_decision(self, name: str) -> None:
        """Every race-direction decision of the protocol applies to auto-cross."""

    def ranking_docs(self) -> tuple[str, ...]:
        return self.RANKING_DOCS

    def ranking(self, doc: str) -> Ranking:
        """One ranking document as columns and rows (`ax_ranking`, tables.py's shape)."""
        return ax_ranking(self, doc)

    # ---------------------------------------------------------------- state (JSON)
    def state(self) -> dict[str, Any]:
        def row(r: RaceRow) -> dict[str, Any]:
            return {
                "number": r.number,
                "place": r.place,
                "laps": r.laps,
                "status": r.status,
                "total_time_us": r.total_time_us,
            }

        return {
            "name": self.name,
            "division": self.division,
            "preset": self.preset,
            "entries": list(self.entries.values()),
            "admitted_without_lap": sorted(self.admitted_without_lap),
            "results": {k: [row(r) for r in rows] for k, rows in self.results.items()},
            "laps_us": self.laps_us,
            "jumpers": self.jumpers,
            "penalties": self.penalties,
            "recorded_at": self.recorded_at,
            "reds": self.reds,
            "unable_to_start": sorted(self.unable_to_start),
            "cancelled": self.cancelled,
            "stopped_after": self.stopped_after,
            "signoffs": self.signoffs,
        }

    @classmethod
    def from_state(cls, st: dict[str, Any]) -> AutocrossMeeting:
        m = cls(
            st["entries"],
            name=st.get("name", ""),
            division=st.get("division", ""),
            preset=st.get("preset", "autocross"),
            admitted_without_lap=st.get("admitted_without_lap", ()),
        )
        m.results = {k: [RaceRow(**r) for r in rows] for k, rows in st.get("results", {}).items()}
        m.laps_us = {k: {n: list(v) for n, v in laps.items()} for k, laps in st.get("laps_us", {}).items()}
        m.jumpers = {k: list(v) for k, v in st.get("jumpers", {}).items()}
        m.penalties = {k: {n: list(v) for n, v in d.items()} for k, d in st.get("penalties", {}).items()}
        m.recorded_at = dict(st.get("recorded_at", {}))
        m.reds = {k: dict(v) for k, v in st.get("reds", {}).items()}
        m.unable_to_start = set(st.get("unable_to_start", ()))
        m.cancelled = list(st.get("cancelled", ()))
        m.stopped_after = st.get("stopped_after")
        m.signoffs = list(st.get("signoffs", ()))
        return m

    # ---------------------------------------------------------------- stages
    @property
    def entry_order(self) -> list[str]:
        """The official entry list order (AX-PRACTICE series and practice order)."""
        return list(self.entries)

    def stages(self) -> list[str]:
        return list(STAGES)

    def stage_keys(self, stage: str) -> list[str]:
        return [p.key for p in self.plans(stage)]

    def complete(self, stage: str) -> bool:
        try:
            return all(k in self.results for k in self.stage_keys(stage))
        except MeetingError:
            return False

    def current_stage(self) -> str | None:
        """The first stage not fully recorded (None once the final is in or the meeting stopped)."""
        if self.stopped_after:
            return None
        for stage in STAGES:
            if not self.complete(stage):
                return stage
        return None

    def _need(self, *stages: str) -> None:
        for s in stages:
            if not self.complete(s):
                raise MeetingError("meeting.stage_not_recorded", stage=s)

    def plans(self, stage: str) -> list[SessionPlan]:
        """The sessions of `stage`, built from the results recorded so far."""
        return self._cached(("plans", stage), lambda: self._plans(stage))

    def _plans(self, stage: str) -> list[SessionPlan]:
        if stage not in STAGES:
            raise MeetingError("meeting.unknown_stage", stage=stage, known=", ".join(STAGES))
        if stage in ("practice1", "practice2"):
            groups = [list(s) for s in practice_series(self.entry_order)]
        elif stage == "heat1":
            self._need("practice1", "practice2")
            groups = [list(s) for s in heat_series(self.heat1_field())]
        elif stage in self.cancelled:
            groups = []  # the stewards cancelled this heat (force majeure)
        elif stage in ("heat2", "heat3"):
            prev = [h for h in HEAT_STAGES[: HEAT_STAGES.index(stage)] if h not in self.cancelled]
            self._need(*prev[-1:])
            order = [h.number for h in self.heat_ranking(prev[-1])] if prev else self.heat1_field()
            groups = [list(s) for s in heat_series(order)]
        elif stage == "semis":
            self._need(*HEAT_STAGES)
            groups = [list(s) for s in semi_split([t.number for t in self.heat_totals() if t.qualified])]
        else:
            self._need("semis")
            groups = [list(self.final_grid().grid)]
        return [self._plan(stage, i + 1, g, len(groups)) for i, g in enumerate(groups)]

    def _plan(self, stage: str, series: int, grid: list[str], count: int) -> SessionPlan:
        kind = KIND_OF[stage]
        key = stage if count == 1 and stage == "final" else f"{stage}.{series}"
        laps = ax_laps(kind)
        line: dict[str, Any] = {
            "type": "session",
            "preset": self.preset,
            "kind": kind,
            "laps": laps,
            "name": f"{self.name} {self.division} {key}".strip(),
        }
        if kind in ("heat", "semi", "final"):
            line["rules"] = {"AX-JUMP": {"prior": self.prior_jumpers(stage)}}
        slots: list[Slot] = with_vacancies(grid, ())
        entries = [{**self.entries[n], "grid": i} for i, n in enumerate(grid, 1) if n in self.entries]
        return SessionPlan(key, stage, kind, series, laps, slots, line, entries)

    def prior_jumpers(self, stage: str) -> list[str]:
        """AX-JUMP: drivers with a jump start in an earlier heat (a new one is a repeat: 30 s)."""
        earlier = HEAT_STAGES[: HEAT_STAGES.index(stage)] if stage in HEAT_STAGES else HEAT_STAGES
        return sorted({n for key, ns in self.jumpers.items() if key.split(".")[0] in earlier for n in ns})

    # ---------------------------------------------------------------- recording
    def record(
        self,
        key: str,
        rows: Sequence[RaceRow],
        *,
        laps_us: dict[str, list[int]] | None = None,
        jumpers: Iterable[str] = (),
        penalties: dict[str, list[str]] | None = None,
        at: str | None = None,
    ) -> None:
        """Store one session's result. After `red_flag`, the rows are the second start's and the
        AX-RED procedure turns them into the session's result."""
        self.plan(key)
        self._changed()
        red = self.reds.get(key)
        if red is not None and red.get("pending"):
            rows = self._after_red(red, rows)
            red["pending"] = False
        self.results[key] = list(rows)
        if laps_us is not None:
            self.laps_us[key] = {n: list(v) for n, v in laps_us.items()}
        self.jumpers[key] = sorted(set(jumpers))
        self.penalties[key] = {n: list(v) for n, v in (penalties or {}).items() if v}
        if at is not None:
            self.recorded_at[key] = at

    def plan(self, key: str) -> SessionPlan:
        stage = key.split(".")[0]
        if stage not in STAGES:
            raise MeetingError("meeting.unknown_key", key=key)
        for p in self.plans(stage):
            if p.key == key:
                return p
        raise MeetingError(
            "meeting.not_in_stage", key=key, stage=stage, known=", ".join(self.stage_keys(stage))
        )

    def red_flag(
        self,
        key: str,
        decision: RedFlagDecision,
        lap_order: Sequence[str],
        laps_before: dict[str, int],
        running: Sequence[str],
        causers: Sequence[str] = (),
    ) -> SessionPlan | None:
        """AX-RED: a session was stopped. Returns the plan of the new start (None when the result
        stands, which is then recorded at once). Only cars running at the red, never the cause,
        take the new start; `record` of the new start completes the session's result."""
        plan = self.plan(key)
        retired = [n for n in lap_order if n not in running and n not in causers]
        self.reds[key] = {
            "action": str(decision.action),
            "laps_to_run": decision.laps_to_run,
            "order_lap": decision.order_lap,
            "lap_order": list(lap_order),
            "laps_before": dict(laps_before),
            "causers": list(causers),
            "retired": retired,
            "pending": True,
        }
        if decision.action is RedAction.RESULT_STANDS:
            self.record(key, [])
            return None
        grid = restart_grid(decision, plan.grid, running, causers, lap_order)
        line = {**plan.session_line, "laps": decision.laps_to_run}
        entries = [{**self.entries[n], "grid": i} for i, n in enumerate(grid, 1) if n is not None]
        return replace(plan, laps=decision.laps_to_run, grid=grid, session_line=line, entries=entries)

    @staticmethod
    def _after_red(red: dict[str, Any], second: Sequence[RaceRow]) -> list[RaceRow]:
        decision = RedFlagDecision(RedAction(red["action"]), red["laps_to_run"], red["order_lap"])
        return rows_after_red(
            decision, red["lap_order"], red["laps_before"], red["causers"], red["retired"], second
        )

    def record_engine(self, key: str, engine: Any, at: str | None = None) -> None:
        """Store a session from the timing engine that ran it."""
        from .live import jump_offenders, penalty_labels, practice_laps, race_rows

        self.record(
            key,
            race_rows(engine),
            laps_us=practice_laps(engine),
            jumpers=jump_offenders(engine),
            penalties=penalty_labels(engine),
            at=at,
        )

    def declare_unable(self, number: str) -> None:
        """AX-FINAL: a finalist cannot reach the grid; the first non-qualified replaces it."""
        if str(number) not in self.entries:
            raise Invalid("meeting.needs_number")
        self.unable_to_start.add(str(number))
        self._changed()

    def stop(self, after: str) -> None:
        """AX-POINTS: the meeting is stopped after heat 2, heat 3 or the semis (points halved)."""
        if after not in HALVED_STAGES:
            raise MeetingError("meeting.stop_after", known=", ".join(sorted(HALVED_STAGES)))
        self._need(*{"heat2": ("heat2",), "heat3": ("heat3",), "semis": ("semis",)}[after])
        self.stopped_after = after
        self._changed()

    # ---------------------------------------------------------------- derived classifications
    def _stage_rows(self, stage: str) -> list[list[RaceRow]]:
        return [self.results[k] for k in self.stage_keys(stage)]

    def practice(self) -> list[PracticeLine]:
        """AX-PRACTICE ranking over both practice sessions."""
        return self._cached(("practice",), self._practice)

    def _practice(self) -> list[PracticeLine]:
        self._need("practice1", "practice2")
        laps: dict[str, list[int]] = {}
        for stage in ("practice1", "practice2"):
            for key in self.stage_keys(stage):
                for n, v in self.laps_us.get(key, {}).items():
                    laps.setdefault(n, []).extend(v)
        return practice_ranking(laps, self.entry_order)

    def heat1_field(self) -> list[str]:
        """Qualified drivers in practice order, then those the stewards admitted without a lap."""
        ranked = self.practice()
        return [p.number for p in ranked if p.qualified or p.number in self.admitted_without_lap]

    def practice_best(self) -> dict[str, int | None]:
        return {p.number: p.best_us for p in self.practice()}

    def heat_ranking(self, stage: str) -> list[HeatLine]:
        """AX-HEAT-RANK of one heat over its series."""
        self._need(stage)
        return self._cached(
            ("heat", stage),
            lambda: heat_ranking(self._stage_rows(stage), self.practice_best(), ax_laps("heat")),
        )

    def heats_run(self) -> list[str]:
        return [s for s in HEAT_STAGES if s not in self.cancelled and self.complete(s)]

    def admit_without_lap(self, number: str) -> None:
        """AX-PRACTICE: the stewards let a driver without a practice lap race (knows the track)."""
        if number not in self.entries:
            raise MeetingError("meeting.no_entry", number=number)
        if any(k.startswith("heat") for k in self.results):
            raise MeetingError("meeting.heats_started")
        self.admitted_without_lap.add(number)
        self._changed()

    def cancel_heat(self, stage: str) -> None:
        """AX-HEAT-TOTAL: the stewards cancel a heat (force majeure). The next heat is built from the
        last heat run; every driver then reaches the semis, and a meeting that runs its final
        still scores full points (003 art. 7.3.1.6)."""
        if stage not in HEAT_STAGES:
            raise MeetingError("meeting.cancel_heats_only", known=", ".join(HEAT_STAGES))
        if any(k.split(".")[0] == stage for k in self.results):
            raise MeetingError("meeting.stage_has_results", stage=stage)
        if stage not in self.cancelled:
            self.cancelled.append(stage)
        self._changed()

    def heat_totals(self) -> list[HeatTotal]:
        """AX-HEAT-TOTAL over the heats recorded so far (best two)."""
        return self._cached(
            ("totals",),
            lambda: heat_totals(
                [self.heat_ranking(s) for s in self.heats_run()],
                self.heat1_field(),
                heat_cancelled=bool(self.cancelled),
            ),
        )

    def semi_ranking(self) -> list[SemiLine]:
        self._need("semis")
        return self._cached(
            ("semis",),
            lambda: semi_ranking(self._stage_rows("semis"), [t.number for t in self.heat_totals()]),
        )

    def final_grid(self) -> FinalGrid:
        semis = self.semi_ranking()
        return final_grid([s.number for s in semis], {s.number for s in semis if s.ran}, self.unable_to_start)

    def general(self) -> list[GeneralLine]:
        """The meeting's general classification (AX-FINAL), or the stopped-meeting one."""
        if self.stopped_after in ("heat2", "heat3"):
            return stopped_classification(self.heat_totals())
        if self.stopped_after == "semis":
            return stopped_classification(self.heat_totals(), self.semi_ranking())
        self._need("final")
        fg = self.final_grid()
        return general_classification(
            self.results["final"],
            self.semi_ranking(),
            [t.number for t in self.heat_totals()],
            fg.non_starters,
        )

    def points(self) -> list[MeetingPoints]:
        """AX-POINTS of this meeting, in general-classification order."""
        return ax_championship_points(self.practice(), self.heat_totals(), self.general(), self.stopped_after)


def points_rows(m: AutocrossMeeting) -> list[dict[str, Any]]:
    """The general classification with each driver's AX-POINTS: the `points` document a season
    sums (service/seasons). Raises MeetingError while the meeting has no general classification."""
    name = entry_names(m.entries)
    pts = {p.number: p for p in m.points()}
    js = []
    for g in m.general():
        p = pts.get(g.number)
        js.append(
            {
                "position": g.position,
                "number": g.number,
                "name": name.get(g.number, ""),
                "stage": g.stage,
                "practice": p.practice if p else 0,
                "heats": p.heats if p else 0,
                "final": p.final if p else 0,
                "total": p.total if p else 0,
            }
        )
    return js


def ax_ranking(m: AutocrossMeeting, doc: str) -> Ranking:
    """An auto-cross ranking: practice (AX-PRACTICE), a heat (AX-HEAT-RANK), the heats
    (AX-HEAT-TOTAL), the semis (AX-SEMI), the general classification and points (AX-POINTS)."""
    name = entry_names(m.entries)
    if doc == "practice":
        js = [
            {
                "position": i,
                "number": p.number,
                "best_lap_s": us_to_s(p.best_us),
                "second_lap_s": us_to_s(p.second_us),
                "laps": p.laps,
                "qualified": p.qualified,
            }
            for i, p in enumerate(m.practice(), 1)
        ]
        cols = ["Pos", "No", "Driver", "Best", "2nd best", "Laps", "Qualified"]
        rows = [
            (
                j["position"],
                j["number"],
                name.get(j["number"], ""),
                seconds_time(j["best_lap_s"]),
                seconds_time(j["second_lap_s"]),
                j["laps"],
                "yes" if j["qualified"] else "no",
            )
            for j in js
        ]
    elif doc in HEAT_STAGES:
        js = [
            {
                "position": i,
                "number": h.number,
                "series": h.series + 1,
                "place": h.place,
                "points": h.points,
                "laps": h.laps,
                "total_time_s": us_to_s(h.total_time_us),
                "status": h.status,
            }
            for i, h in enumerate(m.heat_ranking(doc), 1)
        ]
        cols = ["Pos", "No", "Driver", "Series", "Place", "Laps", "Time", "Points"]
        rows = [
            (
                j["position"],
                j["number"],
                name.get(j["number"], ""),
                j["series"],
                j["place"],
                j["laps"],
                seconds_time(j["total_time_s"]),
                j["points"],
            )
            for j in js
        ]
    elif doc == "heats":
        js = [
            {
                "position": i,
                "number": t.number,
                "heat_points": list(t.heat_points),
                "total": t.total,
                "dropped": t.dropped,
                "qualified": t.qualified,
            }
            for i, t in enumerate(m.heat_totals(), 1)
        ]
        cols = ["Pos", "No", "Driver", "Heats", "Total", "Dropped", "Semis"]
        rows = [
            (
                j["position"],
                j["number"],
                name.get(j["number"], ""),
                " / ".join(map(str, j["heat_points"])),
                j["total"],
                j["dropped"],
                "yes" if j["qualified"] else "no",
            )
            for j in js
        ]
    elif doc == "semis":
        js = [
            {
                "position": i,
                "number": s.number,
                "semi": s.semi + 1,
                "place": s.place,
                "laps": s.laps,
                "status": s.status,
                "ran": s.ran,
            }
            for i, s in enumerate(m.semi_ranking(), 1)
        ]
        cols = ["Pos", "No", "Driver", "Semi", "Place", "Laps", "Status"]
        rows = [
            (
                j["position"],
                j["number"],
                name.get(j["number"], ""),
                j["semi"],
                j["place"],
                j["laps"],
                said("doc.status", status=j["status"]),
            )
            for j in js
        ]
    else:  # general / points
        js = points_rows(m)
        cols = ["Pos", "No", "Driver", "From", "Practice", "Heats", "Final", "Total"]
        rows = [
            (
                j["position"],
                j["number"],
                name.get(j["number"], ""),
                said("doc.stage", stage=j["stage"]),
                j["practice"],
                j["heats"],
                f"{j['final']:g}",
                f"{j['total']:g}",
            )
            for j in js
        ]
    return Ranking(cols, rows, js)
