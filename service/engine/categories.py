"""Cross-country views of classified sessions: per-category classifications (CC-CLASSES) and the
CC-KIDS aggregate of two endurances. They read classifications, so they live beside `classify`,
not among the rules (rules never see the engine).
"""

from __future__ import annotations

from typing import Any

from service.engine.classify import Row, classify
from service.engine.engine import Engine
from service.presets import norm
from service.seasons.cc import kids_aggregate


def by_category(engine: Engine) -> dict[str, list[Row]]:
    """CC-CLASSES: each category's classification, extracted from the scratch in scratch order.

    Categories appear in the preset's `category_order` first, then as met in the scratch; a row's
    `category_position` is its place in its category.
    """

    out: dict[str, list[Row]] = {}
    order = {norm(c): c for c in engine.params.get("category_order") or []}
    for c in order.values():
        out[c] = []
    for r in classify(engine):
        key = order.setdefault(norm(r.category), r.category)
        out.setdefault(key, []).append(r)
    for rows in out.values():
        for i, r in enumerate(rows, 1):
            r.category_position = i
    return {k: v for k, v in out.items() if v}


def aggregate_kids(first: Engine, second: Engine) -> list[dict[str, Any]]:
    """CC-KIDS: most laps then least time over both endurances (`service.seasons.cc.kids_aggregate`
    on each engine's rows, times in exact microseconds)."""

    return kids_aggregate(
        [
            [
                {
                    "number": r.number,
                    "name": r.name,
                    "category": r.category,
                    "status": r.status,
                    "laps": r.laps,
                    "total_time_us": r.total_time_us,
                }
                for r in classify(engine)
            ]
            for engine in (first, second)
        ]
    )
