"""Rankings: AX-PRACTICE, AX-HEAT-RANK, AX-HEAT-TOTAL with each tie-break, the AX-SEMI worked
example of seed 003 art. 7.3.1.6, AX-FINAL general classification and AX-POINTS."""

from __future__ import annotations

from service.meetings.championship import ax_championship_points
from service.meetings.grids import final_grid
from service.meetings.model import DNF, DNS, DSQ, RaceRow
from service.meetings.ranking import (
    HeatLine,
    general_classification,
    heat_ranking,
    heat_totals,
    practice_ranking,
    semi_ranking,
    stopped_classification,
)

S = 1_000_000  # microseconds per second


# ---------------------------------------------------------------- AX-PRACTICE


def test_practice_best_lap_of_both_sessions_then_second_best() -> None:
    laps = {
        "11": [62 * S, 60 * S, 61 * S],  # best 60, second 61
        "12": [60 * S, 60_500_000],  # best 60, second 60.5 -> ahead of 11
        "13": [],  # no lap: not qualified
        "14": [59_900_000],  # one lap only, best of all
    }
    ranked = practice_ranking(laps, ["11", "12", "13", "14"])
    assert [p.number for p in ranked] == ["14", "12", "11", "13"]
    assert [p.qualified for p in ranked] == [True, True, True, False]
    assert ranked[2].second_us == 61 * S


# ---------------------------------------------------------------- AX-HEAT-RANK


def test_heat_ranking_places_then_heat_time_then_practice_time() -> None:
    b1 = [
        RaceRow("1", 1, 5, total_time_us=300 * S),
        RaceRow("2", 2, 5, total_time_us=301 * S),
        RaceRow("3", 3, 3, DNF, 200 * S),  # 17 points
        RaceRow("4", 4, 0, DNS),
    ]
    b2 = [
        RaceRow("5", 1, 5, total_time_us=299_500_000),  # faster winner -> 1st overall
        RaceRow("6", 2, 5, total_time_us=302 * S),
        RaceRow("7", 3, 3, DNF, 190 * S),  # 17 points too; practice time decides
        RaceRow("8", 4, 5, DSQ, 310 * S),
    ]
    practice = {"3": 61 * S, "7": 62 * S}
    ranked = heat_ranking([b1, b2], practice)
    assert [h.number for h in ranked] == ["5", "1", "2", "6", "3", "7", "4", "8"]
    assert [h.points for h in ranked] == [1, 1, 2, 2, 17, 17, 85, 90]


# ---------------------------------------------------------------- AX-HEAT-TOTAL


def hl(
    number: str, points: int, laps: int = 5, time_s: float | None = None, status: str = "classified"
) -> HeatLine:
    t = None if time_s is None else round(time_s * S)
    return HeatLine(number, 0, min(points, 15), points, laps, laps >= 5, t, status)


def test_best_two_of_three_heats() -> None:
    heats = [[hl("A", 1, time_s=300)], [hl("A", 3, time_s=305)], [hl("A", 2, time_s=302)]]
    (a,) = heat_totals(heats, ["A"])
    assert (a.total, a.dropped, a.heat_points) == (3, 3, (1, 3, 2))
    assert a.best_time_us == 300 * S


def test_tie_on_total_broken_by_points_of_the_dropped_heat() -> None:
    heats = [
        [hl("A", 1, time_s=300), hl("B", 2, time_s=310)],
        [hl("A", 2, time_s=300), hl("B", 1, time_s=310)],
        [hl("A", 5, time_s=300), hl("B", 4, time_s=310)],
    ]
    ranked = heat_totals(heats, ["A", "B"])
    assert [(t.number, t.total, t.dropped) for t in ranked] == [("B", 3, 4), ("A", 3, 5)]


def test_tie_on_total_and_dropped_broken_by_best_heat_time() -> None:
    heats = [
        [hl("A", 1, time_s=300.1), hl("B", 2, time_s=303)],
        [hl("A", 2, time_s=301), hl("B", 1, time_s=299.8)],
        [hl("A", 3, time_s=302), hl("B", 3, time_s=304)],
    ]
    ranked = heat_totals(heats, ["A", "B"])
    assert [t.number for t in ranked] == ["B", "A"]
    assert ranked[0].best_time_us == 299_800_000


def test_best_time_only_compared_at_equal_laps() -> None:
    # Both 20 + 20 (dropped 20); A's best heat is 2 laps, B's only 1 lap but faster: A first.
    heats = [
        [hl("A", 20, laps=2, time_s=150), hl("B", 20, laps=1, time_s=60)],
        [hl("A", 20, laps=0), hl("B", 20, laps=1, time_s=55)],
        [hl("A", 20, laps=1, time_s=80), hl("B", 20, laps=0)],
    ]
    ranked = heat_totals(heats, ["B", "A"])
    assert [t.number for t in ranked] == ["A", "B"]


def test_under_40_points_to_the_semis_and_missing_heat_is_a_non_starter() -> None:
    heats = [
        [hl("A", 20, laps=2), hl("B", 20, laps=2), hl("C", 15)],
        [hl("A", 19), hl("B", 20, laps=1), hl("C", 85, laps=0, status=DNS)],
        [hl("A", 85, laps=0, status=DNS), hl("B", 20, laps=0)],  # C absent from heat 3
    ]
    ranked = {t.number: t for t in heat_totals(heats, ["A", "B", "C"])}
    assert (ranked["A"].total, ranked["A"].qualified) == (39, True)
    assert (ranked["B"].total, ranked["B"].qualified) == (40, False)
    assert ranked["C"].heat_points == (15, 85, 85)
    assert (ranked["C"].total, ranked["C"].qualified) == (100, False)
    cancelled = {t.number: t for t in heat_totals(heats, ["A", "B", "C"], heat_cancelled=True)}
    assert cancelled["B"].qualified and cancelled["C"].qualified


def test_two_heats_only_sum_both() -> None:
    (a,) = heat_totals([[hl("A", 4)], [hl("A", 9)]], ["A"])
    assert (a.total, a.dropped) == (13, 0)


# ---------------------------------------------------------------- AX-SEMI worked example


def semi(numbers: list[int], laps: list[int]) -> list[RaceRow]:
    return [
        RaceRow(str(n), place, lap, "classified" if lap == 6 else DNF)
        for place, (n, lap) in enumerate(zip(numbers, laps, strict=True), 1)
    ]


def test_semi_ranking_worked_example_of_art_7_3_1_6() -> None:
    a1 = semi([1, 2, 3, 4, 5, 6, 7, 8, 9], [6, 6, 6, 6, 6, 3, 3, 1, 1])
    a2 = semi([20, 21, 22, 23, 24, 25, 26, 27, 28], [6, 6, 6, 6, 6, 6, 3, 2, 1])
    # "considering all drivers of semi A1 are better ranked after the 3 heats"
    heat_order = [str(n) for n in [1, 2, 3, 4, 5, 6, 7, 8, 9, 20, 21, 22, 23, 24, 25, 26, 27, 28]]
    expected = [1, 20, 2, 21, 3, 22, 4, 23, 5, 24, 25, 6, 7, 26, 27, 8, 9, 28]
    assert [int(s.number) for s in semi_ranking([a1, a2], heat_order)] == expected
    assert [int(s.number) for s in semi_ranking([a1, a2], heat_order, laps_first=True)] == expected


def test_semi_ranking_heat_order_breaks_equal_place_and_laps() -> None:
    a1 = [RaceRow("1", 1, 6), RaceRow("2", 2, 6)]
    a2 = [RaceRow("3", 1, 6), RaceRow("4", 2, 6)]
    ranked = semi_ranking([a1, a2], ["3", "4", "1", "2"])
    assert [s.number for s in ranked] == ["3", "1", "4", "2"]


def test_semi_ranking_place_before_laps_by_default() -> None:
    a1 = [RaceRow(str(n), n, 6) for n in range(1, 6)] + [RaceRow("6", 6, 3, DNF)]
    a2 = [RaceRow(str(n), n - 20, 6) for n in range(21, 28)]  # 27 is 7th with 6 laps
    heat_order = [str(n) for n in [*range(1, 7), *range(21, 28)]]
    default = [s.number for s in semi_ranking([a1, a2], heat_order)]
    assert default.index("6") < default.index("27")
    laps_first = [s.number for s in semi_ranking([a1, a2], heat_order, laps_first=True)]
    assert laps_first.index("27") < laps_first.index("6")


def test_semi_non_starter_and_dsq_last_and_not_ran() -> None:
    a1 = [RaceRow("1", 1, 6), RaceRow("2", 2, 6, DSQ), RaceRow("3", 3, 0, DNS)]
    ranked = semi_ranking([a1], ["3", "2", "1"])
    assert [s.number for s in ranked] == ["1", "3", "2"]
    assert [s.ran for s in ranked] == [True, False, False]


# ---------------------------------------------------------------- AX-FINAL and AX-POINTS


def build_meeting_end() -> tuple[list, list, list]:
    """20 semi runners s1..s20 (semi ranking order) + h1, h2 who missed the semis; s3 cannot
    start the final and is replaced by s16; the final is won by the last on the grid."""
    semi_rows = [RaceRow(f"s{i}", i, 6) for i in range(1, 21)]
    heat_order = [f"s{i}" for i in range(1, 21)] + ["h1", "h2"]
    semis = semi_ranking([semi_rows], heat_order)
    fg = final_grid([s.number for s in semis], {s.number for s in semis if s.ran}, unable_to_start={"s3"})
    final_rows = [RaceRow(n, place, 7) for place, n in enumerate(reversed(fg.grid), 1)]
    general = general_classification(final_rows, semis, heat_order, fg.non_starters)
    return semis, general, heat_order


def test_general_classification_final_then_non_starter_then_semis_then_heats() -> None:
    _, general, _ = build_meeting_end()
    numbers = [g.number for g in general]
    assert numbers[:3] == ["s16", "s15", "s14"]
    assert numbers[14] == "s1"
    assert numbers[15] == "s3"  # replaced finalist takes the 16th place points
    assert numbers[16:20] == ["s17", "s18", "s19", "s20"]
    assert numbers[20:] == ["h1", "h2"]
    assert [g.stage for g in general][14:17] == ["final", "final_non_starter", "semi"]
    assert [g.scores for g in general][19:] == [True, False, False]
    assert [g.position for g in general] == list(range(1, 23))


def test_final_dsq_is_removed_and_others_move_up() -> None:
    semis = semi_ranking([[RaceRow("a", 1, 6), RaceRow("b", 2, 6), RaceRow("c", 3, 6)]], ["a", "b", "c"])
    final = [RaceRow("a", 1, 7, DSQ), RaceRow("b", 2, 7), RaceRow("c", 3, 7)]
    general = general_classification(final, semis)
    assert [(g.position, g.number, g.scores) for g in general] == [
        (1, "b", True),
        (2, "c", True),
        (3, "a", False),
    ]


def test_championship_points_practice_heats_final() -> None:
    semis, general, heat_order = build_meeting_end()
    practice = practice_ranking({n: [60 * S + i * 1000] for i, n in enumerate(heat_order)}, heat_order)
    totals = heat_totals([[hl(n, i + 1, time_s=300) for i, n in enumerate(heat_order[:15])]], heat_order)
    pts = {p.number: p for p in ax_championship_points(practice, totals, general)}
    assert pts["s1"].practice == 5 and pts["s5"].practice == 1 and pts["s6"].practice == 0
    assert pts["s1"].heats == 10 and pts["s10"].heats == 1 and pts["s11"].heats == 0
    assert pts["s16"].final == 48  # won the final from the last grid slot
    assert pts["s3"].final == 15  # 16th
    assert pts["s20"].final == 11  # 20th
    assert pts["h1"].final == 0  # did not run a semi
    assert pts["s1"].total == 5 + 10 + 16  # 15th in the final


def test_meeting_stopped_after_heat_two_halves_the_general_points() -> None:
    heats = [
        [hl("A", 1, time_s=300), hl("B", 2, time_s=301), hl("C", 85, laps=0, status=DNS)],
        [hl("A", 2, time_s=300), hl("B", 1, time_s=302), hl("C", 85, laps=0, status=DNS)],
    ]
    totals = heat_totals(heats, ["A", "B", "C"])
    general = stopped_classification(totals)
    pts = {p.number: p for p in ax_championship_points([], totals, general, stopped_after="heat2")}
    assert [g.number for g in general] == ["A", "B", "C"]  # 3 = 3, best time 300 < 301
    assert pts["A"].final == 24.0
    assert pts["B"].final == 21.5
    assert pts["C"].final == 0  # never started
    assert pts["A"].heats == 10 and pts["B"].heats == 9
    assert pts["C"].heats == 0  # ranked 3rd after the heats but never started one


def test_meeting_stopped_after_semis_uses_semi_ranking() -> None:
    semis = semi_ranking(
        [[RaceRow("a", 1, 6), RaceRow("b", 2, 0, DNS)], [RaceRow("c", 1, 6)]], ["a", "c", "b"]
    )
    general = stopped_classification([], semis)
    pts = {p.number: p for p in ax_championship_points([], [], general, stopped_after="semis")}
    assert [g.number for g in general] == ["a", "c", "b"]
    assert (pts["a"].final, pts["c"].final, pts["b"].final) == (24.0, 21.5, 0)
