"""Race model and scenario writer: reproducibility, statistics, rule-exercising behaviours.

Checks read the written scenario lines (what the service will see), not model internals, except
where the configured model is the reference (lap-time mean and spread).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from simulator import model, scenario

REPO = Path(__file__).resolve().parents[1]


def parse(text: str) -> tuple[dict, list[dict], list[dict]]:
    objs = [json.loads(line) for line in text.splitlines() if line and not line.startswith("#")]
    assert objs[0]["type"] == "session"
    entries = [o for o in objs if o["type"] == "entry"]
    events = [o for o in objs[1 + len(entries) :]]
    assert all(o["type"] != "entry" for o in events), "entries must come before events"
    return objs[0], entries, events


def gen(preset: str, cars: int, seed: int, **rates) -> tuple[model.Race, dict, list[dict], list[dict]]:
    p = model.Params()
    for k, v in rates.items():
        setattr(p, k, v)
    kw = {k: rates.pop(k) for k in ("duration_s", "kind", "laps") if k in rates}
    race = model.generate(preset, cars, seed, p, **kw)
    session, entries, events = parse(scenario.to_text(race))
    return race, session, entries, events


def per_car(entries: list[dict], events: list[dict]) -> dict[str, list[dict]]:
    """Events of each car (passings keyed by transponder -> number), in file order."""
    by_tr = {e["transponder"]: e["number"] for e in entries}
    out: dict[str, list[dict]] = defaultdict(list)
    for ev in events:
        num = ev.get("number") or by_tr.get(ev.get("transponder", ""))
        if num:
            out[num].append(ev)
    return out


def stops_of(evs: list[dict]) -> list[dict]:
    """Pit stops of one car: pit_in/pit_out, driver changes, refuels, mechanicals, finish between."""
    stops: list[dict] = []
    cur = None
    finishes_since_out = 0
    for ev in evs:
        if ev["type"] == "passing" and ev["loop"] == "pit_in":
            cur = {
                "in": ev["t"],
                "changes": [],
                "refuels": [],
                "mechanical": False,
                "finishes_before": finishes_since_out,
                "finish_inside": 0,
            }
        elif ev["type"] == "passing" and ev["loop"] == "pit_out" and cur:
            cur["out"] = ev["t"]
            stops.append(cur)
            cur = None
            finishes_since_out = 0
        elif ev["type"] == "passing" and ev["loop"] == "finish":
            finishes_since_out += 1
            if cur:
                cur["finish_inside"] += 1
        elif cur and ev["type"] == "driver_change":
            cur["changes"].append(ev["driver"])
        elif cur and ev["type"] == "refuel":
            cur["refuels"].append(ev["t"])
        elif cur and ev["type"] == "mechanical":
            cur["mechanical"] = True
    return stops


# ---------------------------------------------------------------------------------------------


def test_same_seed_same_bytes_and_other_seed_other_race():
    a = scenario.to_text(model.generate("lemans-270-2h", 12, 7, model.Params.realistic()))
    b = scenario.to_text(model.generate("lemans-270-2h", 12, 7, model.Params.realistic()))
    c = scenario.to_text(model.generate("lemans-270-2h", 12, 8, model.Params.realistic()))
    assert a == b
    assert a != c
    pa = [json.loads(x) for x in a.splitlines() if '"passing"' in x]
    pc = [json.loads(x) for x in c.splitlines() if '"passing"' in x]
    assert [p["t"] for p in pa[:20]] != [p["t"] for p in pc[:20]]


def test_file_format_follows_the_scenario_spec():
    race, session, entries, events = gen("lemans-270-6h", 10, 1, duration_s=3600.0)
    assert session["preset"] == "lemans-270-6h" and session["kind"] == "race"
    assert len(entries) == 10 and len({e["transponder"] for e in entries}) == 10
    for e in entries:
        assert isinstance(e["number"], str) and e["category"] in ("Sport", "Amateur")
        assert 2 <= len(e["drivers"]) <= 6 and e["drivers"][0]["id"] == "d1"
    ts = [ev["t"] for ev in events]
    assert ts == sorted(ts)
    assert all(round(t, 6) == t for t in ts)
    assert events[0] == {"type": "signal", "t": 0.0, "signal": "green"}
    assert {ev["loop"] for ev in events if ev["type"] == "passing"} == {"finish", "pit_in", "pit_out"}
    # key order is fixed: type first, then t
    line = scenario.to_text(race).splitlines()[-1]
    assert line.startswith('{"type": "passing", "t": ')


def test_lap_time_mean_and_spread_match_the_model():
    """Over ~330 laps per car, each car's laps average base lap time with the configured spread."""
    race, _, entries, events = gen(
        "generic-timed", 8, 11, duration_s=6 * 3600.0, slow_lap=0.0, off_track=0.0, drift_s_per_lap=0.0
    )
    cars = {c.number: c for c in race.cars}
    for num, evs in per_car(entries, events).items():
        t = np.array([e["t"] for e in evs if e["type"] == "passing" and e["loop"] == "finish"])
        laps = np.diff(t)
        car = cars[num]
        assert len(laps) > 300
        tol = 4 * car.sigma_s / math.sqrt(len(laps))
        assert abs(laps.mean() - car.base_lap_s) < tol, (num, laps.mean(), car.base_lap_s)
        assert abs(laps.std(ddof=1) / car.sigma_s - 1) < 0.15


def test_slow_laps_and_off_tracks_shift_the_mean_as_configured():
    race, _, entries, events = gen(
        "generic-timed",
        6,
        5,
        duration_s=8 * 3600.0,
        slow_lap=0.1,
        slow_lap_mean_s=4.0,
        off_track=0.01,
        drift_s_per_lap=0.0,
    )
    all_laps, expected = [], []
    cars = {c.number: c for c in race.cars}
    for num, evs in per_car(entries, events).items():
        t = np.array([e["t"] for e in evs if e["type"] == "passing" and e["loop"] == "finish"])
        laps = np.diff(t)
        all_laps.append(laps - cars[num].base_lap_s)
        expected.append(0.1 * 4.0 + 0.01 * 16.5)
    excess = np.concatenate(all_laps)
    # extra time per lap: slow laps (exp mean 4 s at 10 %) + off-tracks (U(8, 25) at 1 %)
    assert abs(excess.mean() - expected[0]) < 0.12
    assert (excess > 8).mean() == pytest.approx(0.01 + 0.1 * math.exp(-8 / 4), abs=0.006)


def test_missed_read_rate_and_faults_leave_the_driving_unchanged():
    clean, *_ = gen("generic-timed", 10, 21, duration_s=4 * 3600.0)
    race, _, entries, events = gen(
        "generic-timed",
        10,
        21,
        duration_s=4 * 3600.0,
        missed_read=0.05,
        duplicate_read=0.05,
        noise_per_hour=30.0,
    )
    n = race.stats["crossings"]
    assert n == clean.stats["crossings"] > 2000
    rate = race.stats["missed"] / n
    assert abs(rate - 0.05) < 4 * math.sqrt(0.05 * 0.95 / n)
    clean_keys = {(r.t, r.transponder) for r in clean.reads}
    car_reads = [r for r in race.reads if r.origin == "car"]
    assert {(r.t, r.transponder) for r in car_reads} <= clean_keys
    assert len(clean_keys) - len(car_reads) == race.stats["missed"]
    # what the file shows: duplicates are a second finish read a few ms after the first
    known = {e["transponder"] for e in entries}
    last: dict[str, float] = {}
    dups = noise = 0
    for ev in events:
        if ev["type"] != "passing":
            continue
        if ev["transponder"] not in known:
            noise += 1
            continue
        prev = last.get(ev["transponder"])
        if prev is not None and ev["t"] - prev < 0.1:
            dups += 1
        last[ev["transponder"]] = ev["t"]
    assert dups == race.stats["duplicates"] > 0
    assert noise == race.stats["noise"] > 0


def test_pit_lane_geometry_and_normal_stops():
    race, session, entries, events = gen("lemans-270-6h", 12, 4)
    cars = per_car(entries, events)
    required = {"Sport": 8, "Amateur": 11}
    d = session["duration_s"]
    for e in entries:
        stops = stops_of(cars[e["number"]])
        assert len(stops) == required[e["category"]]
        for s in stops:
            assert s["finish_inside"] == 0  # the pit lane bypasses the line
            assert s["out"] - s["in"] >= 120.0
            assert len(s["changes"]) == 1 and s["finishes_before"] >= 1
            assert 300 < s["in"] and s["out"] < d - 600
        drivers = [s["changes"][0] for s in stops]
        assert all(a != b for a, b in zip(["d1"] + drivers, drivers, strict=False))
        # two mandatory refuels, one inside each window of lemans-270-6h
        refuels = [t for s in stops for t in s["refuels"]]
        assert len(refuels) == 2
        assert 3600 <= refuels[0] <= 7200 and 10800 <= refuels[1] <= 14400
        # TIME-FINISH: everybody's last read is a finish at or after the leader's flag
        last = cars[e["number"]][-1]
        assert last["loop"] == "finish" and last["t"] >= race.flag_t >= d


@pytest.mark.parametrize(
    "behaviour",
    [
        "short_stop",
        "closed_pit",
        "closed_pit_mechanical",
        "late_change",
        "back_to_back",
        "missed_refuel",
        "missing_stop",
    ],
)
def test_rule_behaviours_produce_the_events_they_should(behaviour):
    rate = 0.25 if behaviour == "short_stop" else 1.0
    race, session, entries, events = gen("lemans-270-6h", 8, 9, **{behaviour: rate})
    d = session["duration_s"]
    cars = per_car(entries, events)
    required = {"Sport": 8, "Amateur": 11}
    flagged = {c.number for c in race.cars if behaviour in c.behaviours}
    assert flagged
    for e in entries:
        stops = stops_of(cars[e["number"]])
        hit = e["number"] in flagged
        if behaviour == "short_stop":
            short = [s for s in stops if s["out"] - s["in"] < 120.0]
            assert bool(short) == hit
            assert all(95 <= s["out"] - s["in"] < 120.0 for s in short)
        elif behaviour == "closed_pit":
            first = stops[0]
            assert first["in"] < 300 and len(first["changes"]) == 1 and not first["mechanical"]
        elif behaviour == "closed_pit_mechanical":
            first = stops[0]
            assert first["in"] < 300 and first["changes"] == [] and first["mechanical"]
        elif behaviour == "late_change":
            assert d - 600 < stops[-1]["in"] and stops[-1]["changes"]
            assert stops[-1]["out"] < d
        elif behaviour == "back_to_back":
            assert sum(1 for s in stops[1:] if s["finishes_before"] == 0) == 1
            assert len(stops) == required[e["category"]] + 1
            assert all(len(s["changes"]) == 1 for s in stops)
        elif behaviour == "missed_refuel":
            assert sum(len(s["refuels"]) for s in stops) == 0
        elif behaviour == "missing_stop":
            assert sum(1 for s in stops if s["changes"]) == required[e["category"]] - 1


def test_autocross_heat_standing_start_and_jump_starts():
    race, session, entries, events = gen("autocross", 12, 2, jump_start=0.3)
    assert session["kind"] == "heat" and session["laps"] == 5
    sig = {ev["signal"]: ev["t"] for ev in events if ev["type"] == "signal"}
    assert sig["start_procedure"] == 0.0 and 3.0 <= sig["start_lights_green"] <= 8.0
    moves = {ev["number"] for ev in events if ev["type"] == "grid_move"}
    assert moves == {c.number for c in race.cars if "jump_start" in c.behaviours} != set()
    assert all(0 < ev["t"] < sig["start_lights_green"] for ev in events if ev["type"] == "grid_move")
    cars = per_car(entries, events)
    for e in entries:
        evs = [ev for ev in cars[e["number"]] if ev["type"] == "passing"]
        assert evs[0]["loop"] == "start" and evs[0]["t"] > sig["start_lights_green"] - 0.5
        assert 101 > int(e["number"]) >= 1 and e["division"] == "Super Buggy"
    # LAP-FINISH: the winner does exactly 5 laps, nobody does more than 6 crossings
    counts = sorted(
        (sum(1 for ev in cars[e["number"]] if ev.get("loop") == "finish") for e in entries), reverse=True
    )
    assert counts[0] == 5 and all(c <= 5 for c in counts)


def test_cross_country_waves_two_hour_categories_and_pit_passages():
    race, session, entries, events = gen("ffm-cc", 45, 3)
    assert [w["offset_s"] for w in session["waves"]] == [0.0, 30.0, 60.0]
    assert {e["wave"] for e in entries} == {1, 2, 3}
    stop_cats = {
        ev["category"] for ev in events if ev["type"] == "signal" and ev["signal"] == "stop_category"
    }
    assert stop_cats == {"Jeunes", "Féminines"}
    cars = per_car(entries, events)
    for e in entries:
        evs = cars[e["number"]]
        first = next(ev for ev in evs if ev["type"] == "passing")
        wave_offset = session["waves"][e["wave"] - 1]["offset_s"]
        assert first["t"] > wave_offset + 600
        stops = stops_of(evs)
        two_h = e["category"] in ("Jeunes", "Féminines")
        assert len(stops) == (1 if two_h else 2)
        last = evs[-1]
        assert last["loop"] == "finish"
        if two_h:  # stops at the first crossing after the 2 h board
            prev = [ev["t"] for ev in evs if ev.get("loop") == "finish"][-2]
            assert prev < 7200 <= last["t"]
        else:
            assert last["t"] >= race.flag_t >= session["duration_s"]


def test_second_decoder_reads_are_named():
    race, _, _, events = gen("generic-timed", 4, 1, duration_s=600.0, second_finish_decoder=1.0)
    decs = {ev.get("decoder") for ev in events if ev["type"] == "passing"}
    assert decs == {model.DECODER_IDS["finish"], model.DECODER_IDS["finish-b"]}
    assert race.stats["backup"] > 0


def test_cli_writes_the_file_and_rejects_bad_rates(tmp_path):
    out = tmp_path / "race.jsonl"
    cmd = [sys.executable, "-m", "simulator", "--preset", "generic-laps", "--cars", "5", "--seed", "3"]
    r = subprocess.run(cmd + ["--out", str(out)], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    session, entries, _ = parse(out.read_text())
    assert session["laps"] == 10 and len(entries) == 5
    r = subprocess.run(cmd + ["--set", "bogus=1"], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "unknown model parameter" in r.stderr


def test_disconnects_are_scheduled_inside_the_race_and_do_not_change_reads():
    clean, *_ = gen("generic-timed", 4, 6, duration_s=900.0)
    race, *_ = gen("generic-timed", 4, 6, duration_s=900.0, disconnects=3.0, disconnect_s=25.0)
    assert len(race.outages) == 3
    end = max(r.t for r in race.reads)
    assert all(dec == "finish" and 0 < a < end and b - a == pytest.approx(25.0) for dec, a, b in race.outages)
    assert [(r.t, r.transponder) for r in race.reads] == [(r.t, r.transponder) for r in clean.reads]


def _preset_json(name: str) -> dict:
    return json.loads((REPO / "service/presets" / f"{name}.json").read_text(encoding="utf-8"))


def test_regulated_numbers_come_from_the_preset_files():
    """Stops, refuel windows, durations and lengths are the presets' own numbers, not copies."""
    for name, fmt in model.FORMATS.items():
        data = _preset_json(name)
        rules = data.get("rules", {})
        if "LM-STOPS" in rules:  # LM-STOPS, LM-REFUEL, LM-MIN-PIT, LM-PIT-CLOSED-START, LM-NO-CHANGE-END
            assert fmt.family == "endurance"
            assert fmt.stops == rules["LM-STOPS"]["stops"]
            assert [list(w) for w in fmt.refuel] == rules.get("LM-REFUEL", {}).get("windows_s", [])
            assert fmt.pit_s == rules["LM-MIN-PIT"]["min_s"]
            assert fmt.pit_closed_s == rules["LM-PIT-CLOSED-START"]["closed_s"]
            assert fmt.no_change_end_s == rules["LM-NO-CHANGE-END"]["last_s"]
            assert list(fmt.drivers) == data["drivers_per_team"]
        if name != "generic-timed":  # the simulator's short 20-minute race
            assert fmt.duration_s == data.get("duration_s", 0)
        assert fmt.laps == data.get("laps", 0)
    ax = model.FORMATS["autocross"]
    assert ax.kind_laps == {k: v["laps"] for k, v in _preset_json("autocross")["kinds"].items()}  # AX-LENGTH
    cc, cc_data = model.FORMATS["ffm-cc"], _preset_json("ffm-cc")
    passages = cc_data["rules"]["CC-PIT"]["passages"]
    assert {c: cc.required_stops(c) for c in ("Elite Open", "Jeunes", "feminines")} == {
        "Elite Open": passages["default"],
        "Jeunes": passages["Jeunes"],
        "feminines": passages["Féminines"],
    }
    assert cc.category_end_s("FÉMININES") == cc_data["category_duration_s"]["Féminines"]
    assert cc.category_end_s("N1") is None and cc.wave_interval_s == cc_data["wave_interval_s"]


def test_a_preset_change_reaches_the_simulated_race(monkeypatch):
    """Two more Sport stops in the preset data: Sport teams of a clean race make two more stops."""
    real = model.preset_data.resolve

    def more_stops(session):
        params = real(session)
        params["rules"]["LM-STOPS"]["stops"]["Sport"] += 2
        return params

    monkeypatch.setattr(model.preset_data, "resolve", more_stops)
    fmt = model._format("lemans-270-2h", "endurance")
    assert fmt.required_stops("Sport") == 5 and fmt.required_stops("Amateur") == 5  # 3 + 2; 5 as written
    monkeypatch.setitem(model.FORMATS, "lemans-270-2h", fmt)
    race = model.generate("lemans-270-2h", 6, 4)
    changes: dict[str, set[int]] = defaultdict(set)  # driver-change stops made, per category
    for car in race.cars:
        changes[car.category].add(sum(s["driver_in"] != s["driver_out"] for s in car.stops))
    assert changes == {"Sport": {5}, "Amateur": {5}}
