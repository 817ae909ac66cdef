"""Entry lists as the timing crew brings them: JSON (a list or one object), or a club's file (CSV/TSV
or .xlsx, service/entry_file.py) with its columns mapped (service/entry_columns.py). Every row is
checked into a typed `entry` line before anything is logged; a row that cannot be read is named by
its line number and a coded reason, and the list is imported whole or not at all.

Drivers: separate `Nom`/`Prénom` columns make the driver's name (`Éloïse LEFÈVRE`, as written);
an endurance car's drivers come as numbered columns (`Pilote 1`, `Nom pilote 2`, `Poids 2`...) or as
one row per driver with the same number (a merged number cell in a workbook counts for each row),
or packed in a `drivers` column (`id:name:kg|id:name:kg`). The entry's name is its `name` column,
else its team when it has several drivers, else its drivers' names. Pure: the route reads the body
and calls `import_lines` / `preview` off the event loop.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from service import limits
from service.engine.events import Line, LineError, parse_line, parse_lines
from service.entry_columns import (
    DRIVER_FIELDS,
    ENTRY_FIELDS,
    FIELDS,
    MAX_SLOT,
    Column,
    apply_mapping,
    auto_columns,
    find_header,
    parse_mapping,
)
from service.entry_file import Table, read_table
from service.errors import Conflict, Invalid, TooLarge
from service.i18n import Coded, error_text, json_params
from service.text import fold

MAX_TEXT = 500  # characters of a text field (the entry line's limit)
MAX_IDENT = 64  # characters of a number or a transponder
PREVIEW_MAX = 1_000  # entries and problems a preview lists (the count says how many in all)
_WEIGHT = re.compile(r"^(\d{1,3}(?:[.,]\d+)?)\s*(?:kgs?)?$", re.IGNORECASE)
_EXTRAS = ("team", "vehicle", "licence", "club", "nationality")  # kept on the entry line as extra fields


@dataclass
class Options:
    """How to read a file, as the crew chose (query parameters); None: detected."""

    mapping: dict[str, object] = field(default_factory=dict)
    encoding: str | None = None
    separator: str | None = None
    header: int | None = None  # line of the header row; 0: the file has none
    sheet: str | None = None
    skip: frozenset[int] = frozenset()  # lines left out (a footer, a row the crew will fix later)

    @classmethod
    def from_query(cls, q: Mapping[str, str]) -> Options:
        return cls(
            parse_mapping(q.get("mapping")),
            q.get("encoding") or None,
            q.get("separator") or None,
            _line_number(q.get("header"), "header"),
            q.get("sheet") or None,
            frozenset(_line_number(x, "skip") for x in (q.get("skip") or "").split(",") if x.strip()),
        )


def _line_number(text: str | None, param: str) -> Any:
    if text is None or text == "":
        return None
    if not text.strip().isdigit() or len(text.strip()) > 7:
        raise Invalid("entries.bad_line_param", param=param, value=text[:20])
    return int(text)


@dataclass
class Problem:
    """A row that cannot be read (an error) or a remark on one (a note): a catalogue code and params."""

    code: str
    params: dict[str, Any]

    def describe(self, lang: str) -> dict[str, Any]:
        return {
            "line": self.params.get("line"),
            "code": self.code,
            "params": json_params(self.params),
            "detail": error_text(lang, self.code, self.params),
        }


@dataclass
class Reading:
    """A file read as entries: what was detected, the columns, the entries and the problems."""

    table: Table | None
    columns: list[Column] = field(default_factory=list)
    header_line: int | None = None
    rows: int = 0
    entries: list[dict[str, Any]] = field(
        default_factory=list
    )  # a file's entries, each with its first "line"
    typed: list[Line] = field(default_factory=list)  # the same as typed lines
    errors: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)

    def lines(self) -> list[Line]:
        """The typed entry lines, or the first error (its line, code and how many errors in all)."""
        if self.errors:
            first = self.errors[0]
            raise Invalid(first.code, **first.params, count=len(self.errors))
        if len(self.typed) > limits.MAX_ENTRIES:
            raise TooLarge("entries.too_many", max=limits.MAX_ENTRIES)
        return self.typed

    def describe(self, lang: str) -> dict[str, Any]:
        t = self.table
        return {
            "ok": not self.errors,
            "format": t.format if t else "json",
            "encoding": t.encoding if t else None,
            "separator": t.separator if t else None,
            "sheet": t.sheet if t else None,
            "sheets": t.sheets if t else [],
            "header_line": self.header_line,
            "columns": [c.describe() for c in self.columns],
            "fields": list(FIELDS),
            "driver_fields": list(DRIVER_FIELDS),
            "max_drivers": MAX_SLOT,
            "rows": self.rows,
            "count": len(self.typed),
            "entries": self.entries[:PREVIEW_MAX] or [ln.to_dict() for ln in self.typed[:PREVIEW_MAX]],
            "errors": [p.describe(lang) for p in self.errors[:PREVIEW_MAX]],
            "error_count": len(self.errors),
            "notes": [p.describe(lang) for p in self.notes[:PREVIEW_MAX]],
        }


# -- the two doors --------------------------------------------------------------------------------
def is_json(content_type: str, raw: bytes) -> bool:
    """JSON when said so, or when nothing is said and the body looks like it; any other body is a file."""
    ctype = content_type.split(";")[0].strip().lower()
    if ctype:
        return "json" in ctype
    return raw.lstrip()[:1] in (b"[", b"{")


def read_entries(raw: bytes, content_type: str, query: Mapping[str, str]) -> Reading:
    """An entry list, JSON or a file, read as entries with every problem found (nothing logged)."""
    if is_json(content_type, raw):
        body = limits.parse_json(raw)
        items = body if isinstance(body, list) else [body]
        if len(items) > limits.MAX_ENTRIES:
            raise TooLarge("entries.too_many", max=limits.MAX_ENTRIES)
        for item in items:
            if not isinstance(item, dict):
                raise Invalid("entries.not_object")
        return Reading(None, rows=len(items), typed=parse_lines([{**e, "type": "entry"} for e in items]))
    opts = Options.from_query(query)
    return read_file(read_table(raw, opts.encoding, opts.separator, opts.sheet), opts)


def import_lines(raw: bytes, content_type: str, query: Mapping[str, str]) -> list[Line]:
    """What `POST .../entries` logs: every entry as a typed line, or a coded 4xx naming the first bad row."""
    return read_entries(raw, content_type, query).lines()


# -- a file's rows as entries ---------------------------------------------------------------------
def read_file(table: Table, opts: Options) -> Reading:
    at = find_header(table.rows, opts.header)
    if at is None:
        raise Invalid("entries.empty")
    headers = table.rows[at][1] if at >= 0 else []
    width = max([len(headers), *(len(cells) for _, cells in table.rows[at + 1 :])])
    cols = apply_mapping(auto_columns(headers + [""] * (width - len(headers))), opts.mapping)
    for c in cols:  # what the crew sees beside each column to choose its field
        c.sample = next(
            (
                cells[c.index - 1]
                for _, cells in table.rows[at + 1 : at + 50]
                if c.index <= len(cells) and cells[c.index - 1]
            ),
            "",
        )[:60]
    reading = Reading(table, cols, table.rows[at][0] if at >= 0 else None)
    if not any(c.name == "number" for c in cols):
        reading.errors.append(
            Problem(
                "entries.no_number_column",
                {"line": reading.header_line, "columns": ", ".join(c.header or str(c.index) for c in cols)},
            )
        )
        return reading
    # a CSV row longer than its header: a decimal comma left unquoted (a workbook's cells cannot split)
    builder = _Builder(reading, len(headers) if table.format == "csv" else 0)
    builder.read([r for r in table.rows[at + 1 :] if r[0] not in opts.skip])
    if not reading.entries and not reading.errors:
        reading.errors.append(Problem("entries.no_rows", {"line": reading.header_line}))
    return reading


@dataclass
class _Row:
    line: int
    number: str
    entry: dict[str, str]  # entry fields read on this row
    drivers: list[dict[str, Any]]  # {"name", "weight_kg", "licence", "club", "nationality"}
    packed: list[dict[str, Any]]  # from a `drivers` column


@dataclass
class _Car:
    line: int
    fields: dict[str, tuple[str, int]] = field(default_factory=dict)  # field -> (value, line)
    drivers: list[dict[str, Any]] = field(default_factory=list)
    packed: list[dict[str, Any]] = field(default_factory=list)


class _Builder:
    def __init__(self, reading: Reading, header_width: int) -> None:
        self.r = reading
        self.cols = [c for c in reading.columns if c.name]
        self.header = {(c.name, c.slot): c.header or f"#{c.index}" for c in self.cols}
        self.unheaded = (
            [c.index for c in reading.columns if not c.name and c.index > header_width]
            if header_width
            else []
        )

    def error(self, code: str, **params: Any) -> None:
        self.r.errors.append(Problem(code, params))

    def read(self, rows: list[tuple[int, list[str]]]) -> None:
        cars: dict[str, _Car] = {}
        for line, cells in rows:
            if not any(cells):
                continue
            self.r.rows += 1
            row = self.row(line, cells)
            if row is None:
                continue
            car = cars.get(row.number)
            if car is None:
                cars[row.number] = car = _Car(line)
            elif self.merge_conflict(car, row):
                continue
            else:
                self.r.notes.append(
                    Problem("entries.merged", {"line": line, "number": row.number, "first": car.line})
                )
            for name, value in row.entry.items():
                car.fields.setdefault(name, (value, line))
            car.drivers += row.drivers
            car.packed += row.packed
        seen: dict[str, str] = {}
        for number, car in cars.items():
            entry = self.entry(number, car)
            if entry is None:
                continue
            tr = entry.get("transponder")
            if tr and tr in seen:
                self.r.notes.append(
                    Problem(
                        "entries.same_transponder",
                        {"line": car.line, "transponder": tr, "number": number, "other": seen[tr]},
                    )
                )
            seen.setdefault(tr or "", number)
            self.r.entries.append(entry)

    def row(self, line: int, cells: list[str]) -> _Row | None:
        if any(i <= len(cells) and cells[i - 1] for i in self.unheaded):
            self.error("entries.extra_cells", line=line, cells=len(cells), columns=self.unheaded[0] - 1)
            return None
        values: dict[tuple[str, int | None], str] = {}
        for c in self.cols:
            v = cells[c.index - 1] if c.index <= len(cells) else ""
            limit = MAX_IDENT if c.name in ("number", "transponder") else MAX_TEXT
            if len(v) > limit:
                self.error("entries.too_long", line=line, column=self.header[c.name, c.slot], max=limit)
                return None
            if v:
                values[c.name, c.slot] = v
        number = values.pop(("number", None), "")
        if not number:
            if values:
                self.error("entries.no_number", line=line)
            else:  # only columns nobody reads (a footer, a remark)
                self.r.notes.append(Problem("entries.ignored_line", {"line": line}))
            return None
        entry = {name: v for (name, slot), v in values.items() if name in ENTRY_FIELDS and name != "drivers"}
        slots: dict[int, dict[str, str]] = {}
        for (name, slot), v in values.items():
            if name in DRIVER_FIELDS:
                slots.setdefault(slot or 1, {})[name] = v
        drivers = []
        for slot in sorted(slots):
            d = self.driver(line, slots[slot], slot)
            if d is None:
                return None
            drivers.append(d)
        packed = self.packed(line, values.get(("drivers", None), ""))
        return None if packed is None else _Row(line, number, entry, drivers, packed)

    def driver(self, line: int, f: dict[str, str], slot: int) -> dict[str, Any] | None:
        d: dict[str, Any] = {k: f[k] for k in ("licence", "club", "nationality") if k in f}
        name = f.get("driver") or " ".join(x for x in (f.get("first_name"), f.get("last_name")) if x)
        if name:
            d["name"] = name
        if "weight_kg" in f:
            kg = weight(f["weight_kg"])
            if kg is None:
                self.error(
                    "entries.bad_weight",
                    line=line,
                    value=f["weight_kg"],
                    column=self.header["weight_kg", slot],
                )
                return None
            d["weight_kg"] = kg
        return d

    def packed(self, line: int, text: str) -> list[dict[str, Any]] | None:
        """The documented `drivers` column: `id:name:kg|id:name:kg` (name and kg optional)."""
        out = []
        for j, part in enumerate(filter(None, (p.strip() for p in text.split("|"))), 1):
            bits = [b.strip() for b in part.split(":")]
            d: dict[str, Any] = {
                "id": bits[0] or f"d{j}",
                "name": bits[1] if len(bits) > 1 and bits[1] else bits[0],
            }
            if len(bits) > 2 and bits[2]:
                kg = weight(bits[2])
                if kg is None:
                    self.error(
                        "entries.bad_weight", line=line, value=bits[2], column=self.header["drivers", None]
                    )
                    return None
                d["weight_kg"] = kg
            out.append(d)
        return out

    def merge_conflict(self, car: _Car, row: _Row) -> bool:
        """A second row of the same number adds its driver;
        an entry field it gives differently is an error."""
        for name, value in row.entry.items():
            had = car.fields.get(name)
            if had and fold(had[0]) != fold(value):
                self.error(
                    "entries.conflict",
                    line=row.line,
                    number=row.number,
                    first=had[1],
                    column=self.header[name, None],
                    other=had[0],
                    value=value,
                )
                return True
        return False

    def entry(self, number: str, car: _Car) -> dict[str, Any] | None:
        f = {k: v for k, (v, _) in car.fields.items()}
        drivers = list(car.packed)
        used = {d["id"] for d in drivers}
        n = 0
        for d in car.drivers:
            if "name" not in d and "weight_kg" not in d:
                continue  # a licence or a club with no driver: kept on the entry below
            n += 1
            while f"d{n}" in used:
                n += 1
            drivers.append({"id": f"d{n}", **{k: d[k] for k in ("name", "weight_kg") if k in d}})
        if len(drivers) > MAX_SLOT:
            self.error("entries.too_many_drivers", line=car.line, number=number, max=MAX_SLOT)
            return None
        if len(drivers) == 1 and "name" not in drivers[0] and f.get("name"):
            drivers[0]["name"] = f["name"]
        names = [d["name"] for d in drivers if d.get("name")]
        name = (
            f.get("name")
            or (f.get("team") if len(drivers) > 1 else None)
            or " / ".join(names)
            or f.get("team", "")
        )
        entry: dict[str, Any] = {
            "type": "entry",
            "number": number,
            "name": name[:MAX_TEXT],
            "transponder": f.get("transponder", ""),
            "category": f.get("category", ""),
        }
        if drivers:
            entry["drivers"] = drivers
        for k in ("wave", "division", "grid"):
            if k in f:
                entry[k] = f[k]
        for k in _EXTRAS:
            values = [f[k]] if k in f else list(dict.fromkeys(d[k] for d in car.drivers if d.get(k)))
            if values:
                entry[k] = " / ".join(values)[:MAX_TEXT]
        try:
            self.r.typed.append(parse_line(entry))
        except LineError as exc:
            self.error("entries.row_refused", line=car.line, reason=Coded(exc.code, exc.params))
            return None
        return {"line": car.line, **entry}


def weight(text: str) -> float | None:
    """A weight in kg as a club writes it: `68,5`, `68.5`, `68,5 kg`; None if it is not one."""
    m = _WEIGHT.match(text.replace("\u202f", " ").replace("\xa0", " ").strip())
    kg = float(m.group(1).replace(",", ".")) if m else 0.0
    return kg if 0 < kg <= 500 else None


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
    taken = [
        (tr, ns[0], counting[tr].number)
        for tr, ns in owners.items()
        if tr in counting and counting[tr].number != ns[0]
    ]
    if taken:
        raise Conflict(
            "entries.transponder_taken", clashes="; ".join(f"{tr}: {n} / {o}" for tr, n, o in taken[:10])
        )
