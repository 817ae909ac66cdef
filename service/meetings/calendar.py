"""UFOLEP regional calendars (RULES.md section 5, seed 000): tab-separated text -> meetings.

A calendar is a list of regions; each has a header line (`Date`/`Début`, `Fin`, `Lieu`, `Dept`,
`Club`, `Capacité`, `Qualification`, `Trophée Qualificatif`), section lines (a discipline group
such as "POURSUITE SUR TERRE - KART-CROSS", or a sub-region, alone in the first cell) and one line
per event. In the seed the `Capacité` column holds the disciplines and `Qualification` the type
(Contrôle Technique, Entraînement, Nationale, Trophée, Finale Nationale). Poursuite sur Terre and
Kart Cross run heats and finals by laps like auto-cross; Trial 4x4 is scored on zones and is
listed but not timed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from service.i18n import said
from service.text import fold

TIMED_DISCIPLINES = ("Poursuite sur Terre", "Kart Cross")
UNTIMED_DISCIPLINES = ("Trial 4x4",)
HEADER_FIRST = ("date", "debut")


def _discipline(name: str) -> str:
    """'Kart-Cross', 'KART CROSS' -> 'Kart Cross'; unknown names are kept as written."""
    key = fold(name).replace("-", " ").split()
    for known in TIMED_DISCIPLINES + UNTIMED_DISCIPLINES:
        if fold(known).split() == key:
            return known
    return name.strip()


@dataclass(frozen=True, slots=True)
class CalendarEvent:
    region: str
    section: str  # discipline group or sub-region heading the event is listed under
    start: date
    end: date
    venue: str
    department: str
    club: str
    disciplines: tuple[str, ...]
    types: tuple[str, ...]
    trophy: str

    @property
    def timed(self) -> bool:
        """Poursuite sur Terre and Kart Cross are timed by laps like auto-cross (RULES.md 5)."""
        return any(d in TIMED_DISCIPLINES for d in self.disciplines)

    @property
    def preset(self) -> str | None:
        return "autocross" if self.timed else None

    @property
    def title(self) -> str:
        return f"{self.venue} {self.start.isoformat()} ({self.club})"

    def as_dict(self) -> dict[str, object]:
        return {
            "region": self.region,
            "section": self.section,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "venue": self.venue,
            "department": self.department,
            "club": self.club,
            "disciplines": list(self.disciplines),
            "types": list(self.types),
            "trophy": self.trophy,
            "timed": self.timed,
            "preset": self.preset,
        }


def _date(s: str) -> date:
    d, m, y = (int(x) for x in s.strip().split("/"))
    return date(y, m, d)


def parse_calendar(text: str) -> tuple[list[CalendarEvent], list[str]]:
    """Events in file order, and a warning per line that could not be read (never an exception)."""
    events: list[CalendarEvent] = []
    warnings: list[str] = []
    region = section = ""
    for no, raw in enumerate(text.lstrip("\ufeff").splitlines(), 1):
        cells = [c.strip() for c in raw.split("\t")]
        first = cells[0]
        if not any(cells):
            continue
        if len(cells) == 1:
            region, section = first.rstrip(". "), ""
            continue
        if fold(first) in HEADER_FIRST:
            continue
        if not any(cells[1:]):
            section = first
            continue
        if len(cells) < 8:
            warnings.append(said("warn.cal_columns", line=no, n=len(cells)))
            continue
        try:
            start, end = _date(cells[0]), _date(cells[1])
        except ValueError:
            warnings.append(said("warn.cal_date", line=no, start=cells[0], end=cells[1]))
            continue
        if end < start:
            warnings.append(said("warn.cal_order", line=no, start=cells[0], end=cells[1]))
        events.append(
            CalendarEvent(
                region=region,
                section=section,
                start=start,
                end=end,
                venue=cells[2],
                department=cells[3],
                club=cells[4],
                disciplines=tuple(_discipline(d) for d in cells[5].split(",") if d.strip()),
                types=tuple(t.strip() for t in cells[6].split(",") if t.strip()),
                trophy=cells[7],
            )
        )
    return events, warnings
