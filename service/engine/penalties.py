"""Penalties with stable ids, whether a rule proposed them or race control typed them in.

A rule re-run (late passing, rebuild) re-emits its penalties under the same natural key, so an id
race control has seen ("p3") keeps meaning the same infringement; keys no longer emitted vanish.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

APPLIED, WAIVED, PROPOSED = "applied", "waived", "proposed"


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
            "t": round(self.t / 1e6, 3),
            "evidence": self.evidence,
            "state": self.state,
        }
        if self.dsq:
            d["dsq"] = True
        if self.note:
            d["note"] = self.note
        return d


class PenaltyBook:
    """All penalties of a session, keyed for stability, numbered p1, p2... in order of creation."""

    def __init__(self) -> None:
        self._by_key: dict[tuple, Penalty] = {}
        self._ids: dict[tuple, str] = {}  # survives rebuilds so ids stay stable
        self._waived: dict[str, int] = {}  # penalty id -> t of the waive
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
        if p.id in self._waived:
            p.state = WAIVED
        elif old is not None and old.state != WAIVED and not p.manual and old.state != p.state:
            p.state = old.state  # an approval by race control survives a re-run
        changed = old is None or old.as_dict() != p.as_dict()
        self._by_key[p.key] = p
        return p, changed

    def waive(self, pid: str, t: int) -> Penalty | None:
        self._waived[pid] = t
        for p in self._by_key.values():
            if p.id == pid:
                p.state = WAIVED
                return p
        return None

    def approve(self, pid: str) -> Penalty | None:
        for p in self._by_key.values():
            if p.id == pid and p.state == PROPOSED:
                p.state = APPLIED
                return p
        return None

    def mark_stale(self, number: str | None = None) -> None:
        """Before a rebuild: automatic penalties (of one car, or all) must be re-emitted to survive."""
        self.stale = {k for k, p in self._by_key.items() if not p.manual and (number is None or p.number == number)}

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
