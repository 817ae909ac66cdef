"""Auto-cross divisions (RULES.md section 3): run order, number ranges, at most 60 starters."""

from __future__ import annotations

from collections.abc import Sequence

from service.i18n import said
from service.presets import divisions
from service.text import key

# run order of the divisions in a meeting, with their race-number ranges (the autocross preset's table)
AX_DIVISIONS: dict[str, tuple[int, int]] = divisions("autocross")
AX_MAX_STARTERS = 60


def division_named(name: str) -> str | None:
    """The division's official name, matched case-, accent- and space-insensitively."""
    k = key(name)
    return next((d for d in AX_DIVISIONS if key(d) == k), None)


def entry_warnings(division: str, numbers: Sequence[str]) -> list[str]:
    """What the timing crew should check in an entry list: numbers outside the division's range,
    more than 60 starters. Warnings only: the organiser has the last word on numbers."""
    out = []
    if len(numbers) > AX_MAX_STARTERS:
        out.append(said("warn.ax_starters", n=len(numbers), max=AX_MAX_STARTERS))
    name = division_named(division) if division else None
    if division and name is None:
        out.append(said("warn.ax_division", division=division, known=", ".join(AX_DIVISIONS)))
    if name is not None:
        lo, hi = AX_DIVISIONS[name]
        bad = [n for n in numbers if not (n.isdigit() and lo <= int(n) <= hi)]
        if bad:
            out.append(said("warn.ax_numbers", division=name, lo=lo, hi=hi, numbers=", ".join(bad)))
    return out
