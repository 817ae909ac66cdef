"""The meeting REST API end to end: create, stage plans, live sessions, results, classifications,
printable start lists / results, sign-off (AX-PUBLISH), AX-FINAL replacement, AX-RED helper."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import service.rules.autocross  # noqa: F401 - registers the AX rules
from service import http_errors
from service.meetings.api import build_meeting_router
from service.meetings.service import MeetingService
from service.meetings.store import MeetingBook
from service.sessions.manager import Manager

ADMIN = "admin-secret"
NUMBERS = [str(n) for n in (201, 202, 203, 204, 205, 206, 207, 208, 209, 210, 211, 212)]
RANK = {n: i for i, n in enumerate(NUMBERS, 1)}  # 201 is the fastest


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    book = MeetingBook(tmp_path / "meetings")
    mgr = Manager(tmp_path, ADMIN, synchronous="OFF", meetings=book)  # no fsync per line in tests
    app = FastAPI()
    http_errors.install(app)  # domain errors -> HTTP, as in the app
    app.state.manager = mgr
    app.include_router(build_meeting_router(mgr, MeetingService(book, mgr)))
    return TestClient(app)


def hdr(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def drive(
    mgr: Manager, sid: str, entries: list[dict[str, Any]], kind: str, laps: int, jump: str | None = None
) -> None:
    """Feed a session's reads straight to its live session (the same writer decoders use)."""
    s = mgr.sessions[sid]
    lines: list[dict[str, Any]] = []
    if kind == "practice":
        for i, e in enumerate(entries):
            t = 100.0 + i
            for lap in (50 + RANK[e["number"]] * 0.4,) * 3:
                t += lap
                lines.append(
                    {"type": "passing", "t": round(t, 3), "transponder": e["transponder"], "loop": "finish"}
                )
    else:
        lines += [
            {"type": "signal", "t": 0.0, "signal": "start_procedure"},
            {"type": "signal", "t": 4.0, "signal": "start_lights_green"},
        ]
        if jump:
            lines.append({"type": "grid_move", "t": 2.5, "number": jump})
        for e in entries:
            for k in range(1, laps + 1):
                t = round(4.0 + 0.1 * e["grid"] + k * (50 + RANK[e["number"]] * 0.4), 3)
                lines.append({"type": "passing", "t": t, "transponder": e["transponder"], "loop": "finish"})
    for line in sorted(lines, key=lambda x: x["t"]):
        s.submit(line)


def run_stage(
    client: TestClient, mid: str, stage: str, token: str, jump: str | None = None
) -> list[dict[str, Any]]:
    mgr: Manager = client.app.state.manager  # type: ignore[attr-defined]
    started = client.post(f"/api/meetings/{mid}/stages/{stage}/start", headers=hdr(token))
    assert started.status_code == 200, started.text
    for sess in started.json():
        entries = [{**mgr.sessions[sess["session_id"]].engine.cars[n].entry} for n in sess["grid"] if n]
        drive(mgr, sess["session_id"], entries, sess["kind"], sess["laps"], jump)
        done = client.post(f"/api/meetings/{mid}/sessions/{sess['key']}/finish", headers=hdr(token))
        assert done.status_code == 200, done.text
    return started.json()


def test_meeting_api_end_to_end(client: TestClient) -> None:
    entries = [
        {"number": n, "name": f"Pilote {n}", "transponder": f"X{n}", "division": "Maxi Sprint"}
        for n in NUMBERS
    ]
    assert client.post("/api/meetings", json={"entries": entries}).status_code == 401
    r = client.post(
        "/api/meetings",
        json={"name": "Saint-Igny", "division": "Maxi Sprint", "entries": entries},
        headers=hdr(ADMIN),
    )
    assert r.status_code == 201, r.text
    mid, tokens = r.json()["id"], r.json()["tokens"]
    assert set(tokens) == {"timing", "race_director", "stewards"}
    # entries numbered 201-212 are Maxi Tourisme numbers: the timing crew is told, nothing refused
    assert r.json()["warnings"] == [f"Maxi Sprint numbers run 701-799: check {', '.join(NUMBERS)}"]
    timing, director, stewards = tokens["timing"], tokens["race_director"], tokens["stewards"]

    plans = client.get(f"/api/meetings/{mid}/stages/practice1").json()["sessions"]
    assert [p["grid"] for p in plans] == [NUMBERS[:6], NUMBERS[6:]]  # AX-PRACTICE 12 -> 6, 6
    assert client.get(f"/api/meetings/{mid}/stages/heat1").status_code == 409  # practice not run yet
    assert (
        client.post(f"/api/meetings/{mid}/stages/practice1/start", headers=hdr(stewards)).status_code == 403
    )

    run_stage(client, mid, "practice1", timing)
    run_stage(client, mid, "practice2", timing)
    practice = client.get(f"/api/meetings/{mid}/classifications/practice").json()
    assert [row["number"] for row in practice["rows"]] == NUMBERS
    assert practice["rows"][0]["best_lap_s"] == 50.4

    heat1 = run_stage(client, mid, "heat1", timing, jump="203")  # one series of 12, 203 jumps: +10 s
    assert heat1[0]["rows"][0] == ["201", "202", "203"] and heat1[0]["rows"][1] == ["204", "205"]
    h1 = client.get(f"/api/meetings/{mid}/classifications/heat1").json()["rows"]
    # 203 ran 254.3 + 6 = 260.3 + 10 = 270.3: behind 204 (262.4), 205 (264.5), 206 (266.6), 207 (268.7)
    assert [row["number"] for row in h1][:8] == ["201", "202", "204", "205", "206", "207", "203", "208"]
    page = client.get(f"/api/meetings/{mid}/results/heat1.1.html").text
    assert "+10 s AX-JUMP" in page and '<td class="n">7</td>' in page

    run_stage(client, mid, "heat2", timing)
    run_stage(client, mid, "heat3", timing)
    heats = client.get(f"/api/meetings/{mid}/classifications/heats").json()["rows"]
    assert heats[0] == {
        "position": 1,
        "number": "201",
        "heat_points": [1, 1, 1],
        "total": 2,
        "dropped": 1,
        "qualified": True,
    }

    semis = run_stage(client, mid, "semis", timing)
    assert [s["grid"] for s in semis] == [NUMBERS[0::2], NUMBERS[1::2]]  # AX-SEMI odd / even

    # AX-FINAL: 202 cannot start; nobody left to replace it (all 12 are finalists)
    r = client.post(f"/api/meetings/{mid}/unable", json={"number": "202"}, headers=hdr(director))
    assert r.status_code == 200
    final = client.get(f"/api/meetings/{mid}/stages/final").json()["sessions"][0]
    assert final["key"] == "final" and "202" not in final["grid"] and len(final["grid"]) == 11
    sl = client.get(f"/api/meetings/{mid}/startlist/final.html").text
    assert "start list, 7 laps" in sl and 'class="row two"' in sl

    # AX-RED helper, then the final typed in by hand after a two-part race
    d = client.get(f"/api/meetings/{mid}/red_flag", params={"kind": "final", "leader_laps": 3}).json()
    assert d == {"rule": "AX-RED", "action": "restart_remaining", "laps_to_run": 4, "order_lap": 3}
    rows = [{"number": n, "place": i, "laps": 7} for i, n in enumerate(final["grid"], 1)]
    assert (
        client.post(
            f"/api/meetings/{mid}/sessions/final/result", json={"rows": rows}, headers=hdr(director)
        ).status_code
        == 200
    )
    general = client.get(f"/api/meetings/{mid}/classifications/general").json()
    assert general["status"] == "draft"
    assert [(row["number"], row["final"]) for row in general["rows"]][:2] == [("201", 48), ("203", 43)]
    assert general["division"] == "Maxi Sprint"
    assert general["rows"][11] == {
        "position": 12,
        "number": "202",
        "name": "Pilote 202",
        "stage": "final_non_starter",
        "practice": 4,
        "heats": 9,
        "final": 20,
        "total": 33,
    }

    # AX-PUBLISH: timing may not sign the general classification; director -> provisional; stewards -> final
    assert (
        client.post(
            f"/api/meetings/{mid}/signoff", json={"document": "general"}, headers=hdr(timing)
        ).status_code
        == 403
    )
    assert (
        client.post(f"/api/meetings/{mid}/signoff", json={"document": "heat1"}, headers=hdr(timing)).json()[
            "status"
        ]
        == "signed"
    )
    prov = client.post(
        f"/api/meetings/{mid}/signoff", json={"document": "general", "by": "J. Martin"}, headers=hdr(director)
    ).json()
    assert prov["status"] == "provisional" and prov["final_at"] > prov["posted_at"]
    html = client.get(f"/api/meetings/{mid}/results/general.html").text
    assert "provisional" in html and "J. Martin" in html and "unless protested" in html
    fin = client.post(
        f"/api/meetings/{mid}/signoff", json={"document": "general"}, headers=hdr(stewards)
    ).json()
    assert fin["status"] == "final"

    # the meeting survives a restart of the service (JSON file in DATA/meetings)
    mgr: Manager = client.app.state.manager  # type: ignore[attr-defined]
    again = FastAPI()
    http_errors.install(again)  # domain errors -> HTTP, as in the app
    reopened = MeetingBook(Path(mgr.data_dir) / "meetings")  # read again from its files
    again.include_router(build_meeting_router(mgr, MeetingService(reopened, mgr)))
    reread = TestClient(again).get(f"/api/meetings/{mid}/classifications/general").json()
    assert reread["status"] == "final" and reread["rows"] == general["rows"]


def test_bad_requests_are_clear(client: TestClient) -> None:
    assert client.post("/api/meetings", json={"entries": "7"}, headers=hdr(ADMIN)).status_code == 400
    dup = [{"number": "1"}, {"number": "1"}]
    assert client.post("/api/meetings", json={"entries": dup}, headers=hdr(ADMIN)).status_code == 400
    assert client.get("/api/meetings/nope").status_code == 404
    mid = client.post("/api/meetings", json={"entries": [{"number": "1"}]}, headers=hdr(ADMIN)).json()["id"]
    assert client.get(f"/api/meetings/{mid}/classifications/nothing").status_code == 404
    assert client.get(f"/api/meetings/{mid}/stages/quali").status_code == 409
    assert (
        client.post(f"/api/meetings/{mid}/stop", json={"after": "heat2"}, headers=hdr(ADMIN)).status_code
        == 409
    )
    bad = client.post(
        f"/api/meetings/{mid}/sessions/practice1.1/result", json={"rows": [{"place": 1}]}, headers=hdr(ADMIN)
    )
    assert bad.status_code == 400


def test_red_flag_in_a_heat_reruns_it_without_the_cause(client: TestClient) -> None:
    mgr: Manager = client.app.state.manager  # type: ignore[attr-defined]
    four = NUMBERS[:4]
    entries = [{"number": n, "name": f"P{n}", "transponder": f"X{n}"} for n in four]
    r = client.post("/api/meetings", json={"entries": entries}, headers=hdr(ADMIN)).json()
    mid, timing, director = r["id"], r["tokens"]["timing"], r["tokens"]["race_director"]
    run_stage(client, mid, "practice1", timing)
    run_stage(client, mid, "practice2", timing)
    (heat,) = client.post(f"/api/meetings/{mid}/stages/heat1/start", headers=hdr(timing)).json()
    first = mgr.sessions[heat["session_id"]]
    first.submit({"type": "signal", "t": 0.0, "signal": "start_procedure"})
    first.submit({"type": "grid_move", "t": 2.5, "number": "201"})  # jump start: 10 s, carried to the re-run
    first.submit({"type": "signal", "t": 4.0, "signal": "start_lights_green"})
    for n in four:
        first.submit({"type": "passing", "t": 60.0 + RANK[n], "transponder": f"X{n}", "loop": "finish"})
    first.submit({"type": "signal", "t": 80.0, "signal": "red"})
    stewards = r["tokens"]["stewards"]
    assert (
        client.post(
            f"/api/meetings/{mid}/sessions/heat1.1/red", json={"causers": ["203"]}, headers=hdr(stewards)
        ).status_code
        == 403
    )
    red = client.post(
        f"/api/meetings/{mid}/sessions/heat1.1/red", json={"causers": ["203"]}, headers=hdr(director)
    )
    out = red.json()
    assert (out["action"], out["laps_to_run"], out["leader_laps"]) == ("rerun", 5, 1)
    assert out["grid"] == ["201", "202", None, "204"]  # the cause's cell stays free
    assert out["session_id"] != heat["session_id"]
    entries2 = [{**mgr.sessions[out["session_id"]].engine.cars[n].entry} for n in out["grid"] if n]
    drive(mgr, out["session_id"], entries2, "heat", 5)
    assert client.post(f"/api/meetings/{mid}/sessions/heat1.1/finish", headers=hdr(timing)).status_code == 200
    h1 = client.get(f"/api/meetings/{mid}/classifications/heat1").json()["rows"]
    # re-run: 201 256.1 + 10 = 266.1 s, 202 258.2 s, 204 262.4 s; 203 caused the red: last, 20 points
    assert [(x["number"], x["points"]) for x in h1] == [("202", 1), ("204", 2), ("201", 3), ("203", 20)]
    rerun = mgr.sessions[out["session_id"]].engine
    assert rerun.params["rules"]["AX-JUMP"]["prior"] == ["201"]  # a new jump by 201 would be a repeat


def test_karting_meeting_through_the_api(client: TestClient) -> None:
    mgr: Manager = client.app.state.manager  # type: ignore[attr-defined]
    karts = [{"number": str(n), "name": f"Kart {n}", "transponder": f"K{n}"} for n in range(1, 7)]
    bad = client.post("/api/meetings", json={"preset": "ffsa-karting", "entries": karts}, headers=hdr(ADMIN))
    assert bad.status_code == 400  # needs the track
    r = client.post(
        "/api/meetings",
        json={
            "preset": "ffsa-karting",
            "category": "Senior",
            "entries": karts,
            "track_length_m": 1200,
            "track_capacity": 34,
        },
        headers=hdr(ADMIN),
    )
    assert r.status_code == 201, r.text
    mid, timing = r.json()["id"], r.json()["tokens"]["timing"]
    assert r.json()["stage"] == "qualifying"

    (q,) = client.post(f"/api/meetings/{mid}/stages/qualifying/start", headers=hdr(timing)).json()
    s = mgr.sessions[q["session_id"]]
    q = {2: 1, 1: 2, 4: 3, 3: 4, 6: 5, 5: 6}  # qualifying ranks: 2, 1, 4, 3, 6, 5
    for n in range(1, 7):  # an out lap ending at 62 + n s, then one timed lap of 50 + q / 10 s
        s.submit({"type": "passing", "t": 62.0 + n, "transponder": f"K{n}", "loop": "finish"})
        s.submit(
            {
                "type": "passing",
                "t": round(112.0 + n + q[n] / 10, 3),
                "transponder": f"K{n}",
                "loop": "finish",
            }
        )
    assert (
        client.post(f"/api/meetings/{mid}/sessions/qualifying/finish", headers=hdr(timing)).status_code == 200
    )
    assert [
        x["number"] for x in client.get(f"/api/meetings/{mid}/classifications/qualifying").json()["rows"]
    ] == ["2", "1", "4", "3", "6", "5"]

    (h1,) = client.post(f"/api/meetings/{mid}/stages/heat1/start", headers=hdr(timing)).json()
    assert h1["laps"] == 13 and h1["rows"][0] == ["2", "1"]  # 15 km on 1.2 km; karts two by two
    s = mgr.sessions[h1["session_id"]]
    lines = [
        {"type": "passing", "t": round(k * (50 + 0.3 * n), 3), "transponder": f"K{n}", "loop": "finish"}
        for n in range(1, 7)
        for k in range(1, 14)
    ]
    for line in sorted(lines, key=lambda x: x["t"]):
        s.submit(line)
    assert client.post(f"/api/meetings/{mid}/sessions/heat1/finish", headers=hdr(timing)).status_code == 200
    page = client.get(f"/api/meetings/{mid}/results/heat1.html").text
    assert '<td class="n">0</td>' in page  # KA-POINTS: the winner scores 0

    def typed(key: str, order: list[int], dns: tuple[int, ...] = ()) -> None:
        rows = [
            {
                "number": str(n),
                "place": i,
                "laps": 0 if n in dns else 13,
                "status": "dns" if n in dns else "classified",
            }
            for i, n in enumerate(order, 1)
        ]
        resp = client.post(
            f"/api/meetings/{mid}/sessions/{key}/result", json={"rows": rows}, headers=hdr(timing)
        )
        assert resp.status_code == 200, resp.text

    typed("heat2", [2, 1, 3, 4, 6, 5])
    typed("heat3", [1, 2, 4, 3, 5, 6])
    heats = client.get(f"/api/meetings/{mid}/classifications/heats").json()["rows"]
    assert [(x["number"], x["points"]) for x in heats] == [
        ("1", 2),
        ("2", 4),
        ("3", 10),
        ("4", 11),
        ("5", 16),
        ("6", 17),
    ]
    typed("superheat", [2, 1, 4, 3, 5, 6], dns=(6,))  # non-starter: 6 participants + 1 = 7
    finalists = client.get(f"/api/meetings/{mid}/classifications/finalists").json()["rows"]
    # equal points: 2 and 1 (4), 4 and 3 (14) -> the better qualifier first (KA-POINTS)
    assert [(x["number"], x["points"]) for x in finalists] == [
        ("2", 4),
        ("1", 4),
        ("4", 14),
        ("3", 14),
        ("5", 21),
        ("6", 24),
    ]
    typed("final", [2, 1, 3, 4, 5, 6])
    general = client.get(f"/api/meetings/{mid}/classifications/general").json()["rows"]
    assert [x["number"] for x in general if x["podium"]] == ["2", "1", "3"]
    assert (
        client.post(f"/api/meetings/{mid}/unable", json={"number": "1"}, headers=hdr(ADMIN)).status_code
        == 409
    )


def test_stewards_decisions_admit_and_cancel(client: TestClient) -> None:
    r = client.post(
        "/api/meetings", json={"entries": [{"number": "1"}, {"number": "2"}]}, headers=hdr(ADMIN)
    ).json()
    mid, timing, stewards = r["id"], r["tokens"]["timing"], r["tokens"]["stewards"]
    assert (
        client.post(f"/api/meetings/{mid}/admit", json={"number": "2"}, headers=hdr(timing)).status_code
        == 403
    )
    assert (
        client.post(f"/api/meetings/{mid}/admit", json={"number": "9"}, headers=hdr(stewards)).status_code
        == 409
    )
    assert (
        client.post(f"/api/meetings/{mid}/admit", json={"number": "2"}, headers=hdr(stewards)).status_code
        == 200
    )
    assert (
        client.post(f"/api/meetings/{mid}/cancel", json={"heat": "semis"}, headers=hdr(stewards)).status_code
        == 409
    )
    done = client.post(f"/api/meetings/{mid}/cancel", json={"heat": "heat3"}, headers=hdr(stewards))
    assert done.status_code == 200 and done.json()["cancelled"] == ["heat3"]
    assert client.get(f"/api/meetings/{mid}/stages/heat3").json()["sessions"] == []
