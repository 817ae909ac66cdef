"""CSV for spreadsheets, the one writer every CSV the service hands out goes through.

A cell a spreadsheet would read as a formula (`=HYPERLINK(...)`, `+cmd|...`, `-2+3`, `@SUM`, or a
tab / carriage return in front of one) is written as text: prefixed with `'` (OWASP's CSV
injection advice). Numbers stay numbers: an int or float cell, and a text that is only a number
(`-1.234`, `+12,5`, `-1:02.345`), are written as they are, so a negative gap still sorts and sums.
Control characters (C0, DEL, C1) and bidirectional overrides (which make `exe.txt` show as
`txt.exe`) are stripped from every text cell.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# C0 controls (tab and line breaks included: a cell is one line), DEL, C1, and the Unicode
# bidirectional embeddings, overrides, isolates and marks
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")
# what spreadsheets read as a plain number or duration: sign, digits, one decimal mark, h:mm:ss
_NUMBER = re.compile(r"[+-]?\d+(?::\d{1,2})*(?:[.,]\d+)?")


def cell(value: Any) -> Any:
    """A value as it may go into a CSV cell: numbers untouched, text cleaned and never a formula."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        value = str(value)
    if not isinstance(value, str):
        return value
    text = _CONTROL.sub("", value)
    if (value.startswith(FORMULA_START) or text.startswith(FORMULA_START)) and not _NUMBER.fullmatch(text):
        return "'" + text  # (a formula may also hide behind a control character)
    return text


def write_csv(
    header: Iterable[Any],
    rows: Iterable[Iterable[Any]],
    *,
    delimiter: str = ",",
    bom: bool = False,
    lineterminator: str = "\r\n",
) -> str:
    """The CSV text of a header and rows, every cell through `cell`."""
    out = io.StringIO()
    w = csv.writer(out, delimiter=delimiter, lineterminator=lineterminator)
    w.writerow([cell(v) for v in header])
    w.writerows([cell(v) for v in row] for row in rows)
    return ("\ufeff" if bom else "") + out.getvalue()
