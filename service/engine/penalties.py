"""Penalties with stable ids, whether a rule proposed them or race control typed them in.

A rule re-run (late passing, rebuild) re-emits its penalties under the same natural key, so an id
race control has seen ("p3") keeps meaning the same infringement; keys no longer emitted vanish.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.i18n import coded
from service.timeutil import us_to_s

APPLIED, WAIVED, PROPOSED, REVERTED = "applied", "waived", "proposed", "reverted"
AMOUNTS = ("laps", "seconds", "best_lap_seconds", "dsq")


@dataclass(slots=True)
class Penalty:
    id: str
    number: str
    rule: str
    t: int  # microseconds, when it became certain
    evidence: str
    laps: int = 0
    seconds: float = 0.0
    best_lap_seconds: float = 0.0
    dsq: bool = False
    state: str = APPLIED
    manual: bool = False
    note: str = ""
    key: tuple = ()
    source: str | None = None  # id of the correction (penalty line) that created it, for `revert`
    decision: dict[str, Any] | None = None  # the last approve/waive: action, id, by, t, note

    @property
    def counts(self) -> bool:
        return self.state == APPLIED

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "number": self.number,
            "rule": self.rule,
            "laps": self.laps,
            "seconds": float(self.seconds),
            "best_lap_seconds": float(self.best_lap_seconds),
            "t": us_to_s(self.t),
            "evidence": self.evidence,
            "state": self.state,
        }
        if self.dsq:
            d["dsq"] = True
        if self.note:
            d["note"] = self.note
        return d

    def said(self) -> dict[str, Any]:
        """`evidence_said` / `note_said`: the codes and params the pages say the evidence and the note
        with, in their language (the English stays in `evidence`, as the results JSON keeps it)."""
        return {f"{key}_said": said for key in ("evidence", "note") if (said := coded(getattr(self, key)))}

    def detail(self) -> dict[str, Any]:
        """`as_dict` plus who decided what and when (API, pages, printed results; not the replay JSON)."""
        d = self.as_dict()
        d["manual"] = self.manual
        d.update(self.said())
        if self.source:
            d["source"] = self.source
        if self.decision:
            d["decision"] = dict(self.decision)
        return d


class PenaltyBook:
    """All penalties of a session, keyed for stability, numbered p1, p2... in order of creation."""

    def __init__(self) -> None:
        self._by_key: dict[tuple, Penalty] = {}
        self._ids: dict[tuple, str] = {}  # survives rebuilds so ids stay stable
        self._waived: dict[str, int] = {}  # penalty id -> t of the waive
        self._approved: dict[str, dict[str, Any]] = {}  # penalty id -> amounts race control chose
        self._decisions: dict[
            str, dict[str, Any]
        ] = {}  # penalty id -> last decision (shown, kept on re-runs)
        self._next = 1
        self.stale: set[tuple] = set()

    def _new_id(self, key: tuple) -> str:
        pid = self._ids.get(key)
        if pid is None:
            pid = f"p{self._next}"
            self._next += 1
            self._ids[key] = pid
        return pid

    def add(self, p: Penalty) -> tuple[Penalty, bool]:
        """Insert or refresh; returns (penalty, is_new_or_changed)."""
        self.stale.discard(p.key)
        old = self._by_key.get(p.key)
        p.id = self._new_id(p.key)
        p.decision = self._decisions.get(p.id)
        if p.state == REVERTED:
            pass
        elif p.id in self._waived:
            p.state = WAIVED
        elif p.id in self._approved:  # an approval by race control survives a re-run, with its amounts
            self._set_amounts(p, self._approved[p.id])
            p.state = APPLIED
        changed = old is None or old.as_dict() != p.as_dict()
        self._by_key[p.key] = p
        return p, changed

    def waive(self, pid: str, t: int, decision: dict[str, Any] | None = None) -> Penalty | None:
        self._waived[pid] = t
        if decision is not None:
            self._decisions[pid] = decision
        p = self.get(pid)
        if p is not None and p.state != REVERTED:
            p.state = WAIVED
            p.decision = self._decisions.get(pid)
        return p

    def approve(self, pid: str, amounts: dict[str, Any], decision: dict[str, Any]) -> Penalty | None:
        """A proposed penalty becomes applied with the amounts race control chose; id and evidence stay."""
        p = self.get(pid)
        if p is None or p.state != PROPOSED:
            return None
        self._approved[pid] = amounts
        self._decisions[pid] = decision
        self._set_amounts(p, amounts)
        p.state, p.decision = APPLIED, decision
        return p

    @staticmethod
    def _set_amounts(p: Penalty, amounts: dict[str, Any]) -> None:
        p.laps = int(amounts.get("laps") or 0)
        p.seconds = float(amounts.get("seconds") or 0)
        p.best_lap_seconds = float(amounts.get("best_lap_seconds") or 0)
        p.dsq = bool(amounts.get("dsq"))

    def mark_stale(self, number: str | None = None) -> None:
        """Before a rebuild: automatic penalties (of one car, or all) must be re-emitted to survive."""
        self.stale = {
            k for k, p in self._by_key.items() if not p.manual and (number is None or p.number == number)
        }

    def drop_stale(self) -> list[Penalty]:
        gone = [self._by_key.pop(k) for k in self.stale if k in self._by_key]
        self.stale = set()
        return gone

    def all(self) -> list[Penalty]:
        return sorted(self._by_key.values(), key=lambda p: int(p.id[1:]))

    def get(self, pid: str) -> Penalty | None:
        return next((p for p in self._by_key.values() if p.id == pid), None)

    def unknown_waives(self) -> list[str]:
        known = {p.id for p in self._by_key.values()}
        return [pid for pid in self._waived if pid not in known]

    def for_car(self, number: str) -> list[Penalty]:
        return [p for p in self._by_key.values() if p.number == number]
