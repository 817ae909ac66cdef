"""`/api/championships` and `/api/cc` end to end on the real app: seasons from live sessions,
inline results and an auto-cross meeting; standings recomputed when a penalty is decided after
the race; CSV and the printable sheet; auth and bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from tests.season_helpers import results
from tests.test_meeting_api import NUMBERS, run_stage

ADMIN = "admin-secret"
H = {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return TestClient(create_app(tmp_path, ADMIN, synchronous="OFF"))


def live_race(
    client: TestClient,
    teams: list[tuple[str, str, str, float]],
    preset: str = "lemans-270-2h",
    **session: Any,
) -> dict[str, Any]:
    """A short live race: each team laps at its own pace from the green until the flag (600 s)."""
    line = {
        "name": "race",
        "preset": preset,
        "kind": "race",
        "duration_s": 600,
        "rules": {"LM-STOPS": False},
        **session,
    }
    created = client.post("/api/sessions", json=line, headers=H).json()
    sid = created["id"]
    entries = [
        {"number": n, "name": name, "transponder": f"T{n}", "category": cat} for n, name, cat, _ in teams
    ]
    assert client.post(f"/api/sessions/{sid}/entries", json=entries, headers=H).status_code == 200
    s = client.app.state.manager.sessions[sid]
    lines = [{"type": "signal", "t": 0.0, "signal": "green"}]
    for n, _, _, lap in teams:
        lines += [
            {"type": "passing", "t": round(lap * k, 3), "transponder": f"T{n}", "loop": "finish"}
            for k in range(1, int(600 // lap) + 2)
        ]
    for ln in sorted(lines, key=lambda x: x["t"]):
        s.submit(ln)
    s.submit({"type": "signal", "t": 700.0, "signal": "finish_session"})
    return created


def test_season_from_live_sessions_follows_a_late_penalty(client: TestClient) -> None:
    race1 = live_race(
        client,
        [
            ("1", "Les Rapides", "Sport", 60.0),
            ("2", "Kart'Attack", "Sport", 61.0),
            ("3", "Les Escargots", "Amateur", 62.0),
        ],
    )
    sp = lambda n, name, best: (n, name, "Sport", "classified", best)  # noqa: E731
    inline = results("lemans-270-3h", "race", [sp("2", "KART'ATTACK", 50.0), sp("11", "Les  Rapides", 51.0)])
    season = {
        "championship": "lemans-270",
        "name": "LM 270 2026",
        "events": [{"name": "2H", "race": race1["id"]}, {"name": "3H", "race": inline}],
    }
    assert client.post("/api/championships", json=season).status_code == 401
    r = client.post("/api/championships", json=season, headers=H)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert client.get("/api/championships").json()[0]["id"] == cid

    def sport() -> list[tuple]:
        st = client.get(f"/api/championships/{cid}/standings").json()
        return [(x["position"], x["team"], x["number"], x["points"]) for x in st["categories"]["Sport"]]

    # 2H: Les Rapides 24 + fastest lap (60 s) 2 = 26, Kart'Attack 20. 3H: Kart'Attack 24 + FL 2 = 26,
    # Les Rapides (now number 11) 20. Totals 46 each; countback: one 1st place each, one 2nd each;
    # most recent event: Kart'Attack won the 3H.
    assert sport() == [(1, "KART'ATTACK", "2", 46), (2, "Les  Rapides", "11", 46)]
    # race control disqualifies Les Rapides' 2H after the race: Kart'Attack wins it with the fastest lap
    # of the cars still classified (61 s): 24 + 2 + 26 = 52; Les Rapides 0 + 20
    pen = client.post(
        f"/api/sessions/{race1['id']}/penalties",
        headers=H,
        json={"number": "1", "rule": "LM-UNSPORTING", "dsq": True, "note": "technical check"},
    )
    assert pen.status_code == 201, pen.text
    assert sport() == [(1, "KART'ATTACK", "2", 52), (2, "Les  Rapides", "11", 20)]
    st = client.get(f"/api/championships/{cid}/standings").json()
    assert st["categories"]["Amateur"][0]["points"] == 26

    csv = client.get(f"/api/championships/{cid}/standings.csv", headers={"Accept-Language": "fr-FR,fr"})
    assert csv.headers["content-type"].startswith("text/csv") and csv.content.startswith(b"\xef\xbb\xbf")
    assert csv.content[3:].decode().splitlines()[:2] == [
        "Catégorie;Pos;Équipe / pilote;N°;Points;Épreuves;Minimum;Bourse (€);2H;3H",
        "Sport;1;KART'ATTACK;2;52;2;non;0;26;26",
    ]
    en = client.get(f"/api/championships/{cid}/standings.csv?lang=en").content[3:].decode().splitlines()
    assert en[:2] == [
        "Category,Pos,Team / rider,No,Points,Events,Minimum,Bursary (EUR),2H,3H",
        "Sport,1,KART'ATTACK,2,52,2,no,0,26,26",
    ]
    sheet = client.get(f"/api/championships/{cid}/standings.html", headers={"Accept-Language": "fr"}).text
    assert "<h1>Classement LM 270 2026</h1>" in sheet and "<h2>Amateur</h2>" in sheet and "DSQ" in sheet
    assert "Standings" in client.get(f"/api/championships/{cid}/standings.html?lang=en").text
    assert "Standings" in client.get(f"/api/championships/{cid}/standings.html").text  # no language: English

    # add the next event; then delete the season
    more = client.post(
        f"/api/championships/{cid}/events",
        headers=H,
        json={"name": "4H", "race": results("lemans-270-4h", "race", [sp("1", "Les Rapides", 50.0)])},
    )
    assert more.status_code == 201 and more.json()["events"] == ["2H", "3H", "4H"]
    assert sport()[1] == (2, "Les Rapides", "1", 46)  # 20 + 24 + 2
    assert client.delete(f"/api/championships/{cid}", headers=H).status_code == 200
    assert client.get(f"/api/championships/{cid}/standings").status_code == 404


def test_bad_seasons_are_refused_with_reasons(client: TestClient) -> None:
    race = live_race(client, [("1", "A", "Sport", 60.0)])
    tok = race["tokens"]["race_control"]
    ok = {"championship": "lemans-270", "events": [{"name": "2H", "race": race["id"]}]}
    assert (
        client.post("/api/championships", json=ok, headers={"Authorization": f"Bearer {tok}"}).status_code
        == 403
    )
    for body, message in [
        ("nope", "a season is a JSON object"),
        ({"championship": "f1", "events": []}, "unknown championship 'f1'"),
        ({"championship": "lmks", "events": [{"name": "x", "race": race["id"]}]}, "does not count for lmks"),
        ({"championship": "lemans-270", "events": [{"name": "x", "race": "s-none"}]}, "no session 's-none'"),
        (
            {"championship": "lemans-270", "events": [{"name": "x", "race": {"rows": 3}}]},
            "not a results document",
        ),
        ({"championship": "autocross", "events": [{"name": "x", "points": "m-none"}]}, "no meeting 'm-none'"),
    ]:
        r = client.post("/api/championships", json=body, headers=H)
        assert r.status_code == 400 and message in r.json()["detail"], (body, r.text)
    bad_json = client.post("/api/championships", content=b"{", headers=H)
    assert bad_json.status_code == 400
    assert client.get("/api/championships/status").json() == {
        "seasons": 0,
        "rejected": 7,
    }  # counted, none kept
    assert client.get("/api/championships/c-none/standings").status_code == 404
    names = [p["name"] for p in client.get("/api/championships/presets").json()]
    assert names == ["autocross", "ffm-cc", "ffm-kids", "lemans-270", "lmks"]


def test_autocross_season_sums_a_live_meeting_and_a_points_document(client: TestClient) -> None:
    entries = [{"number": n, "name": f"Pilote {n}", "transponder": f"X{n}"} for n in NUMBERS[:4]]
    r = client.post(
        "/api/meetings",
        json={"name": "Saint-Igny", "division": "Maxi Tourisme", "entries": entries},
        headers=H,
    ).json()
    for stage in ("practice1", "practice2", "heat1", "heat2", "heat3", "semis", "final"):
        run_stage(client, r["id"], stage, r["tokens"]["timing"])
    season = {
        "championship": "autocross",
        "events": [
            {"name": "Saint-Igny", "points": r["id"]},
            {
                "name": "Faleyras",
                "division": "Maxi Tourisme",
                "points": {
                    "rows": [
                        {"position": 1, "number": "204", "name": "Pilote 204", "total": 63, "final": 48},
                        {"position": 2, "number": "201", "name": "Pilote 201", "total": 56, "final": 43},
                    ]
                },
            },
        ],
    }
    cid = client.post("/api/championships", json=season, headers=H).json()["id"]
    st = client.get(f"/api/championships/{cid}/standings").json()
    rows = [(x["position"], x["number"], x["points"]) for x in st["categories"]["Maxi Tourisme"]]
    # Saint-Igny (201 fastest in every session): 201 5 + 10 + 48 = 63, 202 4 + 9 + 43 = 56,
    # 203 3 + 8 + 39 = 50, 204 2 + 7 + 36 = 45. Faleyras: 204 63, 201 56.
    assert rows == [(1, "201", 119), (2, "204", 108), (3, "202", 56), (4, "203", 50)]


def test_cross_country_helpers_on_live_sessions(client: TestClient) -> None:
    riders = [
        ("1", "Alex", "Elite Open", 100.0),
        ("2", "David", "N1", 99.0),
        ("3", "Eric", "N2", 101.0),
        ("801", "Henri", "Licence une manifestation", 98.0),
    ]
    sprint = live_race(client, riders, preset="ffm-cc", kind="qualifying", rules={})
    race = live_race(client, riders, preset="ffm-cc", rules={})
    lines = client.get(
        f"/api/cc/sessions/{sprint['id']}/start-lines", params={"line_size": 2, "race": race["id"]}
    )
    assert lines.json()["lines"] == [
        {"line": 1, "ordered": True, "numbers": ["2", "1"]},
        {"line": 2, "ordered": True, "numbers": ["3"]},
        {"line": 3, "ordered": False, "numbers": ["801"]},
    ]
    url = f"/api/cc/sessions/{race['id']}/start-lines"
    assert client.post(url, json={"sprint": sprint["id"], "line_size": 2}).status_code == 401
    assert client.post(url, json={"line_size": 2}, headers=H).status_code == 400
    assert client.post(url, json={"sprint": sprint["id"], "line_size": 0}, headers=H).status_code == 400
    done = client.post(
        url,
        json={"sprint": sprint["id"], "line_size": 2},
        headers={"Authorization": f"Bearer {race['tokens']['timing']}"},
    )
    assert done.status_code == 200
    cars = client.app.state.manager.sessions[race["id"]].engine.cars
    assert {n: (c.wave, c.offset_us) for n, c in cars.items()} == {
        "1": (1, 0),
        "2": (1, 0),
        "3": (2, 30_000_000),
        "801": (3, 60_000_000),
    }  # CC-WAVES 30 s a line
    cats = client.get(f"/api/cc/sessions/{race['id']}/categories").json()["categories"]
    assert list(cats) == ["Elite Open", "N1", "N2", "Licence une manifestation"]
    kids = client.get("/api/cc/kids", params={"endurance1": race["id"], "endurance2": race["id"]}).json()
    assert [k["number"] for k in kids["classification"]][0] == "801"
    groups = client.get("/api/cc/kids/groups", params={"tests": sprint["id"], "group_size": 3}).json()[
        "groups"
    ]
    assert groups[0]["numbers"] == ["801", "2", "1"]
    assert client.get("/api/cc/kids/groups").status_code == 400


def test_live_cross_country_race_stopped_early_gives_half_points(client: TestClient) -> None:
    sid = client.post(
        "/api/sessions", json={"name": "cc", "preset": "ffm-cc", "kind": "race", "duration_s": 600}, headers=H
    ).json()["id"]
    entries = [
        {"number": "1", "name": "Alex", "transponder": "T1", "category": "Elite Open"},
        {"number": "2", "name": "David", "transponder": "T2", "category": "N1"},
    ]
    client.post(f"/api/sessions/{sid}/entries", json=entries, headers=H)
    s = client.app.state.manager.sessions[sid]
    lines = [{"type": "signal", "t": 0.0, "signal": "green"}]
    lines += [{"type": "passing", "t": 70.0 * k, "transponder": "T1", "loop": "finish"} for k in (1, 2, 3)]
    lines += [{"type": "passing", "t": 75.0 * k, "transponder": "T2", "loop": "finish"} for k in (1, 2, 3)]
    lines += [
        {"type": "signal", "t": 250.0, "signal": "red"},
        {"type": "signal", "t": 300.0, "signal": "finish_session"},
    ]
    for ln in sorted(lines, key=lambda x: x["t"]):
        s.submit(ln)
    season = {"championship": "ffm-cc", "events": [{"name": "M1", "race": sid}]}
    cid = client.post("/api/championships", json=season, headers=H).json()["id"]
    st = client.get(f"/api/championships/{cid}/standings").json()["categories"]
    # red at 250 s of 600, not resumed: half run or less -> half points; the order at the stop counts
    # (both riders are `dnf`: nobody took a flag)
    assert {t: [(r["team"], r["points"]) for r in rows] for t, rows in st.items()} == {
        "Scratch Elite": [("Alex", 12.5)],
        "Scratch National": [("David", 12.5)],
        "Elite Open": [("Alex", 12.5)],
        "N1": [("David", 12.5)],
    }
    assert st["N1"][0]["per_event"][0]["half_points"] is True
