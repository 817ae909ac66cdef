"""`MeetingService`, the meetings' front door, without HTTP: real live sessions (the app's session
Manager on a temporary folder), real meeting files (`MeetingBook`), a fixed clock. AX-RED is
applied by `red_flag_restart`, hand-computed as in RULES.md section 3; the router only translates."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import service.rules.autocross  # noqa: F401 - registers the AX rules
from service.app import create_app
from service.errors import Conflict, NotFound
from service.meetings.autocross import AutocrossMeeting
from service.meetings.service import MeetingService
from service.meetings.store import MeetingBook
from service.sessions.manager import Manager
from tests.test_meeting_api import NUMBERS, RANK, drive

AT = "2026-05-01T10:00:00"
ROUTER = Path(__file__).resolve().parent.parent / "service" / "meetings" / "api.py"


@pytest.fixture
def svc(tmp_path: Path) -> MeetingService:
    mgr = Manager(tmp_path, "adm", synchronous="OFF")  # no fsync per line in tests
    return MeetingService(MeetingBook(tmp_path / "meetings"), mgr, clock=lambda: AT)


def run_stage(svc: MeetingService, mid: str, stage: str) -> None:
    for o in svc.start_stage(mid, stage):
        eng = svc.live.sessions[o.session_id].engine
        drive(
            svc.live,
            o.session_id,
            [{**eng.cars[n].entry} for n in o.plan.grid if n],
            o.plan.kind,
            o.plan.laps,
        )
        svc.finish(mid, o.plan.key)


def test_unknown_meeting_and_session_are_not_found(svc: MeetingService) -> None:
    with pytest.raises(NotFound, match="no meeting 'nope'"):
        svc.book.get("nope")
    mid = svc.create("autocross", [{"number": "7"}], {})
    with pytest.raises(NotFound, match="no session 'zz' now: unknown session key 'zz'"):
        svc.plan(mid, "zz")
    with pytest.raises(Conflict, match="was not started"):
        svc.finish(mid, "practice1.1")


def test_red_flag_restart_reruns_the_heat_without_the_cause(svc: MeetingService) -> None:
    four = NUMBERS[:4]
    mid = svc.create("autocross", [{"number": n, "name": f"P{n}", "transponder": f"X{n}"} for n in four], {})
    run_stage(svc, mid, "practice1")
    run_stage(svc, mid, "practice2")
    (heat,) = svc.start_stage(mid, "heat1")
    with pytest.raises(Conflict, match="no red flag in this session"):
        svc.red_flag_restart(mid, "heat1.1", ["203"])
    first = svc.live.sessions[heat.session_id]
    first.submit({"type": "signal", "t": 0.0, "signal": "start_procedure"})
    first.submit({"type": "grid_move", "t": 2.5, "number": "201"})  # jump start: 10 s (AX-JUMP)
    first.submit({"type": "signal", "t": 4.0, "signal": "start_lights_green"})
    for n in four:
        first.submit({"type": "passing", "t": 60.0 + RANK[n], "transponder": f"X{n}", "loop": "finish"})
    first.submit({"type": "signal", "t": 80.0, "signal": "red"})

    done = svc.red_flag_restart(mid, "heat1.1", causers=["203"])

    # AX-RED in a heat: re-run over the full distance, the cause's cell stays free
    assert (str(done.state.decision.action), done.state.decision.laps_to_run, done.state.leader_laps) == (
        "rerun",
        5,
        1,
    )
    assert done.restart is not None and done.restart.plan.grid == ["201", "202", None, "204"]
    new = svc.live.sessions[done.restart.session_id]
    assert new.id != first.id and done.restart.tokens == new.meta["tokens"]
    assert svc.book.sessions(mid) == {**svc.book.sessions(mid), "heat1.1#1": first.id, "heat1.1": new.id}
    assert new.engine.params["rules"]["AX-JUMP"]["prior"] == ["201"]  # a new jump by 201 is a repeat
    carried = [(p.number, p.rule, p.seconds) for p in new.engine.penalties.all()]
    assert carried == [("201", "AX-JUMP", 10.0)]  # 003 art. 7.4: the first start's penalty stays
    assert sorted(new.engine.cars) == ["201", "202", "204"]  # the cause does not take the new start
    # saved: the AX-RED procedure is pending in the meeting's file
    again = MeetingBook(svc.book.folder)
    m = again.get(mid)
    assert (
        isinstance(m, AutocrossMeeting)
        and m.reds["heat1.1"]["pending"]
        and m.reds["heat1.1"]["causers"] == ["203"]
    )
    assert again.sessions(mid)["heat1.1"] == new.id

    # finishing the new start records heat1.1: 201 256.1 + 10 = 266.1 s, 202 258.2 s, 204 262.4 s;
    # 203 caused the red: last of the running cars, 2 laps short of 5 -> 20 points (AX-HEAT-POINTS)
    drive(svc.live, new.id, [{**new.engine.cars[n].entry} for n in ("201", "202", "204")], "heat", 5)
    svc.finish(mid, "heat1.1")
    h1 = svc.ranking(mid, "heat1").json
    assert [(x["number"], x["points"]) for x in h1] == [("202", 1), ("204", 2), ("201", 3), ("203", 20)]
    assert svc.get(mid).recorded_at["heat1.1"] == AT  # the service's clock, not the pure meeting's


def test_red_flag_restart_of_a_karting_meeting_is_a_conflict(svc: MeetingService) -> None:
    mid = svc.create(
        "ffsa-karting", [{"number": "1"}, {"number": "2"}], {"track_length_m": 1000, "track_capacity": 20}
    )
    with pytest.raises(Conflict, match="belongs to auto-cross meetings"):
        svc.red_flag_restart(mid, "qualifying")
    assert svc.live.sessions == {} and svc.book.sessions(mid) == {}  # nothing opened


def test_sign_off_is_stamped_by_the_service_clock(svc: MeetingService) -> None:
    mid = svc.create("autocross", [{"number": "7"}], {})
    st = svc.sign_off(mid, "general", "race_director", "Jo")
    assert (st.status, st.posted_at) == ("provisional", AT)
    assert MeetingBook(svc.book.folder).get(mid).signoffs == [
        {"document": "general", "role": "race_director", "by": "Jo", "at": AT}
    ]


def test_the_router_does_not_catch_domain_errors() -> None:
    tree = ast.parse(ROUTER.read_text(encoding="utf-8"))
    caught = [ast.unparse(h.type) for h in ast.walk(tree) if isinstance(h, ast.ExceptHandler) and h.type]
    assert all("Error" not in c or c == "(TypeError, ValueError)" for c in caught), caught
    assert "isinstance(m," not in ROUTER.read_text(encoding="utf-8")  # formats decide, not the router


def test_meeting_routes_use_the_one_auth_module(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path, "adm", synchronous="OFF")) as c:
        r = c.post(
            "/api/meetings", json={"entries": [{"number": "7"}]}, headers={"Authorization": "Bearer adm"}
        )
        mid, tokens = r.json()["id"], r.json()["tokens"]
        start = f"/api/meetings/{mid}/stages/practice1/start"
        anon = c.post(start)
        assert (anon.status_code, anon.json()["detail"]) == (
            401,
            "authentication required: send 'Authorization: Bearer <token>'",
        )
        assert anon.headers["www-authenticate"] == "Bearer"  # as every staff route of service/auth.py
        assert c.post(start, headers={"Authorization": "Bearer nope"}).json() == {
            "detail": "invalid token",
            "code": "auth.invalid_token",
            "params": {},
        }
        no = c.post(start, headers={"Authorization": f"Bearer {tokens['stewards']}"})
        assert (no.status_code, no.json()["detail"]) == (
            403,
            "role 'stewards' may not do this (needs timing)",
        )
        create = c.post(
            "/api/meetings",
            json={"entries": [{"number": "7"}]},
            headers={"Authorization": f"Bearer {tokens['timing']}"},
        )
        assert create.status_code == 401  # a meeting's token is unknown outside its meeting
        assert c.post(start, headers={"Authorization": f"Bearer {tokens['timing']}"}).status_code == 200
