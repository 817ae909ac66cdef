"""AX-RED: red flag in a final at 1, 3 and 6 laps, and in heats/semis (seed 003 art. 7.4)."""

from __future__ import annotations

import pytest

from service.engine import Engine
from service.engine.events import parse_line
from service.meetings.autocross import AutocrossMeeting
from service.meetings.live import red_flag_state
from service.meetings.model import DNF, RaceRow
from service.meetings.redflag import (
    RedAction,
    RedFlagDecision,
    classify_after_red,
    order_at_lap,
    red_flag_decision,
    restart_grid,
    rows_after_red,
)

S = 1_000_000
GRID = ["1", "2", "3", "4", "5"]


def test_final_red_after_one_lap_full_restart_on_original_grid() -> None:
    d = red_flag_decision("final", leader_laps=1, scheduled_laps=7)
    assert (d.action, d.laps_to_run, d.order_lap) == (RedAction.FULL_RESTART, 7, None)
    # 3 caused the red, 5 had already stopped: both cells stay empty on the original grid.
    grid = restart_grid(d, GRID, running={"1", "2", "3", "4"}, causers={"3"})
    assert grid == ["1", "2", None, "4", None]


def test_final_red_after_three_laps_restart_remaining_four_on_lap_three_order() -> None:
    d = red_flag_decision("final", leader_laps=3, scheduled_laps=7)
    assert (d.action, d.laps_to_run, d.order_lap) == (RedAction.RESTART_REMAINING, 4, 3)
    crossings = {
        "1": [61 * S, 122 * S, 184 * S],
        "2": [60 * S, 121 * S, 183 * S],  # leads lap 3
        "3": [62 * S, 120 * S, 185 * S],  # led lap 2, third at the end of lap 3
        "4": [65 * S, 130 * S],  # one lap down
        "5": [],  # no lap: grid order
    }
    order = order_at_lap(crossings, d.order_lap or 0, GRID)
    assert order == ["2", "1", "3", "4", "5"]
    # 1 caused the red; 5 had stopped before it: neither takes the new start.
    grid = restart_grid(d, GRID, running={"1", "2", "3", "4"}, causers={"1"}, lap_order=order)
    assert grid == ["2", "3", "4"]
    second_part = ["3", "2", "4"]
    assert classify_after_red(second_part, ["1"], retired_before_red=["5"]) == ["3", "2", "4", "1", "5"]


def test_final_red_after_six_laps_result_stands_cause_last_of_running_cars() -> None:
    d = red_flag_decision("final", leader_laps=6, scheduled_laps=7)
    assert (d.action, d.laps_to_run, d.order_lap) == (RedAction.RESULT_STANDS, 0, 6)
    crossings = {n: [(k + 1) * 60 * S + i * S for k in range(6)] for i, n in enumerate(GRID)}
    crossings["2"].append(7 * 60 * S)  # already past lap 6 when the red came: capped at lap 6
    crossings["5"] = crossings["5"][:4]  # retired after 4 laps
    order = order_at_lap(crossings, 6, GRID)
    assert order == ["1", "2", "3", "4", "5"]
    assert restart_grid(d, GRID, running=set(GRID), causers={"2"}) == []
    running = [n for n in order if n != "5"]
    assert classify_after_red(running, ["2"], retired_before_red=["5"]) == ["1", "3", "4", "2", "5"]


@pytest.mark.parametrize(
    ("laps", "action", "to_run"),
    [
        (0, RedAction.FULL_RESTART, 7),
        (2, RedAction.RESTART_REMAINING, 5),
        (5, RedAction.RESTART_REMAINING, 2),
        (7, RedAction.RESULT_STANDS, 0),
    ],
)
def test_final_boundaries(laps: int, action: RedAction, to_run: int) -> None:
    d = red_flag_decision("final", laps, 7)
    assert (d.action, d.laps_to_run) == (action, to_run)


@pytest.mark.parametrize("kind", ["heat", "semi"])
def test_heat_and_semi_are_run_again(kind: str) -> None:
    d = red_flag_decision(kind, leader_laps=4, scheduled_laps=5)
    assert (d.action, d.laps_to_run) == (RedAction.RERUN, 5)
    assert restart_grid(d, GRID, running={"1", "3", "4", "5"}, causers={"4"}) == ["1", None, "3", None, "5"]


def test_negative_laps_rejected() -> None:
    with pytest.raises(ValueError):
        red_flag_decision("final", -1, 7)


# ---------------------------------------------------------------- through the engine and the runner


def final_engine(red_at: float) -> Engine:
    """A final of 4 cars, laps of 60/61/62/63 s from t = 0; car 4 stops after 1 lap; red at `red_at`."""
    eng = Engine({"type": "session", "preset": "autocross", "kind": "final"})
    for g, n in enumerate(["1", "2", "3", "4"], 1):
        eng.apply_line(parse_line({"type": "entry", "number": n, "transponder": f"T{n}", "grid": g}))
    lines = []
    for i, n in enumerate(["1", "2", "3", "4"]):
        for k in range(1, (2 if n == "4" else 8)):
            lines.append({"type": "passing", "t": k * (60 + i), "transponder": f"T{n}", "loop": "finish"})
    lines.append({"type": "signal", "t": red_at, "signal": "red"})
    for line in sorted(lines, key=lambda x: x["t"]):
        if line["t"] <= red_at:
            eng.apply_line(parse_line(line))
    return eng


def test_red_flag_state_from_the_engine_in_a_final() -> None:
    # at 200 s: 1 has 3 laps (180), 2 has 3 (183), 3 has 3 (186), 4 stopped after 1 lap (63)
    st = red_flag_state(final_engine(200.0), retired=["4"])
    assert st is not None
    assert (st.leader_laps, st.decision.action, st.decision.laps_to_run) == (
        3,
        RedAction.RESTART_REMAINING,
        4,
    )
    assert st.lap_order == ["1", "2", "3", "4"]
    assert st.running == ["1", "2", "3"]
    assert st.laps_before == {"1": 3, "2": 3, "3": 3, "4": 1}
    late = red_flag_state(final_engine(375.0))  # 1 has 6 laps (360): result stands
    assert late is not None and late.decision.action is RedAction.RESULT_STANDS
    early = red_flag_state(final_engine(90.0))  # 1 lap: full restart
    assert early is not None and early.decision.action is RedAction.FULL_RESTART
    assert red_flag_state(Engine({"type": "session", "preset": "autocross", "kind": "final"})) is None


def test_rows_after_red_for_each_outcome() -> None:
    order = ["1", "2", "3", "4"]
    before = {"1": 6, "2": 6, "3": 6, "4": 1}
    stands = rows_after_red(RedFlagDecision(RedAction.RESULT_STANDS, 0, 6), order, before, ["2"], ["4"])
    assert [(r.number, r.place, r.laps, r.status) for r in stands] == [
        ("1", 1, 6, "classified"),
        ("3", 2, 6, "classified"),
        ("2", 3, 6, DNF),
        ("4", 4, 1, DNF),
    ]
    second = [RaceRow("3", 1, 4, total_time_us=250 * S), RaceRow("1", 2, 4, total_time_us=251 * S)]
    remaining = rows_after_red(
        RedFlagDecision(RedAction.RESTART_REMAINING, 4, 3), order, before, ["2"], ["4"], second
    )
    assert [(r.number, r.laps) for r in remaining] == [("3", 7), ("1", 7), ("2", 3), ("4", 1)]


def test_heat_rerun_through_the_runner_cause_is_last_with_20_points() -> None:
    entries = [{"number": n, "transponder": f"T{n}"} for n in ("1", "2", "3", "4")]
    m = AutocrossMeeting(entries)
    for stage in ("practice1", "practice2"):
        for key in m.stage_keys(stage):
            laps = {n: [60 * S + int(n) * S] for n in ("1", "2", "3", "4")}
            m.record(key, [RaceRow(n, int(n), 1) for n in laps], laps_us=laps)
    (plan,) = m.plans("heat1")
    assert plan.grid == ["1", "2", "3", "4"]
    d = red_flag_decision("heat", 2, 5)
    rerun = m.red_flag(
        "heat1.1",
        d,
        ["1", "2", "3", "4"],
        {"1": 2, "2": 2, "3": 2, "4": 1},
        running=["1", "2", "3"],
        causers=["2"],
    )
    assert rerun is not None and rerun.laps == 5
    assert rerun.grid == ["1", None, "3", None]  # 2 caused it, 4 had stopped: cells left free
    assert [e["number"] for e in rerun.entries] == ["1", "3"]
    m.record(
        "heat1.1", [RaceRow("3", 1, 5, total_time_us=300 * S), RaceRow("1", 2, 5, total_time_us=301 * S)]
    )
    ranking = m.heat_ranking("heat1")
    assert [(h.number, h.points) for h in ranking] == [("3", 1), ("1", 2), ("2", 20), ("4", 20)]
    # the rebuilt meeting keeps the finished procedure (not applied twice)
    again = AutocrossMeeting.from_state(m.state())
    assert [(h.number, h.points) for h in again.heat_ranking("heat1")] == [
        ("3", 1),
        ("1", 2),
        ("2", 20),
        ("4", 20),
    ]
