"""AX-RED: red flag in a final at 1, 3 and 6 laps, and in heats/semis (seed 003 art. 7.4)."""

from __future__ import annotations

import pytest

from service.meeting.redflag import (
    RedAction,
    classify_after_red,
    order_at_lap,
    red_flag_decision,
    restart_grid,
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
