"""The timing engine: scenario lines in, one typed `Outcome` per line out. Pure, synchronous, no I/O, no clock.

Everything the engine knows came in as an event, so the same events always give the same
classification (DESIGN.md), whatever order they arrived in. Events are normally applied in time
order (fast path). A late or out-of-order event is put in its place and only what it can change is
recomputed: its car alone, and everything when it moves a session-wide fact (a signal, the leader
when time is up, the chequered flag: `_settle`).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import Counter
from typing import Any

from service.engine.car import UNCONFIRMED, Car
from service.engine.events import (
    CAR_TYPES,
    ApproveLine,
    AssignLine,
    CarLine,
    ConfirmLine,
    Event,
    InvalidateLine,
    Line,
    LineError,
    NoEffect,
    PenaltyLine,
    RevertLine,
    SessionLine,
    UnknownTarget,
    WaiveLine,
    make_event,
    parse_line,
    read_key,
)
from service.engine.finish import Regime, regime
from service.engine.outcome import DUPLICATE, REJECTED, UNKNOWN, Outcome
from service.engine.penalties import AMOUNTS, APPLIED, PROPOSED, REVERTED, Penalty, PenaltyBook
from service.errors import Conflict
from service.i18n import Coded, said, said_of
from service.presets import norm, resolve
from service.rules.base import HOOKS, RULES, overrides
from service.timeutil import s_to_us, us_to_s


class ApplyError(Conflict):
    """A valid line the engine could not apply; the engine state is as it was before the line."""


class Engine:
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
        )  # (car, lap end) of warned laps race control confirmed
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
        self.lap_warn_low = float(
            p.get("lap_warn_low_pct", 70)
        )  # lap-time warnings, percent of the car's pace
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
        self.duration_us, self.laps_target = (
            self.finish.duration_us,
            self.finish.laps_target,
        )  # as the regime read them
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
    def apply(self, data: Line | dict[str, Any]) -> Outcome:
        """Apply one scenario line (typed, or a dict checked here). A bad line becomes a warning."""
        try:
            line = parse_line(data)
        except LineError as exc:
            self._out = Outcome()
            self.counters["rejected"] += 1
            self.ignore(said_of(exc))
            return self._out
        return self.apply_line(line)

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

    def refusal(self, line: Line) -> Exception | None:
        """Why a live caller's line would have no effect (unknown car, unknown penalty), if it would not.

        Replay applies such lines as warnings; a live session answers them with an error instead of
        logging them.
        """
        if isinstance(line, CarLine) and line.number not in self.cars:
            return LineError("session.no_car", number=line.number)
        if isinstance(line, InvalidateLine) and line.transponder not in self.by_transponder:
            return LineError("session.transponder_not_entered", transponder=line.transponder)
        if isinstance(line, WaiveLine | ApproveLine):
            p = self.penalties.get(line.penalty_id)
            if p is None:
                return UnknownTarget("penalty.not_found", penalty=line.penalty_id)
            if p.state == REVERTED:
                return NoEffect("penalty.reverted", penalty=p.id)
            if isinstance(line, ApproveLine):
                if p.state != PROPOSED:
                    return NoEffect("penalty.not_proposed", penalty=p.id, state=p.state)
                if not self._approve_amounts(line, p):
                    return LineError("penalty.needs_amount", penalty=p.id, rule=p.rule)
        if isinstance(line, PenaltyLine):
            why = self.rule_refusal(line)
            if why:
                return why
        if isinstance(line, AssignLine):
            if line.number not in self.cars:
                return LineError("session.no_car", number=line.number)
            other = self.by_transponder.get(line.transponder)
            if other is not None:
                return NoEffect("assign.taken", transponder=line.transponder, number=other.number)
        if isinstance(line, ConfirmLine) and line.target is None:
            return self._lap_refusal(line)
        if isinstance(line, ConfirmLine):
            c = self.corrections.get(line.target)
            if c is None or c["type"] != "manual_passing":
                return UnknownTarget("confirm.not_found", target=line.target)
            if line.target in self.reverted or line.target in self.confirmed:
                return NoEffect(
                    "confirm.reverted" if line.target in self.reverted else "confirm.already",
                    target=line.target,
                )
        if isinstance(line, RevertLine):
            c = self.corrections.get(line.target)
            if c is None:
                return UnknownTarget("correction.not_found", target=line.target)
            if c["type"] == "revert":
                return NoEffect("revert.of_revert")
            if line.target in self.reverted:
                return NoEffect("revert.already", target=line.target, by=c.get("reverted_by"))
        if line.correction or isinstance(line, RevertLine):
            if line.id is not None and line.id in self.corrections:
                return NoEffect("correction.id_used", id=line.id)
        return None

    def _lap_refusal(self, line: ConfirmLine) -> Exception | None:
        """A lap to confirm is a warned lap of the car, ending at `lap_t`, not confirmed yet."""
        car = self.cars.get(str(line.number))
        t = s_to_us(line.lap_t or 0)
        flag = None
        if car is not None:
            i = bisect_left(car.lap_ends, t, 0, car.laps)
            flag = car.lap_flags[i] if i < car.laps and car.lap_ends[i] == t else None
        if flag == "confirmed":
            return NoEffect("confirm.lap_confirmed", number=line.number, t=line.lap_t)
        if flag != "warned":
            return UnknownTarget("confirm.no_flagged_lap", number=line.number, t=line.lap_t)
        return None

    def rule_refusal(self, line: PenaltyLine) -> LineError | None:
        """A race-control penalty names a rule of this session's rule set, or says "other" with a note."""
        rules = {rid for rid, rp in (self.params.get("rules") or {}).items() if rp is not False}
        if line.rule in rules:
            return None
        if not line.other:
            known = ", ".join(sorted(rules)) or Coded("word.none")
            return LineError("penalty.rule_not_in_session", rule=line.rule, known=known)
        if not (line.note or "").strip():
            return LineError("penalty.other_needs_note", rule=line.rule)
        return None

    def _approve_amounts(self, line: ApproveLine, p: Penalty) -> dict[str, Any]:
        """The amounts race control chose, else the proposal's (prefilled from the preset); {} if none."""
        chosen = {k: v for k in AMOUNTS if (v := getattr(line, k)) is not None}
        if not chosen:
            chosen = {k: getattr(p, k) for k in AMOUNTS}
        return chosen if any(chosen.values()) else {}

    def revert_in_advance(self, lines: list[Line]) -> None:
        """Before replaying a whole log: corrections a later `revert` undoes (named by an explicit id seen
        earlier in the log) are without effect from the start. The end state is the same as applying
        the reverts one by one (each is a recomputation without its target), at one pass's cost."""
        seen: set[str] = set()
        for line in lines:
            if isinstance(line, RevertLine) and line.target in seen:
                self.reverted.add(line.target)
            if getattr(line, "id", None) is not None:
                seen.add(line.id)

    def _name(self, line: Line) -> str:
        """Give a correction its id: the line's own `id` (from the log), else the next "cN". The id is
        written into the line, so the logged line carries it and replay finds the same names."""
        cid = line.id
        if cid is None:
            n = self._n_corrections + 1
            while f"c{n}" in self.corrections:
                n += 1
            cid = line.id = f"c{n}"
        elif cid in self.corrections:
            raise LineError("correction.id_used", id=cid)
        self._n_corrections += 1
        d = line.to_dict()
        for k in ("id", "t", "by"):
            d.pop(k, None)
        self.corrections[cid] = {"id": cid, "type": d.pop("type"), "t": line.t, "by": line.by, "line": d}
        return cid

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

    def _revert(self, line: RevertLine) -> None:
        """Undo a correction: the session is recomputed from its lines with that one made ineffective
        (ids, penalty ids and order unchanged). Deterministic, so replaying the log gives the same."""
        if line.t is None:
            raise LineError("line.missing_t", line="revert")
        target = self.corrections.get(line.target)
        if target is None or target["type"] == "revert" or target.get("reverted_by"):
            raise LineError("revert.cannot", target=line.target)
        if line.target not in self.reverted:  # else already without effect (a recomputation replaying it)
            self._replay(self._accepted, self.reverted | {line.target})
        rid = self._name(line)
        self._seq += 1
        self.corrections[line.target]["reverted_by"] = rid
        self.corrections[line.target]["reverted"] = True
        if line.t > self.now_us / 1e6:
            self.now_us = s_to_us(line.t)
        self._out = Outcome(rebuilt=True)
        self._out.corrected(rid)

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
            if car is None:
                self.ignore(said("warn.unknown_car", line=typ, number=number or ev.line.transponder))
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

    def _decided(self) -> tuple:
        """The session-wide finish decisions taken so far (what the cars' finishes are derived from)."""
        return self.flag_us, self.leader_at_end, self.end_passed

    def _settle(self, before: tuple) -> None:
        """After an event older than the session clock: keep the session's state only if it is what the
        same events give in time order. Cars depend on each other only through the finish decisions (the
        leader when time is up, the chequered flag), so those are checked against the cars' laps: a
        decision taken or changed by this event, or one that no longer holds (taken before older reads
        came in, e.g. a decoder's RESEND after a restart), recomputes the whole session in time order."""
        if self._decided() != before or not self._decisions_hold():
            self._rebuild_all()

    def _decisions_hold(self) -> bool:
        fin, end, leader = self.finish, self.end_us, self.leader_at_end
        if self.end_passed and end is not None and fin.leader_at(self.cars.values(), end) != leader:
            return False  # the leader when time was up (None: nobody had a lap) is no longer that car
        # the flag is the first decision in time: a chequered signal, or the regime's deciding crossing
        first = [(s.t, s.t) for s in self.signals if s.line.signal == "chequered"][:1]
        crossing = fin.first_flag(self.cars, end, leader)
        if crossing is not None:
            first.append(crossing)
        return self.flag_us == (min(first)[1] if first else None)

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

    @property
    def start_us(self) -> int:
        """Race time runs from the green flag; t = 0 is the green unless a signal says otherwise."""
        return self.green_us if self.green_us is not None else 0

    @property
    def end_us(self) -> int | None:
        return self.start_us + self.duration_us if self.duration_us is not None else None

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
            flag = self.passing_flag(ev) if typ == "manual_passing" else None
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
        if self._check_lap(car, n, lap_us, via_pit):  # a warned lap is no record until confirmed
            car.flag_lap(n, "confirmed" if (car.number, t) in self.confirmed_laps else "warned")
        car.count_best(n)
        for h in self._hooks["on_lap"]:
            h(self, car, n, t, lap_us, via_pit)
        self._out.car(car.number)
        self._out.laps = True
        self._check_finish(car, t)

    # -- the finish: the session's regime decides (finish.py), the engine records ----------------
    def _check_finish(self, car: Car, t: int) -> None:
        thr = self._threshold(car, t)
        if thr is not None and t >= thr:
            car.finish_us, car.finish_lap = t, len(car.lap_ends)
            for h in self._hooks["on_car_finish"]:
                h(self, car, t)
            self._out.finish(car.number)

    def _threshold(self, car: Car, t: int) -> int | None:
        """Earliest crossing time at which this car takes the flag, if known yet."""
        fin = self.finish
        thr = None
        if fin.stops_cars:  # CC-DURATION: the car's own race time is up
            thr = fin.car_end_us(car, self.start_us)
        if self.category_stop and car.cat_key in self.category_stop:
            stop = self.category_stop[car.cat_key]
            thr = stop if thr is None else min(thr, stop)
        if self.flag_us is None:
            end = self.end_us
            if fin.time_up(end, t):
                self.end_passed = True
                if self.leader_at_end is None:
                    assert end is not None
                    self.leader_at_end = fin.leader_at(self.cars.values(), end)
            flag = fin.flag_us(car, t, end, self.leader_at_end)
            if flag is not None:
                self.flag_us = flag
                if fin.shows_flag:  # TIME-FINISH: shown to the leader at its next crossing
                    self._out.signal("chequered")
        if self.flag_us is not None:
            thr = self.flag_us if thr is None else min(thr, self.flag_us)
        return thr

    # -- signals and race control ----------------------------------------------------------------
    def _signal(self, ev: Event, replaying: bool = False) -> None:
        if not replaying and self.signals and ev.t < self.signals[-1].t:
            insort(self.signals, ev, key=lambda e: e.sort_key)
            self._rebuild_all()
            return
        late_green = ev.line.signal in ("green", "start_lights_green") and self.green_us is None and ev.t != 0
        if not replaying and (
            late_green
            and any(c.events for c in self.cars.values())
            or any(c.events and c.events[-1].t > ev.t for c in self.cars.values())
        ):
            # a signal older than some passings already applied (e.g. a late green): recompute
            self.signals.append(ev)
            self._rebuild_all()
            return
        self.signals.append(ev)
        sig = ev.line.signal
        if sig == "green" or sig == "start_lights_green":  # a lights start is the green (AX-JUMP)
            if self.green_us is None:
                self.green_us = ev.t
            self.flag_state = "green"
        elif sig == "chequered":
            if self.flag_us is None:
                self.flag_us = ev.t
            self.flag_state = "chequered"
        elif sig == "stop_category":
            cat = norm(ev.line.category)
            if cat:
                self.category_stop.setdefault(cat, ev.t)
        elif sig == "resume":
            self.flag_state = "green"
        elif sig in ("yellow", "sc", "red"):
            self.flag_state = sig
        elif sig == "finish_session":
            self._close()
        for h in self._hooks["on_signal"]:
            h(self, ev)
        self._out.signal(sig)

    def _manual_penalty(self, ev: Event) -> None:
        line = ev.line
        rule = line.rule
        d = {k: v for k in AMOUNTS if (v := getattr(line, k)) is not None}
        if not d:
            # no amount typed: the preset's numbers for that rule (e.g. LM-UNSPORTING race 1 lap,
            # qualifying +5 s on best lap)
            rp = (self.params.get("rules") or {}).get(rule)
            decide = next((h for h in self._hooks["manual_amount"] if h.__self__.id == rule), None)
            if decide is not None:  # the rule knows its scale (CC-LINE: a warning, then 1 lap)
                d = decide(self, ev)
            elif isinstance(rp, dict):
                d = {k: rp[k] for k in ("laps", "seconds", "best_lap_seconds", "dsq") if k in rp}
        d["note"], d["evidence"] = line.note or d.get("note"), line.evidence
        try:
            p = Penalty(
                id="",
                number=str(ev.number),
                rule=rule,
                t=ev.t,
                evidence=d.get("evidence") or d.get("note") or said("evidence.race_control_decision"),
                laps=int(d.get("laps") or 0),
                seconds=float(d.get("seconds") or 0),
                best_lap_seconds=float(d.get("best_lap_seconds") or 0),
                dsq=bool(d.get("dsq")),
                state=REVERTED if ev.cid in self.reverted else APPLIED,
                manual=True,
                note=str(d.get("note") or ""),
                key=("manual", ev.seq),
                source=ev.cid,
            )
        except (TypeError, ValueError):
            self.warn(said("warn.penalty_amount", number=ev.number))
            return
        if ev.number not in self.cars:
            self.warn(said("warn.penalty_unknown_car", number=ev.number))
        p, _ = self.penalties.add(p)
        self._out.penalty(p.id)
        self._out.car(p.number)

    def _waive(self, ev: Event, quiet: bool = False) -> None:
        pid = ev.line.penalty_id
        p = self.penalties.waive(pid, ev.t, self._decision("waived", ev))
        if p is None:
            if not quiet:
                self._out.penalty(pid)
            return
        self._out.penalty(p.id)
        self._out.car(p.number)

    @staticmethod
    def _decision(action: str, ev: Event) -> dict[str, Any]:
        line = ev.line
        d = {"action": action, "id": ev.cid, "by": line.by, "t": us_to_s(ev.t), "note": line.note}
        return {k: v for k, v in d.items() if v is not None}

    def _approve(self, ev: Event) -> None:
        """An approved proposal keeps its id and evidence and is applied with the chosen amounts."""
        line: ApproveLine = ev.line
        p = self.penalties.get(line.penalty_id)
        amounts = self._approve_amounts(line, p) if p is not None and p.state == PROPOSED else {}
        if not amounts:
            self.ignore(said("warn.approve_nothing", penalty=line.penalty_id))
            return
        decision = {**self._decision("approved", ev), **{k: v for k, v in amounts.items() if v}}
        p = self.penalties.approve(line.penalty_id, amounts, decision)
        self._out.penalty(p.id)
        self._out.car(p.number)

    def _assign(self, ev: Event) -> None:
        """A transponder counts for a car from now on, in addition to its own unless `replace`; its
        reads so far (kept as unknown) become the car's."""
        line: AssignLine = ev.line
        car = self.cars.get(line.number)
        if car is None:
            self.ignore(said("warn.assign_no_car", number=line.number))
            return
        tr = line.transponder
        other = self.by_transponder.get(tr)
        if other is not None and other is not car:
            self.warn(said("warn.assign_moves", transponder=tr, other=other.number, number=car.number))
            self.by_transponder.pop(tr)
            other.spares = [x for x in other.spares if x != tr]
        if line.replace:
            for old in (car.transponder, *car.spares):
                if old and self.by_transponder.get(old) is car:
                    self.by_transponder.pop(old)
            car.transponder, car.spares = tr, []
        elif tr != car.transponder and tr not in car.spares:
            if car.transponder:
                car.spares.append(tr)
            else:
                car.transponder = tr
        self.by_transponder[tr] = car
        if self._adopt_reads(car, tr):
            self._rebuild_past(car)
        self._out.car(car.number)

    def _confirm(self, ev: Event) -> None:
        """Race control confirms a manual passing, or a lap the lap-time checks warned about (named by its
        car and the time of the crossing that ends it): it may be a best lap from now on."""
        line: ConfirmLine = ev.line
        if line.target is None:
            car = self.cars.get(str(line.number))
            if car is None:
                self.ignore(f"confirm: no car {line.number!r}")
                return
            assert line.lap_t is not None
            self.confirmed_laps.add((car.number, s_to_us(line.lap_t)))
            self._rebuild(car)
            return
        target = line.target
        c = self.corrections.get(target)
        if c is None or c["type"] != "manual_passing":
            self.ignore(said("warn.confirm_not_found", target=target))
            return
        self.confirmed.add(target)
        car = self.cars.get(str(c["line"].get("number")))
        if car is not None:
            self._rebuild(car)

    def passing_flag(self, ev: Event) -> str | None:
        """How a crossing was made: None for a decoder read, else manual/estimated/confirmed."""
        if ev.type != "manual_passing":
            return None
        if ev.cid in self.confirmed:
            return "confirmed"
        return "interpolated" if ev.line.interpolated else "estimated" if ev.line.estimated else "manual"

    def estimate_passing(self, number: str, now_us: int) -> tuple[int, str]:
        """A missed crossing's time from the car's own pace: its last crossing plus the median of its
        recent laps, never less than `min_lap_s` after it. Without a lap yet, the session clock."""
        car = self.cars[number]
        if not car.lap_ends:
            return max(now_us, self.start_us), "clock"
        recent = [lt for lt, f in zip(car.lap_times, car.lap_flags, strict=False) if f not in UNCONFIRMED][
            -5:
        ]
        recent = sorted(recent or car.lap_times[-5:])
        mid = len(recent) // 2
        median = recent[mid] if len(recent) % 2 else (recent[mid - 1] + recent[mid]) // 2
        return car.lap_ends[-1] + max(median, self.min_lap_us), "pace"

    def interpolate_passing(self, number: str, lap: int) -> tuple[int, int] | None:
        """A lap far longer than the car's pace likely hides missed reads: the first missing crossing,
        the lap split evenly into round(lap / median) parts. Returns (t_us, missing crossings)."""
        car = self.cars[number]
        if not 1 <= lap <= len(car.lap_ends) or len(car.pace_sorted) < 3:
            return None
        median = car.pace_sorted[len(car.pace_sorted) // 2]
        lap_us = car.lap_times[lap - 1]
        parts = round(lap_us / median)
        if parts < 2:
            return None
        start = car.lap_ends[lap - 1] - lap_us
        return start + lap_us // parts, parts - 1

    def _check_lap(self, car: Car, n: int, lap_us: int, via_pit: bool) -> bool:
        """Lap-time sanity (shown to the timing crew): below `min_lap_s`, or far off the car's recent pace
        (`lap_warn_low_pct`, `lap_warn_high_pct` of the median of its last 9 decoder laps, preset-overridable).
        True when the lap is warned about."""
        ps = car.pace_sorted
        k = len(ps)
        warned = False
        if self.min_lap_us and lap_us < self.min_lap_us:
            car.lap_warnings.append((n, said("lap.shorter_than_min", min=f"{self.min_lap_us / 1e6:g}")))
            warned = True
        elif k >= 3:
            median = ps[k // 2]
            pct = lap_us * 100
            if pct < self.lap_warn_low * median or (pct > self.lap_warn_high * median and not via_pit):
                car.lap_warnings.append(
                    (
                        n,
                        said(
                            "lap.off_pace", pct=f"{100 * lap_us / median:.0f}", median=f"{median / 1e6:.3f}"
                        ),
                    )
                )
                warned = True
        if car.lap_flags[-1] is None:
            pace = car.pace
            pace.append(lap_us)
            insort(ps, lap_us)
            if k >= 9:  # the window is full: the oldest lap leaves it
                ps.remove(pace.pop(0))
        return warned

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
    def _close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.flag_us is None and self.end_passed:
            # the leader never crossed again: the regime says when the flag fell (TIME-FINISH)
            flag = self.finish.closing_flag_us(self.cars.values(), self.end_us or 0)
            if flag is not None:
                self.flag_us = flag
                for car in self.cars.values():
                    i = bisect_right(car.lap_ends, self.flag_us - 1)
                    if car.finish_us is None and i < len(car.lap_ends):
                        car.finish_us, car.finish_lap = car.lap_ends[i], i + 1
                        for h in self._hooks["on_car_finish"]:
                            h(self, car, car.finish_us)
        for car in self.cars.values():
            for h in self._hooks["on_session_end"]:
                h(self, car)
        self._out.session = True

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
