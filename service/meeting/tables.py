"""Ranking documents as columns and rows: one shape for every meeting format, so the API and the
printed pages render any meeting's ranking the same way (`Meeting.ranking(doc)`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from service.i18n import said
from service.printed import seconds_time
from service.timeutil import us_to_s

from .model import HEAT_STAGES

if TYPE_CHECKING:
    from .karting_runner import KartingMeeting
    from .runner import AutocrossMeeting


class Ranking(NamedTuple):
    """One ranking: table headers, printable rows, and the JSON rows of the API."""

    columns: list[str]
    rows: list[tuple]
    json: list[dict[str, Any]]


def _names(m: AutocrossMeeting | KartingMeeting) -> dict[str, str]:
    return {n: str(e.get("name") or "") for n, e in m.entries.items()}


def points_rows(m: AutocrossMeeting) -> list[dict[str, Any]]:
    """The general classification with each driver's AX-POINTS: the `points` document a season
    sums (service/season). Raises MeetingError while the meeting has no general classification."""
    name = _names(m)
    pts = {p.number: p for p in m.points()}
    js = []
    for g in m.general():
        p = pts.get(g.number)
        js.append(
            {
                "position": g.position,
                "number": g.number,
                "name": name.get(g.number, ""),
                "stage": g.stage,
                "practice": p.practice if p else 0,
                "heats": p.heats if p else 0,
                "final": p.final if p else 0,
                "total": p.total if p else 0,
            }
        )
    return js


def ax_ranking(m: AutocrossMeeting, doc: str) -> Ranking:
    """An auto-cross ranking: practice (AX-PRACTICE), a heat (AX-HEAT-RANK), the heats
    (AX-HEAT-TOTAL), the semis (AX-SEMI), the general classification and points (AX-POINTS)."""
    name = _names(m)
    if doc == "practice":
        js = [
            {
                "position": i,
                "number": p.number,
                "best_lap_s": us_to_s(p.best_us),
                "second_lap_s": us_to_s(p.second_us),
                "laps": p.laps,
                "qualified": p.qualified,
            }
            for i, p in enumerate(m.practice(), 1)
        ]
        cols = ["Pos", "No", "Driver", "Best", "2nd best", "Laps", "Qualified"]
        rows = [
            (
                j["position"],
                j["number"],
                name.get(j["number"], ""),
                seconds_time(j["best_lap_s"]),
                seconds_time(j["second_lap_s"]),
                j["laps"],
                "yes" if j["qualified"] else "no",
            )
            for j in js
        ]
    elif doc in HEAT_STAGES:
        js = [
            {
                "position": i,
                "number": h.number,
                "series": h.series + 1,
                "place": h.place,
                "points": h.points,
                "laps": h.laps,
                "total_time_s": us_to_s(h.total_time_us),
                "status": h.status,
            }
            for i, h in enumerate(m.heat_ranking(doc), 1)
        ]
        cols = ["Pos", "No", "Driver", "Series", "Place", "Laps", "Time", "Points"]
        rows = [
            (
                j["position"],
                j["number"],
                name.get(j["number"], ""),
                j["series"],
                j["place"],
                j["laps"],
                seconds_time(j["total_time_s"]),
                j["points"],
            )
            for j in js
        ]
    elif doc == "heats":
        js = [
            {
                "position": i,
                "number": t.number,
                "heat_points": list(t.heat_points),
                "total": t.total,
                "dropped": t.dropped,
                "qualified": t.qualified,
            }
            for i, t in enumerate(m.heat_totals(), 1)
        ]
        cols = ["Pos", "No", "Driver", "Heats", "Total", "Dropped", "Semis"]
        rows = [
            (
                j["position"],
                j["number"],
                name.get(j["number"], ""),
                " / ".join(map(str, j["heat_points"])),
                j["total"],
                j["dropped"],
                "yes" if j["qualified"] else "no",
            )
            for j in js
        ]
    elif doc == "semis":
        js = [
            {
                "position": i,
                "number": s.number,
                "semi": s.semi + 1,
                "place": s.place,
                "laps": s.laps,
                "status": s.status,
                "ran": s.ran,
            }
            for i, s in enumerate(m.semi_ranking(), 1)
        ]
        cols = ["Pos", "No", "Driver", "Semi", "Place", "Laps", "Status"]
        rows = [
            (
                j["position"],
                j["number"],
                name.get(j["number"], ""),
                j["semi"],
                j["place"],
                j["laps"],
                said("doc.status", status=j["status"]),
            )
            for j in js
        ]
    else:  # general / points
        js = points_rows(m)
        cols = ["Pos", "No", "Driver", "From", "Practice", "Heats", "Final", "Total"]
        rows = [
            (
                j["position"],
                j["number"],
                name.get(j["number"], ""),
                said("doc.stage", stage=j["stage"]),
                j["practice"],
                j["heats"],
                f"{j['final']:g}",
                f"{j['total']:g}",
            )
            for j in js
        ]
    return Ranking(cols, rows, js)


def ka_ranking(m: KartingMeeting, doc: str) -> Ranking:
    """A karting ranking: qualifying (KA-GRID), after the heats and the finalists (KA-POINTS,
    KA-SUPERHEAT), the general classification (KA-FINAL)."""
    name = _names(m)
    if doc == "qualifying":
        js = [{"position": i, "number": n} for i, n in enumerate(m.qualifying_order(), 1)]
        return Ranking(
            ["Pos", "No", "Driver"], [(j["position"], j["number"], name.get(j["number"], "")) for j in js], js
        )
    if doc in ("heats", "finalists"):
        lines = m.intermediate() if doc == "heats" else m.finalists()
        js = [{"position": i, "number": x.number, "points": x.points} for i, x in enumerate(lines, 1)]
        rows = [(j["position"], j["number"], name.get(j["number"], ""), j["points"]) for j in js]
        return Ranking(["Pos", "No", "Driver", "Points"], rows, js)
    js = [
        {"position": x.position, "number": x.number, "finalist": x.finalist, "podium": x.podium}
        for x in m.classification()
    ]
    rows = [
        (
            j["position"],
            j["number"],
            name.get(j["number"], ""),
            "yes" if j["finalist"] else "no",
            "yes" if j["podium"] else "",
        )
        for j in js
    ]
    return Ranking(["Pos", "No", "Driver", "Finalist", "Podium"], rows, js)
