"""One competitor's state, derived only from that car's events in time order.

Raw events are never changed (as in CrossMgr): laps, stops and stints are recomputed from them,
so a late passing is handled by rebuilding this car alone. Reads the timing crew should look at
(duplicates, pit_in without pit_out...) are kept as anomalies, not dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from service.engine.events import Event
from service.presets import norm

# lap flags that keep a lap from being a record (best lap, qualifying time, fastest-lap bonus) until
# race control confirms it: hand-made crossings, and decoder laps the lap-time checks warned about
UNCONFIRMED = frozenset({"manual", "estimated", "interpolated", "warned"})


@dataclass(slots=True)
class PitStop:
    in_us: int | None  # None: pit_out seen without its pit_in (missed read)
    lap: int  # laps completed when the car entered
    driver_in: str | None
    out_us: int | None = None  # None while in the pit lane, or pit_out missed
    driver_out: str | None = None
    mechanical: bool = False
    refuels: list[int] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)

    @property
    def duration_us(self) -> int | None:
        if self.in_us is None or self.out_us is None:
            return None
        return self.out_us - self.in_us

    @property
    def driver_changed(self) -> bool:
        """scenario.md: a stop "with a driver change" has a different driver at pit_out than at pit_in."""
        return self.out_us is not None and self.driver_out is not None and self.driver_out != self.driver_in


class Car:
    """Entry data plus everything the engine derives for it."""

    __slots__ = (
        "number",
        "name",
        "transponder",
        "category",
        "division",
        "wave",
        "grid",
        "drivers",
        "offset_us",
        "entry",
        "events",
        "lap_ends",
        "lap_times",
        "best_us",
        "best_no",
        "dup_reads",
        "stops",
        "in_pit",
        "driver",
        "stint_start_us",
        "stint_start_lap",
        "refuels",
        "anomalies",
        "first_seen_us",
        "last_t",
        "finish_us",
        "finish_lap",
        "pending_mechanical",
        "rule_state",
        "other_reads",
        "drive_us",
        "invalid",
        "cat_key",
        "spares",
        "lap_flags",
        "lap_warnings",
        "last_crossing_flag",
        "flagged",
        "pace",
        "pace_sorted",
    )

    def __init__(self, entry: dict[str, Any], offset_us: int = 0) -> None:
        self.number = str(entry["number"])
        self.name = str(entry.get("name") or "")
        self.transponder = str(entry.get("transponder") or "")
        self.category = str(entry.get("category") or "")
        self.cat_key = norm(self.category)  # for case/accent-insensitive category matching
        self.division = entry.get("division")
        self.wave = entry.get("wave")
        self.grid = entry.get("grid")
        self.drivers = list(entry.get("drivers") or [])
        self.offset_us = offset_us
        self.entry = entry
        self.events: list[Event] = []
        self.invalid: set[tuple[str, int]] = set()  # (loop, t) reads marked invalid by the timing crew
        self.spares: list[str] = []  # transponders assigned in addition to the entry's (`assign`)
        self.reset()

    def reset(self) -> None:
        """Forget everything derived; keep the entry and the raw events."""
        self.lap_ends: list[int] = []
        self.lap_times: list[int] = []
        self.last_crossing_flag: str | None = None  # how the last lap end was made (None: a decoder read)
        self.lap_flags: list[
            str | None
        ] = []  # per lap: "manual"/"estimated"/"warned" (never a best lap), "confirmed"
        self.flagged: dict[int, str] = {}  # lap number -> its flag, only for flagged laps (rows read this)
        self.lap_warnings: list[tuple[int, str]] = []  # (lap number, why): lap-time sanity checks
        self.pace: list[int] = []  # the last 9 decoder laps, oldest first (lap-time sanity checks)
        self.pace_sorted: list[int] = []  # the same, sorted: the median is its middle
        self.best_us: int | None = None
        self.best_no: int | None = None
        self.dup_reads = 0
        self.stops: list[PitStop] = []
        self.in_pit: PitStop | None = None
        self.driver: str | None = self.drivers[0]["id"] if self.drivers else None
        self.stint_start_us: int | None = None
        self.stint_start_lap = 0
        self.drive_us: dict[str, int] = {}
        self.refuels: list[int] = []
        self.anomalies: list[str] = []
        self.first_seen_us: int | None = None
        self.last_t = -(2**62)
        self.finish_us: int | None = None
        self.finish_lap: int | None = None
        self.pending_mechanical = False
        self.rule_state: dict[str, Any] = {}
        self.other_reads: dict[str, list[int]] = {}

    # -- derived views -------------------------------------------------------------------------
    @property
    def laps(self) -> int:
        """Laps that count: all crossings up to and including the finishing one."""
        return self.finish_lap if self.finish_lap is not None else len(self.lap_ends)

    @property
    def last_crossing_us(self) -> int | None:
        n = self.laps
        return self.lap_ends[n - 1] if n else None

    def driver_name(self, driver_id: str | None) -> str | None:
        for d in self.drivers:
            if d.get("id") == driver_id:
                return d.get("name") or driver_id
        return driver_id

    def driver_weight(self, driver_id: str | None) -> float | None:
        for d in self.drivers:
            if d.get("id") == driver_id:
                w = d.get("weight_kg")
                return float(w) if isinstance(w, int | float) else None
        return None

    # -- state changes (called by the engine, in time order) -----------------------------------
    def add_lap(self, t: int, start_us: int, min_lap_us: int, flag: str | None = None) -> int | None:
        """Count a crossing as a lap unless it is a duplicate read; returns the lap number.

        `flag`: the crossing was added by hand ("manual", "estimated", "confirmed"). A lap whose
        start or end is an unconfirmed manual crossing is flagged. Whether it is the best lap is
        decided after the lap-time checks (`flag_lap`, `count_best`)."""
        if self.lap_ends:
            prev = self.lap_ends[-1]
            if t - prev < min_lap_us:
                self.dup_reads += 1
                return None
            lap_us = t - prev
        else:
            lap_us = t - start_us
        start = self.last_crossing_flag
        lap_flag = flag if flag in UNCONFIRMED else start if start in UNCONFIRMED else (flag or start)
        self.lap_ends.append(t)
        self.lap_times.append(lap_us)
        self.last_crossing_flag = flag
        self.lap_flags.append(lap_flag)
        n = len(self.lap_ends)
        if lap_flag:
            self.flagged[n] = lap_flag
        return n

    def flag_lap(self, n: int, flag: str) -> None:
        """Flag a decoder lap after the fact ("warned" by the lap-time checks, or "confirmed")."""
        if self.lap_flags[n - 1] is None:
            self.lap_flags[n - 1] = self.flagged[n] = flag

    def count_best(self, n: int) -> None:
        """Lap `n` becomes the best lap if it is faster and not flagged as unconfirmed."""
        lap_us = self.lap_times[n - 1]
        if self.lap_flags[n - 1] not in UNCONFIRMED and (self.best_us is None or lap_us < self.best_us):
            self.best_us, self.best_no = lap_us, n

    def record_laps(self) -> list[int]:
        """Lap times that may be records (qualifying times): none flagged as unconfirmed."""
        return [lt for lt, f in zip(self.lap_times, self.lap_flags, strict=True) if f not in UNCONFIRMED]

    def pit_in(self, t: int, min_lap_us: int) -> PitStop | None:
        if self.in_pit is not None:
            if self.in_pit.in_us is not None and t - self.in_pit.in_us < min_lap_us:
                self.dup_reads += 1
                return None
            self.anomalies.append(
                f"pit_in at {t / 1e6:.3f} s while already in pit since "
                f"{(self.in_pit.in_us or 0) / 1e6:.3f} s: pit_out missed"
            )
        stop = PitStop(in_us=t, lap=len(self.lap_ends), driver_in=self.driver)
        if self.pending_mechanical:
            stop.mechanical, self.pending_mechanical = True, False
        self.stops.append(stop)
        self.in_pit = stop
        return stop

    def pit_out(self, t: int, min_lap_us: int) -> PitStop | None:
        stop = self.in_pit
        if stop is None:
            last = self.stops[-1] if self.stops else None
            if last is not None and last.out_us is not None and t - last.out_us < min_lap_us:
                self.dup_reads += 1
                return None
            self.anomalies.append(f"pit_out at {t / 1e6:.3f} s without pit_in: pit_in missed")
            stop = PitStop(in_us=None, lap=len(self.lap_ends), driver_in=self.driver)
            self.stops.append(stop)
        stop.out_us = t
        stop.driver_out = self.driver
        self.in_pit = None
        return stop

    def crossed_finish_in_pit(self, t: int) -> None:
        """A finish read while in the pit lane: the pit_out read was missed (RULES.md section 0)."""
        stop = self.in_pit
        assert stop is not None
        self.anomalies.append(
            f"finish at {t / 1e6:.3f} s after pit_in at {(stop.in_us or 0) / 1e6:.3f} s "
            "without pit_out: pit_out missed"
        )
        self.in_pit = None

    def change_driver(self, t: int, driver: str) -> PitStop | None:
        """Returns the stop the change belongs to (None: no stop in progress, an anomaly)."""
        if self.driver is not None and self.stint_start_us is not None:
            self.drive_us[self.driver] = self.drive_us.get(self.driver, 0) + t - self.stint_start_us
        self.driver = driver
        self.stint_start_us = t
        self.stint_start_lap = len(self.lap_ends)
        stop = self.in_pit
        if stop is not None:
            stop.changes.append(driver)
        else:
            self.anomalies.append(f"driver change to {driver} at {t / 1e6:.3f} s outside a pit stop")
        return stop
