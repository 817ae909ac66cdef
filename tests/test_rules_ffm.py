"""FFM cross-country and kids (RULES.md section 4), hand-computed.

`ffm-cc`: 3 h race (10800 s), Jeunes/Féminines/Soft stopped at 2 h (7200 s), waves every 30 s,
finish window 900 s, 2 pit passages (1 for the 2 h categories). A pit passage is pit_in 20 s before
the crossing it replaces and pit_out at that crossing's time (the lap ends at pit_out).
"""

from __future__ import annotations

import pytest

from service.engine.categories import aggregate_kids, by_category
from service.results import replay_file, results
from service.rules.common import status_line
from tests.test_rules_kit import Scenario, penalties, row


def ride(sc: Scenario, number: str, times: list[float], pits: tuple[int, ...] = ()) -> None:
    """Crossings at `times`; those at the indexes in `pits` are driven through the pit lane."""
    for i, t in enumerate(times):
        if i in pits:
            sc.passing(number, t - 20, "pit_in")
            sc.passing(number, t, "pit_out")
        else:
            sc.passing(number, t)


def rider(sc: Scenario, number: str, category: str, wave: int = 1) -> None:
    sc.entry(number, category=category, drivers=0, wave=wave)


A_TIMES = [600.0 * k for k in range(1, 18)] + [10805.0, 11405.0]  # wave 1; 17th at 10200, flag at 10805
B_TIMES = [30 + 601.0 * k for k in range(1, 17)] + [30 + 10210.0, 30 + 10790.0]  # wave 2 (+30 s)


def cc_race(**session) -> Scenario:
    sc = Scenario("ffm-cc", **session)
    rider(sc, "1", "Elite Open", wave=1)
    rider(sc, "2", "N1", wave=2)
    ride(sc, "1", A_TIMES, pits=(4, 9))
    ride(sc, "2", B_TIMES, pits=(4, 9))
    return sc


# -- CC-WAVES / CC-FINISH ----------------------------------------------------------------------------
def test_later_wave_crosses_later_but_wins_on_corrected_time(tmp_path):
    res = cc_race().replay(tmp_path)
    # at 10800 rider 1 leads (17 laps, 10200 < 10210 corrected) and takes the flag at 10805;
    # rider 2 crosses at 10820, 15 s later on the road, but 10820 - 30 = 10790 < 10805
    assert [(r["number"], r["laps"], r["total_time_s"]) for r in res["classification"]] == [
        ("2", 18, 10790.0),
        ("1", 18, 10805.0),
    ]
    assert res["penalties"] == []  # clean ffm-cc race: 2 pit passages each, everyone in the window
    assert row(res, "2")["gap"] == "" and row(res, "1")["gap"] == "+15.000"


@pytest.mark.parametrize(("last", "status"), [(11705.0, "classified"), (11706.0, "not_classified")])
def test_finish_window_after_the_winner(tmp_path, last, status):
    sc = cc_race()
    rider(sc, "3", "N2")
    ride(sc, "3", [700.0 * k for k in range(1, 16)] + [last], pits=(3, 8))  # 15 laps, then a long walk
    res = sc.replay(tmp_path)
    r = row(res, "3")
    # the first finisher crossed at 10805; the window closes 900 s later, at 11705 (inclusive)
    assert (r["laps"], r["status"], r["position"]) == (16, status, 3)


# -- CC-DURATION / CC-CLASSES ----------------------------------------------------------------------
def test_two_hour_rider_is_stopped_at_two_hours(tmp_path):
    sc = cc_race()
    rider(sc, "41", "Jeunes")
    ride(sc, "41", [650.0 * k for k in range(1, 15)], pits=(5,))  # 11th at 7150, 12th at 7800, 13th 8450
    eng = sc.engine(tmp_path)
    res = results(eng)
    r = row(res, "41")
    assert (r["laps"], r["total_time_s"], r["status"], r["category_position"]) == (
        12,
        7800.0,
        "classified",
        1,
    )
    assert r["position"] == 3  # its own scratch (2 h) after the 3 h one
    assert penalties(res) == []  # Jeunes: one pit passage is enough
    assert eng.rule_status(eng.cars["41"])["CC-DURATION"]["text"] == "stopped at 7800.000"
    cats = by_category(eng)
    assert list(cats) == ["Elite Open", "N1", "Jeunes"]  # preset order
    assert [(x.number, x.category_position) for x in cats["Jeunes"]] == [("41", 1)]


def test_category_classifications_are_extracted_from_the_scratch(tmp_path):
    sc = cc_race()
    rider(sc, "7", "n1")  # matches "N1" case-insensitively
    ride(sc, "7", [610.0 * k for k in range(1, 19)], pits=(2, 6))  # 17 laps to 10370, 18th at 10980
    eng = sc.engine(tmp_path)
    cats = by_category(eng)
    assert [(x.number, x.position, x.category_position) for x in cats["N1"]] == [("2", 1, 1), ("7", 3, 2)]
    assert [x.number for x in cats["Elite Open"]] == ["1"]


# -- CC-PIT ----------------------------------------------------------------------------------------
def test_pit_one_passage_missing_costs_one_lap(tmp_path):
    sc = cc_race()
    rider(sc, "5", "N3")
    ride(sc, "5", [640.0 * k for k in range(1, 18)], pits=(4,))  # 16 laps to 10240, 17th at 10880
    res = sc.replay(tmp_path)
    (p,) = penalties(res)
    assert (p["number"], p["rule"], p["laps"], p["t"]) == ("5", "CC-PIT", 1, 10880.0)
    assert p["evidence"] == "1 pit passage(s) of 2 required (N3); 1 missing x 1 lap"
    assert (row(res, "5")["laps"], row(res, "5")["penalty_laps"]) == (16, 1)


def test_pit_two_passages_without_a_line_crossing_count_once(tmp_path):
    sc = cc_race()
    rider(sc, "6", "N3")
    ride(sc, "6", [640.0 * k for k in range(1, 18)], pits=(4, 5))  # pit laps back to back
    (p,) = penalties(sc.replay(tmp_path))
    assert (p["number"], p["rule"], p["laps"]) == ("6", "CC-PIT", 1)
    assert "passage at 3820.000 without a line crossing since 3200.000" in p["evidence"]


def test_pit_passages_not_counted_when_the_race_is_stopped_early(tmp_path):
    sc = Scenario("ffm-cc")
    rider(sc, "1", "Elite Open")
    ride(sc, "1", [600.0 * k for k in range(1, 10)])  # no pit passage at all
    sc.add("signal", 5000.0, signal="red")
    sc.add("signal", 5000.5, signal="chequered")  # flag before the 3 h: stopped early
    res = sc.replay(tmp_path)
    assert penalties(res) == []
    assert row(res, "1")["laps"] == 9  # finished at its first crossing after the flag (5400)


# -- live status -----------------------------------------------------------------------------------
def test_live_status_pit_passages_stop_board_and_window():
    sc = cc_race()
    rider(sc, "41", "Féminines")
    ride(sc, "41", [650.0 * k for k in range(1, 15)], pits=(5,))
    eng = sc.live(3000.0)  # rider 1's first pit passage ends at 3000
    assert status_line(eng, eng.cars["1"]) == "rider 1: 1 of 2 pit passages"
    assert status_line(eng, eng.cars["41"]) == "rider 41: 0 of 1 pit passages, STOP board in 1:10:00"
    eng = sc.live(10820.0)  # flag at 10805; rider 41 stopped at 7800
    assert status_line(eng, eng.cars["41"]) == "rider 41: 1 of 1 pit passages, stopped at 7800.000"
    assert eng.rule_status(eng.cars["2"]).get("CC-FINISH") is None  # rider 2 has finished at 10820
    eng = sc.live(10805.0)
    assert eng.rule_status(eng.cars["2"])["CC-FINISH"] == {
        "window_closes_in_s": 900.0,
        "text": "finish window closes in 15:00",
        "until_s": 11705.0,
        "text_until": "finish window closes in {}",
        "text_said": {"code": "status.cc_window_closes", "params": {"left": "15:00"}},
        "text_until_said": {"code": "status.cc_window_closes", "params": {}},
    }


# -- CC-KIDS ---------------------------------------------------------------------------------------
def _kids(tmp_path, name: str, laps: dict[str, list[float]]):
    sc = Scenario("ffm-kids")
    for no in laps:
        sc.entry(no, category="Catégorie 1", drivers=0, wave=1)
    for no, times in laps.items():
        ride(sc, no, times)
    return replay_file(sc.write(tmp_path / name))


def test_kids_two_endurances_aggregate_most_laps_then_least_time(tmp_path):
    # endurance 1 (2700 s): A leads, flag at 2915 (11 laps); B 11 laps at 3080; C stops after 5 laps
    e1 = _kids(
        tmp_path,
        "e1.jsonl",
        {
            "A": [265.0 * k for k in range(1, 12)],
            "B": [280.0 * k for k in range(1, 12)],
            "C": [300.0 * k for k in range(1, 6)],
            "D": [400.0],
        },
    )
    # endurance 2: B leads (10 laps at 2700), flag at 2970; A 10 laps at 3000; C 11 laps at 3190
    e2 = _kids(
        tmp_path,
        "e2.jsonl",
        {
            "A": [300.0 * k for k in range(1, 11)],
            "B": [270.0 * k for k in range(1, 12)],
            "C": [290.0 * k for k in range(1, 12)],
            "D": [500.0],
        },
    )
    agg = aggregate_kids(e1, e2)
    got = [(a["position"], a["number"], a["laps"], a["total_time_s"], a["status"]) for a in agg]
    assert got == [
        (1, "B", 22, 3080.0 + 2970.0, "classified"),
        (2, "A", 21, 2915.0 + 3000.0, "classified"),
        (3, "C", 11, 3190.0, "classified"),  # endurance 1 not finished: not counted
        (4, "D", 0, 0.0, "not_classified"),
    ]
    c = next(a for a in agg if a["number"] == "C")
    assert c["counted"] == [2] and c["endurance1"]["status"] == "dnf"


def test_clean_kids_endurance_triggers_nothing(tmp_path):
    e = _kids(
        tmp_path, "k.jsonl", {"1": [265.0 * k for k in range(1, 12)], "2": [280.0 * k for k in range(1, 12)]}
    )
    res = results(e)
    assert res["penalties"] == [] and res["warnings"] == []
    assert [r["status"] for r in res["classification"]] == ["classified", "classified"]


def test_two_hour_scratch_comes_after_the_three_hour_one_whatever_the_laps(tmp_path):
    sc = cc_race()
    rider(sc, "8", "N3")
    ride(sc, "8", [900.0 * k for k in range(1, 14)], pits=(2, 6))  # 13th at 11700: flag, inside the window
    rider(sc, "42", "Soft")
    ride(sc, "42", [400.0 * k for k in range(1, 21)], pits=(3,))  # 18th at 7200 (not after 2 h), 19th at 7600
    res = sc.replay(tmp_path)
    got = [(r["number"], r["laps"], r["gap"]) for r in res["classification"]]
    assert got == [("2", 18, ""), ("1", 18, "+15.000"), ("8", 13, "+5 laps"), ("42", 19, "")]
