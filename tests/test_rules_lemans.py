"""Le Mans Open Kart rules (RULES.md section 1), hand-computed.

Default scenario: `lemans-270-2h` (race 5400 s; Sport 3, Amateur 5 driver-change stops), laps of
60 s, stops of 130 s with the driver change 30 s after pit_in. Each test triggers its rule once.
"""

from __future__ import annotations

import pytest

from service.i18n import text
from service.presets import resolve
from service.rules.common import status_line
from tests.test_rules_kit import Scenario, change_stops, penalties, row

SPORT = [1200.0, 2400.0, 3600.0]  # three driver-change stops: LM-STOPS satisfied for Sport


def _sc(preset: str = "lemans-270-2h", **kw) -> Scenario:
    return Scenario(preset, **kw)


# -- LM-STOPS --------------------------------------------------------------------------------------
def test_stops_missing_one_and_a_stop_without_change_does_not_count(tmp_path):
    sc = _sc()
    sc.entry("1")
    stops = change_stops(SPORT[:2])  # d2, d3
    stops.append({"in": 3600.0, "dur": 130.0, "drivers": ["d1", "d3"]})  # back to d3: no change
    crossings = sc.drive("1", 60.0, 5400.0, stops)
    res = sc.replay(tmp_path)
    (p,) = penalties(res)
    assert (p["rule"], p["laps"], p["state"]) == ("LM-STOPS", 10, "applied")
    assert p["t"] == crossings[-1] == 5410.0  # at the end: the kart's flag
    assert "2 driver-change stop(s) of 3 required (Sport)" in p["evidence"]
    assert "1 stop(s) without driver change not counted" in p["evidence"]
    r = row(res, "1")
    # 19 laps to 1140, pit lap at 1330, 17 to 2350, pit 2530, 17 to 3550, pit 3730, 28 to 5410
    assert (r["laps"], r["penalty_laps"], r["pit_stops"]) == (84 - 10, 10, 3)


def test_amateur_needs_five(tmp_path):
    sc = _sc()
    sc.entry("2", category="amateur")  # category names match case-insensitively
    sc.drive("2", 60.0, 5400.0, change_stops([700.0, 1500.0, 2300.0, 3100.0]))
    (p,) = penalties(sc.replay(tmp_path))
    assert (p["rule"], p["laps"]) == ("LM-STOPS", 10)
    assert "4 driver-change stop(s) of 5 required" in p["evidence"]


# -- LM-LAP-BETWEEN --------------------------------------------------------------------------------
def test_lap_between_two_change_stops(tmp_path):
    sc = _sc()
    sc.entry("1")
    # stop 1 out at 1330; stop 2 in at 1350, before the 1390 crossing: no lap between them
    stops = change_stops([1200.0, 1350.0, 3600.0])
    sc.drive("1", 60.0, 5400.0, stops)
    (p,) = penalties(sc.replay(tmp_path))
    assert (p["rule"], p["laps"], p["t"]) == ("LM-LAP-BETWEEN", 10, 1480.0)
    assert p["evidence"] == (
        "driver-change stop pit_out 1330.000 then pit_in 1350.000 with no finish passing "
        "between (d1 -> d2, then d2 -> d3)"
    )


# -- LM-PIT-CLOSED-START ---------------------------------------------------------------------------
def test_pit_closed_299_9_penalised_300_0_allowed(tmp_path):
    sc = _sc()
    sc.entry("1")
    sc.entry("2")
    for no, t_in in (("1", 299.9), ("2", 300.0)):
        sc.drive(no, 60.0, 5400.0, [{"in": t_in, "dur": 130.0}, *change_stops(SPORT)])
    (p,) = penalties(sc.replay(tmp_path))
    assert (p["number"], p["rule"], p["laps"], p["t"]) == ("1", "LM-PIT-CLOSED-START", 10, 429.9)
    assert p["evidence"] == (
        "pit_in 299.900 = 299.900 s after green < 300 s (pit lane closed); no mechanical problem declared"
    )


def test_pit_closed_mechanical_exception_lost_by_a_driver_change(tmp_path):
    sc = _sc()
    sc.entry("1")  # mechanical, no change: allowed
    sc.entry("2")  # mechanical but changes driver: penalised
    sc.drive("1", 60.0, 5400.0, [{"in": 100.0, "dur": 150.0, "mechanical": 5.0}, *change_stops(SPORT)])
    sc.drive(
        "2",
        60.0,
        5400.0,
        [
            {"in": 100.0, "dur": 150.0, "mechanical": 5.0, "driver": "d3"},
            *change_stops(SPORT[1:], start_driver=3),
        ],
    )
    (p,) = penalties(sc.replay(tmp_path))
    assert (p["number"], p["rule"], p["laps"], p["t"]) == ("2", "LM-PIT-CLOSED-START", 10, 250.0)
    assert "mechanical problem accepted but driver changed d1 -> d3" in p["evidence"]


# -- LM-NO-CHANGE-END ------------------------------------------------------------------------------
def test_change_at_exactly_ten_minutes_before_the_end_is_allowed(tmp_path):
    sc = _sc()
    sc.entry("1")
    sc.entry("2")
    for no, change_at in (("1", 4800.0), ("2", 4800.5)):  # race ends 5400: cutoff 4800
        stops = change_stops([1200.0, 2400.0, 4790.0])
        stops[-1]["change_at"] = change_at
        sc.drive(no, 60.0, 5400.0, stops)
    (p,) = penalties(sc.replay(tmp_path))
    assert (p["number"], p["rule"], p["laps"], p["t"]) == ("2", "LM-NO-CHANGE-END", 10, 4920.0)
    assert p["evidence"] == (
        "driver change d3 -> d1 at 4800.500, 599.500 s before the end "
        "(race ends 5400.000; no change after 4800.000)"
    )


# -- LM-MIN-PIT ------------------------------------------------------------------------------------
def test_min_pit_120_0_is_enough_119_999_is_not(tmp_path):
    sc = _sc()
    sc.entry("1")
    sc.entry("2")
    for no, dur in (("1", 120.0), ("2", 119.999)):
        stops = change_stops(SPORT)
        stops[0]["dur"] = dur
        sc.drive(no, 60.0, 5400.0, stops)
    (p,) = penalties(sc.replay(tmp_path))
    assert (p["number"], p["rule"], p["laps"], p["best_lap_seconds"]) == ("2", "LM-MIN-PIT", 1, 0.0)
    assert p["evidence"] == "pit_in 1200.000 -> pit_out 1319.999 = 119.999 s < 120 s"


def test_min_pit_in_qualifying_is_five_seconds_on_best_lap(tmp_path):
    sc = _sc(kind="qualifying")  # 30 min, best lap
    sc.entry("1")
    sc.entry("2")
    sc.drive("1", 50.0, 1800.0, [{"in": 600.0, "dur": 110.0}])
    sc.drive("2", 52.0, 1800.0)
    res = sc.replay(tmp_path)
    (p,) = penalties(res)
    assert (p["number"], p["rule"], p["laps"], p["best_lap_seconds"]) == ("1", "LM-MIN-PIT", 0, 5.0)
    # 50 + 5 = 55 s > 52 s: kart 2 takes pole
    assert [r["number"] for r in res["classification"]] == ["2", "1"]
    assert row(res, "1")["best_lap_s"] == 50.0


def test_qualifying_runs_only_the_qualifying_rules():
    p = resolve({"preset": "lemans-270-6h", "kind": "qualifying"})
    assert p["duration_s"] == 1800 and p["format"] == "best_lap"
    assert p["rules"]["LM-MIN-PIT"] == {
        "min_s": 120,
        "laps": 0,
        "best_lap_seconds": 5,
        "ballast_exempt": True,
    }
    assert p["rules"]["LM-STOPS"]["stops"] == {"Sport": 8, "Amateur": 11}  # kind block merged, not replaced


# -- LM-REFUEL -------------------------------------------------------------------------------------
EIGHT = [1200.0 * k for k in range(1, 9)]  # 270-4h Sport: 8 stops


def test_refuel_window_two_in_one_count_once_and_a_miss_costs_five_laps(tmp_path):
    sc = _sc("lemans-270-4h")  # race 12600 s, window [3600, 7200]
    for no in ("1", "2", "3"):
        sc.entry(no)
        sc.drive(no, 60.0, 12600.0, change_stops(EIGHT))
    sc.add("refuel", 4000.0, number="1")
    sc.add("refuel", 5000.0, number="1")  # second refuel in the same window: counts once
    sc.add("refuel", 7200.5, number="2")  # 0.5 s after the window
    sc.passing("3", 7200.0, "refuel")  # refuel loop at the closing instant: inside
    eng = sc.engine(tmp_path)
    from service.results import results

    (p,) = penalties(results(eng))
    assert (p["number"], p["rule"], p["laps"], p["t"]) == ("2", "LM-REFUEL", 5, 7200.0)
    assert (
        p["evidence"]
        == "no refuel in window 1 [3600.000, 7200.000] (1:00:00-2:00:00 of race); refuels at: 7200.500"
    )
    st = eng.rule_status(eng.cars["1"])["LM-REFUEL"]
    assert st["windows"] == [
        {"window": 1, "open_s": 3600.0, "close_s": 7200.0, "state": "done", "refuel_t": 4000.0}
    ]
    assert eng.rule_status(eng.cars["2"])["LM-REFUEL"]["windows"][0]["state"] == "missed"


# -- LM-WEIGHT -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("rounding", "laps"), [("ceil", 4), ("floor", 2)])
def test_weight_two_laps_per_started_kilogram(tmp_path, rounding, laps):
    sc = _sc(rules={"LM-WEIGHT": {"rounding": rounding}})
    sc.entry("1")
    sc.entry("2")
    for no in ("1", "2"):
        sc.drive(no, 60.0, 5400.0, change_stops(SPORT))
    sc.add("weight_check", 1340.0, number="1", driver="d2", kg=68.7)  # 1.3 kg under 70.0
    sc.add("weight_check", 1340.0, number="2", driver="d2", kg=70.0)
    (p,) = penalties(sc.replay(tmp_path))
    assert (p["number"], p["rule"], p["laps"], p["t"]) == ("1", "LM-WEIGHT", laps, 1340.0)
    assert "driver d2 68.7 kg vs 70 kg at sign-on = 1.300 kg missing" in p["evidence"]


# -- LM-BALLAST ------------------------------------------------------------------------------------
def test_ballast_short_return_stop_is_proposed_without_amount(tmp_path):
    sc = _sc()
    sc.entry("1")
    sc.entry("2")
    for no, dur in (("1", 80.0), ("2", 95.0)):
        sc.drive(no, 60.0, 5400.0, [*change_stops(SPORT), {"in": 1450.0, "dur": dur}])
        sc.add("ballast_check", 1335.0, number=no, ok=False)  # at the exit of the first stop
    res = sc.replay(tmp_path)
    (p,) = penalties(res)  # 95 s is enough; neither return stop gets LM-MIN-PIT (< 120 s but exempt)
    assert (p["number"], p["rule"], p["laps"], p["state"]) == ("1", "LM-BALLAST", 0, "proposed")
    assert p["evidence"] == (
        "ballast_check failed at 1335.000; return stop pit_in 1450.000 -> pit_out 1530.000 = 80.000 s < 90 s"
    )
    assert row(res, "1")["penalty_laps"] == 0


# -- LM-UNSPORTING ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "laps", "best"), [("race", 1, 0.0), ("qualifying", 0, 5.0)])
def test_unsporting_takes_the_preset_amount(tmp_path, kind, laps, best):
    sc = _sc(kind=kind)
    sc.entry("1")
    sc.drive("1", 60.0, 5400.0 if kind == "race" else 1800.0, change_stops(SPORT) if kind == "race" else [])
    sc.add("penalty", 1000.0, number="1", rule="LM-UNSPORTING", note="blocking")
    (p,) = penalties(sc.replay(tmp_path))
    assert (p["rule"], p["laps"], p["best_lap_seconds"], p["state"]) == (
        "LM-UNSPORTING",
        laps,
        best,
        "applied",
    )


def test_unsporting_typed_amount_wins(tmp_path):
    sc = _sc()
    sc.entry("1")
    sc.drive("1", 60.0, 5400.0, change_stops(SPORT))
    sc.add("penalty", 1000.0, number="1", rule="LM-UNSPORTING", laps=2)
    (p,) = penalties(sc.replay(tmp_path))
    assert p["laps"] == 2


# -- waive -----------------------------------------------------------------------------------------
def test_waived_penalty_restores_the_order(tmp_path):
    def build(waive: bool) -> dict:
        sc = _sc()
        sc.entry("1")
        sc.entry("2")
        fast = change_stops([1200.0, 2400.0, 3610.0])
        fast[-1]["dur"] = 119.0  # out 3729, 1 s ahead of kart 2 (3730) on equal laps; LM-MIN-PIT: 1 lap
        sc.drive("1", 60.0, 5400.0, fast)
        sc.drive("2", 60.0, 5400.0, change_stops(SPORT))
        if waive:
            sc.add("waive", 2000.0, penalty_id="p1")
        return sc.replay(tmp_path, f"w{waive}.jsonl")

    before, after = build(False), build(True)
    assert [r["number"] for r in before["classification"]] == ["2", "1"]
    assert row(before, "1")["laps"] == row(before, "2")["laps"] - 1
    (p,) = penalties(after)
    assert (p["id"], p["rule"], p["state"]) == ("p1", "LM-MIN-PIT", "waived")
    assert [r["number"] for r in after["classification"]] == ["1", "2"]
    assert (row(after, "1")["total_time_s"], row(after, "2")["total_time_s"]) == (5409.0, 5410.0)
    assert row(after, "1")["laps"] == row(after, "2")["laps"]


# -- clean races: one per preset, nothing triggers ---------------------------------------------------
REFUELS = {
    "lemans-270-4h": [5400.0],
    "lemans-270-6h": [5400.0, 12600.0],
    "lemans-390-4h": [2700.0, 9000.0],
    "lemans-390-6h": [3600.0, 9000.0, 16200.0],
}


@pytest.mark.parametrize(
    "preset",
    ["lemans-270-2h", "lemans-270-3h", "lemans-270-4h", "lemans-270-6h", "lemans-390-4h", "lemans-390-6h"],
)
def test_clean_race_triggers_nothing(tmp_path, preset):
    p = resolve({"preset": preset, "kind": "race"})
    dur = float(p["duration_s"])
    sc = _sc(preset)
    for no, cat in (("1", "Sport"), ("2", "Amateur")):
        n = p["rules"]["LM-STOPS"]["stops"][cat]
        times = [round(dur * k / (n + 1) / 60) * 60.0 + 10 for k in range(1, n + 1)]
        sc.entry(no, category=cat)
        sc.drive(no, 60.0 + int(no), dur + 120, change_stops(times))  # both still running at the flag
        for t in REFUELS.get(preset, []):
            sc.add("refuel", t, number=no)
        sc.add("weight_check", times[0] + 140, number=no, driver="d2", kg=70.2)
        sc.add("ballast_check", times[0] + 140, number=no, ok=True)
    res = sc.replay(tmp_path)
    assert res["penalties"] == []
    assert [r["status"] for r in res["classification"]] == ["classified", "classified"]
    assert res["warnings"] == []


def test_clean_qualifying_triggers_nothing(tmp_path):
    sc = _sc("lemans-390-6h", kind="qualifying")
    sc.entry("1")
    sc.drive("1", 55.0, 1800.0, [{"in": 600.0, "dur": 121.0}])
    res = sc.replay(tmp_path)
    assert res["penalties"] == [] and res["classification"][0]["best_lap_s"] == 55.0


# -- live status -----------------------------------------------------------------------------------
def test_live_status_at_chosen_times():
    sc = _sc("lemans-270-4h")  # 12600 s, refuel window [3600, 7200], Amateur 11 stops
    sc.entry("14", category="Amateur")
    stops = change_stops([1200.0, 2400.0, 3600.0])
    stops[-1]["dur"] = 140.0  # out at 3740: crossings at 3800 + 60 k, so one at 6440
    sc.drive("14", 60.0, 12600.0, stops)

    eng = sc.live(120.0)
    car = eng.cars["14"]
    assert (
        status_line(eng, car)
        == "kart 14: 0 of 11 stops, pit lane opens in 3:00, refuel window opens in 58:00"
    )
    said = {"code": "status.lm_pit_opens", "params": {"extra": ""}}  # the pages say it in their language
    assert eng.rule_status(car)["LM-PIT-CLOSED-START"] == {
        "pit_lane": "closed",
        "opens_in_s": 180.0,
        "text": "pit lane opens in 3:00",
        "until_s": 300.0,
        "text_until": "pit lane opens in {}",
        "text_said": {**said, "params": {"extra": "", "left": "3:00"}},
        "text_until_said": said,
    }
    assert (
        text("fr", "status.lm_pit_opens", {"extra": "", "left": "3:00"})
        == "la voie des stands ouvre dans 3:00"
    )

    eng = sc.live(6440.0)  # 12:40 before the window closes at 7200
    car = eng.cars["14"]
    assert status_line(eng, car) == "kart 14: 3 of 11 stops, refuel window closes in 12:40"
    st = eng.rule_status(car)
    assert (st["LM-STOPS"]["stint_s"], st["LM-STOPS"]["driver"]) == (6440.0 - 3630.0, "d1")
    assert st["LM-STOPS"]["stint_start_s"] == 3630.0  # absolute, for pages that count themselves
    assert (
        st["LM-REFUEL"]["until_s"] == 7200.0 and st["LM-REFUEL"]["text_until"] == "refuel window closes in {}"
    )
    assert st["LM-NO-CHANGE-END"] == {
        "driver_change_allowed": True,
        "change_closes_in_s": 12000.0 - 6440.0,
        "change_closes_s": 12000.0,
    }
    assert st["LM-PIT-CLOSED-START"] == {"pit_lane": "open"}

    eng = sc.live(12020.0)  # last 10 minutes: cutoff 12000
    st = eng.rule_status(eng.cars["14"])
    assert st["LM-NO-CHANGE-END"]["driver_change_allowed"] is False
    assert st["LM-REFUEL"]["windows"][0]["state"] == "missed"
    assert status_line(eng, eng.cars["14"]) == (
        "kart 14: 3 of 11 stops, no driver change (last 10 min), refuel window 1 MISSED"
    )


def test_live_status_mechanical_stop_in_closed_pit_lane_and_ballast():
    sc = _sc()
    sc.entry("5")
    sc.drive("5", 60.0, 5400.0, [{"in": 100.0, "dur": 150.0, "mechanical": 5.0}, *change_stops(SPORT)])
    sc.add("ballast_check", 1335.0, number="5", ok=False)
    eng = sc.live(110.0)  # the latest line is the mechanical declaration at 105.0: now = 105.0
    st = eng.rule_status(eng.cars["5"])["LM-PIT-CLOSED-START"]
    assert (
        st["driver_change_allowed"] is False
        and st["text"] == "pit lane opens in 3:15; no driver change on this stop"
    )
    eng = sc.live(1335.0)
    assert eng.rule_status(eng.cars["5"])["LM-BALLAST"]["driver_change_allowed"] is False


def test_weight_status_shows_the_ballast_band_of_the_driver_in_the_kart():
    sc = _sc()
    sc.entry("1", weight=55.0)  # 51-56.99 kg band: 25 kg of ballast
    sc.drive("1", 60.0, 600.0)
    eng = sc.live(300.0)
    assert eng.rule_status(eng.cars["1"])["LM-WEIGHT"] == {
        "driver": "d1",
        "signon_kg": 55.0,
        "ballast_kg": 25.0,
    }


def test_lap_between_a_stop_without_change_is_no_lap_on_track(tmp_path):
    sc = _sc()
    sc.entry("1")
    # change stop out 1330; stop without change 1340 -> 1470 (its pit_out ends a lap, but no finish
    # passing); change stop in at 1480: still no finish passing since 1330
    stops = [
        *change_stops([1200.0]),
        {"in": 1340.0, "dur": 130.0},
        *change_stops([1480.0, 3600.0], start_driver=2),
    ]
    sc.drive("1", 60.0, 5400.0, stops)
    (p,) = penalties(sc.replay(tmp_path))
    assert (p["rule"], p["t"]) == ("LM-LAP-BETWEEN", 1610.0)
