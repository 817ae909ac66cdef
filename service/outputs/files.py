"""Result files of a session: the PDF classification, spreadsheet CSVs, the lap-by-lap chart.

Labels are English words translated by the web catalogues (service/i18n.py). The CSVs are what French
spreadsheets open without a wizard: `;` separator, UTF-8 BOM, comma decimals (options).
The PDF is drawn with fpdf2 and DejaVu Sans (Debian fonts-dejavu-core) for accents; without
that font it falls back to a core font with cp1252 text.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from service.engine import Engine
from service.i18n import print_text as tr
from service.results import RESULT_KEYS
from service.spreadsheet import write_csv
from service.timeutil import fmt_duration, s_to_us

# The English words of the documents, by column or use; web/i18n/LANG.json `_print` translates them
# (service/i18n.py), like the printed meeting pages.
ENGLISH = {
    "results": "Classification", "provisional": "Provisional classification", "position": "Pos",
    "number": "No", "name": "Name", "category": "Category", "category_position": "Cat. pos",
    "status": "Status", "laps": "Laps", "penalty_laps": "Penalty laps", "penalty_seconds": "Penalty (s)",
    "total_time_s": "Total time (s)", "total_time": "Total time", "best_lap_s": "Best lap (s)",
    "best_lap": "Best lap", "best_lap_no": "Lap no", "pit_stops": "Stops", "gap": "Gap",
    "interval": "Interval", "penalties": "Penalties", "no_penalty": "No penalty.", "id": "Ref",
    "rule": "Rule", "seconds": "Seconds", "state": "State", "evidence": "Evidence", "printed": "Printed",
    "lap": "Lap", "lap_time_s": "Lap time (s)", "race_time_s": "Race time (s)",
    "classified": "classified", "dnf": "retired", "dns": "did not start", "dsq": "disqualified",
    "not_classified": "not classified",
}  # fmt: skip
CSV_COLUMNS = RESULT_KEYS  # the results JSON of scenario.md, column for column
NUMERIC = {"penalty_seconds", "total_time_s", "best_lap_s", "lap_time_s", "race_time_s"}
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/local/share/fonts",
             "/usr/share/fonts")  # fmt: skip


def labels(lang: str) -> dict[str, str]:
    return {k: tr(lang, text) for k, text in ENGLISH.items()}


def _num(value: Any, decimal: str) -> str:
    if value is None or value == "":
        return ""
    s = f"{float(value):.3f}"
    return s.replace(".", ",") if decimal == "comma" else s


def _csv(header: list[str], rows: list[list[Any]], sep: str) -> str:
    return write_csv(header, rows, delimiter=";" if sep == "semicolon" else ",", bom=True)


def check_options(decimal: str, sep: str) -> None:
    if decimal not in ("comma", "point"):
        raise ValueError("decimal must be 'comma' or 'point'")
    if sep not in ("semicolon", "comma"):
        raise ValueError("sep must be 'semicolon' or 'comma'")


def results_csv(results: dict[str, Any], lang: str, decimal: str = "comma", sep: str = "semicolon") -> str:
    """The classification for spreadsheets: translated headers and statuses, BOM, `;`, comma decimals."""
    check_options(decimal, sep)
    lab = labels(lang)
    rows = []
    for r in results["classification"]:
        rows.append([_num(r[k], decimal) if k in NUMERIC else lab.get(r[k], r[k]) if k == "status"
                     else "" if r[k] is None else r[k] for k in CSV_COLUMNS])  # fmt: skip
    return _csv([lab[k] for k in CSV_COLUMNS], rows, sep)


def lap_rows(engine: Engine, chart: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Every lap of every car, lap by lap in crossing order: position at that lap, lap and race time."""
    out = []
    for lap, numbers in chart.items():
        n = int(lap)
        for pos, number in enumerate(numbers, 1):
            car = engine.cars[number]
            end = car.lap_ends[n - 1] - engine.start_us - car.offset_us
            out.append({"lap": n, "position": pos, "number": number, "name": car.name, "category": car.category,
                        "lap_time_s": car.lap_times[n - 1] / 1e6, "race_time_s": end / 1e6})  # fmt: skip
    return out


def laps_csv(rows: list[dict[str, Any]], lang: str, decimal: str = "comma", sep: str = "semicolon") -> str:
    check_options(decimal, sep)
    lab = labels(lang)
    cols = ["lap", "position", "number", "name", "category", "lap_time_s", "race_time_s"]
    return _csv([lab[c] for c in cols], [[_num(r[c], decimal) if c in NUMERIC else r[c] for c in cols] for r in rows], sep)


@cache
def find_font() -> Path | None:
    """DejaVu Sans wherever the system keeps it (None: use a core font); searched once, not per PDF."""
    for d in FONT_DIRS:
        base = Path(d)
        if not base.is_dir():
            continue
        direct = base / "DejaVuSans.ttf"
        if direct.is_file():
            return direct
        found = next(base.rglob("DejaVuSans.ttf"), None)
        if found is not None:
            return found
    return None


def _total(s: float | None) -> str:
    return "" if s is None else fmt_duration(s_to_us(s))


def results_pdf(results: dict[str, Any], title: str, subtitle: str, lang: str, now: datetime | None = None) -> bytes:
    """The printable classification and penalties as an A4 landscape PDF."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    lab = labels(lang)
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_title(title)
    pdf.set_creator("Boucle")
    font = find_font()
    if font is not None:
        pdf.add_font("dejavu", "", str(font))
        bold = font.with_name("DejaVuSans-Bold.ttf")
        pdf.add_font("dejavu", "B", str(bold if bold.is_file() else font))
        family, clean = "dejavu", str
    else:
        family = "helvetica"

        def clean(v: Any) -> str:
            return str(v).encode("cp1252", errors="replace").decode("cp1252")

    printed = (now or datetime.now()).strftime("%d/%m/%Y %H:%M" if lang == "fr" else "%Y-%m-%d %H:%M")
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    heading = lab["results"] if results["session"]["finished"] else lab["provisional"]
    pdf.set_font(family, "B", 15)
    pdf.cell(0, 8, clean(f"{title} - {heading}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 9)
    pdf.cell(0, 6, clean(f"{subtitle} - {lab['printed']} {printed}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font(family, "", 8)
    head = ["position", "number", "name", "category", "laps", "total_time", "gap", "best_lap", "pit_stops",
            "status", "penalties"]  # fmt: skip
    rows = []
    for r in results["classification"]:
        cat = f"{r['category']} ({r['category_position']})" if r["category"] else ""
        best = f"{fmt_duration(s_to_us(r['best_lap_s']))} ({r['best_lap_no']})" if r["best_lap_s"] else ""
        pens = ", ".join(x for x in (f"-{r['penalty_laps']} {lab['laps'].lower()}" if r["penalty_laps"] else "",
                                      f"+{r['penalty_seconds']:g} s" if r["penalty_seconds"] else "") if x)  # fmt: skip
        status = "" if r["status"] == "classified" else lab.get(r["status"], r["status"])
        rows.append([r["position"], r["number"], r["name"], cat, r["laps"], _total(r["total_time_s"]), r["gap"],
                     best, r["pit_stops"], status, pens])  # fmt: skip
    _table(pdf, [lab[h] for h in head], rows, (10, 12, 58, 34, 12, 26, 20, 30, 12, 24, 35), clean, FontFace)
    pdf.ln(4)
    pdf.set_font(family, "B", 11)
    pdf.cell(0, 7, clean(lab["penalties"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 8)
    pens = results.get("penalties") or []
    if pens:
        prow = [[p["id"], f"#{p['number']}", p["rule"], p.get("laps") or "", p.get("seconds") or "", p["state"],
                 p.get("evidence") or ""] for p in pens]  # fmt: skip
        _table(pdf, [lab[h] for h in ("id", "number", "rule", "laps", "seconds", "state", "evidence")], prow,
               (14, 14, 40, 14, 18, 22, 151), clean, FontFace)  # fmt: skip
    else:
        pdf.cell(0, 6, clean(lab["no_penalty"]), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _table(pdf: Any, header: list[str], rows: list[list[Any]], widths: tuple, clean, FontFace) -> None:
    with pdf.table(col_widths=widths, width=sum(widths), line_height=5, text_align="LEFT",
                   headings_style=FontFace(emphasis="BOLD", fill_color=(225, 225, 225))) as table:  # fmt: skip
        row = table.row()
        for h in header:
            row.cell(clean(h))
        for values in rows:
            row = table.row()
            for v in values:
                row.cell(clean("" if v is None else v))
