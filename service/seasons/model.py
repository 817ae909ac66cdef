"""What one competitor scored at one event (`Score`), and the season standings built from them:
sum per table (category / scratch), then the season tie-breaks shared by LM-POINTS and CC-POINTS
(more 1st places, then 2nd ..., then the better place at the most recent event where they differ).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from service.errors import Invalid
from service.i18n import Coded
from service.presets import norm


class SeasonError(Invalid):
    """A season or one of its results documents is not usable; the code and params say which and why."""


def where(event: Any, document: str | None = None) -> Coded:
    """ "event 'X' race": the document a season error is about, said in the reader's language."""
    return Coded("season.where_doc" if document else "season.where", {"event": event, "document": document})


def identity(name: Any, number: Any = "") -> str:
    """A competitor's key across events: the name ignoring case, accents and repeated spaces
    (LM-POINTS decision: a number may change between events); the number when there is no name."""
    key = re.sub(r"\s+", " ", norm(name))
    return key or f"#{str(number or '').strip()}"


def num(x: float) -> float | int:
    """Points as printed: 24, 12.5 (half points), never 24.0."""
    return int(x) if float(x).is_integer() else round(float(x), 3)


@dataclass(slots=True)
class Score:
    """One competitor in one standings table at one event.

    ``place`` is the place that counts for countback (None when it scored no place points);
    ``started`` says whether the event counts towards a minimum; ``kind`` names the event's
    format for minimums (e.g. the race preset `lemans-270-6h`); ``detail`` explains the points.
    """

    table: str
    key: str
    name: str
    number: str
    status: str
    points: float = 0.0
    place: int | None = None
    started: bool = True
    kind: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "status": self.status,
            "place": self.place,
            "points": num(self.points),
            **self.detail,
        }


@dataclass(slots=True)
class Standing:
    table: str
    key: str
    name: str = ""
    number: str = ""
    points: float = 0.0
    per_event: list[Score | None] = field(default_factory=list)
    eligible: bool = True
    bursary_eur: float = 0.0
    position: int = 0

    @property
    def events(self) -> int:
        """Events the competitor started (a `dns` did not start; a `dsq` did)."""
        return sum(1 for s in self.per_event if s is not None and s.started)

    def countback(self, depth: int) -> tuple[int, ...]:
        count = Counter(s.place for s in self.per_event if s is not None and s.place is not None)
        return tuple(-count[p] for p in range(1, depth + 1))

    def recent(self) -> tuple[float, ...]:
        """Places from the most recent event back (absent or no place = worst)."""
        big = float("inf")
        return tuple(big if s is None or s.place is None else s.place for s in reversed(self.per_event))

    def public(self, event_names: Sequence[str]) -> dict[str, Any]:
        return {
            "position": self.position,
            "team": self.name,
            "number": self.number,
            "points": num(self.points),
            "events": self.events,
            "eligible": self.eligible,
            "bursary_eur": num(self.bursary_eur),
            "per_event": [
                None if s is None else {"event": n, **s.public()}
                for n, s in zip(event_names, self.per_event, strict=True)
            ],
        }


def build_standings(
    per_event: Sequence[Sequence[Score]],
    order: Sequence[str] = (),
    eligible: Callable[[Standing], bool] | None = None,
) -> dict[str, list[Standing]]:
    """Sum each table's scores over the season and rank them.

    ``per_event[i]`` are the scores of event i. Tables come in ``order`` first, then as met.
    Ties: points, then countback (more 1st places, 2nd ...), then the better place at the most
    recent event where the two differ; competitors still equal share the position.
    """
    n = len(per_event)
    tables: dict[str, dict[str, Standing]] = {t: {} for t in order}
    for i, scores in enumerate(per_event):
        for s in scores:
            st = tables.setdefault(s.table, {}).get(s.key)
            if st is None:
                st = tables[s.table][s.key] = Standing(s.table, s.key, per_event=[None] * n)
            prev = st.per_event[i]
            if prev is not None:  # one name twice at one event (two karts): keep the better one
                if (prev.points, -(prev.place or 10**6)) >= (s.points, -(s.place or 10**6)):
                    continue
                st.points -= prev.points
            st.per_event[i] = s
            st.points += s.points
            st.name, st.number = s.name or st.name, s.number or st.number  # latest spelling and number
    out: dict[str, list[Standing]] = {}
    for table, by_key in tables.items():
        rows = list(by_key.values())
        if not rows:
            continue
        depth = max((s.place or 0 for st in rows for s in st.per_event if s is not None), default=0)

        def rank_key(st: Standing, depth: int = depth) -> tuple:
            return (-st.points, st.countback(depth), st.recent())

        keys = {st.key: rank_key(st) for st in rows}
        rows.sort(key=lambda st: (keys[st.key], st.name.casefold(), st.key))
        for i, st in enumerate(rows):
            same = i > 0 and keys[rows[i - 1].key] == keys[st.key]
            st.position = rows[i - 1].position if same else i + 1
            st.eligible = eligible(st) if eligible else True
        out[table] = rows
    return out
