"""An FFSA karting meeting for one category: qualifying -> heats -> super-heat(s) -> final
(seed 001 art. 21-23). Like `AutocrossMeeting`, it holds only inputs (entries, recorded rows)
and derives grids, points and classifications with the pure KA rules of `karting_rules.py`. The
auto-cross race-direction decisions (AX-RED, AX-FINAL, AX-POINTS stop...) do not exist here:
asked of a karting meeting they raise `MeetingError` (a conflict)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from service.errors import Invalid

from .karting_rules import (
    KA_SINGLE_GROUP_HEATS,
    KaFinalLine,
    KaStanding,
    group_name,
    ka_final_classification,
    ka_finalists,
    ka_groups,
    ka_heat_grid,
    ka_heat_pairings,
    ka_heat_points,
    ka_standings,
    ka_superheat_grids,
)
from .lengths import ka_laps
from .model import RaceRow, by_place
from .runner import MeetingError, SessionPlan
from .tables import Ranking, entry_names

KA_GRID_PATTERN = (2,)  # karting grids: two karts per row (CIK prescriptions, seed 001 art. 23a)


class KartingMeeting:
    """One category's FFSA karting meeting. Stages and session keys: `qualifying`,
    `heat1`..`heatN`, `superheat` (or `superheat.A` / `superheat.B`), `final`."""

    preset = "ffsa-karting"
    RANKING_DOCS = ("qualifying", "heats", "finalists", "general")

    def __init__(
        self,
        entries: Sequence[dict[str, Any]],
        *,
        category: str,
        track_length_m: float,
        track_capacity: int,
        name: str = "",
        wet: Iterable[str] = (),
    ) -> None:
        self.name, self.category = name, category
        self.track_length_m, self.track_capacity = track_length_m, track_capacity
        self.wet = set(wet)  # stage names run in the wet (KA-DISTANCE)
        self.entries: dict[str, dict[str, Any]] = {}
        for e in entries:
            number = str(e.get("number") or "").strip()
            if not number or number in self.entries:
                raise MeetingError("meeting.entry_missing_or_twice", number=number)
            self.entries[number] = {**e, "type": "entry", "number": number, "category": category}
        self.results: dict[str, list[RaceRow]] = {}
        self.penalties: dict[str, dict[str, list[str]]] = {}
        self.recorded_at: dict[str, str] = {}
        self.signoffs: list[dict[str, Any]] = []

    @classmethod
    def create(cls, entries: Sequence[dict[str, Any]], fields: dict[str, Any]) -> KartingMeeting:
        """A new meeting from a request's fields: the track (`track_length_m` > 0, `track_capacity`
        >= 2, KA-DISTANCE and KA-GRID need them), `category` (or `division`), `name`, `wet`."""
        length, capacity = fields.get("track_length_m"), fields.get("track_capacity")
        if (
            not isinstance(length, int | float)
            or length <= 0
            or not isinstance(capacity, int)
            or capacity < 2
        ):
            raise Invalid("meeting.karting_track")
        return cls(
            entries,
            category=str(fields.get("category") or fields.get("division") or ""),
            track_length_m=length,
            track_capacity=capacity,
            name=str(fields.get("name") or ""),
            wet=fields.get("wet") or (),
        )

    @property
    def division(self) -> str:
        return self.category

    # ---------------------------------------------------------------- the protocol's other answers
    def entry_warnings(self) -> list[str]:
        return []

    def decisions(self) -> dict[str, Any]:
        """No race-direction decisions of the auto-cross kind here."""
        return {"stopped_after": None, "unable_to_start": [], "cancelled": []}

    def check_decision(self, name: str) -> None:
        raise MeetingError("meeting.ax_only")

    def declare_unable(self, number: str) -> None:
        raise MeetingError("meeting.ax_only")

    def stop(self, after: str) -> None:
        raise MeetingError("meeting.ax_only")

    def cancel_heat(self, stage: str) -> None:
        raise MeetingError("meeting.ax_only")

    def admit_without_lap(self, number: str) -> None:
        raise MeetingError("meeting.ax_only")

    def red_flag(self, key: str, *args: Any, **kwargs: Any) -> SessionPlan | None:
        raise MeetingError("meeting.ax_only")

    def ranking_docs(self) -> tuple[str, ...]:
        return self.RANKING_DOCS

    def ranking(self, doc: str) -> Ranking:
        """One ranking document as columns and rows (`ka_ranking`, tables.py's shape)."""
        return ka_ranking(self, doc)

    # ---------------------------------------------------------------- state (JSON)
    def state(self) -> dict[str, Any]:
        return {
            "preset": self.preset,
            "name": self.name,
            "category": self.category,
            "track_length_m": self.track_length_m,
            "track_capacity": self.track_capacity,
            "wet": sorted(self.wet),
            "entries": list(self.entries.values()),
            "results": {
                k: [
                    {
                        "number": r.number,
                        "place": r.place,
                        "laps": r.laps,
                        "status": r.status,
                        "total_time_us": r.total_time_us,
                    }
                    for r in rows
                ]
                for k, rows in self.results.items()
            },
            "penalties": self.penalties,
            "recorded_at": self.recorded_at,
            "signoffs": self.signoffs,
        }

    @classmethod
    def from_state(cls, st: dict[str, Any]) -> KartingMeeting:
        m = cls(
            st["entries"],
            category=st["category"],
            track_length_m=st["track_length_m"],
            track_capacity=st["track_capacity"],
            name=st.get("name", ""),
            wet=st.get("wet", ()),
        )
        m.results = {k: [RaceRow(**r) for r in rows] for k, rows in st.get("results", {}).items()}
        m.penalties = {k: {n: list(v) for n, v in d.items()} for k, d in st.get("penalties", {}).items()}
        m.recorded_at = dict(st.get("recorded_at", {}))
        m.signoffs = list(st.get("signoffs", ()))
        return m

    # ---------------------------------------------------------------- stages
    def stages(self) -> list[str]:
        """qualifying, the heats (their number depends on the qualifying entry), super-heat, final."""
        heats = self.heat_keys() if "qualifying" in self.results else ["heat1"]
        return ["qualifying", *heats, "superheat", "final"]

    def plans(self, stage: str) -> list[SessionPlan]:
        if stage == "qualifying":
            line = {
                "type": "session",
                "preset": self.preset,
                "kind": "qualifying",
                "name": f"{self.name} {self.category} qualifying".strip(),
            }
            entries = list(self.entries.values())
            return [
                SessionPlan("qualifying", "qualifying", "qualifying", 1, 0, list(self.entries), line, entries)
            ]
        if stage.startswith("heat"):
            return [self.heat_plan(stage)]
        if stage == "superheat":
            return self.superheat_plans()
        if stage == "final":
            return [self.final_plan()]
        raise MeetingError("meeting.unknown_stage", stage=stage, known=", ".join(self.stages()))

    def stage_keys(self, stage: str) -> list[str]:
        return [p.key for p in self.plans(stage)]

    def plan(self, key: str) -> SessionPlan:
        for p in self.plans(key.split(".")[0]):
            if p.key == key:
                return p
        raise MeetingError("meeting.no_session", key=key)

    def complete(self, stage: str) -> bool:
        try:
            return all(k in self.results for k in self.stage_keys(stage))
        except MeetingError:
            return False

    def current_stage(self) -> str | None:
        for stage in self.stages():
            if not self.complete(stage):
                return stage
        return None

    # ---------------------------------------------------------------- plans
    def _need(self, *keys: str) -> None:
        missing = [k for k in keys if k not in self.results]
        if missing:
            raise MeetingError("meeting.keys_not_recorded", keys=", ".join(missing))

    def qualifying_order(self) -> list[str]:
        """KA-GRID: qualifying classification (best lap), karts without a time last in entry order."""
        self._need("qualifying")
        ranked = [r.number for r in by_place(self.results["qualifying"])]
        return ranked + [n for n in self.entries if n not in ranked]

    def groups(self) -> list[list[str]]:
        return ka_groups(self.qualifying_order(), self.track_capacity)

    def heat_keys(self) -> list[str]:
        groups = self.groups()
        n = KA_SINGLE_GROUP_HEATS if len(groups) == 1 else len(ka_heat_pairings(len(groups)))
        return [f"heat{i}" for i in range(1, n + 1)]

    def heat_plan(self, key: str) -> SessionPlan:
        """KA-GRID: one group: heat 1 on qualifying, heat n on heat n-1's finish. Split entries:
        the heat's two series in qualifying order."""
        groups = self.groups()
        keys = self.heat_keys()
        if key not in keys:
            raise MeetingError("meeting.no_heat", key=key, known=", ".join(keys))
        i = keys.index(key)
        if len(groups) == 1:
            if i == 0:
                grid = ka_heat_grid(self.qualifying_order())
            else:
                self._need(keys[i - 1])
                grid = ka_heat_grid(self._order(keys[i - 1]))
            label = key
        else:
            a, b = ka_heat_pairings(len(groups))[i]
            grid = ka_heat_grid(self.qualifying_order(), groups[a] + groups[b])
            label = f"{key} {group_name(a)}-{group_name(b)}"
        return self._plan(key, "heat", "heat", grid, label)

    def superheat_plans(self) -> list[SessionPlan]:
        """KA-SUPERHEAT: one super-heat below 37 drivers, else A/B alternating from the
        intermediate classification."""
        grids = ka_superheat_grids([s.number for s in self.intermediate()])
        if len(grids) == 1:
            return [self._plan("superheat", "superheat", "heat", grids[0], "super-heat")]
        return [
            self._plan(f"superheat.{group_name(i)}", "superheat", "heat", g, f"super-heat {group_name(i)}")
            for i, g in enumerate(grids)
        ]

    def final_plan(self) -> SessionPlan:
        return self._plan("final", "final", "final", [s.number for s in self.finalists()], "final")

    def _plan(self, key: str, dist_kind: str, kind: str, grid: list[str], label: str) -> SessionPlan:
        laps = ka_laps(dist_kind, self.category, self.track_length_m, wet=key.split(".")[0] in self.wet)
        line: dict[str, Any] = {
            "type": "session",
            "preset": "ffsa-karting",
            "kind": kind,
            "laps": laps,
            "track_length_m": self.track_length_m,
            "name": f"{self.name} {self.category} {label}".strip(),
        }
        if dist_kind == "superheat":
            line["superheat"] = True
        entries = [{**self.entries[n], "grid": i} for i, n in enumerate(grid, 1)]
        return SessionPlan(key, key.split(".")[0], kind, 1, laps, list(grid), line, entries, KA_GRID_PATTERN)

    # ---------------------------------------------------------------- recording and standings
    def record(
        self,
        key: str,
        rows: Sequence[RaceRow],
        *,
        penalties: dict[str, list[str]] | None = None,
        at: str | None = None,
        **_: Any,
    ) -> None:
        """Store one session's result (the same keywords as `AutocrossMeeting.record`)."""
        self.plan(key)
        self.results[key] = list(rows)
        self.penalties[key] = {n: list(v) for n, v in (penalties or {}).items() if v}
        if at is not None:
            self.recorded_at[key] = at

    def record_engine(self, key: str, engine: Any, at: str | None = None) -> None:
        from .live import penalty_labels, race_rows

        self.record(key, race_rows(engine), penalties=penalty_labels(engine), at=at)

    def _order(self, key: str) -> list[str]:
        return [r.number for r in by_place(self.results[key])]

    def heat_points(self) -> list[dict[str, int]]:
        keys = self.heat_keys()
        self._need(*keys)
        return [ka_heat_points(self.results[k]) for k in keys]

    def intermediate(self) -> list[KaStanding]:
        """KA-POINTS after the heats (ties: qualifying rank)."""
        return ka_standings(self.heat_points(), self.qualifying_order())

    def superheat_points(self) -> dict[str, int]:
        keys = [p.key for p in self.superheat_plans()]
        self._need(*keys)
        out: dict[str, int] = {}
        for k in keys:
            out.update(ka_heat_points(self.results[k]))
        return out

    def finalists(self) -> list[KaStanding]:
        """KA-SUPERHEAT: heat + super-heat points, the 36 best in final grid order."""
        return ka_finalists(self.heat_points(), self.superheat_points(), self.qualifying_order())

    def classification(self) -> list[KaFinalLine]:
        """KA-FINAL: the final's result is the meeting's classification."""
        self._need("final")
        return ka_final_classification(self.results["final"], [s.number for s in self.intermediate()])


def ka_ranking(m: KartingMeeting, doc: str) -> Ranking:
    """A karting ranking: qualifying (KA-GRID), after the heats and the finalists (KA-POINTS,
    KA-SUPERHEAT), the general classification (KA-FINAL)."""
    name = entry_names(m.entries)
    if doc == "qualifying":
        js = [{"position": i, "number": n} for i, n in enumerate(m.qualifying_order(), 1)]
        return Ranking(
            ["Pos", "No", "Driver"], [(j["position"], j["number"], name.get(j["number"], "")) for j in js], js
        )
    if doc in ("heats", "finalists"):
        lines = m.intermediate() if doc == "heats" else m.finalists()
        js = [{"position": i, "number": x.number, "points": x.points} for i, x in enumerate(lines, 1)]
        rows = [(j["position"], j["number"], name.get(j["number"], ""), j["points"]) for j in js]
        return Ranking(["Pos", "No", "Driver", "Points"], rows, js)
    js = [
        {"position": x.position, "number": x.number, "finalist": x.finalist, "podium": x.podium}
        for x in m.classification()
    ]
    rows = [
        (
            j["position"],
            j["number"],
            name.get(j["number"], ""),
            "yes" if j["finalist"] else "no",
            "yes" if j["podium"] else "",
        )
        for j in js
    ]
    return Ranking(["Pos", "No", "Driver", "Finalist", "Podium"], rows, js)
