"""Issue 16: the boundaries between parts.

- the engine answers every line with a typed `Outcome` (accepted / duplicate / unknown / rejected,
  warnings, changed cars, penalties, corrections, whether the order may have changed);
- `LiveSession` commands return domain objects and refuse with domain errors, with no HTTP at all;
- domain errors become HTTP answers in one place (service/http_errors.py);
- the line classes are the one table of event types (who may send what is derived from it);
- routers only translate HTTP: they neither catch domain errors nor build HTTP errors themselves.
"""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from decoders.reach import ReachRefused
from service import auth, errors, http_errors
from service.engine import Engine
from service.engine.engine import ApplyError
from service.engine.events import (
    ACTION_TYPES,
    BY_TAG,
    READ_TYPES,
    LineError,
    NoEffect,
    UnknownTarget,
    parse_line,
)
from service.engine.outcome import ACCEPTED, DUPLICATE, REJECTED, UNKNOWN
from service.sessions.live import LiveSession

ROOT = Path(__file__).resolve().parent.parent
HEAD = [
    {"type": "session", "preset": "generic-timed", "kind": "race", "duration_s": 3600, "min_lap_s": 20},
    {"type": "entry", "number": "1", "transponder": "101"},
    {"type": "entry", "number": "2", "transponder": "102"},
    {"type": "signal", "t": 0, "signal": "green"},
]


def engine() -> Engine:
    e = Engine()
    for line in HEAD:
        e.apply_line(parse_line(line))
    return e


# -- the engine's outcome ------------------------------------------------------------------------------
def test_a_lap_is_accepted_changes_its_car_and_may_change_the_order():
    e = engine()
    out = e.apply_line(parse_line({"type": "passing", "t": 61.0, "transponder": "101", "loop": "finish"}))
    assert out.status == ACCEPTED and out.read_state == "ok"
    assert set(out.cars) == {"1"} and out.laps and out.order_may_change
    assert not out.warnings and not out.penalties and out.changed


def test_a_pit_entry_changes_its_car_but_not_the_order():
    e = engine()
    out = e.apply_line(parse_line({"type": "passing", "t": 50.0, "transponder": "102", "loop": "pit_in"}))
    assert out.status == ACCEPTED and set(out.cars) == {"2"}
    assert not out.laps and not out.order_may_change


def test_the_same_read_twice_is_a_duplicate_and_changes_no_car():
    e = engine()
    read = {"type": "passing", "t": 61.0, "transponder": "101", "loop": "finish"}
    e.apply_line(parse_line(read))
    out = e.apply_line(parse_line(read))
    assert out.status == DUPLICATE and out.read_state == "duplicate"
    assert not out.cars and not out.order_may_change
    assert e.cars["1"].laps == 1


def test_an_unknown_transponder_is_unknown_with_a_warning():
    out = engine().apply_line(
        parse_line({"type": "passing", "t": 61.0, "transponder": "999", "loop": "finish"})
    )
    assert out.status == UNKNOWN and out.read_state == "unknown"
    assert not out.cars and list(out.warnings) == ["unknown transponder 999 (finish at 61.000 s)"]


def test_a_line_the_engine_ignores_is_rejected_and_says_why():
    out = engine().apply_line(parse_line({"type": "mechanical", "t": 70.0, "number": "42"}))
    assert out.status == REJECTED and out.read_state == "rejected"
    assert list(out.warnings) == ["no car '42' in this session"] and not out.cars  # as a live caller hears it


def test_a_penalty_line_names_its_penalty_and_its_correction_id():
    out = engine().apply_line(
        parse_line({"type": "penalty", "t": 80.0, "number": "2", "rule": "MANUAL", "seconds": 10})
    )
    assert list(out.penalties) == ["p1"] and list(out.corrections) == ["c1"] and out.correction == "c1"
    assert set(out.cars) == {"2"} and out.order_may_change


# -- LiveSession commands: domain objects, domain errors, no HTTP -------------------------------------
@pytest.fixture
def live(tmp_path):
    s = LiveSession.create(
        tmp_path, "front door", {"preset": "generic-timed", "kind": "race", "min_lap_s": 20}
    )
    s.add_entries([HEAD[1], HEAD[2]])
    s.record({"type": "signal", "t": 0, "signal": "green"})
    s.record({"type": "passing", "t": 61.0, "transponder": "101", "loop": "finish"})
    yield s
    s.close()


def logged(s: LiveSession) -> int:
    return sum(1 for _ in s.store.texts())


def test_add_penalty_returns_the_penalty_it_made(live):
    p, outcome = live.add_penalty(
        {"number": "1", "rule": "MANUAL", "other": True, "seconds": 5, "note": "track limits"}, "race_control"
    )
    assert (p.id, p.number, p.rule, p.seconds, p.state, p.source) == (
        "p1",
        "1",
        "MANUAL",
        5.0,
        "applied",
        "c1",
    )
    assert outcome.correction == "c1" and live.engine.corrections["c1"]["by"] == "race_control"
    waived = live.waive("p1", "video: no gain", "race_control")
    assert (
        waived is live.penalty("p1")
        and waived.state == "waived"
        and waived.decision["note"] == "video: no gain"
    )


def test_refusals_are_domain_errors_and_log_nothing(live):
    before = logged(live)
    with pytest.raises(errors.NotFound, match="no penalty 'p9'"):
        live.waive("p9")
    with pytest.raises(errors.NotFound, match="unknown action 'fly'"):
        live.car_action("1", "fly", {})
    with pytest.raises(errors.NotFound, match="no car '7'"):
        live.car_action("7", "mechanical", {})
    with pytest.raises(errors.Invalid, match="a signal needs 'signal'"):
        live.signal({"signal": ["green"]})
    with pytest.raises(errors.Invalid, match="needs 'number' and 'rule'"):
        live.add_penalty({"number": "1"})
    with pytest.raises(errors.NotFound, match="no correction 'c42'"):
        live.correction("c42")
    with pytest.raises(LineError) as refused:  # checked against the engine before the log
        live.revert("c1")
    assert http_errors.status_of(refused.value) == 404 and "no correction 'c1'" in str(refused.value)
    assert logged(live) == before


def test_assign_and_manual_passing_return_what_was_done(live):
    a = live.assign("1", "555", replace=True, by="timing")
    assert (a.number, a.transponder, a.stopped_counting) == ("1", "555", ["101"])
    assert a.outcome.correction == "c1"
    mp = live.manual_passing({"number": "2", "t": 62.5}, by="timing")
    assert (mp.id, mp.t, mp.estimated, mp.interpolated) == ("c2", 62.5, False, False)
    assert live.laps_of("2") == [{"lap": 1, "t": 62.5, "lap_s": 62.5, "flag": "manual"}]
    with pytest.raises(errors.Invalid, match="'replace' must be true or false"):
        live.assign("1", "556", replace="yes")


# -- one mapping to HTTP ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (errors.Invalid("x"), 400),
        (errors.TooLarge("x"), 413),
        (errors.NotFound("x"), 404),
        (errors.Conflict("x"), 409),
        (ApplyError("x"), 409),
        (LineError("x"), 400),
        (UnknownTarget("x"), 404),
        (NoEffect("x"), 409),
        (ReachRefused("decoder.reach_device", device="/dev/mem"), 403),
        (ValueError("x"), 400),
        (RuntimeError("x"), 500),
    ],
)
def test_each_domain_error_has_one_http_status(exc, status):
    assert http_errors.status_of(exc) == status


def test_a_log_that_cannot_be_written_is_a_503_with_its_code():
    app = FastAPI()
    http_errors.install(app)

    @app.post("/write")
    def write() -> None:
        raise sqlite3.OperationalError("database or disk is full")

    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post("/write")
    assert r.status_code == 503
    assert r.json() == {
        "detail": "the event log cannot be written (database or disk is full); nothing was recorded",
        "code": "log.unwritable",
        "params": {"error": "database or disk is full"},
    }


# -- one table of event types -------------------------------------------------------------------------
def test_who_may_send_a_line_comes_from_the_line_types():
    assert set(auth.EVENT_ROLES) == set(BY_TAG)
    assert auth.EVENT_ROLES["session"] == {auth.ADMIN}
    assert auth.EVENT_ROLES["passing"] == auth.EVENT_ROLES["assign"] == {auth.ADMIN, auth.TIMING}
    assert auth.EVENT_ROLES["penalty"] == auth.EVENT_ROLES["refuel"] == {auth.ADMIN, auth.RACE_CONTROL}
    assert auth.EVENT_ROLES["revert"] == {auth.ADMIN, auth.RACE_CONTROL, auth.TIMING}
    assert READ_TYPES == {"passing", "manual_passing"}
    assert ACTION_TYPES == {
        "mechanical",
        "refuel",
        "driver_change",
        "weight_check",
        "ballast_check",
        "grid_move",
    }


# -- routers only translate HTTP ----------------------------------------------------------------------
def test_routers_neither_catch_domain_errors_nor_raise_http_errors_of_their_own():
    caught, raised = [], []
    routers = sorted({*(ROOT / "service").glob("*/api.py"), *(ROOT / "service").glob("*/*_api.py")})
    names = {str(p.relative_to(ROOT / "service")) for p in routers}
    assert names >= {"meetings/api.py", "seasons/api.py", "sessions/api.py", "sessions/reads_api.py"}
    for path in [*sorted((ROOT / "service" / "api").glob("*.py")), *routers]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ExceptHandler):
                caught.append(f"{path.name}:{node.lineno}")
            if (
                isinstance(node, ast.Raise)
                and node.exc is not None
                and "HTTPException" in ast.unparse(node.exc)
            ):
                raised.append(f"{path.name}:{node.lineno}: {ast.unparse(node.exc)[:60]}")
    assert caught == [], "routers must let service/http_errors.py answer domain errors"
    assert raised == [], "routers raise domain errors (service/errors.py) or use service/auth.py"
