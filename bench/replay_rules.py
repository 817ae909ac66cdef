"""Rules cost: a 6-hour `lemans-270-6h` race of 60 karts, every LM rule on, recomputed from its log.

Target (issue 5): the whole race recomputed in <= 0.25 s. The race is generated here, in-process and
deterministically (seeded), with a simple model: laps of 52-56 s with jitter, the category's
driver-change stops of 120-135 s spread over the race, both refuels inside their windows, random
weight and ballast checks, and a few infringements (short stops, a missed refuel, a missing stop)
so the rules have penalties to emit. Prints the median of 5 runs and passings/s, from the JSON
text of the log (parse + engine + classification) and from typed lines, converted before the clock
starts (engine + classification, what a recompute inside the running service costs).

    .venv/bin/python bench/replay_rules.py [--cars 60] [--profile]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.engine import Engine, classify  # noqa: E402
from service.engine.events import parse_line  # noqa: E402
from service.presets import resolve  # noqa: E402
from service.results import replay_lines  # noqa: E402

PRESET = "lemans-270-6h"
RUNS = 5


def generate(cars: int = 60, seed: int = 2026) -> list[str]:
    """The scenario lines of one race (header first, then events in time order)."""
    rng = random.Random(seed)
    p = resolve({"preset": PRESET, "kind": "race"})
    dur = float(p["duration_s"])
    windows = p["rules"]["LM-REFUEL"]["windows_s"]
    header = [{"type": "session", "preset": PRESET, "kind": "race"}]
    events: list[tuple[float, int, dict]] = []
    seq = 0

    def add(t: float, obj: dict) -> None:
        nonlocal seq
        seq += 1
        events.append((round(t, 3), seq, {"t": round(t, 3), **obj}))

    add(0.0, {"type": "signal", "signal": "green"})
    for i in range(cars):
        no, tr = str(i + 1), f"{10000 + i}"
        cat = "Sport" if i % 2 == 0 else "Amateur"
        ndrivers = 2 + i % 5
        drivers = [{"id": f"d{k}", "name": f"Driver {k}", "weight_kg": 70.0} for k in range(1, ndrivers + 1)]
        header.append(
            {
                "type": "entry",
                "number": no,
                "name": f"Team {no}",
                "transponder": tr,
                "category": cat,
                "drivers": drivers,
            }
        )
        stops = p["rules"]["LM-STOPS"]["stops"][cat] - (1 if i % 17 == 5 else 0)  # a few teams miss one
        plan = sorted(dur * (k + rng.uniform(0.6, 1.4)) / (stops + 1) for k in range(stops))
        refuel_in = [rng.choice([s for s in plan if a + 150 < s < b - 150] or [a + 300]) for a, b in windows]
        if i % 23 == 7:
            refuel_in = refuel_in[:1]  # misses the second refuel window
        base = rng.uniform(52.0, 56.0)
        t, driver, k = base, 1, 0
        while True:
            if k < len(plan) and t > plan[k]:
                t_in = t - base * 0.1
                add(t_in, {"type": "passing", "transponder": tr, "loop": "pit_in"})
                driver = driver % ndrivers + 1
                add(t_in + 20, {"type": "driver_change", "number": no, "driver": f"d{driver}"})
                if any(abs(plan[k] - r) < 1e-9 for r in refuel_in):
                    add(t_in + 40, {"type": "refuel", "number": no})
                stop = rng.uniform(120.5, 135.0) if rng.random() > 0.03 else rng.uniform(100.0, 119.0)
                out = t_in + stop
                add(out, {"type": "passing", "transponder": tr, "loop": "pit_out"})
                if rng.random() < 0.05:
                    add(
                        out + 2,
                        {
                            "type": "weight_check",
                            "number": no,
                            "driver": f"d{driver}",
                            "kg": round(rng.uniform(68.5, 71.0), 1),
                        },
                    )
                if rng.random() < 0.05:
                    add(out + 3, {"type": "ballast_check", "number": no, "ok": rng.random() > 0.3})
                k += 1
                t = out + base + rng.uniform(-0.5, 0.5)
                continue
            add(t, {"type": "passing", "transponder": tr, "loop": "finish"})
            if t > dur + 2 * base:
                break
            t += base + rng.uniform(-0.8, 0.8)
    events.sort(key=lambda e: (e[0], e[1]))
    return [json.dumps(x) for x in header] + [json.dumps(e[2]) for e in events]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cars", type=int, default=60)
    ap.add_argument("--profile", action="store_true", help="print the top functions of one run (cProfile)")
    args = ap.parse_args()
    lines = generate(args.cars)
    engine = replay_lines(lines)
    n = engine.counters["passings"]
    pens = engine.penalties.all()
    by_rule: dict[str, int] = {}
    for pen in pens:
        by_rule[pen.rule] = by_rule.get(pen.rule, 0) + 1
    print(
        f"{PRESET}: {len(engine.cars)} karts, {n} passings, {len(lines)} lines, "
        f"{len(engine.rules)} rules on, "
        f"penalties {dict(sorted(by_rule.items()))}"
    )
    if args.profile:
        import cProfile
        import pstats

        cProfile.runctx(
            "classify(replay_lines(lines))", globals(), {"lines": lines}, "/tmp/replay_rules.prof"
        )
        pstats.Stats("/tmp/replay_rules.prof").sort_stats("tottime").print_stats(12)
    parsed = [parse_line(json.loads(ln)) for ln in lines]  # typed lines, as the running service holds them

    def from_parsed():
        e = Engine()
        for line in parsed:
            e.apply_line(line)
        e.finalize()
        return e

    for label, fn in (
        ("JSON text -> results", lambda: replay_lines(lines)),
        ("parsed lines -> results", from_parsed),
    ):
        runs = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            classify(fn())
            runs.append(time.perf_counter() - t0)
        med = statistics.median(runs)
        print(
            f"{label}, median of {RUNS}: {med:.3f} s ({n / med:,.0f} passings/s); runs "
            f"{', '.join(f'{x:.3f}' for x in sorted(runs))}; "
            f"target <= 0.250 s: {'OK' if med <= 0.25 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
