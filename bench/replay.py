"""Replay throughput: a generated 6-hour race of 60 karts through the full engine + classification.

Target (issue 2 / 5): the whole race recomputed in <= 0.25 s (100,000 passings/s), so race control
can correct a passing and see the new result at once. Prints the median of 5 runs for:
- `generic`: the same race under `generic-timed` (no rules),
- `lemans-270-6h`: the preset with all its rules on,
each from JSON text (decode + validation + engine + classification) and from typed lines
(engine + classification; lines converted at the boundary before the clock starts).
`resend`: the lemans-270-6h log of a service killed 60 s (then 300 s) before the end and back 120 s
later: the live reads that follow are logged first, the decoder's RESEND of the 120 s after them
(out of time order); the results must be those of the time-ordered log.
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
from service.results import dumps, replay_lines, results  # noqa: E402
from simulator import model, scenario  # noqa: E402

RUNS = 5


def race_lines(preset: str, cars: int = 60, seed: int = 7) -> list[str]:
    params = model.Params(
        duplicate_read=0.02, missed_read=0.002, noise_per_hour=2.0, short_stop=0.05, missed_refuel=0.05
    )
    race = model.generate("lemans-270-6h", cars, seed, params)
    lines = list(scenario.lines(race))
    if preset != "lemans-270-6h":
        for i, ln in enumerate(lines):
            if ln.startswith("{") and json.loads(ln).get("type") == "session":
                s = json.loads(ln)
                lines[i] = json.dumps(
                    {
                        "type": "session",
                        "preset": preset,
                        "kind": "race",
                        "duration_s": s.get("duration_s", 19800),
                        "min_lap_s": s.get("min_lap_s", 30),
                    }
                )
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
    print(
        f"{'':>14}  JSON text -> results: median {t_text:.3f} s  ({n / t_text:,.0f} passings/s)  "
        f"runs {', '.join(f'{x:.3f}' for x in text_runs)}"
    )
    print(
        f"{'':>14}  parsed lines -> results: median {t_parsed:.3f} s  ({n / t_parsed:,.0f} passings/s)  "
        f"target <= 0.250 s: {'OK' if t_parsed <= 0.25 else 'MISSED'}"
    )


def _apply_parsed(parsed: list):
    """Typed lines (converted at the boundary before the clock starts) through a fresh engine."""
    from service.engine import Engine

    e = Engine()
    for line in parsed:
        e.apply_line(line)
    e.finalize()
    return e


def resend_lines(lines: list[str], kill_s: float, down_s: float) -> list[str]:
    """The log after a kill -9 at `kill_s`, back `down_s` later: reads in [kill, kill + down) come
    after every later read (the newest live reads beat the RESEND)."""
    objs = [json.loads(ln) for ln in lines if ln.startswith("{")]
    missed = [o for o in objs if o.get("type") == "passing" and kill_s <= o["t"] < kill_s + down_s]
    kept = [o for o in objs if not (o.get("type") == "passing" and kill_s <= o["t"] < kill_s + down_s)]
    return [json.dumps(o) for o in kept + missed]


def bench_resend(before_end_s: float, down_s: float) -> None:
    lines = race_lines("lemans-270-6h")
    end = next(json.loads(ln) for ln in lines if ln.startswith("{"))["duration_s"]
    late = resend_lines(lines, end - before_end_s, down_s)
    parsed = [parse_line(json.loads(ln)) for ln in late]
    e = _apply_parsed(parsed)
    want, got = results(replay_lines(lines)), results(e)
    same = all(dumps(want[k]) == dumps(got[k]) for k in ("session", "classification", "penalties"))
    runs = sorted(timed(lambda: classify(_apply_parsed(parsed))) for _ in range(RUNS))
    label = f"kill -9 at end-{before_end_s:g} s, back {down_s:g} s later"
    print(
        f"{'resend':>14}: {label}: {e.counters['late_events']} reads late for their car, "
        f"{e.counters['car_rebuilds']} car rebuilds, {e.counters['full_rebuilds']} full rebuilds; "
        f"results as in time order: {same}"
    )
    print(
        f"{'':>14}  parsed lines -> results: median {statistics.median(runs):.3f} s  "
        f"runs {', '.join(f'{x:.3f}' for x in runs)}"
    )


if __name__ == "__main__":
    print(f"bench/replay.py: 6-hour race, 60 karts, median of {RUNS} runs")
    bench("generic-timed")
    bench("lemans-270-6h")
    bench_resend(60, 120)
    bench_resend(300, 120)
