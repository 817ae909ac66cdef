"""Entry lists as the timing crew brings them: JSON (a list or one object) or CSV, checked into
typed `entry` lines before anything is logged (a clear domain error for the first bad row).

CSV columns: number,name,transponder,category,drivers (drivers `id:name:kg|id:name:kg`), and
optionally wave, division, grid. A BOM is ignored. Pure: the route reads the body and calls
`entry_lines` off the event loop.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from service import limits
from service.engine.events import Line, parse_lines
from service.errors import Invalid, TooLarge


def parse_entries_csv(text: str) -> list[dict[str, Any]]:
    """CSV: number,name,transponder,category,drivers (drivers `id:name:kg|id:name:kg`)."""
    entries = []
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if not reader.fieldnames or "number" not in [f.strip().lower() for f in reader.fieldnames]:
        raise Invalid("entries.csv_header")
    for i, raw in enumerate(reader, 2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        if not row.get("number"):
            raise Invalid("entries.csv_no_number", line=i)
        entry: dict[str, Any] = {"type": "entry", "number": row["number"], "name": row.get("name", ""),
                                 "transponder": row.get("transponder", ""), "category": row.get("category", "")}  # fmt: skip
        drivers = []
        for j, part in enumerate(filter(None, (row.get("drivers") or "").split("|")), 1):
            bits = part.split(":")
            d: dict[str, Any] = {"id": bits[0] or f"d{j}", "name": bits[1] if len(bits) > 1 else bits[0]}
            if len(bits) > 2 and bits[2]:
                try:
                    d["weight_kg"] = float(bits[2])
                except ValueError as exc:
                    raise Invalid("entries.csv_weight", line=i, weight=bits[2]) from exc
            drivers.append(d)
        if drivers:
            entry["drivers"] = drivers
        for extra in ("wave", "division", "grid"):
            if row.get(extra):
                entry[extra] = row[extra]
        entries.append(entry)
    return entries


def validate_entry(obj: Any) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise Invalid("entries.not_object")
    return {**obj, "type": "entry"}


def entry_lines(raw: bytes, csv_text: bool) -> list[Line]:
    """An entry list (JSON list or object, or CSV) as typed lines; a clear 4xx for anything wrong."""
    if csv_text:
        items = parse_entries_csv(raw.decode("utf-8", errors="replace"))
    else:
        body = limits.parse_json(raw)
        items = [validate_entry(e) for e in (body if isinstance(body, list) else [body])]
    if len(items) > limits.MAX_ENTRIES:
        raise TooLarge("entries.too_many", limit=limits.MAX_ENTRIES)
    return parse_lines(items)
