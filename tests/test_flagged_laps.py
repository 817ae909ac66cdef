"""Flagged laps are not records (issue 20): a lap the lap-time checks warn about (too short or too long
against the car's pace) is no best lap, qualifying time or fastest-lap bonus until race control
confirms it, exactly like a manual lap."""

from __future__ import annotations

import json

import pytest

from service.engine import Engine
from service.engine.events import parse_line
from service.errors import Conflict, NotFound
from service.meetings.live import practice_laps
from service.results import replay_lines, results
from service.seasons.loader import load_season_file
from service.seasons.standings import standings
from tests.season_helpers import write_season
from tests.test_api_hardening import Track

HEAD = [
    {"type": "session", "preset": "generic-timed", "kind": "race", "duration_s": 3600, "min_lap_s": 15},
    {"type": "entry", "number": "1", "name": "Ghost", "transponder": "101", "category": "Sport"},
    {"type": "entry", "number": "2", "name": "Clean", "transponder": "102", "category": "Sport"},
    {"type": "signal", "t": 0, "signal": "green"},
]
# Car 1: five laps of 45.9 s, then a read 26.155 s later (57 % of its median: a stray read, or a cut),
# then its real crossing 19.745 s after that (43 %), then 45.9 s laps again. Car 2 laps in 46.5 s.
CAR1 = [45.9 * k for k in range(1, 6)]
CAR1 += [CAR1[-1] + 26.155, CAR1[-1] + 45.9] + [CAR1[-1] + 45.9 * k for k in range(2, 5)]
CAR1 += [CAR1[-1] + 45.9]
CAR2 = [46.5 * k for k in range(1, 11)]
SHORT_T = round(45.9 * 5 + 26.155, 6)  # the crossing that ends the 26.155 s lap (lap 6)


def reads(transponder: str, times: list[float]) -> list[dict]:
    return [
        {"type": "passing", "t": round(t, 6), "transponder": transponder, "loop": "finish"} for t in times
    ]


def race(extra: list[dict] = (), finalize: bool = True) -> Engine:
    lines = HEAD + sorted(reads("101", CAR1) + reads("102", CAR2), key=lambda r: r["t"]) + list(extra)
    return replay_lines([json.dumps(x) for x in lines], finalize=finalize)


def row(engine: Engine, number: str) -> dict:
    return next(r for r in results(engine, detail=True)["classification"] if r["number"] == number)


def test_a_warned_lap_is_no_best_lap():
    r = row(race(), "1")
    assert [w[:3] for w in r["lap_warnings"]] == [
        [6, 26.155, "57 % of the car's median lap (45.900 s)"],
        [7, 19.745, "43 % of the car's median lap (45.900 s)"],
    ]
    assert r["lap_warnings"][0][4] == SHORT_T  # the crossing that ends it: what a confirm names
    assert r["lap_flags"] == {"6": "warned", "7": "warned"}
    assert (r["best_lap_s"], r["best_lap_no"]) == (45.9, 1)  # not the 26.155 s lap


def test_race_control_confirms_a_warned_lap_and_a_revert_undoes_it():
    e = race(finalize=False)
    confirm = parse_line({"type": "confirm", "t": 600, "number": "1", "lap_t": SHORT_T})
    assert e.refusal(confirm) is None
    e.apply_line(confirm)
    r = row(e, "1")
    assert (r["best_lap_s"], r["best_lap_no"]) == (26.155, 6) and r["lap_flags"] == {
        "6": "confirmed",
        "7": "warned",
    }
    again = e.refusal(parse_line({"type": "confirm", "t": 601, "number": "1", "lap_t": SHORT_T}))
    assert isinstance(again, Conflict) and again.code == "confirm.lap_confirmed"
    clean = e.refusal(
        parse_line({"type": "confirm", "t": 601, "number": "1", "lap_t": 45.9})
    )  # lap 1: no warning
    assert isinstance(clean, NotFound) and clean.code == "confirm.no_flagged_lap"
    e.apply_line(parse_line({"type": "revert", "t": 602, "target": "c1"}))
    assert (row(e, "1")["best_lap_s"], row(e, "1")["lap_flags"]["6"]) == (45.9, "warned")


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "confirm", "t": 1},
        {"type": "confirm", "t": 1, "number": "1"},
        {"type": "confirm", "t": 1, "target": "c1", "lap_t": 5},
    ],
)
def test_a_confirm_names_a_manual_passing_or_a_lap(bad):
    with pytest.raises(ValueError, match="'target'"):
        parse_line(bad)


def test_a_warned_lap_is_no_qualifying_time():
    """AX-PRACTICE ranks on the laps a meeting reads from a session: the warned ones are left out."""
    laps = practice_laps(race())
    assert 26_155_000 not in laps["1"] and 19_745_000 not in laps["1"] and min(laps["1"]) == 45_900_000
    assert len(laps["1"]) == len(CAR1) - 2


def test_a_warned_lap_earns_no_fastest_lap_bonus(tmp_path):
    """LM-POINTS: +2 for the fastest race lap of the category. Car 1's 26.155 s lap was flagged; car 2's
    46.5 s is slower than car 1's 45.9 s real laps, so car 1 still has the bonus, for 45.9 s; once car 1
    drives no lap faster than car 2, the bonus is car 2's."""

    def race_results(car1: list[float]) -> dict:
        head = [{**HEAD[0], "preset": "lemans-270-2h", "duration_s": 420}, *HEAD[1:]]
        lines = head + sorted(reads("101", car1) + reads("102", CAR2), key=lambda r: r["t"])
        return results(replay_lines([json.dumps(x) for x in lines]))

    def bonus(res: dict) -> dict[str, int]:
        path = write_season(tmp_path, "lemans-270", [{"name": "2H", "race": res}])
        table = standings(*load_season_file(path))["categories"]["Sport"]
        return {r["number"]: r["per_event"][0].get("fastest_lap", 0) for r in table}

    fast = race_results(CAR1)
    assert {r["number"]: r["best_lap_s"] for r in fast["classification"]} == {"1": 45.9, "2": 46.5}
    assert bonus(fast) == {"1": 2, "2": 0}
    slow = [t * 47.0 / 45.9 for t in CAR1]  # the same race with 47 s laps: the short lap is 26.78 s
    slow_res = race_results(slow)
    assert {r["number"]: r["best_lap_s"] for r in slow_res["classification"]} == {"1": 47.0, "2": 46.5}
    assert bonus(slow_res) == {"1": 0, "2": 2}


def test_the_confirm_endpoint_takes_a_lap(tmp_path):
    """Live: race control confirms the lap by car and crossing time; the timing crew may not."""
    track = Track(tmp_path / "data")
    for t in (120 + 45.9 * k for k in range(1, 5)):
        assert (
            track.post(
                "/events", {"type": "passing", "t": round(t, 3), "transponder": "101", "loop": "finish"}
            ).status_code
            == 200
        )
    short = round(120 + 45.9 * 4 + 25.0, 3)  # 25 s: 54 % of the car's median
    assert (
        track.post(
            "/events", {"type": "passing", "t": short, "transponder": "101", "loop": "finish"}
        ).status_code
        == 200
    )
    row1 = next(r for r in track.results()["classification"] if r["number"] == "1")
    assert row1["lap_flags"] == {"7": "warned"} and row1["best_lap_s"] == 44.9
    timing = {"Authorization": f"Bearer {track.tokens['timing']}"}
    assert track.post("/confirm", {"number": "1", "lap_t": short}, headers=timing).status_code == 403
    rc = {"Authorization": f"Bearer {track.tokens['race_control']}"}
    r = track.post("/confirm", {"number": "1", "lap_t": short - 1}, headers={**rc, "Accept-Language": "fr"})
    assert (
        r.status_code == 404 and r.json()["code"] == "confirm.no_flagged_lap" and "tour" in r.json()["detail"]
    )
    assert track.post("/confirm", {"number": "1", "lap_t": short}, headers=rc).status_code == 200
    row1 = next(r for r in track.results()["classification"] if r["number"] == "1")
    assert (row1["best_lap_s"], row1["lap_flags"]) == (25.0, {"7": "confirmed"})
