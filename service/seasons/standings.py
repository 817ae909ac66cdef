"""Season standings: score every event with the championship's rule object, then rank (pure)."""

from __future__ import annotations

from typing import Any

from .loader import Fetch, parse_season, resolve_events
from .model import Score, SeasonError, build_standings


def standings(obj: Any, fetch: Fetch) -> dict[str, Any]:
    """The standings JSON: `{"championship", "name", "rule", "events", "categories": {table: rows}}`."""
    champ, name, specs = parse_season(obj)
    events = resolve_events(champ, specs, fetch)
    per_event: list[list[Score]] = []
    for i, ev in enumerate(events):
        try:
            per_event.append(champ.score(ev, i, len(events), per_event))
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            if isinstance(exc, SeasonError):
                raise
            raise SeasonError(
                "season.malformed", event=ev.name, error=f"{type(exc).__name__}: {exc}"
            ) from exc
    tables = build_standings(per_event, champ.table_order(), champ.eligible)
    champ.finish(tables)
    names = [ev.name for ev in events]
    return {
        "championship": champ.name,
        "name": name,
        "rule": champ.rule_id,
        "events": names,
        "categories": {t: [st.public(names) for st in rows] for t, rows in tables.items()},
    }
