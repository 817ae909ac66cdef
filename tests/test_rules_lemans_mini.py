"""shared/spec/examples/lemans-mini.jsonl: the result its header comments compute by hand."""

from pathlib import Path

from service.engine.events import parse_line
from service.results import replay_file, replay_lines, results

SHARED = Path(__file__).resolve().parents[2] / "shared"


def test_lemans_mini_classification_and_penalties():
    res = results(replay_file(SHARED / "spec" / "examples" / "lemans-mini.jsonl"))
    rows = [(r["position"], r["number"], r["laps"], r["penalty_laps"]) for r in res["classification"]]
    assert rows == [(1, "7", 97, 0), (2, "8", 89, 11), (3, "9", 86, 0)]
    pens = sorted((p["number"], p["rule"], p["laps"], p["state"]) for p in res["penalties"])
    assert pens == [("8", "LM-MIN-PIT", 1, "applied"), ("8", "LM-STOPS", 10, "applied")]
    min_pit = next(p for p in res["penalties"] if p["rule"] == "LM-MIN-PIT")
    assert min_pit["t"] == 1557.672  # at that pit_out, not at the end
    assert min_pit["evidence"] == "pit_in 1447.672 -> pit_out 1557.672 = 110.000 s < 120 s"
    assert res["session"]["finished"] is True
    assert res["warnings"] == []


def test_corrections_after_the_end_keep_end_of_race_penalties_and_a_waive_reorders():
    engine = replay_file(SHARED / "spec" / "examples" / "lemans-mini.jsonl")
    # race control adds a missed read after the session closed: the engine recomputes everything
    engine.apply_line(parse_line({"type": "manual_passing", "t": 5000.0, "number": "9", "loop": "finish"}))
    res = results(engine)
    assert [(p["id"], p["rule"], p["state"]) for p in res["penalties"]] == [
        ("p1", "LM-MIN-PIT", "applied"),
        ("p2", "LM-STOPS", "applied"),
    ]
    # waiving LM-STOPS gives kart 8 its 10 laps back: 99 laps, ahead of kart 7's 97
    engine.apply_line(parse_line({"type": "waive", "t": 5500.0, "penalty_id": "p2"}))
    res = results(engine)
    assert [(r["number"], r["laps"]) for r in res["classification"]][:2] == [("8", 99), ("7", 97)]
    assert res["penalties"][1]["state"] == "waived"


def test_late_pit_out_read_gives_the_same_result():
    """A decoder resends kart 8's first pit_out after a reconnect: the car is rebuilt, the rules
    re-run from its events, and the result (penalty ids included) is the in-order one."""
    lines = (SHARED / "spec" / "examples" / "lemans-mini.jsonl").read_text(encoding="utf-8").splitlines()
    late = next(i for i, ln in enumerate(lines) if '"t": 1557.672' in ln and "pit_out" in ln)
    moved = lines[:late] + lines[late + 1 :] + [lines[late]]
    in_order, out_of_order = results(replay_lines(lines)), results(replay_lines(moved))
    assert out_of_order["classification"] == in_order["classification"]
    assert out_of_order["penalties"] == in_order["penalties"]
