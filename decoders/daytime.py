"""Dates and times of day on a decoder's clock, as integer microseconds.

Decoders that stamp reads with a date and a time of day (Race Result, Wiclax) or a time of day
only (Protime) give `Passing.rtc_time_us` as that naive local date-time counted from
1970-01-01 00:00 as if it were UTC (decoders/passing.py); a time of day alone goes on the host's
date nearest to now. No time zone is converted here: the service aligns each decoder's clock.
Pure except `local_now_us`, the one function that reads the host clock.
"""

from __future__ import annotations

import re
import time
from datetime import date
from functools import lru_cache

DAY_US = 86_400_000_000
_EPOCH = date(1970, 1, 1).toordinal()
# 12:34:56, 12:34:56.789 (any 1-6 fraction digits, `.` or `,`), and Protime's 12:34'56"789
_TOD = re.compile(r"(\d{1,2}):(\d{2})[:'](\d{2})(?:[.,\"](\d{1,6}))?")


def civil_us(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> int:
    """A naive date-time as µs from 1970-01-01 00:00; ValueError for a date that does not exist."""
    if not (0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 60 and 0 <= micro < 1_000_000):
        raise ValueError(f"no time {hour:02d}:{minute:02d}:{second:02d}.{micro:06d}")
    return (_days(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second) * 1_000_000 + micro


@lru_cache(maxsize=4096)
def _days(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 (a race has a few dates: cached)."""
    return date(year, month, day).toordinal() - _EPOCH


def parts(us: int) -> tuple[int, int, int, int, int, int, int]:
    """(year, month, day, hour, minute, second, microsecond) of a naive date-time in µs."""
    days, rest = divmod(us, DAY_US)
    d = date.fromordinal(days + _EPOCH)
    s, micro = divmod(rest, 1_000_000)
    h, s = divmod(s, 3_600)
    m, s = divmod(s, 60)
    return d.year, d.month, d.day, h, m, s, micro


def parse_tod(text: str) -> int:
    """`HH:MM:SS[.fff]` (or Protime's `HH:MM'SS"mmm`) as µs since midnight; ValueError otherwise."""
    m = _TOD.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"time of day {text!r} is not HH:MM:SS[.fff]")
    h, mi, s, frac = m.groups()
    return civil_us(1970, 1, 1, int(h), int(mi), int(s), int((frac or "0").ljust(6, "0")))


def nearest_day(tod_us: int, ref_us: int) -> int:
    """A time of day put on the date (day before, same day, day after `ref_us`) nearest to `ref_us`."""
    base = ref_us - ref_us % DAY_US + tod_us
    if base - ref_us > DAY_US // 2:
        return base - DAY_US
    return base + DAY_US if ref_us - base > DAY_US // 2 else base


def local_now_us() -> int:
    """The host's local date-time now, naive, in µs from 1970-01-01 00:00 as if UTC."""
    now = time.time_ns() // 1000
    return now + time.localtime(now // 1_000_000).tm_gmtoff * 1_000_000
