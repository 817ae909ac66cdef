"""Set-up from the pages, through the API they use: meetings created, edited and deleted with their
date, place, organiser and logo; sessions added by hand to a meeting, renamed, reconfigured and
removed while they have not run; one entry at a time added, edited, renumbered and removed as
`entry` lines that replay; the meeting page's one-request board with its ETag; coded refusals in
the caller's language."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import service.rules.autocross  # noqa: F401 - registers the AX rules
from service.app import create_app
from service.results import replay_lines, results

ADMIN = "admin-secret"
FR = {"Authorization": f"Bearer {ADMIN}", "Accept-Language": "fr-FR,fr;q=0.9"}
EN = {"Authorization": f"Bearer {ADMIN}", "Accept-Language": "en-GB"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def client(tmp_path: Path):
    with TestClient(create_app(tmp_path, ADMIN, synchronous="OFF")) as c:
        yield c


def entries(n: int) -> list[dict]:
    return [{"number": str(700 + i), "name": f"Pilote {i}", "transponder": f"T{i}"} for i in range(1, n + 1)]


def test_meeting_created_edited_and_deleted_with_its_details(client: TestClient) -> None:
    r = client.post(
        "/api/meetings",
        json={
            "preset": "autocross",
            "name": "Saint-Igny",
            "division": "Maxi Sprint",
            "date": "2026-05-17",
            "place": "Circuit des Grands Prés",
            "organiser": "ASA Bourgogne",
        },
        headers=FR,
    )
    assert r.status_code == 201, r.text
    m = r.json()
    mid = m["id"]
    assert (m["date"], m["place"], m["organiser"], m["entries"]) == (
        "2026-05-17",
        "Circuit des Grands Prés",
        "ASA Bourgogne",
        0,
    )
    # a stage cannot open without entries: said in French, with its code
    r = client.post(f"/api/meetings/{mid}/stages/practice1/start", headers=FR)
    assert r.status_code == 409 and r.json()["code"] == "meeting.no_entries"
    assert "pas encore d'engagés" in r.json()["detail"]
    bad = client.patch(f"/api/meetings/{mid}", json={"date": "17/05/2026"}, headers=FR)
    assert (
        bad.status_code == 400
        and bad.json()["code"] == "meeting.bad_date"
        and "n'est pas une date" in bad.json()["detail"]
    )
    bad = client.patch(f"/api/meetings/{mid}", json={"date": "17/05/2026"}, headers=EN)
    assert bad.json()["detail"] == "'17/05/2026' is not a date (YYYY-MM-DD)"

    # the entry list, one entry at a time, in its order (AX-PRACTICE series come from it)
    for e in entries(6):
        assert client.put(f"/api/meetings/{mid}/entries/{e['number']}", json=e, headers=FR).status_code == 200
    r = client.put(
        f"/api/meetings/{mid}/entries/703",
        json={"number": "713", "name": "Pilote 3 bis", "transponder": "T3"},
        headers=FR,
    )
    assert r.status_code == 200
    taken = client.put(f"/api/meetings/{mid}/entries/799", json={"transponder": "T1"}, headers=FR)
    assert taken.status_code == 409 and taken.json()["code"] == "entry.transponder_taken"
    assert client.delete(f"/api/meetings/{mid}/entries/706", headers=FR).status_code == 200
    listed = client.get(f"/api/meetings/{mid}/entries", headers=FR).json()
    assert [e["number"] for e in listed] == ["701", "702", "713", "704", "705"]
    assert client.get(f"/api/meetings/{mid}/entries").status_code == 401  # staff only

    r = client.patch(
        f"/api/meetings/{mid}", json={"name": "Saint-Igny 2026", "place": "Saint-Igny"}, headers=FR
    )
    assert r.json()["name"] == "Saint-Igny 2026" and r.json()["date"] == "2026-05-17"
    assert (
        client.put(
            f"/api/meetings/{mid}/logo", content=PNG, headers={**FR, "Content-Type": "image/png"}
        ).status_code
        == 200
    )
    logo = client.get(f"/api/meetings/{mid}/logo")
    assert logo.headers["content-type"] == "image/png" and logo.content == PNG
    svg = client.put(f"/api/meetings/{mid}/logo", content=b"<svg onload='x'/>", headers=FR)
    assert svg.status_code == 400 and svg.json()["code"] == "meeting.logo_type"
    big = client.put(f"/api/meetings/{mid}/logo", content=PNG + b"\x00" * 600_000, headers=FR)
    assert big.status_code in (400, 413)
    assert client.delete(f"/api/meetings/{mid}/logo").status_code == 401  # the admin's
    dropped = client.delete(f"/api/meetings/{mid}/logo", headers=FR)
    assert dropped.status_code == 200 and dropped.json()["logo"] is None
    assert client.get(f"/api/meetings/{mid}/logo").status_code == 404
    assert client.delete("/api/meetings/m-none/logo", headers=FR).status_code == 404

    # open the practice: the entry list and the format are fixed from now on
    opened = client.post(f"/api/meetings/{mid}/stages/practice1/start", headers=FR).json()
    fixed = client.put(f"/api/meetings/{mid}/entries/720", json={"name": "Tard"}, headers=FR)
    assert fixed.status_code == 409 and fixed.json()["code"] == "meeting.inputs_fixed"
    assert client.patch(f"/api/meetings/{mid}", json={"organiser": "ASA"}, headers=FR).status_code == 200

    # a season counts it: it cannot be deleted before it leaves the season
    assert client.get("/api/meetings").status_code == 200
    ran = opened[0]["session_id"]
    client.post(
        f"/api/sessions/{ran}/events",
        json={"type": "passing", "t": 10.0, "transponder": "T1", "loop": "finish"},
        headers=FR,
    )
    gone = client.delete(f"/api/meetings/{mid}", headers=FR).json()
    assert gone["kept_sessions"] == [ran]  # what was timed is kept, as a session of its own
    assert client.get(f"/api/meetings/{mid}").status_code == 404
    assert client.get(f"/api/sessions/{ran}").status_code == 200
    assert client.get(f"/api/meetings/{mid}/logo").status_code == 404


def test_board_is_one_request_with_an_etag(client: TestClient) -> None:
    mid = client.post(
        "/api/meetings", json={"name": "AX", "division": "Buggy", "entries": entries(6)}, headers=FR
    ).json()["id"]
    r = client.get(f"/api/meetings/{mid}/board", headers={"Accept-Language": "fr"})
    assert r.status_code == 200
    b = r.json()
    assert [s["stage"] for s in b["stages"]] == [
        "practice1",
        "practice2",
        "heat1",
        "heat2",
        "heat3",
        "semis",
        "final",
    ]
    heat1 = b["stages"][2]
    assert heat1["sessions"] == [] and heat1["waiting"]  # waiting, said, never a 409
    assert [d["document"] for d in b["documents"]][:2] == ["practice", "heat1"] and not b["documents"][0][
        "ready"
    ]
    tag = r.headers["etag"]
    again = client.get(f"/api/meetings/{mid}/board", headers={"Accept-Language": "fr", "If-None-Match": tag})
    assert again.status_code == 304
    client.post(f"/api/meetings/{mid}/stages/practice1/start", headers=FR)
    moved = client.get(f"/api/meetings/{mid}/board", headers={"Accept-Language": "fr", "If-None-Match": tag})
    assert moved.status_code == 200 and moved.json()["stages"][0]["sessions"][0]["session_id"]
    tag = moved.headers["etag"]
    sid = moved.json()["stages"][0]["sessions"][0]["session_id"]
    client.post(f"/api/sessions/{sid}/signal", json={"signal": "green"}, headers=FR)  # from another device
    live = client.get(f"/api/meetings/{mid}/board", headers={"Accept-Language": "fr", "If-None-Match": tag})
    assert live.status_code == 200 and live.json()["stages"][0]["sessions"][0]["state"] == "live"


def test_free_meeting_sessions_added_edited_and_removed(client: TestClient) -> None:
    mid = client.post(
        "/api/meetings", json={"preset": "free", "name": "Le Mans mini", "entries": entries(3)}, headers=FR
    ).json()["id"]
    r = client.post(
        f"/api/meetings/{mid}/sessions",
        json={"name": "Essais libres", "preset": "generic-timed", "kind": "practice", "duration_s": 1200},
        headers=FR,
    )
    assert r.status_code == 201, r.text
    key, sid = r.json()["key"], r.json()["session_id"]
    assert [e["number"] for e in client.get(f"/api/sessions/{sid}/entries", headers=FR).json()] == [
        "701",
        "702",
        "703",
    ]
    r = client.patch(
        f"/api/meetings/{mid}/sessions/{key}", json={"name": "Essais 1", "duration_s": 1800}, headers=FR
    )
    assert r.json()["name"] == "Essais 1"
    assert client.get(f"/api/sessions/{sid}").json()["clock"]["duration_s"] == 1800
    board = client.get(f"/api/meetings/{mid}/board").json()
    assert board["stages"] == [] and [s["name"] for s in board["extra_sessions"]] == ["Essais 1"]
    assert [x["id"] for x in client.get("/api/sessions").json() if x["meeting"]] == [sid]

    client.post(f"/api/sessions/{sid}/signal", json={"signal": "green"}, headers=FR)
    r = client.patch(f"/api/meetings/{mid}/sessions/{key}", json={"laps": 10}, headers=FR)
    assert r.status_code == 409 and r.json()["code"] == "sessions.already_run"
    r = client.delete(f"/api/meetings/{mid}/sessions/{key}", headers=FR)
    assert r.status_code == 409 and "a déjà eu lieu" in r.json()["detail"]

    key2 = client.post(
        f"/api/meetings/{mid}/sessions",
        json={"name": "Course", "preset": "generic-laps", "laps": 20},
        headers=FR,
    ).json()
    assert client.delete(f"/api/meetings/{mid}/sessions/{key2['key']}", headers=FR).status_code == 200
    assert client.get(f"/api/sessions/{key2['session_id']}").status_code == 404
    # a standalone session: the admin renames it, deletes it while it never ran
    s = client.post("/api/sessions", json={"name": "Test", "preset": "generic-timed"}, headers=FR).json()
    assert (
        client.patch(f"/api/sessions/{s['id']}", json={"name": "Séance d'essai"}, headers=FR).json()["name"]
        == "Séance d'essai"
    )
    assert (
        client.delete(
            f"/api/sessions/{s['id']}", headers={"Authorization": f"Bearer {s['tokens']['timing']}"}
        ).status_code
        == 403
    )
    assert client.delete(f"/api/sessions/{s['id']}", headers=FR).status_code == 200


def test_entries_edited_one_by_one_replay_the_same(client: TestClient) -> None:
    """Before the start: add, edit, renumber, remove. After the start: a name and a transponder
    changed (the laps already read stay the car's), a removal refused. The exported log replays
    to the same classification."""
    s = client.post(
        "/api/sessions", json={"name": "Course", "preset": "generic-laps", "laps": 5}, headers=FR
    ).json()
    sid, timing = s["id"], {"Authorization": f"Bearer {s['tokens']['timing']}", "Accept-Language": "fr"}
    for n, tr in (("7", "A7"), ("8", "A8"), ("9", "A9"), ("10", "A10")):
        r = client.put(
            f"/api/sessions/{sid}/entries/{n}",
            json={
                "name": f"Équipe {n}",
                "transponder": tr,
                "team": "Écurie du Lac",
                "category": "Sport",
                "drivers": [{"name": "Ann", "weight_kg": "68,5"}],
            },
            headers=timing,
        )
        assert r.status_code == 200, r.text
    assert (
        r.json()["drivers"] == [{"id": "d1", "name": "Ann", "weight_kg": 68.5}]
        and r.json()["team"] == "Écurie du Lac"
    )
    assert (
        client.put(
            f"/api/sessions/{sid}/entries/10", json={"number": "11", "transponder": "A10"}, headers=timing
        ).status_code
        == 200
    )
    assert client.delete(f"/api/sessions/{sid}/entries/9", headers=timing).status_code == 200
    dup = client.put(f"/api/sessions/{sid}/entries/12", json={"transponder": "A7"}, headers=timing)
    assert (
        dup.status_code == 409
        and dup.json()["detail"] == "le transpondeur A7 compte déjà pour la voiture n°7"
    )
    bad = client.put(
        f"/api/sessions/{sid}/entries/12",
        json={"drivers": [{"name": "Bob", "weight_kg": "lourd"}]},
        headers=timing,
    )
    assert bad.status_code == 400 and bad.json()["code"] == "entry.bad_weight"

    client.post(f"/api/sessions/{sid}/signal", json={"signal": "green", "t": 0}, headers=timing)
    for lap in range(1, 4):
        for n, tr in (("7", "A7"), ("8", "A8")):
            client.post(
                f"/api/sessions/{sid}/events",
                json={"type": "passing", "t": lap * 60.0 + int(n), "transponder": tr, "loop": "finish"},
                headers=timing,
            )
    r = client.put(
        f"/api/sessions/{sid}/entries/8", json={"name": "Équipe Huit", "transponder": "B8"}, headers=timing
    )
    assert r.json()["laps"] == 3  # a new transponder: the laps read stay the car's
    client.post(
        f"/api/sessions/{sid}/events",
        json={"type": "passing", "t": 248.0, "transponder": "B8", "loop": "finish"},
        headers=timing,
    )
    refused = client.delete(f"/api/sessions/{sid}/entries/8", headers=timing)
    assert refused.status_code == 409 and refused.json()["code"] == "entries.has_history"
    renum = client.put(f"/api/sessions/{sid}/entries/7", json={"number": "70"}, headers=timing)
    assert renum.status_code == 409 and renum.json()["code"] == "entries.renumber_has_history"

    live = {r["number"]: r for r in client.get(f"/api/sessions/{sid}/results").json()["classification"]}
    assert set(live) == {"7", "8", "11"} and live["8"]["laps"] == 4 and live["8"]["name"] == "Équipe Huit"
    swap = [
        c
        for c in client.get(f"/api/sessions/{sid}/corrections", headers=timing).json()
        if c["type"] == "assign"
    ]
    assert [(c["line"]["transponder"], c["line"]["replace"], c["by"]) for c in swap] == [
        ("B8", True, "timing")
    ]
    # the exported scenario (entries first, scenario.md) and the log in its own order replay the same
    exported = client.get(f"/api/sessions/{sid}/export.jsonl", headers=timing).text.splitlines()
    in_order = [json.dumps(ln) for ln in client.app.state.manager.sessions[sid].store.lines()]
    for log in (exported, in_order):
        replayed = {r["number"]: r for r in results(replay_lines(log, finalize=False))["classification"]}
        assert {n: (r["laps"], r["name"]) for n, r in replayed.items()} == {
            n: (r["laps"], r["name"]) for n, r in live.items()
        }
    listed = client.get(f"/api/sessions/{sid}/entries", headers=timing).json()
    assert [(e["number"], e["has_history"]) for e in listed] == [("7", True), ("8", True), ("11", False)]
    assert client.get(f"/api/sessions/{sid}/entries").status_code == 401
