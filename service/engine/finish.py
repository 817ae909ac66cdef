"""Finish regimes: when a car's race ends, who leads when time is up, how the scratch is grouped.

One class per regime of RULES.md: TIME-FINISH (`timed`), LAP-FINISH (`laps`), the best-lap
sessions' flag at the end of time (`best_lap`), and cross-country (section 4: CC-WAVES,
CC-DURATION, CC-FINISH), which wraps the format's regime and takes its numbers from the CC rule
objects. `regime(params, rules)` picks one from the preset's format and data. A regime holds no
session state and makes decisions only: the engine keeps the flag and the finishes, and reports them
in its `Outcome`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from service.engine.car import Car
from service.rules.base import Rule
from service.rules.ffm import Duration, Finish, Waves
from service.timeutil import s_to_us

NEVER = 2**62  # "no time": later than any session time (also the classification's sort sentinel)


class Regime:
    """Base regime: no waves, one race length for all, no finish window."""

    #: the flag goes to one car (the leader) rather than to everyone at a time
    leader_flag: bool = False
    #: setting the flag is a chequered signal the engine reports (TIME-FINISH shows it to the leader)
    shows_flag: bool = False
    #: classification in several scratches, one per race duration (CC-DURATION)
    grouped: bool = False
    #: some cars' races end on their own clock (`car_end_us`; CC-DURATION STOP board)
    stops_cars: bool = False

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.duration_us = s_to_us(float(params["duration_s"])) if params.get("duration_s") else None
        self.laps_target = int(params["laps"]) if params.get("laps") else None

    def offset_us(self, wave: Any) -> int:
        """Start offset of a wave (race time counts from the green plus it)."""
        return 0

    def car_end_us(self, car: Car, start_us: int) -> int | None:
        """Earliest crossing at which this car's own race is over, whatever the flag (CC-DURATION);
        asked only when `stops_cars`."""
        return None

    def time_up(self, end_us: int | None, t: int) -> bool:
        """Whether a crossing at `t` is after the race time (the engine then marks the end passed)."""
        return False

    def flag_us(self, car: Car, t: int, end_us: int | None, leader_at_end: str | None) -> int | None:
        """The chequered flag time decided by this crossing of `car` at `t`, if it decides one."""
        return None

    def closing_flag_us(self, cars: Iterable[Car], end_us: int) -> int | None:
        """At the close, when time was up but no flag was shown: when the flag fell, if at all."""
        return None

    def first_flag(
        self, cars: Mapping[str, Car], end_us: int | None, leader_at_end: str | None
    ) -> tuple[int, int] | None:
        """(crossing time, flag time) of the first crossing at which `flag_us` decides the flag in time
        order, read at once from the cars' laps: what the engine checks its flag against when reads
        came out of time order."""
        return None

    def contends(self, car: Car) -> bool:
        """Whether the car can lead the race (and be shown the leader's flag)."""
        return True

    def leader_at(self, cars: Iterable[Car], when: int) -> str | None:
        """Leader on the road at `when`: most laps, then earliest (wave-corrected) crossing."""
        best: tuple | None = None
        for car in cars:
            if not self.contends(car):
                continue
            n = bisect_right(car.lap_ends, when, 0, car.laps)
            if n == 0:
                continue
            key = (-n, car.lap_ends[n - 1] - car.offset_us, car.number)
            if best is None or key < best:
                best = key
        return best[2] if best else None

    def race_group(self, car: Car) -> int:
        """Scratch of the car (sorts first for the longest race); 0 when there is one scratch."""
        return 0

    def apply_window(self, rows: Sequence[Any], cars: Mapping[str, Car]) -> None:
        """Mark final rows of riders outside the finish window `not_classified` (CC-FINISH)."""


class TimeFinish(Regime):
    """TIME-FINISH: when the race time has elapsed the leader is shown the flag at its next
    crossing; everyone else finishes at their first crossing after that."""

    leader_flag = True
    shows_flag = True

    def time_up(self, end_us: int | None, t: int) -> bool:
        return end_us is not None and t > end_us

    def flag_us(self, car: Car, t: int, end_us: int | None, leader_at_end: str | None) -> int | None:
        if end_us is not None and t > end_us and leader_at_end == car.number:
            return t
        return None

    def first_flag(
        self, cars: Mapping[str, Car], end_us: int | None, leader_at_end: str | None
    ) -> tuple[int, int] | None:
        car = cars.get(leader_at_end) if end_us is not None and leader_at_end is not None else None
        if car is None:
            return None
        i = bisect_right(car.lap_ends, end_us)
        return (car.lap_ends[i], car.lap_ends[i]) if i < len(car.lap_ends) else None

    def closing_flag_us(self, cars: Iterable[Car], end_us: int) -> int | None:
        """The leader never crossed again: the flag went to whoever crossed first after the time."""
        firsts = [c.lap_ends[i] for c in cars if (i := bisect_right(c.lap_ends, end_us)) < len(c.lap_ends)]
        return min(firsts) if firsts else None


class LapFinish(Regime):
    """LAP-FINISH: the leader finishes on completing the scheduled laps; others at their next crossing."""

    leader_flag = True

    def flag_us(self, car: Car, t: int, end_us: int | None, leader_at_end: str | None) -> int | None:
        if self.laps_target is not None and len(car.lap_ends) >= self.laps_target:
            return t
        return None

    def first_flag(
        self, cars: Mapping[str, Car], end_us: int | None, leader_at_end: str | None
    ) -> tuple[int, int] | None:
        n = self.laps_target
        t = (
            min((c.lap_ends[n - 1] for c in cars.values() if len(c.lap_ends) >= n), default=None)
            if n
            else None
        )
        return None if t is None else (t, t)


class BestLapFinish(Regime):
    """Practice and qualifying (best lap): the flag is out for everyone when the time is up."""

    def flag_us(self, car: Car, t: int, end_us: int | None, leader_at_end: str | None) -> int | None:
        return end_us

    def first_flag(
        self, cars: Mapping[str, Car], end_us: int | None, leader_at_end: str | None
    ) -> tuple[int, int] | None:
        first = min((c.lap_ends[0] for c in cars.values() if c.lap_ends), default=None)
        return None if first is None or end_us is None else (first, end_us)


class CrossCountry(Regime):
    """RULES.md section 4 on top of the format's regime: wave offsets (CC-WAVES), categories with
    their own race length that take a STOP board and are not shown the leader's flag, one scratch
    per race duration (CC-DURATION), and the finish window after each scratch's winner (CC-FINISH).
    """

    def __init__(
        self, params: Mapping[str, Any], inner: Regime, waves: Waves, duration: Duration, window: Finish
    ) -> None:
        super().__init__(params)
        self.inner, self.waves, self.duration, self.window = inner, waves, duration, window
        self.leader_flag, self.shows_flag = inner.leader_flag, inner.shows_flag
        self.grouped = duration.active
        self.stops_cars = duration.active and params["format"] != "best_lap"  # no STOP board in qualifying

    def offset_us(self, wave: Any) -> int:
        return self.waves.offset_us(wave)

    def car_end_us(self, car: Car, start_us: int) -> int | None:
        return self.duration.stop_us(car, start_us) if self.stops_cars else None

    def time_up(self, end_us: int | None, t: int) -> bool:
        return self.inner.time_up(end_us, t)

    def flag_us(self, car: Car, t: int, end_us: int | None, leader_at_end: str | None) -> int | None:
        if self.leader_flag and not self.contends(car):
            return None  # a 2 h rider's laps never make the leader's flag
        return self.inner.flag_us(car, t, end_us, leader_at_end)

    def closing_flag_us(self, cars: Iterable[Car], end_us: int) -> int | None:
        return self.inner.closing_flag_us(cars, end_us)

    def first_flag(
        self, cars: Mapping[str, Car], end_us: int | None, leader_at_end: str | None
    ) -> tuple[int, int] | None:
        if self.leader_flag:  # only riders of the leader's race make its flag
            cars = {n: c for n, c in cars.items() if self.contends(c)}
        return self.inner.first_flag(cars, end_us, leader_at_end)

    def contends(self, car: Car) -> bool:
        return self.duration.length_us(car) is None

    def race_group(self, car: Car) -> int:
        if not self.grouped:
            return 0
        length = self.duration.length_us(car)
        return -(length if length is not None else self.duration_us or NEVER)

    def apply_window(self, rows: Sequence[Any], cars: Mapping[str, Car]) -> None:
        if self.window.window_us is None:
            return
        finishers = [r for r in rows if r.status == "classified" and cars[r.number].finish_us is not None]
        late = self.window.late([(r.race_group, cars[r.number].finish_us) for r in finishers])
        for r, out in zip(finishers, late, strict=True):
            if out:
                r.status = "not_classified"


FORMATS: dict[str, type[Regime]] = {"timed": TimeFinish, "laps": LapFinish, "best_lap": BestLapFinish}


def regime(params: dict[str, Any], rules: Iterable[Rule] = ()) -> Regime:
    """The session's finish regime: its format's (any other format finishes as best-lap sessions
    do), within the cross-country regime when the preset data set waves, category durations or a
    finish window. The CC rule objects are the session's own when it lists them, else built from
    the same preset data (the mechanics follow the data even where a CC rule is off or not for
    this kind of session)."""
    base = FORMATS.get(params["format"], BestLapFinish)(params)
    mine = {r.id: r for r in rules}
    cc = [mine.get(cls.id) or cls({}, params) for cls in (Waves, Duration, Finish)]
    waves, duration, window = cc
    assert isinstance(waves, Waves) and isinstance(duration, Duration) and isinstance(window, Finish)
    if not (waves.active or duration.active or window.active):
        return base
    return CrossCountry(params, base, waves, duration, window)
