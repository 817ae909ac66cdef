"""The validated boundary: bad lines are refused with the field named, never applied half-way;
replay and log loading set bad lines aside instead of stopping (issue 10)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from service.engine import Engine
from service.engine.engine import ApplyError
from service.engine.events import LineError, decode_line, parse_line
from service.http_errors import status_of
from service.results import replay_file, results
from service.rules.base import RULES
from service.sessions.live import LiveSession
from service.store import EventStore

BAD_LINES = [  # (line, field the message must name): the lines that used to poison a log
    ({"type": "passing", "t": float("nan"), "transponder": "1", "loop": "finish"}, "'t'"),
    ({"type": "passing", "t": float("inf"), "transponder": "1", "loop": "finish"}, "'t'"),
    ({"type": "invalidate", "t": 1, "transponder": "1", "target_t": "abc"}, "'target_t'"),
    ({"type": "invalidate", "t": 1, "transponder": "1", "target_t": [1]}, "'target_t'"),
    ({"type": "entry", "number": "9", "name": "X", "transponder": "9", "drivers": 5}, "'drivers'"),
    ({"type": "entry", "number": "9", "name": "X", "transponder": "9", "drivers": ["ann"]}, "'drivers[0]'"),
    ({"type": "session", "preset": "no-such-preset"}, "unknown preset"),
    ({"type": "session", "preset": "../../../elsewhere/evil"}, "'preset'"),
    ({"type": "session", "preset": "generic-timed", "duration_s": "long"}, "'duration_s'"),
    (
        {"type": "penalty", "t": 1, "number": "1", "rule": "LM-UNSPORTING", "seconds": float("nan")},
        "'seconds'",
    ),
    ({"type": "penalty", "t": 1, "number": "1", "rule": "LM-UNSPORTING", "laps": -2}, "'laps'"),
    ({"type": "passing", "t": 1, "transponder": "1", "loop": "garage"}, "'loop'"),
    ({"type": "signal", "t": 1, "signal": "purple"}, "'signal'"),
    ({"type": "weight_check", "t": 1, "number": "1", "kg": "heavy"}, "'kg'"),
    ({"type": "teleport", "t": 1}, "unknown type"),
    ({"type": "entry", "number": "9", "cheat": {"a": [[[[[[[[[[1]]]]]]]]]]}}, "nested"),
]


@pytest.mark.parametrize(
    ("line", "field"), BAD_LINES, ids=[f"{ln['type']}-{i}" for i, (ln, _) in enumerate(BAD_LINES)]
)
def test_a_bad_line_is_refused_naming_the_field(line, field):
    with pytest.raises(LineError) as exc:
        parse_line(line)
    assert field in str(exc.value)
    assert status_of(exc.value) == 400


def test_lines_are_converted_once_into_typed_values():
    p = parse_line({"type": "passing", "t": 12, "transponder": 1001, "loop": "finish", "passing_id": 7})
    assert (p.t, p.transponder, p.passing_id) == (12.0, "1001", 7)
    b = parse_line({"type": "ballast_check", "t": 3, "number": 4, "ok": "false"})
    assert (b.number, b.ok) == ("4", False)
    s = parse_line(
        {"type": "session", "preset": "lemans-270-2h", "kind": "race", "penalty_policy": "proposed"}
    )
    assert s.to_dict()["penalty_policy"] == "proposed"  # preset overrides are kept
    assert decode_line(json.dumps(s.to_dict())).to_dict() == s.to_dict()


def test_replay_sets_bad_lines_aside_and_goes_on(shared, tmp_path):
    example = shared / "spec" / "examples" / "tiny-race.jsonl"
    bad = tmp_path / "bad.jsonl"
    extra = [json.dumps(ln) for ln, _ in BAD_LINES] + ["{not json", "[1, 2]"]
    bad.write_text(example.read_text(encoding="utf-8") + "\n".join(extra) + "\n", encoding="utf-8")
    clean, poisoned = results(replay_file(example)), results(replay_file(bad))
    assert poisoned["classification"] == clean["classification"]
    assert poisoned["penalties"] == clean["penalties"]
    n = len(example.read_text(encoding="utf-8").splitlines())
    for i in range(len(extra)):
        assert any(w.startswith(f"line {n + 1 + i}:") for w in poisoned["warnings"]), i


def _tiny_engine() -> Engine:
    e = Engine({"preset": "generic-timed", "kind": "race", "duration_s": 600, "min_lap_s": 20})
    for n in ("1", "2"):
        e.apply_line(parse_line({"type": "entry", "number": n, "name": n, "transponder": f"10{n}"}))
    e.apply_line(parse_line({"type": "signal", "t": 0, "signal": "green"}))
    for lap in range(1, 4):
        for n in ("1", "2"):
            e.apply_line(
                parse_line(
                    {"type": "passing", "t": 60.0 * lap + int(n), "transponder": f"10{n}", "loop": "finish"}
                )
            )
    return e


def test_a_line_that_fails_to_apply_leaves_the_state_as_before(monkeypatch):
    e = _tiny_engine()
    before = results(e)

    def boom(self, *args):
        raise ZeroDivisionError("rule bug")

    monkeypatch.setattr(RULES["LM-UNSPORTING"], "on_lap", boom, raising=False)
    e.rules.append(RULES["LM-UNSPORTING"]({}, e.params))  # a rule that raises on the next lap
    e._hooks["on_lap"].append(e.rules[-1].on_lap)
    with pytest.raises(ApplyError) as exc:
        e.apply_line(parse_line({"type": "passing", "t": 241.0, "transponder": "101", "loop": "finish"}))
    assert "rule bug" in str(exc.value)
    assert results(e) == before  # rebuilt from the lines before it (without the faulty hook)
    e.apply_line(parse_line({"type": "passing", "t": 242.0, "transponder": "102", "loop": "finish"}))
    assert [r["laps"] for r in results(e)["classification"]] == [4, 3]


def test_a_log_with_a_line_this_version_rejects_still_loads(tmp_path):
    store = EventStore(tmp_path / "s.sqlite")
    meta = {"id": "s", "name": "s", "origin_us": 0, "tokens": {"timing": "t", "race_control": "r"}}
    for k, v in meta.items():
        store.set_meta(k, v)
    good = [
        {"type": "session", "preset": "generic-timed", "kind": "race", "duration_s": 600, "min_lap_s": 20},
        {"type": "entry", "number": "1", "name": "A", "transponder": "101"},
        {"type": "signal", "t": 0, "signal": "green"},
        {"type": "passing", "t": 60.0, "transponder": "101", "loop": "finish"},
    ]
    for ln in good[:3]:
        store.append(json.dumps(ln))
    # what older versions wrote: NaN time, a non-numeric target, an entry with drivers: 5
    for text in [
        '{"type": "passing", "t": NaN, "transponder": "101", "loop": "finish"}',
        '{"type": "invalidate", "t": 5, "transponder": "101", "target_t": "abc"}',
        '{"type": "entry", "number": "9", "drivers": 5}',
        "garbage",
    ]:
        store.append(text)
    store.append(json.dumps(good[3]))
    session = LiveSession(store, meta)
    assert [a["seq"] for a in session.set_aside] == [4, 5, 6, 7]
    assert all(a["error"] for a in session.set_aside)
    assert session.results()["classification"][0]["laps"] == 1
    assert session.header()["log"]["set_aside"] == 4


def test_the_log_is_readable_by_the_service_user_only(tmp_path):
    store = EventStore(tmp_path / "s.sqlite")
    store.append(json.dumps({"type": "entry", "number": "1"}))
    for suffix in ("", "-wal", "-shm"):
        path = tmp_path / f"s.sqlite{suffix}"
        if path.exists():
            assert path.stat().st_mode & 0o077 == 0, suffix
    assert sqlite3.connect(tmp_path / "s.sqlite").execute("SELECT COUNT(*) FROM events").fetchone() == (1,)
