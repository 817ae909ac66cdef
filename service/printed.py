"""Words and numbers of printed and exported documents (result PDF and CSVs, meeting sheets, standings),
in the reader's language: times as `m:ss.mmm` / `h:mm:ss.mmm`, gaps and penalties with their plurals,
dates as the language writes them, the meeting's date, place and organiser, CSV files a spreadsheet of
that language opens as numbers (French: `;` and decimal commas; both with a BOM).

Pure: values in, text out. The words are the catalogues' (service/i18n.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from service.i18n import number as i18n_number
from service.i18n import print_text, say, word
from service.spreadsheet import write_csv
from service.timeutil import fmt_duration, s_to_us

CSV_SEP = {"fr": ";", "en": ","}  # what each language's spreadsheets split a line on
CSV_DECIMAL = {"fr": "comma", "en": "point"}


def race_time(us: int | None) -> str:
    """A time as printed: `4:55.996`, `1:02:05.100`, `59.123` ("" when there is none)."""
    return "" if us is None else fmt_duration(us)


def seconds_time(s: float | None) -> str:
    """`race_time` of a time in seconds (the results JSON's `total_time_s`, `best_lap_s`...)."""
    return "" if s is None or s == "" else race_time(s_to_us(float(s)))


_LAP_GAP = re.compile(r"^\+(\d+) laps?$")
_TIME_GAP = re.compile(r"^\+(\d+(?:\.\d+)?)$")


def gap_text(lang: str, gap: Any) -> str:
    """The classification's gap ("+1 lap", "+2 laps", "+75.300") as printed: "+1 tour", "+1:15.300"."""
    g = "" if gap is None else str(gap)
    if m := _LAP_GAP.match(g):
        return print_text(lang, "+{n} laps", n=int(m.group(1)))
    if m := _TIME_GAP.match(g):
        return "+" + seconds_time(float(m.group(1)))
    return g


def gap_seconds(gap: Any) -> float | None:
    """A time gap as a number of seconds (None for a lap gap or none): what a spreadsheet adds up."""
    m = _TIME_GAP.match("" if gap is None else str(gap))
    return float(m.group(1)) if m else None


_PENALTY = (  # the labels of service/engine/classify.py `_penalty_summary`
    (re.compile(r"^-(\d+) laps? (\S+)$"), "pen.laps_rule", int),
    (re.compile(r"^\+([\d.]+) s best lap (\S+)$"), "pen.best_rule", str),
    (re.compile(r"^\+([\d.]+) s (\S+)$"), "pen.seconds_rule", str),
    (re.compile(r"^DSQ (\S+)$"), "pen.dsq_rule", None),
    (re.compile(r"^\? (\S+) \(proposed\)$"), "pen.investigation", None),
)


def penalty_text(lang: str, label: str) -> str:
    """A classification penalty label ("-1 lap LM-STOPS", "+10 s AX-JUMP") in `lang`, one sign, the
    right plural ("-1 tour LM-STOPS", "-2 tours ...")."""
    for pattern, key, kind in _PENALTY:
        if m := pattern.match(label):
            if kind is None:
                return word(lang, key).format(rule=m.group(1))
            n = kind(m.group(1))
            return word(lang, key, n=n).format(n=n, rule=m.group(2))
    return label


def penalty_amounts(lang: str, laps: int, seconds: float) -> str:
    """A row's penalty totals: "-1 tour, +10 s" (one sign, the right plural; "" when none)."""
    parts = []
    if laps:
        parts.append(word(lang, "pen.laps", n=laps).format(n=laps))
    if seconds:
        parts.append(word(lang, "pen.seconds").format(n=number(lang, seconds)))
    return ", ".join(parts)


def number(lang: str, value: float | int | None, places: int | None = None) -> str:
    """A number as `lang` writes it ("2,5" in French; service.i18n.number); `places`: fixed decimals."""
    if value is None or value == "":
        return ""
    if places is None:
        return i18n_number(lang, value)
    s = f"{float(value):.{places}f}"
    return s.replace(".", ",") if lang == "fr" else s


def date_text(lang: str, iso: Any) -> str:
    """An ISO date or date-time as `lang` writes it: "12/05/2026 14:30" / "2026-05-12 14:30"."""
    if not iso:
        return ""
    try:
        d = datetime.fromisoformat(str(iso))
    except ValueError:
        return str(iso)
    has_time = "T" in str(iso) or " " in str(iso).strip()
    if lang == "fr":
        return d.strftime("%d/%m/%Y %H:%M" if has_time else "%d/%m/%Y")
    return d.strftime("%Y-%m-%d %H:%M" if has_time else "%Y-%m-%d")


def meeting_line(lang: str, info: Mapping[str, Any] | None) -> str:
    """The meeting on every sheet: "12/05/2026 · Circuit des Ajoncs · ASA Bretagne" (what it has)."""
    info = info or {}
    parts = [
        date_text(lang, info.get("date")),
        str(info.get("place") or ""),
        str(info.get("organiser") or ""),
    ]
    return " · ".join(p for p in parts if p)


def status_word(lang: str, status: str) -> str:
    """A document status (draft, signed, provisional, final) in `lang`: "provisoire", "officiel"."""
    return print_text(lang, status)


def evidence_text(lang: str, penalty: Mapping[str, Any]) -> str:
    """A penalty's evidence as race control reads it: said from its code when it has one, else as
    typed (a note is never translated)."""
    said = penalty.get("evidence_said")
    return say(lang, said) if said else str(penalty.get("evidence") or "")


class Num(float):
    """A number in a CSV cell: written with the file's decimal mark (`csv_text`)."""


def csv_text(
    lang: str,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    sep: str | None = None,
    decimal: str | None = None,
    places: int = 3,
) -> str:
    """A CSV a spreadsheet of `lang` opens without a wizard: UTF-8 BOM, CRLF, `;` and decimal commas
    for French, `,` and points for English (`sep`: "semicolon"/"comma", `decimal`: "comma"/"point"
    override). `Num` cells get the decimal mark; every cell goes through the one CSV writer
    (service/spreadsheet.py: no formula, no control character)."""
    delim = {"semicolon": ";", "comma": ","}.get(sep or "", CSV_SEP.get(lang, ","))
    comma = (decimal or CSV_DECIMAL.get(lang, "point")) == "comma"
    cells = ([_num(v, places, comma) if isinstance(v, Num) else v for v in row] for row in rows)
    return write_csv(header, cells, delimiter=delim, bom=True)


def _num(v: float, places: int, comma: bool) -> str:
    s = f"{float(v):.{places}f}" if places else f"{float(v):g}"
    return s.replace(".", ",") if comma else s
