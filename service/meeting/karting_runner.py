"""An FFSA karting meeting for one category: qualifying -> heats -> super-heat(s) -> final
(seed 001 art. 21-23). Like `AutocrossMeeting`, it holds only inputs (entries, recorded rows)
and derives grids, points and classifications with the pure KA rules of `karting.py`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .karting import (
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
from .model import RaceRow
from .runner import MeetingError, SessionPlan


class KartingMeeting:
    """One category's FFSA karting meeting. Session keys: `qualifying`, `heat1`..`heatN`,
    `superheat` or `superheat.A` / `superheat.B`, `final`."""

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
                raise MeetingError(f"entry number missing or listed twice: {number!r}")
            self.entries[number] = {**e, "type": "entry", "number": number, "category": category}
        self.results: dict[str, list[RaceRow]] = {}

    # ---------------------------------------------------------------- plans
    def _need(self, *keys: str) -> None:
        missing = [k for k in keys if k not in self.results]
        if missing:
            raise MeetingError(f"not recorded yet: {', '.join(missing)}")

    def qualifying_order(self) -> list[str]:
        """KA-GRID: qualifying classification (best lap), karts without a time last in entry order."""
        self._need("qualifying")
        ranked = [r.number for r in sorted(self.results["qualifying"], key=lambda r: (r.place, r.number))]
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
            raise MeetingError(f"no {key!r} (heats: {', '.join(keys)})")
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
        return [self._plan(f"superheat.{group_name(i)}", "superheat", "heat", g, f"super-heat {group_name(i)}")
                for i, g in enumerate(grids)]  # fmt: skip

    def final_plan(self) -> SessionPlan:
        return self._plan("final", "final", "final", [s.number for s in self.finalists()], "final")

    def _plan(self, key: str, dist_kind: str, kind: str, grid: list[str], label: str) -> SessionPlan:
        laps = ka_laps(dist_kind, self.category, self.track_length_m, wet=key.split(".")[0] in self.wet)
        line: dict[str, Any] = {"type": "session", "preset": "ffsa-karting", "kind": kind, "laps": laps,
                                "track_length_m": self.track_length_m,
                                "name": f"{self.name} {self.category} {label}".strip()}  # fmt: skip
        if dist_kind == "superheat":
            line["superheat"] = True
        entries = [{**self.entries[n], "grid": i} for i, n in enumerate(grid, 1)]
        return SessionPlan(key, key.split(".")[0], kind, 1, laps, list(grid), line, entries)

    # ---------------------------------------------------------------- recording and standings
    def record(self, key: str, rows: Sequence[RaceRow]) -> None:
        self.results[key] = list(rows)

    def record_engine(self, key: str, engine: Any) -> None:
        from .live import race_rows

        self.record(key, race_rows(engine))

    def _order(self, key: str) -> list[str]:
        return [r.number for r in sorted(self.results[key], key=lambda r: (r.place, r.number))]

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
