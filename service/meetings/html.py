"""Printable pages: start lists with the grid drawn 3-2-3-2 (pole on the inside) and results
with laps, time, gap, points and penalties, signed off as AX-PUBLISH describes. Pure: data in,
one self-contained HTML string out (inline CSS, no script), ready for a browser's Print.
In French or English (`lang`): words come from the web catalogues (service/i18n.py), times, gaps,
penalties and dates as service/printed.py writes them; every sheet names the meeting's date, place
and organiser and carries its status, publication time and the three signature blocks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from service.i18n import print_text as tr
from service.i18n import say
from service.printed import date_text, gap_text, meeting_line, penalty_text, race_time

from .grids import Slot
from .model import RaceRow, by_place
from .publish import ROLE_LABEL, SIGN_ROLES, DocStatus

CSS = """
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:1.5em;color:#111}
h1{font-size:1.3em;margin:0}h2{font-size:1.05em;margin:.2em 0 1em;color:#444}
table{border-collapse:collapse;width:100%;font-size:.9em}
th,td{border:1px solid #999;padding:.25em .5em;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.status{display:inline-block;padding:.1em .6em;border:2px solid #111;font-weight:bold;\
text-transform:uppercase}
.grid{margin:1em 0}.row{display:flex;gap:.6em;margin:.5em 0}.row.two{margin-left:5.5em}
.cell{width:10em;height:3.4em;border:2px solid #333;padding:.2em .4em;box-sizing:border-box}
.cell.free{border-style:dashed;color:#999}.cell b{font-size:1.2em}.cell small{display:block}
.inside{font-size:.8em;color:#555}
.sign{display:flex;gap:2em;margin-top:2em}.sign div{flex:1;\
border-top:1px solid #111;padding-top:.3em;font-size:.85em}
.meeting{margin:0 0 .6em;color:#333}
@media print{body{margin:0}.status{border-width:1px}}
"""


fmt_time = race_time  # m:ss.mmm, h:mm:ss.mmm (service/printed.py)


def page(
    title: str,
    subtitle: str,
    body: str,
    status: DocStatus | None = None,
    lang: str = "en",
    info: Mapping[str, Any] | None = None,
) -> str:
    """A sheet: title, what it is, the meeting (`info`: date, place, organiser), its AX-PUBLISH status
    with the publication time, the body, and the three signature blocks."""
    head = f"<h1>{escape(title)}</h1><h2>{escape(subtitle)}</h2>"
    if line := meeting_line(lang, info):
        head += f'<p class="meeting">{escape(line)}</p>'
    if status is not None:
        head += f'<p><span class="status">{escape(tr(lang, status.status))}</span>'
        if status.posted_at:
            head += " " + escape(tr(lang, "posted {at}", at=date_text(lang, status.posted_at)))
        if status.status == "provisional" and status.final_at:
            head += " &middot; " + escape(
                tr(lang, "final at {at} unless protested", at=date_text(lang, status.final_at))
            )
        elif status.status == "final" and status.final_at:
            head += " &middot; " + escape(tr(lang, "final {at}", at=date_text(lang, status.final_at)))
        head += "</p>"
    return (
        f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
        f"<title>{escape(title)} - {escape(subtitle)}</title><style>{CSS}</style></head>"
        f"<body>{head}{body}{signatures(status, lang)}</body></html>\n"
    )


def signatures(status: DocStatus | None, lang: str = "en") -> str:
    """Three signature boxes: timing crew, race director, stewards (AX-PUBLISH)."""
    sigs = status.signatures if status else {}
    cells = []
    for role in SIGN_ROLES:
        s = sigs.get(role)
        done = (
            f"{escape(str(s.get('by') or ''))} &middot; {escape(date_text(lang, s.get('at')))}"
            if s
            else "&nbsp;"
        )
        cells.append(f"<div>{escape(tr(lang, ROLE_LABEL[role]))}<br>{done}</div>")
    return f'<div class="sign">{"".join(cells)}</div>'


def table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[int] = (), lang: str = "en"
) -> str:
    """Headers (English, translated here) and rows; the words yes / no and said texts (stages,
    statuses) in cells are translated too."""
    head = "".join(f"<th>{escape(tr(lang, h))}</th>" for h in headers)
    body = []
    for r in rows:
        vals = [tr(lang, v) if v in ("yes", "no") else say(lang, v) for v in r]
        cells = "".join(
            f'<td class="n">{escape(v)}</td>' if i in numeric else f"<td>{escape(v)}</td>"
            for i, v in enumerate(vals)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def grid_html(rows: Sequence[Sequence[Slot]], names: Mapping[str, str], lang: str = "en") -> str:
    """The grid as drawn on the track: rows of 3 then 2, staggered, pole cell first (inside)."""
    out = [f'<div class="grid"><div class="inside">&larr; {escape(tr(lang, "inside (pole side)"))}</div>']
    pos = 0
    for i, row in enumerate(rows):
        cells = []
        for slot in row:
            pos += 1
            if slot is None:
                cells.append(f'<div class="cell free">{pos}<small>{escape(tr(lang, "free"))}</small></div>')
            else:
                name = escape(names.get(slot, ""))
                cells.append(f'<div class="cell">{pos}. <b>{escape(slot)}</b><small>{name}</small></div>')
        cls = "row two" if i % 2 else "row"
        out.append(f'<div class="{cls}">{"".join(cells)}</div>')
    out.append("</div>")
    return "".join(out)


def startlist_html(
    title: str,
    subtitle: str,
    rows: Sequence[Sequence[Slot]],
    entries: Mapping[str, Mapping[str, Any]],
    laps: int,
    status: DocStatus | None = None,
    lang: str = "en",
    info: Mapping[str, Any] | None = None,
) -> str:
    """A start list: the grid 3-2-3-2 then the same order as a table."""
    names = {n: str(e.get("name") or "") for n, e in entries.items()}
    order = [s for row in rows for s in row]
    listing = table(
        ["Grid", "No", "Driver", "Division"],
        [
            (
                i,
                s or "-",
                names.get(s, "") if s else tr(lang, "free"),
                str(entries.get(s, {}).get("division") or "") if s else "",
            )
            for i, s in enumerate(order, 1)
        ],
        numeric=(0,),
        lang=lang,
    )
    sub = f"{subtitle} - {tr(lang, 'start list, {laps} laps', laps=laps, n=laps)}"
    return page(title, sub, grid_html(rows, names, lang) + listing, status, lang, info)


def race_table(
    rows: Sequence[RaceRow],
    entries: Mapping[str, Mapping[str, Any]],
    points: Mapping[str, Any] | None = None,
    penalties: Mapping[str, Sequence[str]] | None = None,
    lang: str = "en",
) -> str:
    """Results of one race: place, number, driver, laps, time, gap to the winner, points, penalties."""
    ordered = by_place(rows)
    lead = ordered[0] if ordered else None
    out = []
    for r in ordered:
        gap = ""
        if lead is not None and r is not lead and r.status not in ("dns", "dsq"):
            if r.laps < lead.laps:
                gap = tr(lang, "+{n} laps", n=lead.laps - r.laps)
            elif r.total_time_us is not None and lead.total_time_us is not None:
                gap = gap_text(lang, f"+{(r.total_time_us - lead.total_time_us) / 1e6:.3f}")
        status = "" if r.status == "classified" else tr(lang, r.status.upper())
        pts = "" if points is None else points.get(r.number, "")
        pens = "; ".join(penalty_text(lang, p) for p in (penalties or {}).get(r.number, ()))
        name = str(entries.get(r.number, {}).get("name") or "")
        out.append((r.place, r.number, name, r.laps, fmt_time(r.total_time_us), gap, pts, pens, status))
    return table(
        ["Pos", "No", "Driver", "Laps", "Time", "Gap", "Points", "Penalties", "Status"],
        out,
        (0, 3, 4, 6),
        lang,
    )
