"""Entry lists as the timing crew brings them: JSON (a list or one object) or CSV, checked into
typed `entry` lines before anything is logged (a clear domain error for the first bad row).

CSV columns: number,name,transponder,category,drivers (drivers `id:name:kg|id:name:kg`), and
optionally wave, division, grid. A BOM is ignored. Pure: the route reads the body and calls
`entry_lines` off the event loop.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

from service import limits
from service.engine.events import Line, parse_lines
from service.errors import Conflict, Invalid, TooLarge


def parse_entries_csv(text: str) -> list[dict[str, Any]]:
    """CSV: number,name,transponder,category,drivers (drivers `id:name:kg|id:name:kg`)."""
    entries = []
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        fields, raws = reader.fieldnames, list(reader)
    except csv.Error as exc:  # a field over csv's size limit (128 KB), a NUL...: the file's fault
        raise Invalid("import.csv_unreadable", error=str(exc)) from None
    if not fields or "number" not in [f.strip().lower() for f in fields]:
        raise Invalid("CSV needs a header line with at least: number,name,transponder,category,drivers")
    for i, raw in enumerate(raws, 2):
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if isinstance(k, str)}  # extra cells: None
        if not row.get("number"):
            raise Invalid(f"CSV line {i}: empty number")
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
                    raise Invalid(f"CSV line {i}: driver weight {bits[2]!r} is not a number") from exc
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
        raise Invalid("each entry must be a JSON object with a 'number'")
    return {**obj, "type": "entry"}


def entry_lines(raw: bytes, csv_text: bool) -> list[Line]:
    """An entry list (JSON list or object, or CSV) as typed lines; a clear 4xx for anything wrong."""
    if csv_text:
        items = parse_entries_csv(raw.decode("utf-8", errors="replace"))
    else:
        body = limits.parse_json(raw)
        items = [validate_entry(e) for e in (body if isinstance(body, list) else [body])]
    if len(items) > limits.MAX_ENTRIES:
        raise TooLarge(f"at most {limits.MAX_ENTRIES} entries per request")
    return parse_lines(items)


def check_entry_list(lines: Iterable[Any], counting: Mapping[str, Any], replace: bool = False) -> None:
    """Refuse an entry list (typed lines or JSON objects) that gives a number or a transponder
    twice, or a transponder that counts for another car already (`counting`: transponder -> car),
    unless `replace`."""
    numbers: dict[str, int] = {}
    owners: dict[str, list[str]] = {}
    for line in lines:
        get = line.get if isinstance(line, dict) else lambda k, x=line: getattr(x, k, None)
        number, tr = str(get("number") or "").strip(), str(get("transponder") or "").strip()
        numbers[number] = numbers.get(number, 0) + 1
        if tr:
            owners.setdefault(tr, []).append(number)
    twice = [n for n, k in numbers.items() if k > 1]
    if twice:
        raise Invalid("entries.number_twice", numbers=", ".join(twice[:10]))
    shared = [f"{tr} ({', '.join(ns)})" for tr, ns in owners.items() if len(ns) > 1]
    if shared:
        raise Invalid("entries.transponder_twice", transponders="; ".join(shared[:10]))
    if replace:
        return
    taken = [(tr, ns[0], counting[tr].number) for tr, ns in owners.items()
             if tr in counting and counting[tr].number != ns[0]]  # fmt: skip
    if taken:
        raise Conflict("entries.transponder_taken", clashes="; ".join(f"{tr}: {n} / {o}" for tr, n, o in taken[:10]))
