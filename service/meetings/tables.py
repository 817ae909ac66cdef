"""Ranking documents as columns and rows: one shape for every meeting format, so the API and the
printed pages render any meeting's ranking the same way (`Meeting.ranking(doc)`). Each format
builds its own (`autocross.py`: `ax_ranking`, `karting.py`: `ka_ranking`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple


class Ranking(NamedTuple):
    """One ranking: table headers, printable rows, and the JSON rows of the API."""

    columns: list[str]
    rows: list[tuple]
    json: list[dict[str, Any]]


def entry_names(entries: Mapping[str, dict[str, Any]]) -> dict[str, str]:
    """Each car number's driver name ("" when the entry has none): the rankings' `Driver` column."""
    return {n: str(e.get("name") or "") for n, e in entries.items()}
