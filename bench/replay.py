"""Replay throughput: a generated 6-hour race of 60 karts through the full engine + classification.

Target (issue 2 / 5): the whole race recomputed in <= 0.25 s (100,000 passings/s), so race control
can correct a passing and see the new result at once. Prints the median of 5 runs for:
- `generic`: the same race under `generic-timed` (no rules),
- `lemans-270-6h`: the preset with all its rules on,
each from JSON text (decode + validation + engine + classification) and from typed lines
(engine + classification; lines converted at the boundary before the clock starts).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.engine import classify  # noqa: E402
from service.engine.events import parse_line  # noqa: E402
from service.results import replay_lines  # noqa: E402
from simulator import model, scenario  # noqa: E402

RUNS = 5


def race_lines(preset: str, cars: int = 60, seed: int = 7) -> list[str]:
    params = model.Params(duplicate_read=0.02, missed_read=0.002, noise_per_hour=2.0, short_stop=0.05,
                          missed_refuel=0.05)  # fmt: skip
    race = model.generate("lemans-270-6h", cars, seed, params)
    lines = list(scenario.lines(race))
    if preset != "lemans-270-6h":
        for i, ln in enumerate(lines):
            if ln.startswith("{") and json.loads(ln).get("type") == "session":
                s = json.loads(ln)
                lines[i] = json.dumps({"type": "session", "preset": preset, "kind": "race",
                                       "duration_s": s.get("duration_s", 19800), "min_lap_s": s.get("min_lap_s", 30)})
                break
    return lines


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench(preset: str) -> None:
    lines = race_lines(preset)
    parsed = [parse_line(json.loads(ln)) for ln in lines if ln.startswith("{")]
    engine = replay_lines(lines)
    n = engine.counters["passings"] + engine.counters["duplicate_reads"]
    if engine.warnings and any("not implemented" in w for w in engine.warnings):
        print(f"  note: {[w for w in engine.warnings if 'not implemented' in w][:3]}")

    def from_text():
        e = replay_lines(lines)
        classify(e)

    def from_parsed():
        classify(_apply_parsed(parsed))

    text_runs = sorted(timed(from_text) for _ in range(RUNS))
    parsed_runs = sorted(timed(from_parsed) for _ in range(RUNS))
    t_text, t_parsed = statistics.median(text_runs), statistics.median(parsed_runs)
    print(f"{preset:>14}: {n} passings, {len(engine.cars)} cars, {len(engine.penalties.all())} penalties")
    print(f"{'':>14}  JSON text -> results: median {t_text:.3f} s  ({n / t_text:,.0f} passings/s)  "
          f"runs {', '.join(f'{x:.3f}' for x in text_runs)}")
    print(f"{'':>14}  parsed lines -> results: median {t_parsed:.3f} s  ({n / t_parsed:,.0f} passings/s)  "
          f"target <= 0.250 s: {'OK' if t_parsed <= 0.25 else 'MISSED'}")


def _apply_parsed(parsed: list):
    """Typed lines (converted at the boundary before the clock starts) through a fresh engine."""
    from service.engine import Engine

    e = Engine()
    for line in parsed:
        e.apply_line(line)
    e.finalize()
    return e


if __name__ == "__main__":
    print(f"bench/replay.py: 6-hour race, 60 karts, median of {RUNS} runs")
    bench("generic-timed")
    bench("lemans-270-6h")
