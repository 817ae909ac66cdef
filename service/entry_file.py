"""An entry-list file as clubs send it, read into rows of text cells with their line numbers.

CSV/TSV text in UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode text") or Windows-1252,
detected and never mangled; separator `;`, `,` or tab, detected; or an `.xlsx` workbook (openpyxl,
read-only: memory stays flat however big the sheet). Anything else (an old `.xls`, an `.ods`, an
image, random bytes, a zip bomb) is refused with a coded error, never a crash. Pure: no I/O but the
bytes given.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import logging
import re
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass, field

from service.errors import Invalid, TooLarge

log = logging.getLogger("boucle.entries")

MAX_ROWS = 100_000  # rows read from one file, blank ones included (an entry list has a few hundred)
MAX_COLUMNS = 100  # columns read; cells further right are ignored
XLSX_MAX_UNZIPPED = 40 * 1024 * 1024  # bytes: a 20,000-row entry list unpacks to about 10 MB
XLSX_MAX_PARTS = 2_000
MAX_FIELD = csv.field_size_limit()  # characters in one CSV field (Python's csv refuses more)

# names the crew may ask for (`?encoding=`), as Python codecs; what detection answers is one of them
ENCODINGS = {
    "utf-8": "utf-8",
    "utf-8-sig": "utf-8-sig",
    "utf-16": "utf-16",
    "windows-1252": "cp1252",
    "iso-8859-1": "latin-1",
    "iso-8859-15": "iso8859-15",
    "mac-roman": "mac-roman",
}
SEPARATORS = {";": ";", ",": ",", "tab": "\t", "\t": "\t", "|": "|"}
SEPARATOR_NAMES = {";": ";", ",": ",", "\t": "tab", "|": "|"}
_DETECTED = ("\t", ";", ",")  # ties go to the one least likely inside a name or a weight

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 .xls, or a password-protected .xlsx
_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\s+ref=\"([A-Z]{1,3})(\d{1,7}):([A-Z]{1,3})(\d{1,7})\"")


@dataclass
class Table:
    """What a file holds: rows of stripped text cells, each with its line (CSV) or row (xlsx) number."""

    format: str  # "csv" | "xlsx"
    rows: list[tuple[int, list[str]]]
    encoding: str | None = None
    separator: str | None = None  # ";" | "," | "tab" | "|"
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)


def read_table(
    raw: bytes, encoding: str | None = None, separator: str | None = None, sheet: str | None = None
) -> Table:
    """Sniff the bytes (an xlsx is a zip) and read them; `encoding`/`separator` override detection."""
    if raw.startswith(_ZIP):
        return read_xlsx(raw, sheet)
    if raw.startswith(_OLE):
        raise Invalid("entries.xls")
    text, enc = decode(raw, encoding)
    if "\x00" in text:
        raise Invalid("entries.binary")
    return read_csv(text, enc, separator)


# -- text -----------------------------------------------------------------------------------------
def decode(raw: bytes, asked: str | None = None) -> tuple[str, str]:
    """The text and the name of its encoding: a BOM, else strict UTF-8, else Windows-1252."""
    if asked:
        name = asked.strip().lower().replace("_", "-").replace("cp1252", "windows-1252")
        if name not in ENCODINGS:
            raise Invalid("entries.bad_encoding", encoding=asked[:40], known=", ".join(ENCODINGS))
        return _strict(raw, ENCODINGS[name]).removeprefix("\ufeff"), name
    if raw.startswith(codecs.BOM_UTF8):
        return _strict(raw[3:], "utf-8"), "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(raw, "utf-16").removeprefix("\ufeff"), "utf-16"
    sample = raw[:4096]
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) * 0.4 and not sample[0::2].count(0):
        return _strict(raw, "utf-16-le"), "utf-16"  # Excel "Unicode text" that lost its BOM
    if len(sample) >= 4 and sample[0::2].count(0) > len(sample) * 0.4 and not sample[1::2].count(0):
        return _strict(raw, "utf-16-be"), "utf-16"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:  # the 5 bytes Windows-1252 leaves undefined: not a text a club wrote
        return raw.decode("latin-1"), "iso-8859-1"


def _strict(raw: bytes, codec: str) -> str:
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as exc:
        raise Invalid("entries.wrong_encoding", encoding=codec, position=exc.start) from None


def detect_separator(text: str) -> str:
    """The separator that splits most of the first lines into the same number (> 1) of cells."""
    sample = "\n".join(line for line in text.splitlines()[:60] if line.strip())
    best, best_score = ",", (0, 0)
    for sep in _DETECTED:
        try:
            counts = Counter(len(r) for r in csv.reader(io.StringIO(sample), delimiter=sep) if len(r) > 1)
        except csv.Error:  # a huge field in the sample: judged on the whole file later
            continue
        if counts:
            width, rows = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
            if (rows, width) > best_score:
                best, best_score = sep, (rows, width)
    return best


def read_csv(text: str, encoding: str, separator: str | None = None) -> Table:
    if separator:
        sep = SEPARATORS.get(separator if separator == "\t" else separator.strip().lower())
        if sep is None:
            raise Invalid("entries.bad_separator", separator=separator[:10])
    else:
        sep = detect_separator(text)
    rows: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    line = 1  # where the next record starts (a quoted field may span lines)
    try:
        for cells in reader:
            if len(rows) >= MAX_ROWS:
                raise TooLarge("entries.too_many_rows", max=MAX_ROWS)
            rows.append((line, [c.strip() for c in cells[:MAX_COLUMNS]]))
            line = reader.line_num + 1
    except csv.Error as exc:
        if "field larger" in str(exc):
            raise Invalid("entries.field_too_big", line=line, max=MAX_FIELD) from None
        raise Invalid("entries.csv_error", line=line, reason=str(exc)) from None
    return Table("csv", rows, encoding=encoding, separator=SEPARATOR_NAMES[sep])


# -- xlsx -----------------------------------------------------------------------------------------
def read_xlsx(raw: bytes, sheet: str | None = None) -> Table:
    """The asked sheet, else the active one, else the first with something in it."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        parts = archive.infolist()
        names = {p.filename for p in parts}
        ods = "mimetype" in names and b"opendocument" in archive.read("mimetype")[:100]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise Invalid("entries.xlsx_unreadable", reason=type(exc).__name__) from None
    if ods:
        raise Invalid("entries.ods")
    if "xl/workbook.xml" not in names:
        raise Invalid("entries.xlsx_unreadable", reason="no xl/workbook.xml")
    if len(parts) > XLSX_MAX_PARTS or sum(p.file_size for p in parts) > XLSX_MAX_UNZIPPED:
        # zipfile never inflates a part past its declared size, so this bounds a zip bomb
        raise TooLarge("entries.xlsx_too_big", max_mb=XLSX_MAX_UNZIPPED // 2**20)
    import openpyxl  # noqa: PLC0415 - loaded only when a workbook comes (0.2 s of imports)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "unknown extension", "data validation not supported"...
            book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
            sheets = list(book.sheetnames)
            if sheet is not None and sheet not in sheets:
                raise Invalid("entries.no_sheet", sheet=sheet[:100], sheets=", ".join(sheets))
            order = [sheet] if sheet is not None else _sheet_order(book, sheets)
            name: str | None = order[0] if order else None
            rows: list[tuple[int, list[str]]] = []
            for name in order:
                ws = book[name]
                if not hasattr(ws, "iter_rows"):
                    continue  # a chart sheet
                rows = _sheet_rows(ws)
                if rows:
                    break
            book.close()
    except (Invalid, TooLarge):
        raise
    except Exception as exc:  # noqa: BLE001 - any file at all may come: a damaged workbook is a 400
        log.info("xlsx refused: %r", exc)
        raise Invalid("entries.xlsx_unreadable", reason=type(exc).__name__) from None
    return Table("xlsx", rows, sheet=name, sheets=sheets)


def _sheet_order(book, sheets: list[str]) -> list[str]:
    active = getattr(book.active, "title", None)
    return ([active] if active in sheets else []) + [s for s in sheets if s != active]


def _sheet_rows(ws) -> list[tuple[int, list[str]]]:
    ws.reset_dimensions()  # never trust the sheet's declared size (A1:XFD1048576 would be 17 G cells)
    rows: list[tuple[int, list[str]]] = []
    for number, values in enumerate(ws.iter_rows(max_col=MAX_COLUMNS, values_only=True), 1):
        if number > MAX_ROWS:
            raise TooLarge("entries.too_many_rows", max=MAX_ROWS)
        cells = [cell_text(v) for v in values]
        while cells and not cells[-1]:
            cells.pop()
        rows.append((number, cells))
    _fill_merged(ws, rows)
    return rows if any(cells for _, cells in rows) else []


def _fill_merged(ws, rows: list[tuple[int, list[str]]]) -> None:
    """A merged cell (a car number over its drivers' rows) counts for every row and column it spans."""
    try:
        with ws._get_source() as src:  # noqa: SLF001 - read-only sheets do not parse merges
            ranges = _MERGE.findall(src.read(XLSX_MAX_UNZIPPED))
    except (AttributeError, OSError, KeyError):
        return
    for c1, r1, c2, r2 in ranges[:10_000]:
        top, left = int(r1), _column(c1)
        bottom, right = min(int(r2), len(rows)), min(_column(c2), MAX_COLUMNS)
        if not 1 <= top <= len(rows) or left > MAX_COLUMNS:
            continue
        first = rows[top - 1][1]
        value = first[left - 1] if left <= len(first) else ""
        for r in range(top, bottom + 1):
            cells = rows[r - 1][1]
            for c in range(left, right + 1):
                if (c, r) != (left, top):
                    cells.extend([""] * (c - len(cells)))
                    cells[c - 1] = cells[c - 1] or value


def _column(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def cell_text(value: object) -> str:
    """A cell as the crew reads it: 7.0 -> "7", 68.5 -> "68.5", a date as 2024-05-12."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return format(value, ".12g")
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()
