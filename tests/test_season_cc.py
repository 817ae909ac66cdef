"""Cross-country seasons and helpers, hand-computed from RULES.md section 4 (seed 004):
CC-POINTS (scratch Elite, scratch National, categories; 25..1; stopped race), CC-SPRINT (3-2-1,
start lines), CC-CLASSES, CC-KIDS (aggregate, groups, season) and CC-LINE (race control penalties).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from service.results import results as engine_results
from service.seasons.cc import by_category_rows, kids_aggregate, kids_grid, kids_second_grid, start_lines
from service.seasons.loader import load_season_file
from service.seasons.standings import standings
from tests.conftest import REPO
from tests.season_helpers import results, write_season
from tests.test_rules_ffm import A_TIMES, cc_race, ride, rider
from tests.test_rules_kit import row

OK, NC = "classified", "not_classified"
ALEX, BRUNO = ("11", "Alex Martin", "Elite Open"), ("12", "Bruno Petit", "Elite Open")
CHLOE = ("15", "Chloé Roux", "Junior")
DAVID, ERIC, FABIEN = ("101", "David Leroy", "N1"), ("201", "Eric Blanc", "N2"), ("202", "Fabien Noir", "N2")
GILLES, GILLES_N1 = ("401", "Gilles Vert", "Vétérans"), ("121", "Gilles Vert", "N1")
HENRI, INES, JULES = (
    ("801", "Henri Jour", "Licence une manifestation"),
    ("901", "Ines Douce", "Soft"),
    ("501", "Jules Jeune", "Jeunes"),
)


def rows(*riders, best=None):
    """(rider, status) in scratch order -> result rows; sprint rows carry best_lap_s."""
    out = []
    for i, (r, status) in enumerate(riders):
        out.append((*r, status, None if status in ("dns", "dsq") else (best or 100.0) + i))
    return out


def cc_season() -> list[dict]:
    race, sprint = "race", "sprint"
    return [
        {
            "name": "Manche 1",
            race: results(
                "ffm-cc",
                race,
                rows(
                    (BRUNO, OK),
                    (HENRI, OK),
                    (ALEX, OK),
                    (DAVID, OK),
                    (CHLOE, OK),
                    (FABIEN, OK),
                    (GILLES, OK),
                    (ERIC, NC),
                    (JULES, OK),
                    (INES, OK),
                ),
            ),
            sprint: results(
                "ffm-cc",
                "qualifying",
                rows(
                    (HENRI, OK),
                    (ALEX, OK),
                    (CHLOE, OK),
                    (ERIC, OK),
                    (BRUNO, OK),
                    (DAVID, OK),
                    (FABIEN, "dns"),
                    (GILLES, OK),
                ),
            ),
        },
        # stopped at 5400 s of 10800: half run or less -> half points
        {
            "name": "Manche 2",
            "stopped_at_s": 5400,
            race: results(
                "ffm-cc",
                race,
                rows(
                    (ALEX, OK),
                    (BRUNO, OK),
                    (CHLOE, OK),
                    (ERIC, OK),
                    (DAVID, OK),
                    (GILLES, OK),
                    (FABIEN, "dsq"),
                ),
            ),
        },
        # stopped at 5401 s: more than half -> full points. Gilles moved to N1 at the last event.
        {
            "name": "Manche 3",
            "stopped_at_s": 5401,
            race: results(
                "ffm-cc",
                race,
                rows(
                    (CHLOE, OK),
                    (ALEX, OK),
                    (BRUNO, OK),
                    (DAVID, OK),
                    (GILLES_N1, OK),
                    (ERIC, OK),
                    (FABIEN, OK),
                ),
            ),
            sprint: results(
                "ffm-cc",
                "qualifying",
                rows((BRUNO, OK), (ALEX, OK), (CHLOE, OK), (GILLES_N1, OK), (DAVID, OK), (ERIC, OK)),
            ),
        },
    ]


def table(res, name):
    return [(r["position"], r["team"], r["points"], r["events"]) for r in res["categories"][name]]


def test_cross_country_season_hand_computed(tmp_path):
    res = standings(*load_season_file(write_season(tmp_path, "ffm-cc", cc_season())))
    assert res["rule"] == "CC-POINTS"
    # Tables: scratch Elite (Elite Open + Junior), scratch National (N1-N3, Espoirs, Vétérans, Super
    # Vétérans), then each category present; one-event licences and Soft score nowhere.
    assert list(res["categories"]) == [
        "Scratch Elite",
        "Scratch National",
        "Elite Open",
        "Junior",
        "N1",
        "N2",
        "Jeunes",
        "Vétérans",
    ]
    # Scratch Elite. M1: Bruno 25 + sprint 1, Alex 22 + 3, Chloé 20 + 2 (Henri's 801 is not Elite).
    # M2 (half): Alex 12.5, Bruno 11, Chloé 10. M3: Chloé 25 + 1, Alex 22 + 2, Bruno 20 + 3.
    assert table(res, "Scratch Elite") == [
        (1, "Alex Martin", 61.5, 3),
        (2, "Bruno Petit", 60, 3),
        (3, "Chloé Roux", 58, 3),
    ]
    # Scratch National. M1: David 25 + 2, Fabien 22 (dns in the sprint), Gilles 20 + 1, Eric not
    # classified 0 + sprint 3. M2: Eric 12.5, David 11, Gilles 10, Fabien dsq 0.
    # M3: David 25 + 2, Gilles 22 + 3, Eric 20 + 1, Fabien 18.
    assert table(res, "Scratch National") == [
        (1, "David Leroy", 65, 3),
        (2, "Gilles Vert", 56, 3),
        (3, "Fabien Noir", 40, 3),
        (4, "Eric Blanc", 36.5, 3),
    ]
    assert table(res, "Elite Open") == [(1, "Alex Martin", 59.5, 3), (2, "Bruno Petit", 58, 3)]
    assert table(res, "Junior") == [(1, "Chloé Roux", 62.5, 3)]
    # Gilles changed category (Vétérans -> N1) at the last event: no points in N1 (seed 004 art. 3)
    assert table(res, "N1") == [(1, "David Leroy", 62.5, 3), (2, "Gilles Vert", 0, 1)]
    gilles_n1 = res["categories"]["N1"][1]["per_event"][2]
    assert gilles_n1["points"] == 0 and "category changed" in gilles_n1["note"]
    assert table(res, "Vétérans") == [(1, "Gilles Vert", 37.5, 2)]
    assert table(res, "N2") == [(1, "Fabien Noir", 47, 3), (2, "Eric Blanc", 37.5, 3)]
    assert table(res, "Jeunes") == [(1, "Jules Jeune", 25, 1)]
    alex = res["categories"]["Scratch Elite"][0]["per_event"]
    assert alex[0] == {
        "event": "Manche 1",
        "number": "11",
        "status": OK,
        "place": 2,
        "points": 25,
        "sprint": 3,
    }
    assert alex[1]["half_points"] is True and alex[1]["points"] == 12.5
    assert "half_points" not in alex[2]


def test_kids_season_tie_decided_by_countback(tmp_path):
    k = {i: (f"7{i}", f"Kid {i}", "Catégorie 1") for i in range(1, 6)}
    k6 = ("80", "Kid 6", "Catégorie 2")

    def event(order):
        e = rows(*[(k[i], OK) for i in order], (k6, OK), (k[5], "dns"))
        return {"endurance1": results("ffm-kids", "race", e), "endurance2": results("ffm-kids", "race", e)}

    # E1: 1, 2, 3, 4 -> 25, 22, 20, 18. E2: 4, 1, 3, 2 -> 4 25, 1 22, 3 20, 2 18.
    # Kid 2 (2nd + 4th) and Kid 3 (3rd + 3rd) tie at 40: Kid 2 has a 2nd place, Kid 3 none -> Kid 2
    # ahead, although Kid 3 was better at the most recent event. Kid 5 never finished: 0.
    path = write_season(
        tmp_path, "ffm-kids", [{"name": "K1", **event([1, 2, 3, 4])}, {"name": "K2", **event([4, 1, 3, 2])}]
    )
    res = standings(*load_season_file(path))
    assert table(res, "Catégorie 1") == [
        (1, "Kid 1", 47, 2),
        (2, "Kid 4", 43, 2),
        (3, "Kid 2", 40, 2),
        (4, "Kid 3", 40, 2),
        (5, "Kid 5", 0, 0),
    ]
    assert table(res, "Catégorie 2") == [(1, "Kid 6", 50, 2)]


def test_kids_aggregate_on_results_rows_matches_the_engine_rule():
    e1 = [
        {"number": "A", "status": OK, "laps": 11, "total_time_s": 2915.0, "category": "Catégorie 1"},
        {"number": "C", "status": "dnf", "laps": 5, "total_time_s": 1500.0, "category": "Catégorie 1"},
    ]
    e2 = [
        {"number": "C", "status": OK, "laps": 11, "total_time_s": 3190.0, "category": "Catégorie 1"},
        {"number": "A", "status": OK, "laps": 10, "total_time_s": 3000.0, "category": "Catégorie 1"},
    ]
    agg = kids_aggregate([e1, e2])
    assert [
        (a["number"], a["laps"], a["total_time_s"], a["counted"], a["category_position"]) for a in agg
    ] == [("A", 21, 5915.0, [1, 2], 1), ("C", 11, 3190.0, [2], 2)]


def test_kids_groups_from_two_special_tests_then_from_endurance_one():
    t1 = [
        {"number": n, "status": OK, "best_lap_s": s}
        for n, s in (("1", 60.0), ("2", 61.0), ("3", 59.0), ("4", 70.0))
    ]
    t2 = [{"number": n, "status": OK, "best_lap_s": s} for n, s in (("1", 60.0), ("2", 57.0), ("3", 62.0))]
    # cumulated: 2 = 118, 1 = 120, 3 = 121; 4 missed the second test -> after them
    assert kids_grid([t1, t2], group_size=2) == [
        {"line": 1, "ordered": True, "numbers": ["2", "1"]},
        {"line": 2, "ordered": True, "numbers": ["3", "4"]},
    ]
    e1 = [{"number": "3", "status": OK}, {"number": "1", "status": "dnf"}, {"number": "2", "status": OK}]
    assert [g["numbers"] for g in kids_second_grid(e1, group_size=5)] == [["3", "2", "1"]]


def test_sprint_test_gives_the_first_two_lines_in_order():
    sprint = [
        {"number": n, "category": c, "status": s, "best_lap_s": b}
        for n, c, s, b in (
            ("801", "Licence une manifestation", OK, 90.0),
            ("5", "N1", OK, 91.0),
            ("3", "Elite Open", OK, 92.0),
            ("7", "N2", OK, 93.0),
            ("9", "N3", OK, 94.0),
            ("4", "N1", OK, 95.0),
            ("6", "N2", "dns", None),
        )
    ]
    entries = [
        {"number": n, "category": c}
        for n, c in (
            ("3", "Elite Open"),
            ("4", "N1"),
            ("5", "N1"),
            ("6", "N2"),
            ("7", "N2"),
            ("8", "N3"),
            ("9", "N3"),
            ("801", "Licence une manifestation"),
            ("901", "Soft"),
        )
    ]
    lines = start_lines(sprint, entries, line_size=2)
    assert lines == [
        {"line": 1, "ordered": True, "numbers": ["5", "3"]},
        {"line": 2, "ordered": True, "numbers": ["7", "9"]},
        {"line": 3, "ordered": False, "numbers": ["4"]},  # sprint rider beyond line 2: lines up freely
        {"line": 4, "ordered": False, "numbers": ["6", "8"]},  # no sprint time: behind every sprint rider
        {"line": 5, "ordered": False, "numbers": ["801", "901"]},  # one-event licence and Soft: last lines
    ]
    with pytest.raises(ValueError):
        start_lines(sprint, entries, line_size=0)


def test_categories_extracted_from_the_scratch():
    scratch = [
        {"number": "1", "category": "N2"},
        {"number": "2", "category": "n1"},
        {"number": "3", "category": "N2"},
    ]
    cats = by_category_rows(scratch, ["N1", "N2"])
    assert {c: [(r["number"], r["category_position"]) for r in rs] for c, rs in cats.items()} == {
        "N1": [("2", 1)],
        "N2": [("1", 1), ("3", 2)],
    }


# -- CC-LINE through the engine (race control's penalty lines) --------------------------------------
def test_line_change_costs_a_lap_and_tape_a_warning_then_a_lap(tmp_path):
    sc = cc_race()
    rider(sc, "3", "N2")
    ride(sc, "3", A_TIMES[:-2] + [10810.0], pits=(4, 9))  # 18 laps like rider 1 without penalties
    sc.add("penalty", 5.0, number="3", rule="CC-LINE", offence="line")
    sc.add("penalty", 900.0, number="1", rule="CC-LINE", offence="tape")
    sc.add("penalty", 2000.0, number="1", rule="CC-LINE", offence="tape")
    sc.add("penalty", 3000.0, number="2", rule="CC-LINE", offence="tape")
    sc.add("penalty", 4000.0, number="2", rule="CC-LINE", offence="line", laps=2, note="decided by the jury")
    res = engine_results(sc.engine(tmp_path))
    pens = [(p["number"], p["rule"], p["laps"], p["evidence"]) for p in res["penalties"]]
    assert pens == [
        ("3", "CC-LINE", 1, "CC-LINE: start line changed"),
        ("1", "CC-LINE", 0, "CC-LINE: course tape broken, warning 1"),
        ("1", "CC-LINE", 1, "CC-LINE: course tape broken again (2)"),
        ("2", "CC-LINE", 0, "CC-LINE: course tape broken, warning 1"),
        ("2", "CC-LINE", 2, "decided by the jury"),  # an amount typed by race control wins
    ]
    assert (row(res, "1")["penalty_laps"], row(res, "2")["penalty_laps"], row(res, "3")["penalty_laps"]) == (
        1,
        2,
        1,
    )


def test_cc_command_line_helpers(tmp_path):
    race = results("ffm-cc", "race", rows((ALEX, OK), (DAVID, OK), (BRUNO, OK), (INES, OK)))
    sprint = results("ffm-cc", "qualifying", rows((DAVID, OK), (INES, OK), (ALEX, OK), (BRUNO, "dns")))
    (tmp_path / "race.json").write_text(json.dumps(race), encoding="utf-8")
    (tmp_path / "sprint.json").write_text(json.dumps(sprint), encoding="utf-8")

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "service.cli", "cc", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            env={"PYTHONPATH": str(REPO)},
        )

    cats = json.loads(cli("categories", "race.json").stdout)["categories"]
    assert {c: [r["number"] for r in rs] for c, rs in cats.items()} == {
        "Elite Open": ["11", "12"],
        "N1": ["101"],
        "Soft": ["901"],
    }
    lines = json.loads(cli("start-lines", "sprint.json", "--size", "2").stdout)["lines"]
    assert [ln["numbers"] for ln in lines] == [
        ["101", "11"],
        ["12"],
        ["901"],
    ]  # Bruno (dns) behind; Soft last
    kids = json.loads(cli("kids", "race.json", "race.json").stdout)["classification"]
    assert [k["number"] for k in kids] == ["11", "101", "12", "901"]
    bad = cli("kids", "race.json")
    assert bad.returncode == 2 and "two endurances" in bad.stderr
    assert cli("start-lines", "nope.json").returncode == 2
