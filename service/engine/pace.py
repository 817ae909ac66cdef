"""A car's pace: the lap-time checks shown to the timing crew, and the times of missed crossings.

Pure functions of one car's laps (service/engine/car.py) and the session's numbers (`min_lap_s`,
`lap_warn_low_pct`, `lap_warn_high_pct`, in microseconds and percents); the engine calls them.
"""

from __future__ import annotations

from bisect import insort

from service.engine.car import UNCONFIRMED, Car
from service.engine.events import Event
from service.i18n import said


def passing_flag(ev: Event, confirmed: set[str]) -> str | None:
    """How a crossing was made: None for a decoder read, else manual/estimated/interpolated/confirmed
    (`confirmed`: the manual passings race control confirmed)."""
    if ev.type != "manual_passing":
        return None
    if ev.cid in confirmed:
        return "confirmed"
    return "interpolated" if ev.line.interpolated else "estimated" if ev.line.estimated else "manual"


def check_lap(
    car: Car, n: int, lap_us: int, via_pit: bool, min_lap_us: int, warn_low: float, warn_high: float
) -> bool:
    """Lap-time sanity (shown to the timing crew): below `min_lap_s`, or far off the car's recent pace
    (`lap_warn_low_pct`, `lap_warn_high_pct` of the median of its last 9 decoder laps, preset-overridable).
    True when the lap is warned about. A decoder lap joins the car's pace window."""
    ps = car.pace_sorted
    k = len(ps)
    warned = False
    if min_lap_us and lap_us < min_lap_us:
        car.lap_warnings.append((n, said("lap.shorter_than_min", min=f"{min_lap_us / 1e6:g}")))
        warned = True
    elif k >= 3:
        median = ps[k // 2]
        pct = lap_us * 100
        if pct < warn_low * median or (pct > warn_high * median and not via_pit):
            why = said("lap.off_pace", pct=f"{100 * lap_us / median:.0f}", median=f"{median / 1e6:.3f}")
            car.lap_warnings.append((n, why))
            warned = True
    if car.lap_flags[-1] is None:
        pace = car.pace
        pace.append(lap_us)
        insort(ps, lap_us)
        if k >= 9:  # the window is full: the oldest lap leaves it
            ps.remove(pace.pop(0))
    return warned


def estimate(car: Car, now_us: int, start_us: int, min_lap_us: int) -> tuple[int, str]:
    """A missed crossing's time from the car's own pace: its last crossing plus the median of its
    recent laps, never less than `min_lap_s` after it. Without a lap yet, the session clock."""
    if not car.lap_ends:
        return max(now_us, start_us), "clock"
    recent = [lt for lt, f in zip(car.lap_times, car.lap_flags, strict=False) if f not in UNCONFIRMED][-5:]
    recent = sorted(recent or car.lap_times[-5:])
    mid = len(recent) // 2
    median = recent[mid] if len(recent) % 2 else (recent[mid - 1] + recent[mid]) // 2
    return car.lap_ends[-1] + max(median, min_lap_us), "pace"


def interpolate(car: Car, lap: int) -> tuple[int, int] | None:
    """A lap far longer than the car's pace likely hides missed reads: the first missing crossing,
    the lap split evenly into round(lap / median) parts. Returns (t_us, missing crossings)."""
    if not 1 <= lap <= len(car.lap_ends) or len(car.pace_sorted) < 3:
        return None
    median = car.pace_sorted[len(car.pace_sorted) // 2]
    lap_us = car.lap_times[lap - 1]
    parts = round(lap_us / median)
    if parts < 2:
        return None
    start = car.lap_ends[lap - 1] - lap_us
    return start + lap_us // parts, parts - 1
