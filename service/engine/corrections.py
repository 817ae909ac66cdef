"""Corrections and race-control decisions: naming a correction, undoing one (`revert`), approving,
waiving and typing penalties, assigning transponders, confirming manual passings and warned laps.

`Corrections` is a part of `Engine` (engine.py), over the engine's one state: a rollback or a revert
replaces that state wholesale (`Engine._replay`), so these handlers are methods on it rather than a
collaborator holding references that would go stale. What they read and write of the engine is
declared below. A replayed line these handlers cannot apply is set aside with the refusal a live
caller would get (service/engine/checks.py), never with words of their own.
"""

from __future__ import annotations

from typing import Any

from service.engine.car import Car
from service.engine.checks import (
    approvable,
    approve_amounts,
    known_car,
    manual_passing,
    revertible,
    unused_id,
    warned_lap,
)
from service.engine.events import ApproveLine, AssignLine, ConfirmLine, Event, Line, LineError, RevertLine
from service.engine.outcome import Outcome
from service.engine.penalties import AMOUNTS, APPLIED, REVERTED, Penalty, PenaltyBook
from service.i18n import said, said_of
from service.timeutil import s_to_us, us_to_s


class Corrections:
    """The engine's corrections and penalty decisions (mixed into `Engine`)."""

    cars: dict[str, Car]
    by_transponder: dict[str, Car]
    penalties: PenaltyBook
    corrections: dict[str, dict[str, Any]]  # id -> what it was, who, when, reverted by
    reverted: set[str]  # corrections undone by a `revert`: applied without effect
    confirmed: set[str]  # manual passings race control confirmed (may be best laps)
    confirmed_laps: set[tuple[str, int]]  # (car, lap end) of warned laps race control confirmed
    params: dict[str, Any]
    now_us: int
    _accepted: list[Line]
    _n_corrections: int
    _seq: int
    _out: Outcome
    _hooks: dict[str, list[Any]]

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
        elif (why := unused_id(self, line)) is not None:
            raise why
        self._n_corrections += 1
        d = line.to_dict()
        for k in ("id", "t", "by"):
            d.pop(k, None)
        self.corrections[cid] = {"id": cid, "type": d.pop("type"), "t": line.t, "by": line.by, "line": d}
        return cid

    def _revert(self, line: RevertLine) -> None:
        """Undo a correction: the session is recomputed from its lines with that one made ineffective
        (ids, penalty ids and order unchanged). Deterministic, so replaying the log gives the same."""
        if line.t is None:
            raise LineError("line.missing_t", line="revert")
        why = revertible(self, line)
        if why is not None:
            raise why
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
        why = approvable(self, line)
        if why is not None:
            self.ignore(said_of(why))
            return
        p = self.penalties.get(line.penalty_id)
        assert p is not None
        amounts = approve_amounts(line, p)
        decision = {**self._decision("approved", ev), **{k: v for k, v in amounts.items() if v}}
        p = self.penalties.approve(line.penalty_id, amounts, decision)
        self._out.penalty(p.id)
        self._out.car(p.number)

    def _assign(self, ev: Event) -> None:
        """A transponder counts for a car from now on, in addition to its own unless `replace`; its
        reads so far (kept as unknown) become the car's."""
        line: AssignLine = ev.line
        why = known_car(self, line)  # a transponder another car counts moves (said below)
        if why is not None:
            self.ignore(said_of(why))
            return
        car = self.cars[line.number]
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
            if car is None:  # no such car, so no such lap
                self.ignore(said_of(warned_lap(self, line)))
                return
            assert line.lap_t is not None
            self.confirmed_laps.add((car.number, s_to_us(line.lap_t)))
            self._rebuild(car)
            return
        why = manual_passing(self, line)
        if why is not None:
            self.ignore(said_of(why))
            return
        target = line.target
        assert target is not None
        self.confirmed.add(target)
        car = self.cars.get(str(self.corrections[target]["line"].get("number")))
        if car is not None:
            self._rebuild(car)
