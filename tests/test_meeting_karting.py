"""FFSA karting: KA-SERIES, KA-GRID, KA-POINTS ties and non-starters, KA-SUPERHEAT, KA-FINAL."""

from __future__ import annotations

from service.meetings.karting_rules import (
    ka_final_classification,
    ka_finalists,
    ka_groups,
    ka_heat_grid,
    ka_heat_pairings,
    ka_heat_points,
    ka_standings,
    ka_superheat_grids,
)
from service.meetings.model import DNF, DNS, RaceRow


def quali(n: int) -> list[str]:
    return [str(100 + i) for i in range(1, n + 1)]  # "101" is pole


def test_one_group_when_entry_fits_the_track() -> None:
    assert ka_groups(quali(34), track_capacity=34) == [quali(34)]


def test_split_in_series_of_half_capacity_dealt_in_qualifying_order() -> None:
    groups = ka_groups(quali(50), track_capacity=34)  # series of at most 17 -> 3 series
    assert [len(g) for g in groups] == [17, 17, 16]
    assert groups[0][:3] == ["101", "104", "107"]
    assert groups[1][:3] == ["102", "105", "108"]
    assert groups[2][-1] == "148"  # rank 48 -> C; 49 -> A, 50 -> B


def test_series_never_above_eighteen() -> None:
    groups = ka_groups(quali(60), track_capacity=44)  # half = 22, capped at 18 -> 4 series
    assert [len(g) for g in groups] == [15, 15, 15, 15]


def test_pairings_every_series_meets_every_other_once() -> None:
    assert ka_heat_pairings(1) == []
    assert ka_heat_pairings(3) == [(0, 1), (0, 2), (1, 2)]
    assert ka_heat_pairings(4) == [(0, 1), (2, 3), (0, 2), (1, 3), (0, 3), (1, 2)]


def test_heat_grids_follow_the_previous_result() -> None:
    q = quali(5)
    heat1 = ka_heat_grid(q)
    assert heat1 == q
    heat1_result = ["103", "101", "105", "102", "104"]
    assert ka_heat_grid(heat1_result) == heat1_result  # heat 2 grid = heat 1 finish
    # split entry: the field of A-B only, in the previous order, newcomers at the back
    assert ka_heat_grid(heat1_result, drivers=["101", "102", "109"]) == ["101", "102", "109"]


def test_heat_points_and_ties_by_qualifying() -> None:
    heat1 = ka_heat_points([RaceRow("101", 1, 10), RaceRow("102", 2, 10), RaceRow("103", 3, 9, DNF)])
    heat2 = ka_heat_points([RaceRow("103", 1, 10), RaceRow("101", 2, 10), RaceRow("102", 3, 10)])
    assert heat1 == {"101": 0, "102": 2, "103": 3}
    assert heat2 == {"103": 0, "101": 2, "102": 3}
    standings = ka_standings([heat1, heat2], ["102", "101", "103"])
    # 101: 2, 103: 3, 102: 5
    assert [(s.number, s.points) for s in standings] == [("101", 2), ("103", 3), ("102", 5)]
    tied = ka_standings([{"101": 3, "102": 3}], ["102", "101"])
    assert [s.number for s in tied] == ["102", "101"]  # 102 qualified better


def test_superheat_non_starter_scores_participants_plus_one() -> None:
    rows = [RaceRow(str(i), i, 12) for i in range(1, 20)] + [RaceRow("20", 20, 0, DNS)]
    pts = ka_heat_points(rows)
    assert pts["1"] == 0 and pts["2"] == 2 and pts["19"] == 19
    assert pts["20"] == 21


def test_superheat_one_grid_up_to_36() -> None:
    assert ka_superheat_grids(quali(30)) == [quali(30)]
    assert ka_superheat_grids(quali(36)) == [quali(36)]


def test_superheat_alternates_a_b_above_36_down_to_72() -> None:
    a, b = ka_superheat_grids(quali(40))
    assert a[:3] == ["101", "103", "105"] and len(a) == 20
    assert b[:3] == ["102", "104", "106"] and len(b) == 20
    a, b = ka_superheat_grids(quali(80))
    assert len(a) == len(b) == 36
    assert b[-1] == "172"


def test_finalists_heat_plus_superheat_points_top_36() -> None:
    q = quali(40)
    heats = [{n: i for i, n in enumerate(q)}]  # 101: 0 ... 140: 39
    superheat = {n: 0 for n in q}
    superheat["140"] = -100  # not a real score: shows super-heat points are added
    superheat["101"] = 50
    finalists = ka_finalists(heats, superheat, q)
    numbers = [f.number for f in finalists]
    assert len(numbers) == 36
    assert numbers[0] == "140"
    assert "101" not in numbers  # 50 points: 37th of 40
    assert numbers[1] == "102"


def test_final_classification_podium_and_non_finalists() -> None:
    final = [RaceRow("105", 1, 20), RaceRow("101", 2, 20), RaceRow("103", 3, 20), RaceRow("102", 4, 19, DNF)]
    lines = ka_final_classification(final, intermediate=["101", "102", "103", "104", "105", "106"])
    assert [(x.number, x.podium, x.finalist) for x in lines] == [
        ("105", True, True),
        ("101", True, True),
        ("103", True, True),
        ("102", False, True),
        ("104", False, False),
        ("106", False, False),
    ]
