"""The timing engine: scenario lines in, one typed `Outcome` per line out. Pure, synchronous, no I/O,
no clock.

Everything the engine knows came in as an event, so the same events always give the same
classification (DESIGN.md), whatever order they arrived in. Events are normally applied in time
order (fast path). A late or out-of-order event is put in its place and only what it can change is
recomputed: its car alone, and everything when it moves a session-wide fact (a signal, the leader
when time is up, the chequered flag: `_settle`).

This module holds the state, the entry points and the hot path (a passing: the car, its lap, its
finish). The rest is by concern, in this package: the refusals, one check per line type (checks.py);
corrections and race-control decisions (corrections.py); signals, the finish decisions and closing
(flags.py); lap-time checks and pace estimates (pace.py); the finish regimes (finish.py).
"""

from __future__ import annotations

from bisect import insort
from collections import Counter
from typing import Any

from service.engine.car import Car
from service.engine.checks import refusal as line_refusal
from service.engine.corrections import Corrections
from service.engine.events import (
    CAR_TYPES,
    Event,
    Line,
    LineError,
    PenaltyLine,
    RevertLine,
    SessionLine,
    make_event,
    parse_line,
    read_key,
)
from service.engine.finish import Regime, regime
from service.engine.flags import Flags
from service.engine.outcome import DUPLICATE, REJECTED, UNKNOWN, Outcome
from service.engine.pace import check_lap, estimate, interpolate, passing_flag
from service.engine.penalties import Penalty, PenaltyBook
from service.errors import Conflict
from service.i18n import said, said_of
from service.presets import resolve
from service.rules.base import HOOKS, RULES, overrides
from service.timeutil import s_to_us


class ApplyError(Conflict):
    """A valid line the engine could not apply; the engine state is as it was before the line."""


class Engine(Corrections, Flags):
    """One session's state. `apply_line(line)` returns what that line did (`Outcome`)."""

    def __init__(self, session: dict[str, Any] | None = None) -> None:
        self.warnings: list[str] = []
        self.counters: Counter[str] = Counter()
        self.unknown_transponders: Counter[str] = Counter()
        self.cars: dict[str, Car] = {}
        self.by_transponder: dict[str, Car] = {}
        self.events: list[Event] = []  # accepted timed events, arrival order
        self._orphans: dict[str, list[Event]] = {}  # passings of transponders not (yet) entered
        self._seen_reads: set[tuple] = set()
        self._seq = 0
        self._out = Outcome()
        self._accepted: list[Line] = []  # every line applied, in order: what a rollback replays
        self.penalties = PenaltyBook()
        self.corrections: dict[str, dict[str, Any]] = {}  # id -> what it was, who, when, reverted by
        self.reverted: set[str] = set()  # corrections undone by a `revert`: applied without effect
        self.confirmed: set[str] = set()  # manual passings race control confirmed (may be best laps)
        self.confirmed_laps: set[tuple[str, int]] = (
            set()
        )  # (car, lap end): warned laps race control confirmed
        self._n_corrections = 0
        self.session_line: dict[str, Any] = {}
        self.configure({"type": "session", "preset": "generic-timed", "kind": "race"})
        if session:
            self.apply_line(parse_line({**session, "type": "session"}))

    # -- configuration -------------------------------------------------------------------------
    def configure(self, session: dict[str, Any]) -> None:
        self.session_line = dict(session)
        self.params = p = resolve(session)
        self.kind: str = p["kind"]
        self.format: str = p["format"]  # timed | laps | best_lap
        self.min_lap_us = s_to_us(float(p.get("min_lap_s") or 0))
        # lap-time warnings (pace.check_lap), percent of the car's pace
        self.lap_warn_low = float(p.get("lap_warn_low_pct", 70))
        self.lap_warn_high = float(p.get("lap_warn_high_pct", 300))
        self.rules = []
        for rid, rparams in (p.get("rules") or {}).items():
            cls = RULES.get(rid)
            if cls is None:
                self.warn(said("warn.rule_not_implemented", preset=p["preset"], rule=rid))
                continue
            if rparams is False:
                continue
            rule = cls(rparams if isinstance(rparams, dict) else {}, p)
            if not cls.kinds or self.kind in cls.kinds:
                self.rules.append(rule)
        self._hooks = {h: [getattr(r, h) for r in self.rules if overrides(r, h)] for h in HOOKS}
        self.finish: Regime = regime(p, self.rules)  # TIME-FINISH, LAP-FINISH or cross-country (finish.py)
        self.duration_us = self.finish.duration_us  # as the regime read them
        self.laps_target = self.finish.laps_target
        for car in self.cars.values():
            car.offset_us = self.finish.offset_us(car.wave)
        self._reset_global()
        if self.events:
            self._rebuild_all()
        self._out.session = True

    def _reset_global(self) -> None:
        self.green_us: int | None = None
        self.now_us = 0
        self.flag_us: int | None = None  # chequered flag: cars finish at their first crossing >= this
        self.leader_at_end: str | None = None
        self.end_passed = False
        self.category_stop: dict[str, int] = {}
        self.signals: list[Event] = []
        self.flag_state = "none"
        self.closed = False
        self._rule_sessions: dict[str, dict[str, Any]] = {}  # per rule id: see `session_state`

    def add_entry(self, entry: dict[str, Any]) -> None:
        number = entry.get("number")
        if number is None or str(number) == "":
            self.ignore(said("warn.entry_without_number"))
            return
        number = str(number)
        if entry.get("withdrawn"):
            self._withdraw(number)
            return
        old = self.cars.get(number)
        car = Car(entry, self.finish.offset_us(entry.get("wave")))
        if old is not None and car.transponder == str(old.entry.get("transponder") or ""):
            # an edit of the car's details (name, category, drivers): its transponders stay as the
            # entry and the `assign` lines made them, its history is derived again
            car.events, car.transponder, car.spares = old.events, old.transponder, old.spares
            for tr, holder in list(self.by_transponder.items()):
                if holder is old:
                    self.by_transponder[tr] = car
            self.cars[number] = car
            self._rebuild_past(car)
            self._out.car(number)
            return
        if old is not None:  # re-entry: keep its events (e.g. a transponder swap) and assigned spares
            car.events = old.events
            if self.by_transponder.get(old.transponder) is old:
                self.by_transponder.pop(old.transponder, None)
            car.spares = [tr for tr in old.spares if tr != car.transponder]
            for tr in car.spares:
                self.by_transponder[tr] = car
        self.cars[number] = car
        adopted = False
        if car.transponder:
            other = self.by_transponder.get(car.transponder)
            if other is not None and other.number != number:
                self.warn(
                    said(
                        "warn.transponder_used",
                        number=number,
                        transponder=car.transponder,
                        other=other.number,
                    )
                )
            self.by_transponder[car.transponder] = car
            adopted = self._adopt_reads(car, car.transponder)
        if adopted or old is not None:  # an edit keeps the car's history: derive it again
            self._rebuild_past(car)
        self._out.car(number)

    def _withdraw(self, number: str) -> None:
        """An entry taken off the list (`"withdrawn": true`): only while no line names the car, so
        no lap, penalty or correction is lost; its transponders count for nobody after it."""
        car = self.cars.get(number)
        if car is None:
            self.ignore(said("warn.withdraw_not_entered", number=number))
            return
        if car.events or any(ev.number == number for ev in self.events):
            self.ignore(said("warn.withdraw_has_history", number=number))
            return
        del self.cars[number]
        for tr in (car.transponder, *car.spares):
            if self.by_transponder.get(tr) is car:
                del self.by_transponder[tr]
        self._out.car(number)

    def _adopt_reads(self, car: Car, transponder: str) -> bool:
        """The reads kept so far for a transponder no car counted become this car's (in time order);
        the caller rebuilds what they change. False when there were none."""
        orphans = self._orphans.pop(transponder, [])
        for ev in orphans:
            ev.number = car.number
            insort(car.events, ev, key=lambda e: e.sort_key)
        return bool(orphans)

    def has_read(self, decoder: str, passing_id: str, epoch: int | None = None) -> bool:
        """True when this decoder's numbered read (of that numbering epoch) was already applied (a resend)."""
        return read_key(decoder, passing_id, epoch) in self._seen_reads

    def read_numbers(self, decoder: str) -> list[int]:
        """Passing numbers of this decoder already applied: where its link resumes after a restart."""
        return [int(k[1]) for k in self._seen_reads if len(k) == 2 and k[0] == decoder and k[1].isdigit()]

    def unassigned_reads(self, transponder: str) -> list[Event]:
        """Reads of a transponder no entry carries (yet): the timing crew may assign them."""
        return list(self._orphans.get(transponder, ()))

    def ignore(self, message: str) -> None:
        """The line is kept in the log but changes nothing: a warning, and the outcome says rejected."""
        self.warn(message)
        self._out.status = REJECTED

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        self._out.warn(message)

    # -- the entry points --------------------------------------------------------------------------
    def apply_line(self, line: Line) -> Outcome:
        """Apply one typed line atomically: if applying raises, the state is as it was and
        ApplyError says why (the line is then neither logged nor kept)."""
        self._out = Outcome()
        mark = len(self._accepted)
        try:
            self._apply(line)
        except LineError as exc:  # e.g. a timed line without 't'
            self.rollback(mark)
            self.counters["rejected"] += 1
            self.ignore(said_of(exc))
            return self._out
        except Exception as exc:
            self.rollback(mark)
            tag = line.__struct_config__.tag
            raise ApplyError("line.not_applied", line=tag, error=f"{type(exc).__name__}: {exc}") from exc
        self._accepted.append(line)
        return self._out

    def mark(self) -> int:
        """A point to roll back to (see `rollback`)."""
        return len(self._accepted)

    def rollback(self, mark: int) -> None:
        """Forget every line applied after `mark`: the state is rebuilt from the lines before it."""
        self._replay(self._accepted[:mark])
        self._out = Outcome(rebuilt=True)

    def _replay(self, lines: list[Line], reverted: set[str] | None = None) -> None:
        """Become a fresh engine that applied `lines`, the corrections in `reverted` without effect."""
        fresh = Engine()
        if reverted:
            fresh.reverted = reverted
        for line in lines:
            fresh.apply_line(line)
        self.__dict__.clear()
        self.__dict__.update(fresh.__dict__)

    def refusal(self, line: Line) -> LineError | None:
        """Why a live caller's line would have no effect (unknown car, unknown penalty...), if it would
        not (checks.py: one check per line type). Replay applies such lines as warnings; a live session
        answers them with the error instead of logging them."""
        return line_refusal(self, line)

    def _apply(self, line: Line) -> None:
        if line.header:
            if isinstance(line, SessionLine):
                self.configure(line.to_dict())
            else:
                self.add_entry(line.to_dict())
        elif isinstance(line, RevertLine):
            self._revert(line)
        else:
            cid = self._name(line) if line.correction else None
            self._seq += 1
            ev = make_event(line, self._seq)
            ev.cid = cid
            if cid is not None and cid in self.reverted:
                self.corrections[cid]["reverted"] = True
                if not isinstance(line, PenaltyLine):  # a reverted penalty stays listed (state "reverted")
                    return
            self._accept(ev)

    def _accept(self, ev: Event) -> None:
        typ = ev.type
        if ev.cid is not None:
            self._out.corrected(ev.cid)
        if typ in ("approve", "assign", "confirm"):
            self.events.append(ev)
            if ev.t > self.now_us:
                self.now_us = ev.t
            {"approve": self._approve, "assign": self._assign, "confirm": self._confirm}[typ](ev)
            return
        if typ == "passing":
            read = ev.passing_key or (ev.transponder, ev.loop, ev.t)
            if read in self._seen_reads:
                self.counters["duplicate_reads"] += 1
                self._out.status = DUPLICATE
                return
            self._seen_reads.add(read)
            car = self.by_transponder.get(ev.transponder)
            self.counters["passings"] += 1
            if car is None:
                self.unknown_transponders[ev.transponder] += 1
                self._orphans.setdefault(ev.transponder, []).append(ev)
                self.events.append(ev)
                self.warn(
                    said(
                        "warn.unknown_transponder",
                        transponder=ev.transponder,
                        loop=ev.loop,
                        t=f"{ev.t / 1e6:.3f}",
                    )
                )
                self._out.status = UNKNOWN
                return
            ev.number = car.number
        elif typ in CAR_TYPES or typ == "invalidate":
            number = ev.number if typ != "invalidate" else None
            car = self.cars.get(number) if number else self.by_transponder.get(ev.line.transponder)
            if car is None:  # said as a live caller hears it: no such car, or transponder
                self.ignore(said_of(line_refusal(self, ev.line)))
                return
            ev.number = car.number
        self.events.append(ev)
        late = ev.t < self.now_us  # older than a read already applied: may undo a finish decision
        if ev.t > self.now_us:
            self.now_us = ev.t
        if typ == "signal":
            self._signal(ev)
        elif typ == "penalty":
            self._manual_penalty(ev)
        elif typ == "waive":
            self._waive(ev)
        elif typ == "invalidate":
            car = self.cars[ev.number]
            car.invalid.add((ev.line.loop, s_to_us(ev.line.target_t)))
            self._rebuild_past(car)
        else:
            self._car_event(self.cars[ev.number], ev, late)

    # -- cars ------------------------------------------------------------------------------------
    def _car_event(self, car: Car, ev: Event, late: bool) -> None:
        if ev.t >= car.last_t:
            car.events.append(ev)
            if not late:  # the hot path: the newest event of the session
                self._process(car, ev)
                return
            decided = self._decided()
            self._process(car, ev)
            self._settle(decided)
            return
        insort(car.events, ev, key=lambda e: e.sort_key)
        self.counters["late_events"] += 1
        self._rebuild_past(car)

    def _rebuild_past(self, car: Car) -> None:
        """The car's past changed (a late read, an invalidated read, reads assigned to it): that car
        alone, then everything if that changes a session-wide finish decision (`_settle`)."""
        if self.closed:
            self._rebuild_all()
            return
        decided = self._decided()
        self._rebuild(car)
        self._settle(decided)

    def _rebuild(self, car: Car) -> None:
        """Recompute one car from its raw events (late passing, invalidated read, new entry)."""
        self.counters["car_rebuilds"] += 1
        car.reset()
        self.penalties.mark_stale(car.number)
        for ev in car.events:
            self._process(car, ev)
        if self.closed:  # end-of-race rules (LM-STOPS, LM-REFUEL, CC-PIT) must re-emit too
            for h in self._hooks["on_session_end"]:
                h(self, car)
        for p in self.penalties.drop_stale():
            self._out.penalty(p.id)
        self._out.car(car.number)

    def _rebuild_all(self) -> None:
        """Recompute the whole session from its events in time order."""
        self.counters["full_rebuilds"] += 1
        was_closed = self.closed
        self._reset_global()
        for car in self.cars.values():
            car.reset()
        self.penalties.mark_stale()
        for ev in sorted(self.events, key=lambda e: e.sort_key):
            if ev.t > self.now_us:
                self.now_us = ev.t
            if ev.type == "signal":
                self._signal(ev, replaying=True)
            elif ev.type == "penalty":
                self._manual_penalty(ev)
            elif ev.type == "waive":
                self._waive(ev, quiet=True)
            elif ev.number is not None and ev.type != "invalidate":
                self._process(self.cars[ev.number], ev)
        if was_closed:  # a correction after the end: the session stays closed, end-of-race penalties kept
            self._close()
        for p in self.penalties.drop_stale():
            self._out.penalty(p.id)
        self._out.rebuilt = True

    def _process(self, car: Car, ev: Event) -> None:
        t = ev.t
        car.last_t = t
        typ = ev.type
        hooks = self._hooks
        if typ == "passing" or typ == "manual_passing":
            loop = ev.loop
            if car.invalid and (loop, t) in car.invalid:
                return
            if car.first_seen_us is None and t >= self.start_us:
                car.first_seen_us = t
            flag = passing_flag(ev, self.confirmed) if typ == "manual_passing" else None
            if loop == "finish":
                if car.in_pit is not None:
                    car.crossed_finish_in_pit(t)
                self._lap(car, t, False, flag)
            elif loop in ("pit_in", "pit_out") and (t < self.start_us or car.finish_us is not None):
                car.other_reads.setdefault(loop, []).append(t)  # before the green or after the flag
            elif loop == "pit_in":
                stop = car.pit_in(t, self.min_lap_us)
                if stop is not None:
                    for h in hooks["on_pit_in"]:
                        h(self, car, stop)
                    self._out.car(car.number)
            elif loop == "pit_out":
                stop = car.pit_out(t, self.min_lap_us)
                if stop is not None:
                    self._lap(car, t, True, flag)
                    for h in hooks["on_pit_out"]:
                        h(self, car, stop)
            elif loop == "refuel":
                self._refuel(car, t)
            else:  # start, split1..n: kept for rules (AX-JUMP) and sector display
                car.other_reads.setdefault(loop, []).append(t)
                for h in hooks["on_car_event"]:
                    h(self, car, ev)
        elif typ == "driver_change":
            stop = car.change_driver(t, ev.line.driver)
            for h in hooks["on_driver_change"]:
                h(self, car, ev, stop)
            self._out.car(car.number)
        elif typ == "refuel":
            self._refuel(car, t)
        else:
            if typ == "mechanical":
                if car.in_pit is not None:
                    car.in_pit.mechanical = True
                else:
                    car.pending_mechanical = True
            for h in hooks["on_car_event"]:
                h(self, car, ev)
            self._out.car(car.number)

    def _refuel(self, car: Car, t: int) -> None:
        car.refuels.append(t)
        if car.in_pit is not None:
            car.in_pit.refuels.append(t)
        for h in self._hooks["on_refuel"]:
            h(self, car, t)
        self._out.car(car.number)

    def _lap(self, car: Car, t: int, via_pit: bool, flag: str | None = None) -> None:
        start = self.start_us
        if t < start or car.finish_us is not None:
            return  # formation lap before the green, or cool-down lap after the flag
        start += car.offset_us
        if car.stint_start_us is None:
            car.stint_start_us = start
        n = car.add_lap(t, start, self.min_lap_us, flag)
        if n is None:
            self._out.status = DUPLICATE
            return
        lap_us = car.lap_times[-1]
        warned = check_lap(car, n, lap_us, via_pit, self.min_lap_us, self.lap_warn_low, self.lap_warn_high)
        if warned:  # a warned lap is no record until confirmed
            car.flag_lap(n, "confirmed" if (car.number, t) in self.confirmed_laps else "warned")
        car.count_best(n)
        for h in self._hooks["on_lap"]:
            h(self, car, n, t, lap_us, via_pit)
        self._out.car(car.number)
        self._out.laps = True
        self._check_finish(car, t)

    # -- pace: where race control adds a missed crossing (pace.py) --------------------------------
    def estimate_passing(self, number: str, now_us: int) -> tuple[int, str]:
        """A missed crossing of car `number` from its own pace (`pace.estimate`): (t_us, basis)."""
        return estimate(self.cars[number], now_us, self.start_us, self.min_lap_us)

    def interpolate_passing(self, number: str, lap: int) -> tuple[int, int] | None:
        """The first crossing a too-long lap of car `number` hides (`pace.interpolate`)."""
        return interpolate(self.cars[number], lap)

    # -- what rules call (service/rules/context.py) ----------------------------------------------
    def session_state(self, rule_id: str) -> dict[str, Any]:
        """Called by rules: a rule's session-wide scratch space, emptied when the session is recomputed."""
        st = self._rule_sessions.get(rule_id)
        if st is None:
            st = self._rule_sessions[rule_id] = {}
        return st

    def penalize(
        self,
        car: Car,
        rule: str,
        key: tuple,
        t: int,
        evidence: str,
        *,
        laps: int = 0,
        seconds: float = 0.0,
        best_lap_seconds: float = 0.0,
        dsq: bool = False,
        state: str | None = None,
    ) -> Penalty:
        """Called by rules. `key` identifies the infringement so a re-run keeps the same id."""
        p = Penalty(
            id="",
            number=car.number,
            rule=rule,
            t=t,
            evidence=evidence,
            laps=laps,
            seconds=seconds,
            best_lap_seconds=best_lap_seconds,
            dsq=dsq,
            state=state or self.params["penalty_policy"],
            key=(rule, car.number, *key),
        )
        p, changed = self.penalties.add(p)
        if changed:
            self._out.penalty(p.id)
            self._out.car(car.number)
        return p

    # -- end of session ----------------------------------------------------------------------------
    def finalize(self) -> Outcome:
        """The session is over (end of a replayed file, or race control closed it)."""
        self._out = Outcome()
        self._close()
        for pid in self.penalties.unknown_waives():
            self.warn(said("warn.waive_unknown", penalty=pid))
        return self._out

    # -- live status for race control ------------------------------------------------------------
    def rule_status(self, car: Car) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for h in self._hooks["status"]:
            st = h(self, car)
            if st:
                out[h.__self__.id] = st
        return out
