"""Times a human types are bounded (issue 20): a staff line's time falls between the session's start and
its clock plus a small margin, a read's within hours of it; outside, a 400 that says why, in the
caller's language, and nothing is logged. Replaying a log never checks them (old logs replay)."""

from __future__ import annotations

import json

import pytest

from decoders import Passing
from service.results import replay_lines, results
from service.sessions.live import DecoderLink
from service.sessions.time_bounds import READ_AHEAD_S, STAFF_AHEAD_S
from tests.test_api_hardening import Track


@pytest.fixture
def track(tmp_path) -> Track:
    """lemans-270-2h, green at 0, two laps of cars 1-3 (the newest read at 123 s): the session clock is
    123 s (the wall clock of a session created a moment ago is behind it)."""
    return Track(tmp_path / "data")


def refused(track: Track, path: str, body: dict, code: str, lang: str = "en") -> dict:
    before = track.logged()
    r = track.post(path, body, headers={"Authorization": "Bearer admin-secret", "Accept-Language": lang})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == code, r.json()
    assert track.logged() == before  # nothing logged
    return r.json()


def test_a_manual_passing_far_in_the_future_or_negative_is_refused(track):
    """The issue's typos: car 1 at 99999 s in a 2-hour race, and -5."""
    got = refused(track, "/manual_passing", {"number": "1", "t": 99999}, "time.after_clock", "fr")
    assert got["params"] == {"field": "t", "t": 99999.0, "clock": 123.0, "margin": round(STAFF_AHEAD_S)}
    assert "99999" in got["detail"] and "horloge de la séance" in got["detail"]
    got = refused(track, "/manual_passing", {"number": "1", "t": -5}, "time.before_start")
    assert got["params"]["start"] == 0.0 and "before what this session accepts" in got["detail"]
    row = next(r for r in track.results()["classification"] if r["number"] == "1")
    assert row["laps"] == 2  # nothing moved


def test_every_staff_line_with_a_time_is_bounded(track):
    far = 123 + STAFF_AHEAD_S + 1
    refused(track, "/penalties", {"number": "1", "rule": "LM-UNSPORTING", "t": far}, "time.after_clock")
    refused(track, "/signal", {"signal": "yellow", "t": -5}, "time.before_start")
    refused(track, "/cars/1/driver_change", {"driver": "b", "t": far}, "time.after_clock")
    refused(track, "/invalidate", {"transponder": "101", "target_t": 864000}, "time.after_clock")
    refused(track, "/events", {"type": "refuel", "number": "1", "t": 99999}, "time.after_clock")


def test_times_within_the_bounds_are_accepted(track):
    assert track.post("/manual_passing", {"number": "1", "t": 123 + STAFF_AHEAD_S - 1}).status_code == 200
    assert track.post("/signal", {"signal": "yellow", "t": 0}).status_code == 200
    assert (
        track.post("/penalties", {"number": "2", "rule": "LM-UNSPORTING"}).status_code == 201
    )  # stamped now


def test_a_read_far_from_the_session_clock_is_refused(track):
    """A passing at t = 864,000 s (ten days) used to be accepted and end the race for everyone."""
    read = {"type": "passing", "transponder": "101", "loop": "finish"}
    got = refused(track, "/events", {**read, "t": 864000}, "time.after_clock")
    assert got["params"]["margin"] == round(READ_AHEAD_S)
    refused(track, "/events", {**read, "t": -864000}, "time.before_start")
    assert (
        track.post("/events", {**read, "t": 400.0}).status_code == 200
    )  # a decoder clock a few minutes ahead


def test_a_decoder_read_out_of_time_is_refused_and_counted_not_fatal(track):
    session = track.client.app.state.manager.get(track.sid)
    before = (track.logged(), session.counters["rejected"])
    link = DecoderLink(url="mqtt://127.0.0.1:1/x", rtc_zero_us=0)
    session.on_passing(
        link, Passing(transponder="101", rtc_time_us=864_000 * 10**6, decoder_id="d1", passing_number=1)
    )
    assert (track.logged(), session.counters["rejected"]) == (before[0], before[1] + 1)


def test_a_log_with_such_times_still_replays():
    """The bounds are the live session's: a file or an old log with them replays as before."""
    lines = [
        {"type": "session", "preset": "generic-timed", "kind": "race", "duration_s": 5400},
        {"type": "entry", "number": "4", "transponder": "104"},
        {"type": "signal", "t": 0, "signal": "green"},
        {"type": "passing", "t": 60.0, "transponder": "104", "loop": "finish"},
        {"type": "manual_passing", "t": 99999, "number": "4"},
    ]
    res = results(replay_lines([json.dumps(x) for x in lines]))
    assert res["classification"][0]["laps"] == 2
