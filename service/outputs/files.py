"""Result files of a session: the PDF classification, spreadsheet CSVs, the lap-by-lap chart.

Every word comes from the web catalogues (service/i18n.py), in the caller's language; times, gaps,
penalties and dates are written as service/printed.py says (`4:55.996`, "+1 tour", "-1 tour LM-STOPS").
The CSVs are what a spreadsheet of that language opens without a wizard: UTF-8 BOM, and for French `;`
separators and comma decimals (options override). Gaps are numbers of seconds there (a lap gap stays
words). `export_csv_text` is the untranslated export (results JSON keys as headers). Every CSV goes
through the one writer, service/spreadsheet.py. The PDF is drawn with fpdf2 and DejaVu Sans (Debian
fonts-dejavu-core) for accents; without that font it falls back to a core font with cp1252 text. It names
the meeting's date, place and organiser when the session is a meeting's, its AX-PUBLISH status, and ends
with the signature blocks.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from service.engine import Engine
from service.errors import Invalid
from service.i18n import print_text as tr
from service.i18n import stage_label, word
from service.meetings.publish import ROLE_LABEL, SIGN_ROLES
from service.printed import (
    Num,
    csv_text,
    date_text,
    evidence_text,
    gap_seconds,
    gap_text,
    meeting_line,
    number,
    penalty_amounts,
    seconds_time,
)
from service.results import RESULT_KEYS
from service.spreadsheet import write_csv

# The English words of the documents, by column or use; web/i18n/LANG.json `_print` translates them
# (service/i18n.py), like the printed meeting pages.
ENGLISH = {
    "results": "Classification",
    "provisional": "Provisional classification",
    "position": "Pos",
    "number": "No",
    "name": "Name",
    "category": "Category",
    "category_position": "Cat. pos",
    "status": "Status",
    "laps": "Laps",
    "penalty_laps": "Penalty laps",
    "penalty_seconds": "Penalty (s)",
    "total_time_s": "Total time (s)",
    "total_time": "Total time",
    "best_lap_s": "Best lap (s)",
    "best_lap": "Best lap",
    "best_lap_no": "Lap no",
    "pit_stops": "Stops",
    "gap": "Gap",
    "interval": "Interval",
    "penalties": "Penalties",
    "no_penalty": "No penalty.",
    "id": "Ref",
    "rule": "Rule",
    "seconds": "Seconds",
    "state": "State",
    "evidence": "Evidence",
    "printed": "Printed",
    "lap": "Lap",
    "lap_time_s": "Lap time (s)",
    "race_time_s": "Race time (s)",
    "classified": "classified",
    "dnf": "retired",
    "dns": "did not start",
    "dsq": "disqualified",
    "not_classified": "not classified",
}
CSV_COLUMNS = RESULT_KEYS  # the results JSON of scenario.md, column for column
NUMERIC = {"penalty_seconds", "total_time_s", "best_lap_s", "lap_time_s", "race_time_s"}
FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
    "/usr/local/share/fonts",
    "/usr/share/fonts",
)


def labels(lang: str) -> dict[str, str]:
    return {k: tr(lang, text) for k, text in ENGLISH.items()}


def check_options(decimal: str | None, sep: str | None) -> None:
    if decimal not in (None, "comma", "point"):
        raise Invalid("files.decimal", value=decimal)
    if sep not in (None, "semicolon", "comma"):
        raise Invalid("files.sep", value=sep)


def title(lang: str, name: str, publication: dict[str, Any] | None) -> str:
    """The session's name; a meeting's session as people say it ("Saint-Igny D1 Manche 1 · série 1")."""
    m = (publication or {}).get("meeting")
    if not m:
        return name
    return " ".join(x for x in (m.get("name"), m.get("division"), stage_label(lang, m["key"])) if x)


def subtitle(lang: str, header: dict[str, Any]) -> str:
    """What the session is: "generic-laps - finale"."""
    kind = str(header["kind"])
    return f"{header['preset']} - {word(lang, 'kind.' + kind, kind)}"


def _cell(lang: str, lab: dict[str, str], key: str, value: Any) -> Any:
    if key in NUMERIC:
        return None if value is None else Num(value)
    if key == "status":
        return lab.get(value, value)
    if key in ("gap", "interval"):  # seconds a spreadsheet computes with; a lap gap stays words
        s = gap_seconds(value)
        return Num(s) if s is not None else gap_text(lang, value)
    return "" if value is None else value


def results_csv(
    results: dict[str, Any], lang: str, decimal: str | None = None, sep: str | None = None
) -> str:
    """The classification for spreadsheets: translated headers and statuses, BOM, the language's
    separator and decimal mark (`decimal`, `sep` override them)."""
    check_options(decimal, sep)
    lab = labels(lang)
    rows = [[_cell(lang, lab, k, r[k]) for k in CSV_COLUMNS] for r in results["classification"]]
    return csv_text(lang, [lab[k] for k in CSV_COLUMNS], rows, sep, decimal)


def export_csv_text(res: dict[str, Any]) -> str:
    """The results JSON's rows as CSV, with the flagged laps ("12 estimated; 13 manual": hand-made times)."""
    rows = (
        [*(row[k] for k in RESULT_KEYS), "; ".join(f"{n} {f}" for n, f in row["lap_flags"].items())]
        for row in res["classification"]
    )
    return write_csv([*RESULT_KEYS, "flagged_laps"], rows)


def lap_rows(engine: Engine, chart: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Every lap of every car, lap by lap in crossing order: position at that lap, lap and race time."""
    out = []
    for lap, numbers in chart.items():
        n = int(lap)
        for pos, number_ in enumerate(numbers, 1):
            car = engine.cars[number_]
            end = car.lap_ends[n - 1] - engine.start_us - car.offset_us
            out.append(
                {
                    "lap": n,
                    "position": pos,
                    "number": number_,
                    "name": car.name,
                    "category": car.category,
                    "lap_time_s": car.lap_times[n - 1] / 1e6,
                    "race_time_s": end / 1e6,
                }
            )
    return out


def laps_csv(
    rows: list[dict[str, Any]], lang: str, decimal: str | None = None, sep: str | None = None
) -> str:
    check_options(decimal, sep)
    lab = labels(lang)
    cols = ["lap", "position", "number", "name", "category", "lap_time_s", "race_time_s"]
    return csv_text(
        lang, [lab[c] for c in cols], [[_cell(lang, lab, c, r[c]) for c in cols] for r in rows], sep, decimal
    )


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


def _heading(lang: str, results: dict[str, Any], publication: dict[str, Any] | None) -> str:
    """Official or provisional: the meeting's AX-PUBLISH status when it has one, else whether the
    session is over."""
    status = (
        publication["status"]
        if publication
        else "results"
        if results["session"]["finished"]
        else "provisional"
    )
    if status == "final":
        return tr(lang, "Official classification")
    if status in ("draft", "signed"):
        return f"{tr(lang, 'Classification')} ({tr(lang, status)})"
    return labels(lang)[status]


def _published(lang: str, publication: dict[str, Any] | None) -> str:
    if not publication:
        return ""
    parts = []
    if publication.get("posted_at"):
        parts.append(tr(lang, "posted {at}", at=date_text(lang, publication["posted_at"])))
    final_at = publication.get("final_at")
    if final_at and publication["status"] == "provisional":
        parts.append(tr(lang, "final at {at} unless protested", at=date_text(lang, final_at)))
    elif final_at and publication["status"] == "final":
        parts.append(tr(lang, "final {at}", at=date_text(lang, final_at)))
    return " - ".join(parts)


def results_pdf(
    results: dict[str, Any],
    title: str,
    subtitle: str,
    lang: str,
    now: datetime | None = None,
    publication: dict[str, Any] | None = None,
) -> bytes:
    """The printable classification and penalties as an A4 landscape PDF. `publication`: the meeting
    and AX-PUBLISH status of a meeting's session (service/api `session_publication`)."""
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

    printed = date_text(lang, (now or datetime.now()).isoformat(timespec="minutes"))
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()

    def line(text: str, size: float = 9, style: str = "") -> None:
        if text:
            pdf.set_font(family, style, size)
            pdf.cell(0, 6 if size < 12 else 8, clean(text), new_x="LMARGIN", new_y="NEXT")

    line(f"{title} - {_heading(lang, results, publication)}", 15, "B")
    line(meeting_line(lang, (publication or {}).get("meeting")), 10)
    line(f"{subtitle} - {lab['printed']} {printed}")
    line(_published(lang, publication))
    pdf.ln(2)
    pdf.set_font(family, "", 8)
    head = [
        "position",
        "number",
        "name",
        "category",
        "laps",
        "total_time",
        "gap",
        "best_lap",
        "pit_stops",
        "status",
        "penalties",
    ]
    rows = []
    for r in results["classification"]:
        cat = f"{r['category']} ({r['category_position']})" if r["category"] else ""
        best = f"{seconds_time(r['best_lap_s'])} ({r['best_lap_no']})" if r["best_lap_s"] else ""
        status = "" if r["status"] == "classified" else lab.get(r["status"], r["status"])
        rows.append(
            [
                r["position"],
                r["number"],
                r["name"],
                cat,
                r["laps"],
                seconds_time(r["total_time_s"]),
                gap_text(lang, r["gap"]),
                best,
                r["pit_stops"],
                status,
                penalty_amounts(lang, r["penalty_laps"], r["penalty_seconds"]),
            ]
        )
    _table(pdf, [lab[h] for h in head], rows, (10, 12, 58, 34, 12, 26, 20, 30, 12, 24, 35), clean, FontFace)
    pdf.ln(4)
    pdf.set_font(family, "B", 11)
    pdf.cell(0, 7, clean(lab["penalties"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 8)
    pens = results.get("penalties") or []
    if pens:
        prow = [
            [
                p["id"],
                f"#{p['number']}",
                p["rule"],
                p.get("laps") or "",
                number(lang, p.get("seconds") or None),
                word(lang, f"penstate.{p['state']}", p["state"]),
                evidence_text(lang, p),
            ]
            for p in pens
        ]
        _table(
            pdf,
            [lab[h] for h in ("id", "number", "rule", "laps", "seconds", "state", "evidence")],
            prow,
            (14, 14, 40, 14, 18, 22, 151),
            clean,
            FontFace,
        )
    else:
        pdf.cell(0, 6, clean(lab["no_penalty"]), new_x="LMARGIN", new_y="NEXT")
    _signatures(pdf, lang, (publication or {}).get("signatures") or {}, clean, family)
    return bytes(pdf.output())


def _signatures(pdf: Any, lang: str, signed: dict[str, Any], clean, family: str) -> None:
    """AX-PUBLISH: timing crew, race director, stewards, each with who signed and when (or a blank)."""
    pdf.ln(8)
    width = (pdf.w - pdf.l_margin - pdf.r_margin) / len(SIGN_ROLES)
    y = pdf.get_y()
    for i, role in enumerate(SIGN_ROLES):
        x = pdf.l_margin + i * width
        pdf.line(x + 2, y, x + width - 6, y)
        pdf.set_xy(x + 2, y + 1)
        pdf.set_font(family, "B", 9)
        pdf.cell(width - 8, 5, clean(tr(lang, ROLE_LABEL[role])))
        s = signed.get(role)
        if s:
            pdf.set_xy(x + 2, y + 6)
            pdf.set_font(family, "", 8)
            pdf.cell(width - 8, 5, clean(f"{s.get('by') or ''} - {date_text(lang, s.get('at'))}"))
    pdf.set_xy(pdf.l_margin, y + 14)


def _table(pdf: Any, header: list[str], rows: list[list[Any]], widths: tuple, clean, FontFace) -> None:
    with pdf.table(
        col_widths=widths,
        width=sum(widths),
        line_height=5,
        text_align="LEFT",
        headings_style=FontFace(emphasis="BOLD", fill_color=(225, 225, 225)),
    ) as table:
        row = table.row()
        for h in header:
            row.cell(clean(h))
        for values in rows:
            row = table.row()
            for v in values:
                row.cell(clean("" if v is None else v))
