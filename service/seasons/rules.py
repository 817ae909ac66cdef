"""One small object per championship rule: how an event's results turn into `Score`s.

- `LeMansPoints` (LM-POINTS, presets `lemans-270`, `lmks`): category place points (x2 at 6H),
  +2 pole and +2 fastest race lap per category, minimum of races and bursary.
- `AutocrossPoints` (AX-POINTS, preset `autocross`): each meeting's points document summed.
- `CrossCountryPoints` (CC-POINTS + CC-SPRINT + CC-CLASSES, preset `ffm-cc`): scratch Elite,
  scratch National and categories, sprint test 3-2-1, half points for a race stopped early.
- `KidsPoints` (CC-KIDS + CC-POINTS, preset `ffm-kids`): both endurances aggregated, per category.
Numbers live in `presets/*.json`; these classes only read them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

from service.meetings.points import scale_points
from service.presets import PresetError, resolve
from service.text import fold

from .cc import kids_aggregate
from .model import Score, SeasonError, Standing, identity, where

PRESET_DIR = Path(__file__).parent / "presets"


def norm(name: Any) -> str:
    """`service.presets.norm` of any value (a category name) through `fold`, which is cached: category
    names repeat on every row of every event."""
    return fold("" if name is None else str(name))


NO_START = "dns"


def row_score(table: str, r: dict[str, Any], preset: str, status: str | None = None) -> Score:
    """A competitor's score line from a results row: named by `identity`, started unless `dns`."""
    status = status or str(r.get("status") or "classified")
    key = identity(r.get("name"), r["number"])
    return Score(
        table,
        key,
        str(r.get("name") or ""),
        str(r["number"]),
        status,
        started=status != NO_START,
        kind=preset,
    )


@dataclass(slots=True)
class SeasonEvent:
    """One event of a season: its name, its results documents by role, and options."""

    name: str
    docs: dict[str, dict[str, Any]]
    options: dict[str, Any] = field(default_factory=dict)


@cache
def available() -> tuple[str, ...]:
    """The championship presets, listed once (like `service.presets.available`), not per request."""
    return tuple(sorted(p.stem for p in PRESET_DIR.glob("*.json")))


@cache
def _preset(name: str) -> str:
    path = PRESET_DIR / f"{name}.json"
    if name not in available():  # by catalogue name only: never a path
        raise SeasonError("season.unknown_championship", name=name, known=", ".join(available()))
    return path.read_text(encoding="utf-8")


def championship_preset(name: str) -> dict[str, Any]:
    return json.loads(_preset(str(name)))


def rows_of(doc: dict[str, Any], where: Any) -> list[dict[str, Any]]:
    rows = doc.get("classification", doc.get("rows")) if isinstance(doc, dict) else None
    if not isinstance(rows, list) or not all(
        isinstance(r, dict) and str(r.get("number") or "") for r in rows
    ):
        raise SeasonError("season.not_results", where=where)
    return rows


def preset_of(doc: dict[str, Any]) -> str:
    sess = doc.get("session") if isinstance(doc, dict) else None
    return str(sess.get("preset") or "") if isinstance(sess, dict) else ""


class Championship:
    """Base: presets as data; subclasses score one event."""

    rule_id: ClassVar[str] = ""
    required: ClassVar[tuple[str, ...]] = ()
    optional: ClassVar[tuple[str, ...]] = ()

    def __init__(self, name: str, params: dict[str, Any]) -> None:
        self.name = name
        self.p = params
        self.scale = tuple(int(x) for x in params.get("scale") or ())
        self.scoring = frozenset(params.get("scoring_statuses") or ("classified",))

    @property
    def roles(self) -> tuple[str, ...]:
        return self.required + self.optional

    def table_order(self) -> list[str]:
        return list(self.p.get("categories") or [])

    def check_preset(self, doc: dict[str, Any], where: Any) -> str:
        preset = preset_of(doc)
        allowed = self.p.get("race_presets")
        if allowed and preset not in allowed:
            raise SeasonError(
                "season.preset_not_counted",
                where=where,
                preset=preset or "?",
                championship=self.name,
                allowed=", ".join(allowed),
            )
        return preset

    def score(
        self, event: SeasonEvent, index: int, total: int, earlier: Sequence[Sequence[Score]]
    ) -> list[Score]:
        raise NotImplementedError

    def eligible(self, st: Standing) -> bool:
        return True

    def finish(self, tables: dict[str, list[Standing]]) -> None:
        """After ranking (bursaries)."""


class LeMansPoints(Championship):
    """LM-POINTS with the decisions of RULES.md section 1."""

    rule_id = "LM-POINTS"
    required = ("race",)
    optional = ("qualifying",)

    def score(
        self, event: SeasonEvent, index: int, total: int, earlier: Sequence[Sequence[Score]]
    ) -> list[Score]:
        race = event.docs["race"]
        race_rows = rows_of(race, where(event.name, "race"))
        preset = self.check_preset(race, where(event.name, "race"))
        coef = float((self.p.get("coefficient") or {}).get(preset, 1))
        canon = {norm(c): c for c in self.table_order()}
        out: dict[tuple[str, str], Score] = {}
        best: dict[str, float] = {}
        for r in race_rows:
            table = canon.get(norm(r.get("category")), str(r.get("category") or ""))
            s = row_score(table, r, preset)
            status = s.status
            if status in self.scoring and int(r.get("category_position") or 0) >= 1:
                s.place = int(r["category_position"])
                pts = scale_points(self.scale, s.place) * coef  # x2 on place points only (decision)
                s.points += pts
                s.detail["place_points"] = pts
                lap = r.get("best_lap_s")
                if isinstance(lap, int | float) and lap > 0:
                    best[table] = min(best.get(table, lap), lap)
            out.setdefault((table, s.key), s)
        for s in out.values():  # fastest race lap, per category (a tie gives both the bonus)
            row_lap = next((r.get("best_lap_s") for r in race_rows if str(r["number"]) == s.number), None)
            if s.place is not None and s.table in best and row_lap == best[s.table]:
                s.points += self.p.get("fastest_lap_bonus", 2)
                s.detail["fastest_lap"] = self.p.get("fastest_lap_bonus", 2)
        quali = event.docs.get("qualifying")
        if quali is not None:
            self.check_preset(quali, where(event.name, "qualifying"))
            poles: set[str] = set()
            for r in rows_of(quali, where(event.name, "qualifying")):
                table = canon.get(norm(r.get("category")), str(r.get("category") or ""))
                if table in poles or r.get("status") in ("dns", "dsq") or not r.get("best_lap_s"):
                    continue
                poles.add(table)
                key = identity(r.get("name"), r["number"])
                s = out.get((table, key))
                if s is None:  # pole but did not take the race start
                    s = out[(table, key)] = row_score(table, r, preset, NO_START)
                s.points += self.p.get("pole_bonus", 2)
                s.detail["pole"] = self.p.get("pole_bonus", 2)
        return list(out.values())

    def eligible(self, st: Standing) -> bool:
        """Minimum of races started, by race preset (a `dsq` started, a `dns` did not)."""
        need = self.p.get("minimum") or {}
        done: dict[str, int] = {}
        for s in st.per_event:
            if s is not None and s.started:
                done[s.kind] = done.get(s.kind, 0) + 1
        return all(done.get(k, 0) >= int(v) for k, v in need.items())

    def finish(self, tables: dict[str, list[Standing]]) -> None:
        """Bursary: points x 0.5 EUR, exact, for positions 1-8 of each category meeting the minimum."""
        b = self.p.get("bursary") or {}
        for rows in tables.values():
            for st in rows:
                if st.position <= int(b.get("top", 0)) and st.eligible:
                    st.bursary_eur = st.points * float(b.get("eur_per_point", 0))


class AutocrossPoints(Championship):
    """AX-POINTS: the meeting's points document (`/api/meetings/{id}/classifications/points`)
    summed per division. Drivers are known by number (auto-cross numbers are the driver's for the
    season, ranges per division); countback uses the general-classification position."""

    rule_id = "AX-POINTS"
    required = ("points",)

    def score(
        self, event: SeasonEvent, index: int, total: int, earlier: Sequence[Sequence[Score]]
    ) -> list[Score]:
        doc = event.docs["points"]
        table = str(event.options.get("division") or doc.get("division") or "Général")
        out = []
        for r in rows_of(doc, where(event.name, "points")):
            final = float(r.get("final") or 0)
            try:
                pts = float(r.get("total") or 0)
            except (TypeError, ValueError) as exc:
                raise SeasonError("season.total_not_number", event=event.name, number=r["number"]) from exc
            pos = r.get("position")
            out.append(
                Score(
                    table,
                    f"#{r['number']}",
                    str(r.get("name") or ""),
                    str(r["number"]),
                    str(r.get("stage") or "classified"),
                    pts,
                    int(pos) if final > 0 and isinstance(pos, int) else None,
                    detail={k: r[k] for k in ("practice", "heats", "final") if k in r},
                )
            )
        return out


class _CrossCountry(Championship):
    """Shared by CC-POINTS and CC-KIDS: places within a table from the scratch order."""

    def table_rows(
        self,
        table: str,
        rows: list[dict[str, Any]],
        factor: float,
        cats: set[str],
        preset: str,
        scoring: frozenset[str] | None = None,
    ) -> list[Score]:
        out, place = [], 0
        for r in rows:
            if norm(r.get("category")) not in cats:
                continue
            s = row_score(table, r, preset)
            status = s.status
            if status in (scoring or self.scoring):
                place += 1
                s.place = place
                s.points = scale_points(self.scale, place) * factor
            out.append(s)
        return out

    def categories(
        self, rows: list[dict[str, Any]], factor: float, preset: str, scoring: frozenset[str] | None = None
    ) -> list[Score]:
        out = []
        for c in self.p.get("categories") or []:
            out += self.table_rows(c, rows, factor, {norm(c)}, preset, scoring)
        return out


class CrossCountryPoints(_CrossCountry):
    """CC-POINTS with CC-SPRINT's 3-2-1 and CC-CLASSES' tables."""

    rule_id = "CC-POINTS"
    required = ("race",)
    optional = ("race_2h", "sprint")

    def table_order(self) -> list[str]:
        return list(self.p.get("scratch") or {}) + list(self.p.get("categories") or [])

    def factor(self, event: SeasonEvent, preset: str) -> float:
        """Race stopped: more than half run -> full points; half or less -> half points."""
        stopped = event.options.get("stopped_at_s")
        if stopped is None:
            return 1.0
        dur = event.options.get("duration_s")
        if dur is None:
            try:
                dur = resolve({"preset": preset, "kind": "race"}).get("duration_s")
            except PresetError:
                dur = None
        if not isinstance(stopped, int | float) or not isinstance(dur, int | float) or dur <= 0:
            raise SeasonError("season.stopped_numbers", event=event.name)
        return 0.5 if stopped / dur <= float(self.p.get("half_points_at_or_below", 0.5)) else 1.0

    def score(
        self, event: SeasonEvent, index: int, total: int, earlier: Sequence[Sequence[Score]]
    ) -> list[Score]:
        rows = rows_of(event.docs["race"], where(event.name, "race"))
        preset = self.check_preset(event.docs["race"], where(event.name, "race"))
        if "race_2h" in event.docs:
            rows = rows + rows_of(event.docs["race_2h"], where(event.name, "race_2h"))
        factor = self.factor(event, preset)
        # a stopped race is classified at the stop: nobody took a flag, riders still running are `dnf`
        scoring = self.scoring | {"dnf"} if event.options.get("stopped_at_s") is not None else self.scoring
        out: list[Score] = []
        scratch = {t: {norm(c) for c in cats} for t, cats in (self.p.get("scratch") or {}).items()}
        for table, cats in scratch.items():
            out += self.table_rows(table, rows, factor, cats, preset, scoring)
        cat_scores = self.categories(rows, factor, preset, scoring)
        if self.p.get("no_points_after_late_category_change") and index == total - 1 and index > 0:
            self.late_change(cat_scores, earlier)
        out += cat_scores
        if factor != 1:
            for s in out:
                s.detail["half_points"] = True
        if "sprint" in event.docs:
            self.sprint(out, rows_of(event.docs["sprint"], where(event.name, "sprint")), scratch, preset)
        return out

    def late_change(self, cat_scores: list[Score], earlier: Sequence[Sequence[Score]]) -> None:
        """A rider changing category at the last event scores nothing in the new one (seed 004 art. 3)."""
        cats = {norm(c) for c in self.p.get("categories") or []}
        last_cat: dict[str, str] = {}
        for scores in earlier:
            for s in scores:
                if norm(s.table) in cats:
                    last_cat[s.key] = s.table
        for s in cat_scores:
            was = last_cat.get(s.key)
            if was is not None and was != s.table and s.points:
                s.detail["note"] = f"CC-POINTS: category changed at the last event (was {was})"
                s.points, s.place = 0.0, None

    def sprint(
        self, out: list[Score], rows: list[dict[str, Any]], scratch: dict[str, set[str]], preset: str
    ) -> None:
        """CC-SPRINT: 3-2-1 to the first three Elite and National of the sprint test, scratch tables only."""
        scale = tuple(int(x) for x in self.p.get("sprint_points") or ())
        index = {(s.table, s.key): s for s in out}
        for table, cats in scratch.items():
            ranked = [
                r
                for r in rows
                if norm(r.get("category")) in cats
                and r.get("status") not in ("dns", "dsq")
                and r.get("best_lap_s")
            ]
            for i, r in enumerate(ranked[: len(scale)]):
                key = identity(r.get("name"), r["number"])
                s = index.get((table, key))
                if s is None:  # sprint test but no race start
                    s = index[(table, key)] = row_score(table, r, preset, NO_START)
                    out.append(s)
                s.points += scale[i]
                s.detail["sprint"] = scale[i]


class KidsPoints(_CrossCountry):
    """CC-KIDS result (both endurances) scored per category with the CC-POINTS scale."""

    rule_id = "CC-KIDS"
    required = ("endurance1", "endurance2")

    def score(
        self, event: SeasonEvent, index: int, total: int, earlier: Sequence[Sequence[Score]]
    ) -> list[Score]:
        rows = kids_aggregate(
            [rows_of(event.docs[k], where(event.name, k)) for k in ("endurance1", "endurance2")]
        )
        preset = self.check_preset(event.docs["endurance1"], where(event.name, "endurance1"))
        self.check_preset(event.docs["endurance2"], where(event.name, "endurance2"))
        out = self.categories(rows, 1.0, preset)
        started = {
            r["number"]
            for r in rows
            if any((r.get(f"endurance{i}") or {}).get("status") not in (None, NO_START) for i in (1, 2))
        }
        for s in out:
            s.started = s.number in started
        return out


RULE_CLASSES: dict[str, type[Championship]] = {
    c.rule_id: c for c in (LeMansPoints, AutocrossPoints, CrossCountryPoints, KidsPoints)
}


def championship(name: str) -> Championship:
    params = championship_preset(name)
    cls = RULE_CLASSES.get(str(params.get("rule")))
    if cls is None:
        raise SeasonError("season.rule_not_implemented", name=name, rule=params.get("rule"))
    return cls(name, params)
