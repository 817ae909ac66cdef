"""Lean deltas (service/hub.py) on the shared Le Mans mini race, no network: the hub's own diff.

Before, every passing changed every row (`stint_s` and the Le Mans rule countdowns move with the
engine clock). Now a passing of one kart changes only what that crossing changed: that kart's lap
fields, and for the others at most positions, gaps and intervals; row versions go up by one per
change, and applying the patches rebuilds exactly the stream's rows.
"""

from __future__ import annotations

import json

from service.hub import SessionHub, lean_row, row_patch
from service.sessions.live import LiveSession
from service.store import EventStore
from tests.conftest import SHARED

ORDER_FIELDS = {"number", "v", "position", "category_position", "gap", "interval"}


def _lines() -> list[dict]:
    text = (SHARED / "spec" / "examples" / "lemans-mini.jsonl").read_text()
    return [json.loads(ln) for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def test_a_passing_changes_only_that_kart_and_the_order(tmp_path):
    store = EventStore(tmp_path / "s.sqlite", "OFF")
    store.set_meta("id", "lean")
    store.set_meta("origin_us", 0)
    session = LiveSession(store, {"id": "lean", "origin_us": 0})
    hub = SessionHub(session)  # no event loop: the test builds each delta itself
    stream = hub.spectator
    rows = {r["number"]: r for r in json.loads(stream.snapshot())["rows"]}
    seen_stint_rules = False
    others = rule_changes = 0  # patches of karts that did not cross; those with a rule status change
    for line in _lines():
        if not session.submit(line):
            continue
        delta = stream.build_delta()
        if delta is None:
            continue
        msg = json.loads(delta.text)
        for p in msg["rows"]:
            n = p["number"]
            if p["v"] == 1:
                rows[n] = p
                continue
            assert rows[n]["v"] == p["v"] - 1, (rows[n], p)
            rows[n] = {**rows[n], **p}
            assert "stint_s" not in p
            if line["type"] == "passing" and line.get("loop") == "finish":
                crossed = session.engine.by_transponder.get(str(line["transponder"]))
                if crossed is None or n != crossed.number:  # another kart: the order, or a rule's state
                    others += 1
                    rule_changes += "rules" in p
                    assert set(p) <= ORDER_FIELDS | {"rules"}, (line, p)
        for st in (r.get("rules") or {}).values() if (r := rows.get("7")) else ():
            if isinstance(st, dict) and "stint_start_s" in st:
                seen_stint_rules = True
                assert "stint_s" not in st and "stint_left_s" not in st
            if isinstance(st, dict) and "text_until" in st:
                assert "text" not in st and "text_said" not in st and st["until_s"] is not None
    assert seen_stint_rules  # the LM-STOPS status was there, with its absolute stint start
    # rule statuses of other karts change only when a rule's state does (pit lane opens...), not
    # with every crossing as when countdowns were sent
    print(f"{rule_changes} of {others} patches of karts that did not cross changed a rule status")
    assert rule_changes <= 6, (rule_changes, others)
    want = {r["number"]: {**r, "v": stream.versions[r["number"]]} for r in hub.lean_rows()}
    assert rows == want
    session.close()


def test_row_patch_and_lean_row():
    old = {"number": "7", "laps": 3, "gap": "+1 lap", "stint_s": 12.5, "stint_start_s": 100.0, "rules": {}}
    new = {"number": "7", "laps": 4, "gap": "+1 lap", "stint_start_s": 100.0, "rules": {}}
    assert row_patch(old, new, 5) == {"number": "7", "v": 5, "laps": 4, "stint_s": None}
    row = {
        "number": "7",
        "stint_s": 3.0,
        "rules": {
            "LM-PIT-CLOSED-START": {
                "pit_lane": "closed",
                "opens_in_s": 10.0,
                "text": "pit lane opens in 0:10",
                "until_s": 300.0,
                "text_until": "pit lane opens in {}",
            },
            "LM-REFUEL": {"windows": [{"state": "open", "closes_in_s": 5.0}]},
        },
    }
    assert lean_row(row) == {
        "number": "7",
        "rules": {
            "LM-PIT-CLOSED-START": {
                "pit_lane": "closed",
                "until_s": 300.0,
                "text_until": "pit lane opens in {}",
            },
            "LM-REFUEL": {"windows": [{"state": "open"}]},
        },
    }
