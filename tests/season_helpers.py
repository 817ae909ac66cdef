"""Results documents (shared/spec/scenario.md results JSON) written by hand for season tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from service.presets import norm


def results(preset: str, kind: str, rows: list[tuple], **extra: Any) -> dict[str, Any]:
    """rows: (number, name, category, status, best_lap_s[, laps]) in classification order; positions
    and category positions are numbered as the engine does (its order is the rows' order)."""
    by_cat: dict[str, int] = {}
    out = []
    for i, r in enumerate(rows, 1):
        number, name, cat, status, best = r[:5]
        c = norm(cat)
        by_cat[c] = by_cat.get(c, 0) + 1
        out.append(
            {
                "position": i,
                "number": number,
                "name": name,
                "category": cat,
                "category_position": by_cat[c],
                "status": status,
                "laps": r[5] if len(r) > 5 else 10,
                "penalty_laps": 0,
                "penalty_seconds": 0.0,
                "total_time_s": None if status == "dns" else 1000.0 + i,
                "best_lap_s": best,
                "best_lap_no": 3 if best else None,
                "pit_stops": 0,
                "gap": "",
                "interval": "",
            }
        )
    return {
        "session": {"preset": preset, "kind": kind, "finished": True},
        "classification": out,
        "penalties": [],
        "warnings": [],
        **extra,
    }


def write_season(folder: Path, championship: str, events: list[dict[str, Any]], name: str = "") -> Path:
    """Writes each event's documents as e<i>-<role>.json beside season.json (paths are relative)."""
    specs = []
    for i, ev in enumerate(events, 1):
        spec: dict[str, Any] = {}
        for k, v in ev.items():
            if isinstance(v, dict):
                (folder / f"e{i}-{k}.json").write_text(json.dumps(v, ensure_ascii=False), encoding="utf-8")
                spec[k] = f"e{i}-{k}.json"
            else:
                spec[k] = v
        specs.append(spec)
    path = folder / "season.json"
    path.write_text(
        json.dumps(
            {"championship": championship, "name": name or championship, "events": specs}, ensure_ascii=False
        ),
        encoding="utf-8",
    )
    return path
