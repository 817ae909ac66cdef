"""One check per line type: why a line would change nothing (an unknown car, penalty or correction, a
target already reverted...), said once, with one catalogue code per refusal.

A live session asks `refusal(engine, line)` before it logs a line and answers the caller with that
domain error (`LineError`: invalid, `UnknownTarget`: not found, `NoEffect`: a conflict;
service/http_errors.py says them in HTTP). Replay applies whatever was logged; the engine's handlers
ask the same checks where a replayed line meets them (an unknown car, an approval without a
proposal, a revert of nothing...), so a line set aside in replay is said with the words a live
caller reads. `CHECKS` is the table, keyed by line type (as events.py's line table is); a type it
does not list is never refused here.

The checks read the session (`Facts`: the members of the engine they look at) and never change it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Collection, Mapping
from typing import Any, Protocol

from service.engine.car import Car
from service.engine.events import (
    LINE_TYPES,
    ApproveLine,
    AssignLine,
    ConfirmLine,
    InvalidateLine,
    Line,
    LineError,
    NoEffect,
    PenaltyLine,
    RevertLine,
    UnknownTarget,
    WaiveLine,
)
from service.engine.penalties import AMOUNTS, PROPOSED, REVERTED, Penalty, PenaltyBook
from service.i18n import Coded
from service.timeutil import s_to_us


class Facts(Protocol):
    """What the checks read of a session (the engine has these members)."""

    cars: Mapping[str, Car]
    by_transponder: Mapping[str, Car]
    penalties: PenaltyBook
    corrections: Mapping[str, dict[str, Any]]  # id -> what it was, reverted by (engine/corrections.py)
    reverted: Collection[str]
    confirmed: Collection[str]
    params: Mapping[str, Any]


Check = Callable[[Facts, Any], LineError | None]


def refusal(e: Facts, line: Line) -> LineError | None:
    """Why this line would change nothing (the first check of its type that fails), or None."""
    for check in CHECKS.get(type(line), ()):
        why = check(e, line)
        if why is not None:
            return why
    return None


def known_car(e: Facts, line: Any) -> LineError | None:
    """A line about one car names a car of the session."""
    return None if line.number in e.cars else LineError("session.no_car", number=line.number)


def entered_transponder(e: Facts, line: InvalidateLine) -> LineError | None:
    """A read to invalidate is one of an entered transponder."""
    if line.transponder in e.by_transponder:
        return None
    return LineError("session.transponder_not_entered", transponder=line.transponder)


def unused_id(e: Facts, line: Any) -> LineError | None:
    """A correction's own id (from the caller or the log) names no other correction."""
    if line.id is not None and line.id in e.corrections:
        return NoEffect("correction.id_used", id=line.id)
    return None


def session_rule(e: Facts, line: PenaltyLine) -> LineError | None:
    """A race-control penalty names a rule of this session's rule set, or says "other" with a note."""
    rules = {rid for rid, rp in (e.params.get("rules") or {}).items() if rp is not False}
    if line.rule in rules:
        return None
    if not line.other:
        known = ", ".join(sorted(rules)) or Coded("word.none")
        return LineError("penalty.rule_not_in_session", rule=line.rule, known=known)
    if not (line.note or "").strip():
        return LineError("penalty.other_needs_note", rule=line.rule)
    return None


def live_penalty(e: Facts, line: WaiveLine | ApproveLine) -> LineError | None:
    """A waive or an approval names a penalty of the session that was not reverted."""
    p = e.penalties.get(line.penalty_id)
    if p is None:
        return UnknownTarget("penalty.not_found", penalty=line.penalty_id)
    if p.state == REVERTED:
        return NoEffect("penalty.reverted", penalty=p.id)
    return None


def approvable(e: Facts, line: ApproveLine) -> LineError | None:
    """An approval names a proposed penalty, with an amount (its own, or the proposal's)."""
    why = live_penalty(e, line)
    if why is not None:
        return why
    p = e.penalties.get(line.penalty_id)
    assert p is not None
    if p.state != PROPOSED:
        return NoEffect("penalty.not_proposed", penalty=p.id, state=p.state)
    if not approve_amounts(line, p):
        return LineError("penalty.needs_amount", penalty=p.id, rule=p.rule)
    return None


def approve_amounts(line: ApproveLine, p: Penalty) -> dict[str, Any]:
    """The amounts race control chose, else the proposal's (prefilled from the preset); {} if none."""
    chosen = {k: v for k in AMOUNTS if (v := getattr(line, k)) is not None}
    if not chosen:
        chosen = {k: getattr(p, k) for k in AMOUNTS}
    return chosen if any(chosen.values()) else {}


def assignable(e: Facts, line: AssignLine) -> LineError | None:
    """A transponder is assigned to a car of the session, and no car counts it yet."""
    why = known_car(e, line)
    if why is not None:
        return why
    other = e.by_transponder.get(line.transponder)
    if other is not None:
        return NoEffect("assign.taken", transponder=line.transponder, number=other.number)
    return None


def manual_passing(e: Facts, line: ConfirmLine) -> LineError | None:
    """A confirmation names a manual passing (by its correction id)."""
    c = e.corrections.get(line.target or "")
    if c is None or c["type"] != "manual_passing":
        return UnknownTarget("confirm.not_found", target=line.target)
    return None


def confirmable(e: Facts, line: ConfirmLine) -> LineError | None:
    """A manual passing neither reverted nor confirmed yet, or a warned lap (`warned_lap`)."""
    if line.target is None:
        return warned_lap(e, line)
    why = manual_passing(e, line)
    if why is not None:
        return why
    if line.target in e.reverted:
        return NoEffect("confirm.reverted", target=line.target)
    if line.target in e.confirmed:
        return NoEffect("confirm.already", target=line.target)
    return None


def warned_lap(e: Facts, line: ConfirmLine) -> LineError | None:
    """A lap to confirm is a warned lap of the car, ending at `lap_t`, not confirmed yet (an unknown car
    has no such lap)."""
    car = e.cars.get(str(line.number))
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


def revertible(e: Facts, line: RevertLine) -> LineError | None:
    """A revert names a correction that is not a revert and was not reverted yet."""
    c = e.corrections.get(line.target)
    if c is None:
        return UnknownTarget("correction.not_found", target=line.target)
    if c["type"] == "revert":
        return NoEffect("revert.of_revert")
    if c.get("reverted_by"):
        return NoEffect("revert.already", target=line.target, by=c["reverted_by"])
    return None


OWN: dict[type[Line], Check] = {
    PenaltyLine: session_rule,
    WaiveLine: live_penalty,
    ApproveLine: approvable,
    AssignLine: assignable,
    ConfirmLine: confirmable,
    RevertLine: revertible,
    InvalidateLine: entered_transponder,
}

#: per line type, its checks in order: the car it names, its own (`OWN`), its correction id
CHECKS: dict[type[Line], tuple[Check, ...]] = {
    cls: tuple(
        check
        for check in (
            known_car if cls.car else None,
            OWN.get(cls),
            unused_id if cls.correction or cls is RevertLine else None,
        )
        if check is not None
    )
    for cls in LINE_TYPES
}
