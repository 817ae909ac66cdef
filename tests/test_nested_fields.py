"""Strict nested objects (issue 20): an unknown field inside a typed object (a driver, a wave) is refused
with its name; top-level extras of header lines stay preset overrides; an old log with such a field
replays without it, saying so."""

from __future__ import annotations

import json

import pytest

from service.engine.events import LineError, parse_line
from service.results import replay_lines, results
from tests.test_api_hardening import Track

ENTRY = {"type": "entry", "number": "5", "name": "Kart 5", "transponder": "105", "category": "Sport"}


@pytest.mark.parametrize(
    "line, field",
    [
        ({**ENTRY, "drivers": [{"id": 5, "kg": "heavy"}]}, "drivers[0].kg"),
        (
            {**ENTRY, "drivers": [{"id": "a", "weight_kg": 70}, {"id": "b", "wieght_kg": 71}]},
            "drivers[1].wieght_kg",
        ),
        (
            {
                "type": "session",
                "preset": "ffm-cc",
                "kind": "race",
                "waves": [{"wave": 1, "offset_s": 0, "ofset": 30}],
            },
            "waves[0].ofset",
        ),
    ],
)
def test_an_unknown_nested_field_is_refused_by_name(line, field):
    with pytest.raises(LineError) as err:
        parse_line(line)
    assert f"'{field}': unknown field" in str(err.value)


def test_top_level_extras_stay_overrides():
    assert parse_line({**ENTRY, "licence": "FFSA-123"}).to_dict()["licence"] == "FFSA-123"
    assert (
        parse_line({"type": "session", "preset": "generic-timed", "lap_warn_low_pct": 60}).to_dict()[
            "lap_warn_low_pct"
        ]
        == 60
    )


def test_the_live_entry_list_refuses_it_and_logs_nothing(tmp_path):
    track = Track(tmp_path / "data")
    before = track.logged()
    r = track.post("/entries", [{**ENTRY, "drivers": [{"id": 5, "kg": "heavy"}]}])
    assert r.status_code == 400 and "drivers[0].kg" in r.json()["detail"]
    assert track.logged() == before


def test_an_old_log_with_it_replays_without_the_field_and_says_so():
    lines = [
        {"type": "session", "preset": "generic-timed", "kind": "race"},
        {**ENTRY, "drivers": [{"id": 5, "name": "Ann", "kg": "heavy"}]},
        {"type": "signal", "t": 0, "signal": "green"},
        {"type": "passing", "t": 60.0, "transponder": "105", "loop": "finish"},
    ]
    res = results(replay_lines([json.dumps(x) for x in lines]))
    assert res["classification"][0]["laps"] == 1  # the car is there
    assert res["warnings"] == ["line 2: entry: unknown field(s) drivers[0].kg left out"]
