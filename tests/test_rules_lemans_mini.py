"""shared/spec/examples/lemans-mini.jsonl: the result its header comments compute by hand."""

from pathlib import Path

from service.results import replay_file, results

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
