"""The pieces wired together: heat points in results, AX-JUMP in every engine, lights-start clock."""

from __future__ import annotations

import json

from service.results import replay_lines, results
from simulator import model, scenario


def heat(jump_start: float) -> dict:
    race = model.generate("autocross", 8, 3, model.Params(jump_start=jump_start), kind="heat")
    return results(replay_lines(list(scenario.lines(race))))


def test_autocross_heat_rows_carry_points_and_jump_starts_are_penalised():
    res = heat(1.0)
    rows = res["classification"]
    finishers = [r for r in rows if r["status"] == "classified" and r["laps"] == 5]
    assert [r["points"] for r in finishers] == [r["position"] for r in finishers]  # AX-HEAT-POINTS: place
    jumps = [p for p in res["penalties"] if p["rule"] == "AX-JUMP"]
    assert jumps and all(p["seconds"] == 10.0 and "before the green" in p["evidence"] for p in jumps)
    assert not any("not implemented" in w for w in res["warnings"])


def test_heat_race_time_runs_from_the_start_lights():
    lines = [
        {"type": "session", "preset": "autocross", "kind": "heat", "laps": 1, "min_lap_s": 10},
        {"type": "entry", "number": "101", "name": "A", "transponder": "1", "category": "Buggy 1600"},
        {"type": "signal", "t": 0.0, "signal": "start_procedure"},
        {"type": "signal", "t": 4.5, "signal": "start_lights_green"},
        {"type": "passing", "t": 64.5, "transponder": "1", "loop": "finish"},
    ]
    row = results(replay_lines([json.dumps(x) for x in lines]))["classification"][0]
    assert (row["laps"], row["total_time_s"], row["best_lap_s"]) == (1, 60.0, 60.0)
