"""Time conversion at the edges: the engine works in integer microseconds (floats drift)."""

from __future__ import annotations

US = 1_000_000


def s_to_us(seconds: float) -> int:
    """Seconds (float, microsecond precision) to integer microseconds."""
    return round(seconds * US)


def us_to_s(us: int | None, digits: int = 3) -> float | None:
    """Integer microseconds to seconds rounded for display (None stays None)."""
    if us is None:
        return None
    return round(us / US, digits)


def fmt_duration(us: int | None) -> str:
    """`1:02.345` style lap time, `2:03:04` style race time, for tables and evidence."""
    if us is None:
        return "-"
    sign = "-" if us < 0 else ""
    us = abs(us)
    ms = (us + 500) // 1000
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    if h:
        return f"{sign}{h}:{m:02d}:{s:02d}.{ms:03d}"
    if m:
        return f"{sign}{m}:{s:02d}.{ms:03d}"
    return f"{sign}{s}.{ms:03d}"
