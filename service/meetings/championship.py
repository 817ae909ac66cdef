"""AX-POINTS: championship points a driver takes home from one auto-cross meeting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from service.errors import Invalid

from .points import AX_FINAL_POINTS, AX_HEAT_DNS, AX_HEATS_POINTS, AX_PRACTICE_POINTS, scale_points
from .ranking import GeneralLine, HeatTotal, PracticeLine

# Stages after which a stopped meeting is classified with halved points (003 art. 7.3.1.6).
HALVED_STAGES = frozenset({"heat2", "heat3", "semis"})


@dataclass(frozen=True, slots=True)
class MeetingPoints:
    number: str
    practice: int
    heats: int
    final: float  # a float only because a stopped meeting halves the table (43 -> 21.5)

    @property
    def total(self) -> float:
        return self.practice + self.heats + self.final


def ax_championship_points(
    practice: Sequence[PracticeLine],
    heat_totals_: Sequence[HeatTotal],
    general: Sequence[GeneralLine],
    stopped_after: str | None = None,
) -> list[MeetingPoints]:
    """AX-POINTS: practice 5-4-3-2-1, after the heats 10..1, general classification 48..1.

    Final-table points go by general position, only to drivers whose line ``scores`` (ran their
    semi); heat points only to drivers who started a heat. ``stopped_after`` ("heat2", "heat3",
    "semis") halves the general-classification points; practice and heat points stand as earned.
    Rows follow the general classification.
    """
    if stopped_after is not None and stopped_after not in HALVED_STAGES:
        raise Invalid("meeting.stop_after", known=", ".join(sorted(HALVED_STAGES)))
    prac = {
        line.number: scale_points(AX_PRACTICE_POINTS, i + 1)
        for i, line in enumerate(p for p in practice if p.qualified)
    }
    started = [t for t in heat_totals_ if any(p < AX_HEAT_DNS for p in t.heat_points)]
    heats = {t.number: scale_points(AX_HEATS_POINTS, i + 1) for i, t in enumerate(started)}
    divisor = 2 if stopped_after else 1
    out: list[MeetingPoints] = []
    listed: set[str] = set()
    for line in general:
        final = scale_points(AX_FINAL_POINTS, line.position) / divisor if line.scores else 0
        out.append(MeetingPoints(line.number, prac.get(line.number, 0), heats.get(line.number, 0), final))
        listed.add(line.number)
    for number in list(prac) + list(heats):
        if number not in listed:
            listed.add(number)
            out.append(MeetingPoints(number, prac.get(number, 0), heats.get(number, 0), 0))
    return out
