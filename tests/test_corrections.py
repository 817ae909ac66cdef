"""Issue 11: corrections that cannot destroy data (assign, manual passings, undo, penalty decisions).

Engine tests replay small scenarios whose results are computed by hand below; API tests go through
the real app (TestClient) with tokens, then replay the exported log and restart to check that the
log alone gives the same results.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.engine import Engine
from service.engine.events import LineError, parse_line
from service.http_errors import status_of
from service.i18n import say
from service.results import replay_lines, results
from service.rules import RULES

TOKEN = "admin-secret"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
HEAD = [
    {"type": "session", "preset": "generic-timed", "kind": "race", "duration_s": 3600, "min_lap_s": 20},
    {"type": "entry", "number": "1", "transponder": "101"},
    {"type": "entry", "number": "2", "transponder": "102"},
    {"type": "signal", "t": 0, "signal": "green"},
]


def P(t: float, tr: str, loop: str = "finish", **kw) -> dict:  # noqa: N802 - reads like a scenario line
    return {"type": "passing", "t": t, "transponder": tr, "loop": loop, **kw}


def replay(lines: list[dict]):
    return replay_lines([json.dumps(x) for x in HEAD + lines], finalize=False)


def row(engine, number: str) -> dict:
    res = results(engine, detail=True)
    return next(r for r in res["classification"] if r["number"] == number)


# -- assign --------------------------------------------------------------------------------------
def test_assign_adds_a_spare_and_both_count():
    # Car 1 (101) laps every 60 s. A stray read of 901 (pit_in, strength 40, 1 hit) is assigned to
    # car 1: its own 101 keeps counting (issue: it froze at the assign). Spare 555 is assigned too;
    # 555 alone is read at 240 (101 missed), both at 300 (duplicate within min_lap_s 20 s).
    lines = [
        P(60, "101"),
        P(120, "101"),
        P(130, "901", "pit_in", strength=40, hits=1),
        {"type": "assign", "t": 150, "transponder": "555", "number": "1"},
        P(180, "101"),
        P(240, "555"),
        P(300, "101"),
        P(300.4, "555"),
    ]
    e = replay(lines)
    r = row(e, "1")
    # laps 60, 120, 180, 240 (spare), 300 (301.4 dup): 5 laps, total 300 s
    assert (r["laps"], r["total_time_s"]) == (5, 300.0)
    assert e.cars["1"].transponder == "101" and e.cars["1"].spares == ["555"]
    assert e.counters["passings"] == 7 and e.unknown_transponders == {"901": 1}


def test_assign_replace_stops_the_old_transponder():
    lines = [
        P(60, "101"),
        {"type": "assign", "t": 90, "transponder": "777", "number": "1", "replace": True},
        P(120, "101"),
        P(121, "777"),
        P(181, "777"),
    ]
    e = replay(lines)
    # 60 (101), 121 (777), 181 (777): the 101 read at 120 is unknown now
    assert row(e, "1")["laps"] == 3 and e.unknown_transponders == {"101": 1}


def test_assign_takes_the_reads_already_seen():
    lines = [P(60, "901"), P(120, "901"), {"type": "assign", "t": 130, "transponder": "901", "number": "2"}]
    e = replay(lines)
    assert row(e, "2")["laps"] == 2 and row(e, "2")["total_time_s"] == 120.0


# -- manual passings --------------------------------------------------------------------------------
def test_manual_laps_are_flagged_and_never_best_until_confirmed():
    # Car 2: 62, 124, 186 real; a manual crossing at 245 (lap 4 = 59 s, faster than any real lap);
    # real again at 310 (lap 5 = 65 s, its start is the manual crossing).
    lines = [
        P(62, "102"),
        P(124, "102"),
        P(186, "102"),
        {"type": "manual_passing", "t": 245, "number": "2"},
        P(310, "102"),
    ]
    e = replay(lines)
    r = row(e, "2")
    assert r["laps"] == 5 and r["lap_flags"] == {"4": "manual", "5": "manual"}
    assert (r["best_lap_s"], r["best_lap_no"]) == (62.0, 1)  # not the 59 s manual lap
    e.apply_line(parse_line({"type": "confirm", "t": 320, "target": "c1"}))
    r = row(e, "2")
    assert (r["best_lap_s"], r["best_lap_no"]) == (59.0, 4) and r["lap_flags"] == {
        "4": "confirmed",
        "5": "confirmed",
    }


def test_estimate_from_pace_never_below_min_lap():
    e = replay([P(62, "102"), P(124, "102"), P(190, "102"), P(5, "101")])
    # laps 62, 62, 66: median 62 -> 190 + 62 = 252
    assert e.estimate_passing("2", 10**9) == (252_000_000, "pace")
    # car 1's only lap is 5 s (a crossing just after the green): never less than min_lap_s 20 s
    assert e.estimate_passing("1", 10**9) == (25_000_000, "pace")
    assert row(e, "1")["lap_warnings"] == [
        [
            1,
            5.0,
            "shorter than the minimum 20 s",
            {"code": "lap.shorter_than_min", "params": {"min": "20"}},
            5.0,
        ]
    ]


def test_lap_far_off_the_pace_is_a_warning():
    # 60 s laps, then a manual crossing 30 s after the last (50 %), then the real read 30 s later.
    lines = [P(t, "101") for t in (60, 120, 180, 240)] + [
        {"type": "manual_passing", "t": 270, "number": "1"},
        P(300, "101"),
        P(660, "101"),
    ]
    e = replay(lines)
    w = row(e, "1")["lap_warnings"]
    # lap 5 = 30 s, lap 6 = 30 s: 50 % of the median 60 s; lap 7 = 360 s = 600 %
    assert [x[:3] + x[4:] for x in w] == [
        [5, 30.0, "50 % of the car's median lap (60.000 s)", 270.0],
        [6, 30.0, "50 % of the car's median lap (60.000 s)", 300.0],
        [7, 360.0, "600 % of the car's median lap (60.000 s)", 660.0],
    ]
    assert say("fr", w[2][3]) == "600 % du tour médian de la voiture (60.000 s)"
    # thresholds are preset overrides: at 40 % .. 700 % nothing is flagged
    lines2 = [{**HEAD[0], "lap_warn_low_pct": 40, "lap_warn_high_pct": 700}, *HEAD[1:]]
    e2 = replay_lines([json.dumps(x) for x in lines2 + lines], finalize=False)
    assert row(e2, "1")["lap_warnings"] == []


# -- undo -----------------------------------------------------------------------------------------------
def test_every_correction_can_be_reverted_and_replay_is_identical():
    lines = [
        P(60, "101"),
        P(62, "102"),
        P(120, "101"),
        P(124, "102"),
        P(125, "901"),
        {"type": "invalidate", "t": 130, "transponder": "101", "target_t": 120},  # c1
        {"type": "assign", "t": 131, "transponder": "901", "number": "1"},  # c2
        {"type": "manual_passing", "t": 186, "number": "2"},  # c3
        {"type": "penalty", "t": 190, "number": "1", "rule": "MANUAL", "seconds": 5},  # c4 -> p1
        {"type": "penalty", "t": 191, "number": "2", "rule": "MANUAL", "seconds": 7},  # c5 -> p2
        {"type": "waive", "t": 192, "penalty_id": "p2"},
    ]  # c6
    e = replay(lines)
    assert sorted(e.corrections) == ["c1", "c2", "c3", "c4", "c5", "c6"]
    # car 1: 60, 120 invalid, 125 (901 assigned) -> 2 laps, +5 s; car 2: 62, 124, 186 manual, p2 waived
    assert (row(e, "1")["laps"], row(e, "1")["penalty_seconds"]) == (2, 5.0)
    assert (row(e, "2")["laps"], row(e, "2")["penalty_seconds"]) == (3, 0.0)
    reverts = [
        {"type": "revert", "t": 200 + i, "target": c} for i, c in enumerate(["c1", "c3", "c4", "c6", "c2"])
    ]
    for rv in reverts:
        e.apply_line(parse_line(rv))
    # car 1: 60, 120 valid again, 125 (901 no longer car 1's, within 20 s anyway) -> 2 laps, p1 reverted
    # car 2: 62, 124 -> 2 laps, p2 applied again (+7 s)
    assert (row(e, "1")["laps"], row(e, "1")["total_time_s"], row(e, "1")["penalty_seconds"]) == (
        2,
        120.0,
        0.0,
    )
    assert (row(e, "2")["laps"], row(e, "2")["penalty_seconds"]) == (2, 7.0)
    states = {p.id: p.state for p in e.penalties.all()}
    assert states == {"p1": "reverted", "p2": "applied"}  # ids stay stable
    assert e.unknown_transponders == {"901": 1} and e.cars["1"].spares == []
    assert e.corrections["c4"]["reverted_by"] == "c9" and e.reverted == {"c1", "c2", "c3", "c4", "c6"}
    # the log keeps both; a replay of it gives the same results, byte for byte
    again = replay(lines + reverts)
    assert json.dumps(results(again, True)) == json.dumps(results(e, True))
    # a restart loads the log in one pass (reverted corrections without effect from the start): same
    logged = [
        parse_line(ln.to_dict() | {"type": ln.__struct_config__.tag}) for ln in e._accepted
    ]  # ids included
    fast = Engine()
    fast.revert_in_advance(logged)
    assert fast.reverted == {"c1", "c2", "c3", "c4", "c6"}
    for ln in logged:
        fast.apply_line(ln)
    assert json.dumps(results(fast, True)) == json.dumps(results(e, True))
    assert fast.corrections == e.corrections


def test_a_driver_change_can_be_undone():
    drivers = [{"id": "a", "name": "Ann"}, {"id": "b", "name": "Bob"}]
    head = [HEAD[0], {**HEAD[1], "drivers": drivers}, *HEAD[2:]]
    lines = [
        P(60, "101"),
        P(70, "101", "pit_in"),
        {"type": "driver_change", "t": 80, "number": "1", "driver": "b"},
        P(100, "101", "pit_out"),
    ]
    e = replay_lines([json.dumps(x) for x in head + lines], finalize=False)
    assert e.cars["1"].driver == "b"
    e.apply_line(parse_line({"type": "revert", "t": 110, "target": "c1"}))
    assert e.cars["1"].driver == "a" and e.cars["1"].stops[0].changes == []


def test_a_revert_needs_a_known_correction():
    e = replay([P(60, "101")])
    assert status_of(e.refusal(parse_line({"type": "revert", "t": 70, "target": "c9"}))) == 404
    e.apply_line(parse_line({"type": "manual_passing", "t": 120, "number": "1"}))
    e.apply_line(parse_line({"type": "revert", "t": 130, "target": "c1"}))
    assert status_of(e.refusal(parse_line({"type": "revert", "t": 131, "target": "c1"}))) == 409
    assert status_of(e.refusal(parse_line({"type": "revert", "t": 131, "target": "c2"}))) == 409  # a revert
    with pytest.raises(LineError):
        parse_line({"type": "revert", "t": 1, "target": "C 1"})


def test_a_replayed_line_is_set_aside_with_the_words_a_live_caller_reads():
    """One check per line type: the refusal a live caller gets is the warning replay keeps."""
    e = replay([P(60, "101")])
    for line in (
        {"type": "mechanical", "t": 70, "number": "9"},
        {"type": "invalidate", "t": 70, "transponder": "999", "target_t": 60},
        {"type": "assign", "t": 70, "transponder": "555", "number": "9"},
        {"type": "approve", "t": 70, "penalty_id": "p9", "laps": 1},
        {"type": "confirm", "t": 70, "target": "c9"},
        {"type": "confirm", "t": 70, "number": "9", "lap_t": 60},
        {"type": "revert", "t": 70, "target": "c9"},
    ):
        why = e.refusal(parse_line(line))
        assert why is not None, line
        assert list(e.apply_line(parse_line(line)).warnings) == [str(why)], line


# -- through the API -------------------------------------------------------------------------------------
class Track:
    """A Le Mans race (penalties proposed) with cars 1-3 and two laps each."""

    def __init__(self, data) -> None:
        self.data = data
        self.client = TestClient(create_app(data, TOKEN, "NORMAL"), raise_server_exceptions=False)
        r = self.client.post(
            "/api/sessions",
            json={
                "name": "t",
                "preset": "lemans-270-2h",
                "kind": "race",
                "min_lap_s": 20,
                "penalty_policy": "proposed",
            },
            headers=ADMIN,
        )
        self.sid, tokens = r.json()["id"], r.json()["tokens"]
        self.rc = {"Authorization": f"Bearer {tokens['race_control']}"}
        self.tc = {"Authorization": f"Bearer {tokens['timing']}"}
        self.base = f"/api/sessions/{self.sid}"
        entries = [
            {
                "number": str(n),
                "transponder": str(100 + n),
                "category": "Sport",
                "drivers": [
                    {"id": "a", "name": "Ann", "weight_kg": 80},
                    {"id": "b", "name": "Bob", "weight_kg": 82},
                ],
            }
            for n in (1, 2, 3)
        ]
        assert self.post("/entries", entries, ADMIN).status_code == 200
        assert self.post("/signal", {"signal": "green", "t": 0}, ADMIN).status_code == 200
        for lap in (1, 2):
            for n in (1, 2, 3):
                assert self.post("/events", P(60.0 * lap + n, str(100 + n)), ADMIN).status_code == 200

    def restart(self) -> None:
        self.client.app.state.manager.get(self.sid).close()
        self.client = TestClient(create_app(self.data, TOKEN, "NORMAL"), raise_server_exceptions=False)

    def post(self, path: str, body, headers):
        return self.client.post(self.base + path, json=body, headers=headers)

    def get(self, path: str, headers=None):
        return self.client.get(self.base + path, headers=headers or {}).json()

    def row(self, number: str) -> dict:
        return next(r for r in self.get("/results")["classification"] if r["number"] == number)

    def replayed(self) -> dict:
        log = self.client.get(f"{self.base}/export.jsonl", headers=ADMIN).text.splitlines()
        res = json.loads(json.dumps(results(replay_lines(log, finalize=False), detail=True)))
        return {**res, "warnings": [w.split(": ", 1)[1] for w in res["warnings"]]}  # without "line N: "


@pytest.fixture
def track(tmp_path) -> Track:
    return Track(tmp_path / "data")


def test_api_assign_and_unknown_list(track):
    assert track.post("/events", P(125, "901", "pit_in", strength=40, hits=1), ADMIN).status_code == 200
    for t in (130, 190):
        assert track.post("/events", P(t, "955", strength=150, hits=40), ADMIN).status_code == 200
    unknown = {u["transponder"]: u for u in track.get("/unknown", track.tc)}
    assert unknown["901"]["loops"] == {"pit_in": 1} and (
        unknown["901"]["max_strength"],
        unknown["901"]["max_hits"],
    ) == (40, 1)
    assert unknown["901"]["noise"] == [
        "a single read",
        "weak signal (strength 40)",
        "few hits (1)",
        "never on the finish loop",
    ]
    assert [say("fr", x) for x in unknown["901"]["noise_said"]] == [
        "une seule lecture",
        "signal faible (force 40)",
        "peu de détections (1)",
        "jamais sur la boucle de ligne",
    ]
    assert unknown["955"]["count"] == 2 and unknown["955"]["noise"] == []
    # assign adds: car 3 keeps 103
    r = track.post("/assign", {"transponder": "955", "number": "3"}, track.tc)
    assert r.status_code == 200 and r.json()["stopped_counting"] == [] and r.json()["id"] == "c1"
    assert track.post("/events", P(183, "103"), ADMIN).status_code == 200
    assert (
        track.row("3")["laps"] == 3
    )  # 63, 123 (103) ... 130 dup? no: 130 - 123 = 7 s < 20 s; 183 (103); 190 dup
    assert track.post("/assign", {"transponder": "955", "number": "2"}, track.tc).status_code == 409
    assert (
        track.post("/assign", {"transponder": "966", "number": "3", "replace": "yes"}, track.tc).status_code
        == 400
    )
    # replace names what stops counting
    r = track.post("/assign", {"transponder": "966", "number": "3", "replace": True}, track.tc)
    assert r.json()["stopped_counting"] == ["103", "955"]
    assert track.post("/assign", {"transponder": "966", "number": "3"}, track.rc).status_code == 403
    corr = track.get("/corrections", track.tc)
    assert [(c["id"], c["type"], c["by"]) for c in corr] == [
        ("c2", "assign", "timing"),
        ("c1", "assign", "timing"),
    ]
    assert track.replayed() == track.get("/results", ADMIN)  # staff: with the notes


def test_api_manual_passing_estimated_then_undone(track):
    est = track.get("/cars/2/estimate", track.tc)
    # laps 62 (from the green) and 60: median 61 -> 122 + 61
    assert (est["t"], est["basis"], est["last_crossing_t"]) == (183.0, "pace", 122.0)
    r = track.post("/manual_passing", {"number": "2"}, track.tc)
    assert r.status_code == 200 and (r.json()["t"], r.json()["estimated"], r.json()["id"]) == (
        183.0,
        True,
        "c1",
    )
    row = track.row("2")
    assert (
        row["laps"] == 3
        and row["lap_flags"] == {"3": "estimated"}
        and (row["best_lap_s"], row["best_lap_no"]) == (60.0, 2)
    )
    laps = track.client.get(f"{track.base}/cars/2/laps").json()["laps"]
    assert laps[2] == {"lap": 3, "t": 183.0, "lap_s": 61.0, "flag": "estimated"}
    csv = track.client.get(f"{track.base}/export.csv").text.splitlines()
    assert csv[0].endswith(",flagged_laps") and sum(ln.endswith(",3 estimated") for ln in csv) == 1
    # the crew typed a time: flagged manual
    assert track.post("/manual_passing", {"number": "1", "t": 181.5}, track.tc).json()["estimated"] is False
    assert track.row("1")["lap_flags"] == {"3": "manual"}
    # undo: only the timing crew (or admin) may revert the crew's corrections
    assert track.post("/revert", {"id": "c1"}, track.rc).status_code == 403
    r = track.post("/revert", {"id": "c1", "note": "car was in the pits"}, track.tc)
    assert r.status_code == 200 and r.json()["id"] == "c3"
    assert track.row("2")["laps"] == 2 and track.row("2")["lap_flags"] == {}
    corr = {c["id"]: c for c in track.get("/corrections", track.tc)}
    assert (
        corr["c1"]["reverted"]
        and corr["c1"]["reverted_by"] == "c3"
        and corr["c3"]["line"]["note"] == "car was in the pits"
    )
    assert track.post("/revert", {"id": "c1"}, track.tc).status_code == 409
    assert track.post("/revert", {"id": "zz"}, track.tc).status_code == 404
    assert track.replayed() == track.get("/results", ADMIN)  # staff: with the notes
    before = track.get("/results")
    track.restart()
    assert track.get("/results") == before and track.get("")["set_aside"] == []


def _ballast_proposal(track: Track) -> str:
    """Car 1 fails its ballast check and comes back for 30 s with a driver change: LM-BALLAST proposed
    (it has no amount in the regulation), LM-MIN-PIT too (30 s < 120 s), both as proposals."""
    lines = [
        {"type": "ballast_check", "t": 125, "number": "1", "ok": False},
        P(130, "101", "pit_in"),
        {"type": "driver_change", "t": 140, "number": "1", "driver": "b"},
        P(160, "101", "pit_out"),
    ]
    for ln in lines:
        assert track.post("/events", ln, ADMIN).status_code == 200
    pens = {p["rule"]: p for p in track.get("/penalties")}
    assert pens["LM-BALLAST"]["state"] == "proposed" and pens["LM-BALLAST"]["laps"] == 0
    return pens["LM-BALLAST"]["id"]


def test_api_approve_asks_for_the_amount_and_keeps_the_penalty(track):
    pid = _ballast_proposal(track)
    before = track.get("/penalties")
    r = track.post(f"/penalties/{pid}/approve", {}, track.rc)
    assert r.status_code == 400 and "needs an amount" in r.json()["detail"]
    r = track.post(f"/penalties/{pid}/approve", {"laps": 2, "note": "ballast not refitted"}, track.rc)
    assert r.status_code == 200, r.text
    p = r.json()
    assert (p["id"], p["state"], p["laps"]) == (pid, "applied", 2)
    assert p["evidence"] == next(x for x in before if x["id"] == pid)["evidence"]
    assert p["decision"] == {
        "action": "approved",
        "id": "c2",
        "by": "race_control",
        "t": p["decision"]["t"],
        "note": "ballast not refitted",
        "laps": 2,
    }
    assert len(track.get("/penalties")) == len(before)  # no new penalty: the proposal itself is applied
    # car 1: 61, 121, 160 (pit_out lap) = 3 laps - 2
    assert track.row("1")["laps"] == 1 and track.row("1")["penalty_laps"] == 2
    assert track.post(f"/penalties/{pid}/approve", {"laps": 1}, track.rc).status_code == 409
    # waive: shown with its note and who decided
    w = track.post(f"/penalties/{pid}/waive", {"note": "video shows ballast fitted"}, track.rc).json()
    assert (
        w["state"] == "waived"
        and w["decision"]["note"] == "video shows ballast fitted"
        and w["decision"]["by"] == "race_control"
    )
    assert track.row("1")["laps"] == 3
    # undo the waive: the approval with 2 laps is back
    r = track.post("/revert", {"id": w["decision"]["id"]}, track.rc)
    assert r.status_code == 200 and track.row("1")["laps"] == 1
    printed = {p["id"]: p for p in track.get("/results")["penalties"]}
    assert printed[pid]["decision"]["action"] == "approved" and printed[pid]["state"] == "applied"
    assert track.replayed() == track.get("/results", ADMIN)  # staff: with the notes


def test_api_rule_ids_outside_the_session_need_other_and_a_note(track):
    r = track.post("/penalties", {"number": "2", "rule": "LM-MADE-UP", "laps": 1}, track.rc)
    assert r.status_code == 400 and "choose 'other'" in r.json()["detail"]
    r = track.post("/penalties", {"number": "2", "rule": "AX-JUMP", "seconds": 5, "other": True}, track.rc)
    assert r.status_code == 400 and "note" in r.json()["detail"]
    r = track.post(
        "/penalties",
        {
            "number": "2",
            "rule": "OTHER",
            "seconds": 5,
            "other": True,
            "note": "art. 12: dangerous driving in the paddock",
        },
        track.rc,
    )
    assert r.status_code == 201 and r.json()["rule"] == "OTHER" and r.json()["note"].startswith("art. 12")
    r = track.post("/penalties", {"number": "2", "rule": "LM-UNSPORTING"}, track.rc)  # the preset's: 1 lap
    assert r.status_code == 201 and r.json()["laps"] == 1 and r.json()["source"] == "c2"
    assert track.row("2")["penalty_seconds"] == 5.0 and track.row("2")["penalty_laps"] == 1
    rules = track.get("/rules")
    assert "LM-UNSPORTING" in rules["rules"] and "CC-LINE" not in rules["rules"]
    # every rule the service implements, for the penalty form's "other" rules: the registry's
    assert rules["implemented"] == sorted(RULES) and {"CC-LINE", "AX-JUMP"} <= set(rules["implemented"])
    # undo a penalty: it stays listed as reverted, ids unchanged
    assert track.post("/revert", {"id": "c1"}, track.rc).status_code == 200
    assert [(p["id"], p["state"]) for p in track.get("/penalties") if p.get("manual")] == [
        ("p1", "reverted"),
        ("p2", "applied"),
    ]
    assert track.row("2")["penalty_seconds"] == 0.0
    assert track.replayed() == track.get("/results", ADMIN)  # staff: with the notes


def test_a_too_long_lap_is_split_by_an_interpolated_passing(track):
    # car 1: 61, 121 (60 s laps) then 301 (decoder missed ~241): lap 3 = 180 s = 3 laps -> 2 missing
    assert track.post("/events", P(301, "101"), ADMIN).status_code == 200
    assert track.row("1")["lap_warnings"] == []  # only 2 laps of pace before: no judgement yet
    for t in (361, 421, 481):
        assert track.post("/events", P(t, "101"), ADMIN).status_code == 200
    # pace now 61, 60, 180, 60, 60, 60: median 60 -> lap 3 (180 s) is 300 %, not above the 300 % bound
    est = track.get("/cars/1/estimate?lap=3", track.tc)
    assert (est["t"], est["basis"], est["missing"]) == (181.0, "interpolated", 2)  # 121 + 180 / 3
    r = track.client.get(f"{track.base}/cars/1/estimate?lap=2", headers=track.tc)
    assert r.status_code == 400 and "not long enough" in r.json()["detail"]
    r = track.post("/manual_passing", {"number": "1", "t": est["t"], "interpolated": True}, track.tc)
    assert r.json()["interpolated"] is True
    row = track.row("1")
    # 61, 121, 181 (interpolated), 301, 361, 421, 481: 7 laps; laps 3 (60 s) and 4 (120 s) flagged
    assert row["laps"] == 7 and row["lap_flags"] == {"3": "interpolated", "4": "interpolated"}
    assert (row["best_lap_s"], row["best_lap_no"]) == (60.0, 2)
    assert track.replayed() == track.get("/results", ADMIN)  # staff: with the notes
