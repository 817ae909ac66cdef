"""Scenario writer (shared/spec/scenario.md): session line, entries, then time-ordered events.

Output is a pure function of the `Race`: fixed key order, `t` rounded to microseconds, ties broken
by a stable rank, so one seed always gives the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from service.timeutil import s_to_us, us_to_s
from simulator.model import DECODER_IDS, Race, SimEvent, describe

# Rank of line types at the same microsecond: a driver change or refuel recorded at the same
# instant as a passing follows it; signals come first.
_RANK = {"signal": 0, "passing": 1, "grid_move": 2, "mechanical": 3, "driver_change": 4, "refuel": 5}


def t_us(t: float) -> int:
    """Session seconds to integer microseconds (the one rounding used everywhere: `s_to_us`)."""
    return s_to_us(t)


def _t_s(us: int) -> float:
    """A scenario line's `t`: whole microseconds back to seconds (6 digits lose nothing)."""
    return us_to_s(us, 6)


def _dump(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False, allow_nan=False)


def decoder_fields_needed(race: Race) -> bool:
    """Passings name their decoder only when one loop has more than one decoder."""
    return any(r.decoder != r.loop for r in race.reads)


def lines(race: Race, *, header: bool = True, decoder_fields: bool | None = None) -> Iterator[str]:
    """Yield the scenario lines (without newlines)."""
    if decoder_fields is None:
        decoder_fields = decoder_fields_needed(race)
    if header:
        summary = describe(race)
        yield (
            f"# boucle simulate --preset {race.preset} --cars {len(race.cars)} --seed {race.seed}"
            f" (kind {race.kind})"
        )
        yield "# " + _dump({k: summary[k] for k in ("stats", "outages", "params")})
    yield _dump({"type": "session", **race.session})
    for car in race.cars:
        entry: dict = {
            "type": "entry",
            "number": car.number,
            "name": car.name,
            "transponder": car.transponder,
            "category": car.category,
        }
        if len(car.drivers) > 1 or race.session.get("preset", "").startswith("lemans"):
            entry["drivers"] = car.drivers
        if car.wave is not None:
            entry["wave"] = car.wave
        if car.division is not None:
            entry["division"] = car.division
        if car.grid is not None:
            entry["grid"] = car.grid
        yield _dump(entry)
    timed: list[tuple[int, int, int, dict]] = []
    for i, r in enumerate(race.reads):
        obj: dict = {
            "type": "passing",
            "t": 0.0,
            "transponder": r.transponder,
            "loop": r.loop,
            "strength": r.strength,
            "hits": r.hits,
        }
        if decoder_fields:
            obj["decoder"] = DECODER_IDS[r.decoder]
        timed.append((t_us(r.t), _RANK["passing"], i, obj))
    for i, e in enumerate(race.events):
        timed.append((t_us(e.t), _RANK.get(e.type, 9), i, event_line(e)))
    timed.sort(key=lambda x: (x[0], x[1], x[2]))
    for us, _, _, obj in timed:
        obj["t"] = _t_s(us)
        yield _dump(obj)


def event_line(e: SimEvent) -> dict:
    """A non-passing event as its scenario line (signals, driver changes, refuels...)."""
    return {"type": e.type, "t": _t_s(t_us(e.t)), **e.data}


def write(race: Race, path: str | Path, **kw) -> int:
    """Write the scenario file; returns the number of lines written."""
    n = 0
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for line in lines(race, **kw):
            f.write(line + "\n")
            n += 1
    return n


def to_text(race: Race, **kw) -> str:
    return "".join(line + "\n" for line in lines(race, **kw))
