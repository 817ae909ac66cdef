"""Hand-computed scenarios for the engine (RULES.md section 0, scenario.md laps/pit/finish)."""

from __future__ import annotations

import json
import random
import subprocess
import sys

from service.results import dumps, replay_file, replay_lines, results
from tests.conftest import REPO, by_time, passings, write_scenario


def run(tmp_path, lines, name="s.jsonl"):
    return results(replay_file(write_scenario(tmp_path / name, lines)))


def row(res, number):
    return next(r for r in res["classification"] if r["number"] == number)


def entry(number, transponder, category="Sport", **kw):
    return {
        "type": "entry",
        "number": number,
        "name": f"Car {number}",
        "transponder": transponder,
        "category": category,
        **kw,
    }


def test_tiny_race_example(shared):
    """shared/spec/examples/tiny-race.jsonl: 3 cars, a duplicate read, an unknown transponder."""
    res = results(replay_file(shared / "spec/examples/tiny-race.jsonl"))
    cls = res["classification"]
    assert [r["number"] for r in cls] == ["1", "2", "3"]
    # Car 1: 50.2, 50.25 (duplicate, < min_lap 20 s), 100.75, 150.75, 201.0, 251.5, then the flag
    # at 301.5 (race time 300 s over, car 1 leads) -> 6 laps, best 150.75 - 100.75 = 50.0 on lap 3.
    # the whole row as scenario.md "Results" lists it: the leader has no gap or interval
    assert cls[0] == {
        "position": 1,
        "number": "1",
        "name": "Alpha",
        "category": "Sport",
        "category_position": 1,
        "status": "classified",
        "laps": 6,
        "penalty_laps": 0,
        "penalty_seconds": 0.0,
        "total_time_s": 301.5,
        "best_lap_s": 50.0,
        "best_lap_no": 3,
        "pit_stops": 0,
        "gap": "",
        "interval": "",
    }
    assert (cls[0]["best_lap_s"], cls[0]["best_lap_no"]) == (50.0, 3)
    assert (cls[1]["laps"], cls[1]["total_time_s"], cls[1]["gap"], cls[1]["interval"]) == (
        6,
        307.5,
        "+6.000",
        "+6.000",
    )
    assert (cls[2]["laps"], cls[2]["total_time_s"], cls[2]["gap"], cls[2]["interval"]) == (
        6,
        319.5,
        "+18.000",
        "+12.000",
    )
    assert cls[2]["category"] == "Amateur" and cls[2]["category_position"] == 1
    assert all(r["status"] == "classified" for r in cls)
    assert any("999999" in w for w in res["warnings"])
    assert res["session"] == {"preset": "generic-timed", "kind": "race", "finished": True}


def test_replay_cli_json_is_byte_identical(shared):
    cmd = [
        sys.executable,
        "-m",
        "service.cli",
        "replay",
        str(shared / "spec/examples/tiny-race.jsonl"),
        "--json",
    ]
    a = subprocess.run(cmd, cwd=REPO, capture_output=True, check=True)
    b = subprocess.run(cmd, cwd=REPO, capture_output=True, check=True)
    assert a.stdout == b.stdout
    assert json.loads(a.stdout)["classification"][0]["number"] == "1"
    assert b"999999" in a.stderr  # unknown transponder reported on stderr too
    table = subprocess.run(cmd[:-1], cwd=REPO, capture_output=True, check=True, text=True).stdout
    assert "Alpha" in table and "Charlie" in table


def test_time_finish_crossings_just_before_and_after_time(tmp_path):
    """TIME-FINISH: 300 s race. At 300 s car A leads (6 laps, last at 299.9) and takes the flag at
    its next crossing, 349.9. B crossed at 301.0 (after the time, before the flag): that lap counts
    and B finishes at its first crossing after the flag (356.0). C crossed at 300.1, then 360.1."""
    lines = [
        {"type": "session", "preset": "generic-timed", "kind": "race", "duration_s": 300, "min_lap_s": 20},
        entry("A", "1"),
        entry("B", "2"),
        entry("C", "3"),
        {"type": "signal", "t": 0.0, "signal": "green"},
        *passings("1", [50, 100, 150, 200, 250, 299.9, 349.9, 399.9]),
        *passings("2", [55, 110, 165, 220, 275, 301.0, 356.0, 411.0]),
        *passings("3", [60, 120, 180, 240, 300.1, 360.1]),
    ]
    res = run(tmp_path, by_time(lines))
    assert [(r["number"], r["laps"], r["total_time_s"]) for r in res["classification"]] == [
        ("A", 7, 349.9),
        ("B", 7, 356.0),
        ("C", 6, 360.1),
    ]
    assert row(res, "B")["gap"] == "+6.100"
    assert (row(res, "C")["gap"], row(res, "C")["interval"]) == ("+1 lap", "+1 lap")


def test_lap_finish_dnf_dns(tmp_path):
    """LAP-FINISH, 3 laps: A finishes at 150; B at its next crossing 156 (3 laps); C, lapped, at 160
    with 2 laps; D stopped after 1 lap (dnf, ranked after finishers); E never seen (dns)."""
    lines = [
        {"type": "session", "preset": "generic-laps", "kind": "race", "laps": 3, "min_lap_s": 20},
        entry("A", "1"),
        entry("B", "2"),
        entry("C", "3"),
        entry("D", "4"),
        entry("E", "5"),
        *passings("1", [50, 100, 150, 200]),
        *passings("2", [52, 104, 156]),
        *passings("3", [80, 160]),
        *passings("4", [70]),
    ]
    res = run(tmp_path, by_time(lines))
    got = [(r["number"], r["status"], r["laps"]) for r in res["classification"]]
    assert got == [
        ("A", "classified", 3),
        ("B", "classified", 3),
        ("C", "classified", 2),
        ("D", "dnf", 1),
        ("E", "dns", 0),
    ]
    assert row(res, "B")["gap"] == "+6.000"
    assert row(res, "C")["gap"] == "+1 lap"
    assert row(res, "D")["gap"] == "+2 laps"
    assert row(res, "E")["total_time_s"] is None and row(res, "E")["gap"] == ""


def test_duplicate_reads_and_resends_count_once(tmp_path):
    lines = [
        {"type": "session", "preset": "generic-timed", "kind": "race", "duration_s": 100, "min_lap_s": 20},
        entry("1", "7"),
        {
            "type": "passing",
            "t": 30.0,
            "transponder": "7",
            "loop": "finish",
            "decoder": "d1",
            "passing_id": 1,
        },
        {
            "type": "passing",
            "t": 30.004,
            "transponder": "7",
            "loop": "finish",
            "decoder": "d1",
            "passing_id": 2,
        },
        {
            "type": "passing",
            "t": 60.0,
            "transponder": "7",
            "loop": "finish",
            "decoder": "d1",
            "passing_id": 3,
        },
        # resent after a reconnect: same decoder and passing number
        {
            "type": "passing",
            "t": 30.0,
            "transponder": "7",
            "loop": "finish",
            "decoder": "d1",
            "passing_id": 1,
        },
        {
            "type": "passing",
            "t": 110.0,
            "transponder": "7",
            "loop": "finish",
            "decoder": "d1",
            "passing_id": 4,
        },
    ]
    engine = replay_file(write_scenario(tmp_path / "d.jsonl", lines))
    r = results(engine)["classification"][0]
    assert (r["laps"], r["total_time_s"], r["best_lap_s"]) == (3, 110.0, 30.0)
    assert engine.counters["duplicate_reads"] == 1  # the resend
    assert engine.cars["1"].dup_reads == 1  # the double read 4 ms apart


def test_pit_stop_lap_ends_at_pit_out(tmp_path):
    """The pit lane bypasses the line: the lap through it ends at pit_out; pit time = out - in."""
    lines = [
        {"type": "session", "preset": "generic-timed", "kind": "race", "duration_s": 360, "min_lap_s": 20},
        entry("1", "7", drivers=[{"id": "a", "name": "Ann"}, {"id": "b", "name": "Bob"}]),
        {"type": "signal", "t": 0, "signal": "green"},
        *passings("7", [50, 100]),
        {"type": "passing", "t": 140.0, "transponder": "7", "loop": "pit_in"},
        {"type": "driver_change", "t": 200.0, "number": "1", "driver": "b"},
        {"type": "passing", "t": 265.0, "transponder": "7", "loop": "pit_out"},
        *passings("7", [315, 365]),
    ]
    engine = replay_file(write_scenario(tmp_path / "p.jsonl", lines))
    car = engine.cars["1"]
    assert car.lap_ends == [50_000_000, 100_000_000, 265_000_000, 315_000_000, 365_000_000]
    assert car.lap_times[2] == 165_000_000
    (stop,) = car.stops
    assert (
        stop.duration_us == 125_000_000
        and stop.driver_changed
        and (stop.driver_in, stop.driver_out) == ("a", "b")
    )
    assert car.driver == "b" and car.stint_start_us == 200_000_000
    r = results(engine)["classification"][0]
    assert (r["laps"], r["pit_stops"], r["total_time_s"]) == (5, 1, 365.0)


def test_missed_pit_out_is_an_anomaly_not_a_lost_lap(tmp_path):
    lines = [
        {"type": "session", "preset": "generic-timed", "kind": "race", "duration_s": 1000, "min_lap_s": 20},
        entry("1", "7"),
        *passings("7", [50]),
        {"type": "passing", "t": 90.0, "transponder": "7", "loop": "pit_in"},
        *passings("7", [230, 280]),  # pit_out was not read
    ]
    engine = replay_lines([json.dumps(x) for x in lines], finalize=False)
    car = engine.cars["1"]
    assert len(car.lap_ends) == 3 and car.in_pit is None
    assert any("pit_out missed" in a for a in car.anomalies)


def test_late_and_out_of_order_passings_are_put_in_place(tmp_path):
    """A lagging second decoder and resends give exactly the result of the time-ordered file."""
    rnd = random.Random(3)
    lines = [
        {"type": "session", "preset": "generic-timed", "kind": "race", "duration_s": 600, "min_lap_s": 20},
        *[entry(str(n), str(100 + n)) for n in range(1, 7)],
        {"type": "signal", "t": 0.0, "signal": "green"},
    ]
    events = []
    for n in range(1, 7):
        t = 0.0
        for lap in range(14):
            t += 45 + n + rnd.random() * 3
            events.append(
                {"type": "passing", "t": round(t, 3), "transponder": str(100 + n), "loop": "finish"}
            )
            if lap == 5:
                events.append(
                    {"type": "passing", "t": round(t + 20, 3), "transponder": str(100 + n), "loop": "pit_in"}
                )
                events.append(
                    {
                        "type": "passing",
                        "t": round(t + 150, 3),
                        "transponder": str(100 + n),
                        "loop": "pit_out",
                    }
                )
                t += 150 - 45
    ordered = lines + sorted(events, key=lambda e: e["t"])
    # pit loops on a decoder whose reads arrive up to 8 s late; some finish reads arrive 30 s late
    delayed = []
    for e in events:
        lag = 8 if e["loop"] != "finish" else (30 if rnd.random() < 0.1 else 0)
        delayed.append((e["t"] + lag, e))
    shuffled = lines + [e for _, e in sorted(delayed, key=lambda x: x[0])]
    assert shuffled != ordered
    a = replay_lines([json.dumps(x) for x in ordered])
    b = replay_lines([json.dumps(x) for x in shuffled])
    assert b.counters["late_events"] > 0
    assert dumps(results(a)) == dumps(results(b))


def test_unknown_transponder_and_bad_lines_are_warnings(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"type": "session", "preset": "generic-timed", "kind": "race", "duration_s": 100}\n'
        '{"type": "entry", "number": "1", "name": "A", "transponder": "1", "category": "X"}\n'
        "this is not json\n"
        '{"type": "teleport", "t": 3}\n'
        '{"type": "passing", "t": "soon", "transponder": "1", "loop": "finish"}\n'
        '{"type": "passing", "t": 40, "transponder": "42", "loop": "finish"}\n'
        '{"type": "passing", "t": 50, "transponder": "1", "loop": "finish"}\n',
        encoding="utf-8",
    )
    res = results(replay_file(path))
    w = "\n".join(res["warnings"])
    assert "line 3: malformed JSON" in w and "line 4: unknown type 'teleport'" in w
    assert "line 5:" in w and "line 6: unknown transponder 42" in w
    assert res["classification"][0]["laps"] == 1


def test_wave_offsets_reorder_the_classification(tmp_path):
    """CC-WAVES: at 300 s A (wave 1) leads and takes the flag at 350; B (wave 2, +30 s) finishes at
    365, later on the road, but 365 - 30 = 335 < 350, so B wins on corrected time."""
    lines = [
        {
            "type": "session",
            "preset": "generic-timed",
            "kind": "race",
            "duration_s": 300,
            "min_lap_s": 20,
            "waves": [{"wave": 1, "offset_s": 0}, {"wave": 2, "offset_s": 30}],
        },
        entry("A", "1", wave=1),
        entry("B", "2", wave=2),
        {"type": "signal", "t": 0.0, "signal": "green"},
        *passings("1", [70, 140, 210, 280, 350]),
        *passings("2", [95, 165, 235, 305, 365]),
    ]
    res = run(tmp_path, by_time(lines))
    assert [(r["number"], r["laps"], r["total_time_s"]) for r in res["classification"]] == [
        ("B", 5, 335.0),
        ("A", 5, 350.0),
    ]
    assert row(res, "A")["gap"] == "+15.000"
    assert row(res, "B")["best_lap_s"] == 60.0  # 95 - 30 = 65 for lap 1, then 70, 70, 70, 60


def test_qualifying_orders_by_best_lap(tmp_path):
    lines = [
        {
            "type": "session",
            "preset": "generic-timed",
            "kind": "qualifying",
            "duration_s": 200,
            "min_lap_s": 20,
        },
        entry("1", "1"),
        entry("2", "2"),
        entry("3", "3"),
        *passings("1", [60, 112, 163, 215]),  # best 51.0
        *passings("2", [70, 120, 190]),  # best 50.0
        *passings("3", [250]),  # a single out lap after the flag time: still a lap, 250 s
    ]
    res = run(tmp_path, by_time(lines))
    assert [(r["number"], r["best_lap_s"]) for r in res["classification"]] == [
        ("2", 50.0),
        ("1", 51.0),
        ("3", 250.0),
    ]
    assert row(res, "1")["gap"] == "+1.000"
    assert row(res, "1")["laps"] == 4  # the 215 s crossing is the first after 200 s: it still counts


def test_manual_penalty_and_waive_change_the_order(tmp_path):
    lines = [
        {"type": "session", "preset": "generic-laps", "kind": "race", "laps": 2, "min_lap_s": 20},
        entry("1", "1"),
        entry("2", "2"),
        *passings("1", [50, 100]),
        *passings("2", [52, 104]),
        {
            "type": "penalty",
            "t": 110,
            "number": "1",
            "rule": "AX-TIME-PEN",
            "seconds": 10,
            "note": "track limits",
        },
    ]
    res = run(tmp_path, by_time(lines))
    assert [r["number"] for r in res["classification"]] == ["2", "1"]
    # race control's AX-TIME-PEN line as the penalty record: first id, 10 s, applied, its note as evidence
    assert res["penalties"] == [
        {
            "id": "p1",
            "number": "1",
            "rule": "AX-TIME-PEN",
            "laps": 0,
            "seconds": 10.0,
            "best_lap_seconds": 0.0,
            "t": 110.0,
            "evidence": "track limits",
            "state": "applied",
            "note": "track limits",
        }
    ]
    assert row(res, "1")["total_time_s"] == 110.0 and row(res, "1")["penalty_seconds"] == 10.0
    res = run(tmp_path, [*by_time(lines), {"type": "waive", "t": 120, "penalty_id": "p1"}], "w.jsonl")
    assert [r["number"] for r in res["classification"]] == ["1", "2"]
    assert res["penalties"][0]["state"] == "waived"


def test_live_rows_before_the_finish(tmp_path):
    """During the race nobody is dnf yet, and the classification follows laps then crossing time."""
    lines = [
        {"type": "session", "preset": "generic-timed", "kind": "race", "duration_s": 3600, "min_lap_s": 20},
        entry("1", "1"),
        entry("2", "2"),
        entry("3", "3"),
        *passings("1", [50, 100]),
        *passings("2", [49, 101, 150]),
    ]
    engine = replay_lines([json.dumps(x) for x in by_time(lines)], finalize=False)
    res = results(engine)
    assert [(r["number"], r["status"]) for r in res["classification"]] == [
        ("2", "classified"),
        ("1", "classified"),
        ("3", "dns"),
    ]
    assert res["session"]["finished"] is False
