"""Standings out: one flat table per category for CSV, the terminal and the printable sheet
(self-contained HTML, inline CSS, no script), in French or English (`lang`). Words come from the web
catalogues (service/i18n.py); the CSV is what a spreadsheet of that language opens as numbers
(service/printed.py: BOM, `;` and decimal commas in French)."""

from __future__ import annotations

from html import escape
from typing import Any

from service.i18n import LANGS
from service.i18n import print_text as tr
from service.meetings.html import CSS, table
from service.printed import Num, number
from service.printed import csv_text as csv_file

# The English words of the sheet; web/i18n/LANG.json `_print` translates them (service/i18n.py). The
# standings print "Pos" and "DSQ" in French where the meeting pages print "Pos." and "DISQ".
ENGLISH = {
    "pos": "Pos (standings)",
    "no": "No",
    "team": "Team / rider",
    "points": "Points",
    "events": "Events",
    "eligible": "Minimum",
    "bursary": "Bursary (EUR)",
    "yes": "yes",
    "no_": "no",
    "title": "Standings",
    "after": "after",
    "dsq": "DSQ (standings)",
    "dns": "DNS",
    "category": "Category",
}


def labels(lang: str) -> dict[str, str]:
    """The sheet's words in `lang` (English for a language we do not have)."""
    return {k: tr(lang if lang in LANGS else "en", text) for k, text in ENGLISH.items()}


def _event_cell(e: dict[str, Any] | None, lab: dict[str, str], lang: str) -> str:
    if e is None:
        return "-"
    cell = number(lang, e["points"])
    if e.get("status") in ("dsq", "dns") and not e["points"]:
        cell = lab[e["status"]]
    marks = "".join(m for k, m in (("pole", "P"), ("fastest_lap", "F"), ("sprint", "S")) if e.get(k))
    return f"{cell} {marks}" if marks else cell


def flat_rows(result: dict[str, Any], lang: str = "fr") -> tuple[list[str], dict[str, list[tuple]]]:
    """(headers, {category: rows}) shared by the sheet and the terminal."""
    lab = labels(lang)
    headers = [lab["pos"], lab["no"], lab["team"], lab["points"], *result["events"], lab["events"]]
    bursary = result.get("rule") == "LM-POINTS"
    if bursary:
        headers += [lab["eligible"], lab["bursary"]]
    out: dict[str, list[tuple]] = {}
    for cat, rows in result["categories"].items():
        lines = []
        for r in rows:
            line = [
                r["position"],
                r["number"],
                r["team"],
                number(lang, r["points"]),
                *(_event_cell(e, lab, lang) for e in r["per_event"]),
                r["events"],
            ]
            if bursary:
                line += [
                    lab["yes"] if r["eligible"] else lab["no_"],
                    number(lang, r["bursary_eur"] or None, 2),
                ]
            lines.append(tuple(line))
        out[cat] = lines
    return headers, out


def csv_text(result: dict[str, Any], lang: str = "en") -> str:
    """One line per competitor and category; per-event points in one column per event. Headers and
    yes/no in `lang`; points and bursary are numbers with the language's decimal mark."""
    lab = labels(lang)
    header = [
        lab["category"],
        lab["pos"],
        lab["team"],
        lab["no"],
        lab["points"],
        lab["events"],
        lab["eligible"],
        lab["bursary"],
        *result["events"],
    ]
    rows = [
        [
            cat,
            r["position"],
            r["team"],
            r["number"],
            Num(r["points"]),
            r["events"],
            lab["yes"] if r["eligible"] else lab["no_"],
            Num(r["bursary_eur"]),
            *(None if e is None else Num(e["points"]) for e in r["per_event"]),
        ]
        for cat, rows_ in result["categories"].items()
        for r in rows_
    ]
    return csv_file(lang, header, rows, places=0)


def text_table(result: dict[str, Any], lang: str = "fr") -> str:
    headers, cats = flat_rows(result, lang)
    out = [f"{result['name']} ({result['championship']}, {result['rule']})"]
    for cat, rows in cats.items():
        cells = [tuple(str(c) for c in headers)] + [tuple(str(c) for c in r) for r in rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
        out.append(f"\n{cat}")
        out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(out) + "\n"


def html_sheet(result: dict[str, Any], lang: str = "fr") -> str:
    """The printable standings sheet, one table per category."""
    lab = labels(lang)
    headers, cats = flat_rows(result, lang)
    numeric = (0, 3, len(headers) - (3 if result.get("rule") == "LM-POINTS" else 1))
    body = "".join(f"<h2>{escape(cat)}</h2>{table(headers, rows, numeric)}" for cat, rows in cats.items())
    after = f"{lab['after']} {escape(result['events'][-1])}" if result["events"] else ""
    note = (
        f"<p><small>P = {tr(lang, 'pole')}, F = {tr(lang, 'fastest lap')}, "
        f"S = {tr(lang, 'sprint test')}</small></p>"
    )
    return (
        f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
        f"<title>{escape(lab['title'])} - {escape(result['name'])}</title><style>{CSS}</style></head>"
        f"<body><h1>{escape(lab['title'])} {escape(result['name'])}</h1><h2>{escape(result['championship'])}"
        f" ({escape(result['rule'])}) {after}</h2>{body}{note}</body></html>\n"
    )
