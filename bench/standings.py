"""Season standings cost: a full LM-POINTS season (7 races, 2 categories, 60 karts) and a
cross-country season (8 events, 300 riders, sprint tests) computed from results documents, as
`/api/championships/{id}/standings` does on each read. Prints the median of 7 runs."""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.seasons.standings import standings  # noqa: E402

LM = ["lemans-270-2h", "lemans-270-3h", "lemans-270-4h"] + ["lemans-270-6h"] * 4
CC_CATS = [
    "Elite Open",
    "Junior",
    "N1",
    "N2",
    "N3",
    "Espoirs",
    "Vétérans",
    "Super Vétérans",
    "Jeunes",
    "Féminines",
]


def doc(preset: str, kind: str, riders: list[tuple[str, str, str]], rng: random.Random) -> dict:
    order = riders[:]
    rng.shuffle(order)
    pos: dict[str, int] = {}
    rows = []
    for i, (n, name, cat) in enumerate(order, 1):
        pos[cat] = pos.get(cat, 0) + 1
        status = "dsq" if rng.random() < 0.02 else "classified"
        rows.append(
            {
                "position": i,
                "number": n,
                "name": name,
                "category": cat,
                "category_position": pos[cat],
                "status": status,
                "best_lap_s": round(50 + rng.random() * 5, 3),
            }
        )
    return {"session": {"preset": preset, "kind": kind, "finished": True}, "classification": rows}


def lm_season(rng: random.Random) -> dict:
    teams = [(str(i), f"Team {i}", "Sport" if i % 2 else "Amateur") for i in range(1, 61)]
    return {
        "championship": "lemans-270",
        "events": [
            {
                "name": f"E{i}",
                "qualifying": doc(p, "qualifying", teams, rng),
                "race": doc(p, "race", teams, rng),
            }
            for i, p in enumerate(LM, 1)
        ],
    }


def cc_season(rng: random.Random) -> dict:
    riders = [(str(i), f"Rider {i}", CC_CATS[i % len(CC_CATS)]) for i in range(1, 301)]
    return {
        "championship": "ffm-cc",
        "events": [
            {
                "name": f"M{i}",
                "race": doc("ffm-cc", "race", riders, rng),
                "sprint": doc("ffm-cc", "qualifying", riders, rng),
            }
            for i in range(1, 9)
        ],
    }


def median_ms(season: dict, runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        standings(season, lambda e, r, ref: ref)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    rng = random.Random(7)
    print(f"LM-POINTS season, 7 races x 60 karts:    {median_ms(lm_season(rng)):7.2f} ms (median of 7)")
    print(f"CC-POINTS season, 8 events x 300 riders: {median_ms(cc_season(rng)):7.2f} ms (median of 7)")


if __name__ == "__main__":
    main()
