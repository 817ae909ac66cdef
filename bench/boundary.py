"""The input boundary: msgspec (what Boucle uses) against pydantic for the same checks.

Issue 10 asked to measure both on the replay benchmark's race and choose. Both convert the 6-hour,
60-kart race (about 22,500 lines) from JSON text into typed, range-checked lines; the pydantic
models here mirror the msgspec structs of `service/engine/events.py` for the line types this race
holds (passing, driver_change, refuel, signal, entry, session). Prints medians of RUNS runs and the
ratio; the faster one is the boundary.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Annotated, Literal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter  # noqa: E402

from bench.replay import race_lines  # noqa: E402
from service.engine.events import decode_line  # noqa: E402

RUNS = 7
T = Annotated[float, Field(ge=-864000.0, le=864000.0, allow_inf_nan=False)]
Ident = Annotated[str, Field(min_length=1, max_length=64)]
Loop = Annotated[str, Field(pattern=r"^(finish|pit_in|pit_out|start|refuel|split[1-9][0-9]?)$")]


class P(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class Passing(P):
    type: Literal["passing"]
    t: T
    transponder: Ident | int
    loop: Loop
    strength: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    hits: Annotated[int, Field(ge=0, le=1_000_000)] | None = None


class DriverChange(P):
    type: Literal["driver_change"]
    t: T
    number: Ident | int
    driver: Ident | int


class Refuel(P):
    type: Literal["refuel"]
    t: T
    number: Ident | int


class Signal(P):
    type: Literal["signal"]
    t: T
    signal: Literal["green", "yellow", "sc", "red", "resume", "chequered"]


class Driver(P):
    id: Ident | int
    name: str | None = None
    weight_kg: Annotated[float, Field(gt=0, le=500)] | None = None


class Entry(P):
    type: Literal["entry"]
    number: Ident | int
    name: str = ""
    transponder: str | int = ""
    category: str = ""
    drivers: list[Driver] | None = None
    grid: Ident | int | None = None


class Session(P):
    type: Literal["session"]
    preset: str
    kind: str | None = None
    duration_s: float | None = None
    min_lap_s: float | None = None
    track_length_m: float | None = None


Line = Annotated[Passing | DriverChange | Refuel | Signal | Entry | Session, Field(discriminator="type")]


def median_of(fn) -> float:
    runs = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    texts = [ln for ln in race_lines("lemans-270-6h") if ln.startswith("{")]
    adapter = TypeAdapter(Line)
    t_msgspec = median_of(lambda: [decode_line(x) for x in texts])
    t_pydantic = median_of(lambda: [adapter.validate_json(x) for x in texts])
    print(
        f"bench/boundary.py: {len(texts)} lines of a 6-hour 60-kart race, JSON text -> typed lines, "
        f"median of {RUNS}"
    )
    print(
        f"  msgspec  (service/engine/events.py): {t_msgspec * 1000:7.1f} ms  "
        f"({len(texts) / t_msgspec:,.0f} lines/s)"
    )
    print(
        f"  pydantic (mirror models, strict):     {t_pydantic * 1000:7.1f} ms  "
        f"({len(texts) / t_pydantic:,.0f} lines/s)"
    )
    print(f"  pydantic / msgspec: {t_pydantic / t_msgspec:.1f}x")


if __name__ == "__main__":
    main()
