"""Server side of issue 12: a meeting's tokens act on the meeting's own sessions (and nowhere
else), the session list says which meeting and state each session has, staff-link QR codes are
the admin's, and the pages are served gzip-compressed under versioned, cacheable names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import service.rules.autocross  # noqa: F401 - registers the AX rules
from service.app import create_app

ADMIN = "admin-secret"


def hdr(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(tmp_path: Path):
    with TestClient(create_app(tmp_path, ADMIN, synchronous="OFF")) as c:
        yield c


@pytest.fixture
def meeting(client: TestClient) -> dict:
    entries = [{"number": str(n), "name": f"Pilote {n}", "transponder": f"X{n}"} for n in range(701, 709)]
    r = client.post(
        "/api/meetings",
        json={"name": "Saint-Igny", "division": "Maxi Sprint", "entries": entries},
        headers=hdr(ADMIN),
    )
    assert r.status_code == 201, r.text
    m = r.json()
    started = client.post(
        f"/api/meetings/{m['id']}/stages/practice1/start", headers=hdr(m["tokens"]["timing"])
    )
    assert started.status_code == 200, started.text
    return {**m, "sessions": {s["key"]: s["session_id"] for s in started.json()}}


def test_meeting_tokens_act_on_the_meeting_sessions_only(client: TestClient, meeting: dict) -> None:
    timing, director, stewards = (meeting["tokens"][r] for r in ("timing", "race_director", "stewards"))
    sid = meeting["sessions"]["practice1.1"]
    other = client.post("/api/sessions", json={"name": "Kart 2H"}, headers=hdr(ADMIN)).json()["id"]

    # timing crew of the meeting = the session's timing crew: starts it, reads its passings
    assert (
        client.post(f"/api/sessions/{sid}/signal", json={"signal": "green"}, headers=hdr(timing)).status_code
        == 200
    )
    assert client.get(f"/api/sessions/{sid}/passings", headers=hdr(timing)).status_code == 200
    # ... but flags are race control's: the race director's and the stewards' tokens
    assert (
        client.post(f"/api/sessions/{sid}/signal", json={"signal": "red"}, headers=hdr(timing)).status_code
        == 403
    )
    assert (
        client.post(f"/api/sessions/{sid}/signal", json={"signal": "red"}, headers=hdr(director)).status_code
        == 200
    )
    assert (
        client.post(
            f"/api/sessions/{sid}/penalties",
            json={"number": "701", "rule": "AX-TIME-PEN", "seconds": 5},
            headers=hdr(stewards),
        ).status_code
        == 201
    )
    # another session, or no meeting at all: the meeting's tokens are unknown there
    for tok in (timing, director):
        assert (
            client.post(
                f"/api/sessions/{other}/signal", json={"signal": "green"}, headers=hdr(tok)
            ).status_code
            == 401
        )
    # the live WebSocket stream takes the meeting's token on its session
    with client.websocket_connect(f"/ws/sessions/{sid}?stream=live", headers=hdr(timing)) as ws:
        assert ws.receive_json()["type"] == "snapshot"

    who = client.get("/api/whoami", headers=hdr(director)).json()
    assert who == {
        "role": "race_control",
        "session": None,
        "meeting": meeting["id"],
        "meeting_role": "race_director",
    }
    assert client.get(f"/api/whoami?session={sid}", headers=hdr(timing)).json()["role"] == "timing"
    assert client.get(f"/api/whoami?session={other}", headers=hdr(timing)).status_code == 401


def test_session_list_grouped_by_meeting_with_state(client: TestClient, meeting: dict) -> None:
    other = client.post("/api/sessions", json={"name": "Kart 2H"}, headers=hdr(ADMIN)).json()["id"]
    sid = meeting["sessions"]["practice1.1"]
    client.post(f"/api/sessions/{sid}/signal", json={"signal": "green"}, headers=hdr(ADMIN))
    listed = {s["id"]: s for s in client.get("/api/sessions").json()}
    assert listed[sid]["meeting"] == {"id": meeting["id"], "name": "Saint-Igny", "key": "practice1.1"}
    assert listed[sid]["state"] == "live" and listed[other]["state"] == "upcoming"
    assert listed[other]["meeting"] is None
    client.post(f"/api/sessions/{sid}/signal", json={"signal": "finish_session"}, headers=hdr(ADMIN))
    assert {s["id"]: s for s in client.get("/api/sessions").json()}[sid]["state"] == "finished"
    assert "stages" in client.get(f"/api/meetings/{meeting['id']}").json()


def test_staff_qr_codes_are_the_admins(client: TestClient, meeting: dict) -> None:
    sid = meeting["sessions"]["practice1.1"]
    assert client.get(f"/api/sessions/{sid}/qr/timing.svg").status_code == 401
    assert client.get(
        f"/api/sessions/{sid}/qr/timing.svg", headers=hdr(meeting["tokens"]["timing"])
    ).status_code in (401, 403)
    svg = client.get(f"/api/sessions/{sid}/qr/timing.svg", headers=hdr(ADMIN))
    assert (
        svg.status_code == 200
        and svg.headers["content-type"] == "image/svg+xml"
        and svg.text.startswith("<svg")
    )
    assert client.get(f"/api/sessions/{sid}/qr/spectator.svg").status_code == 200  # public link, public code
    assert client.get(f"/api/sessions/{sid}/qr/nobody.svg", headers=hdr(ADMIN)).status_code == 404
    assert client.get(f"/api/meetings/{meeting['id']}/qr/stewards.svg", headers=hdr(ADMIN)).status_code == 200
    assert client.get(f"/api/meetings/{meeting['id']}/tokens").status_code == 401
    assert client.get(f"/api/meetings/{meeting['id']}/tokens", headers=hdr(ADMIN)).json() == meeting["tokens"]


def test_printed_meeting_documents_follow_the_language(client: TestClient, meeting: dict) -> None:
    url = f"/api/meetings/{meeting['id']}/startlist/practice1.1.html"
    fr = client.get(url, headers={"Accept-Language": "fr-FR,fr;q=0.9"}).text
    assert '<html lang="fr">' in fr and "grille de départ" in fr and "Commissaires sportifs" in fr
    en = client.get(url + "?lang=en", headers={"Accept-Language": "fr-FR"}).text
    assert '<html lang="en">' in en and "start list" in en and "Stewards" in en


def test_static_pages_gzip_versioned_and_favicon(client: TestClient) -> None:
    page = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.status_code == 200 and page.headers["content-encoding"] == "gzip"
    assert page.headers["cache-control"] == "no-cache"
    refs = re.findall(r'(?:src|href)="(s/[0-9a-f]{12}/[^"]+)"', page.text)
    assert {"s/" + r.split("/", 2)[1] + "/js/spectator.js" for r in refs} & set(refs), refs
    js = next(r for r in refs if r.endswith("spectator.js"))
    raw = client.get("/" + js, headers={"Accept-Encoding": "gzip"})
    assert raw.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert raw.headers["content-type"].startswith("text/javascript")
    plain = client.get("/" + js, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert raw.headers["content-encoding"] == "gzip" and int(raw.headers["content-length"]) < len(
        plain.content
    )
    assert raw.content == plain.content  # httpx decompressed it: the same file
    # a 304 for an unchanged file, an old version is not cached forever, and the favicon exists
    assert client.get("/" + js, headers={"If-None-Match": plain.headers["etag"]}).status_code == 304
    old = client.get("/s/000000000000/js/spectator.js")
    assert old.status_code == 200 and old.headers["cache-control"] == "no-cache"
    assert client.get("/favicon.ico").headers["content-type"] == "image/svg+xml"
    assert client.get("/nothing-here.js").status_code == 404
    for p in ("meeting.html", "admin.html", "race-control.html", "timing.html", "print.html", "login.html"):
        assert (
            'lang="en"' in client.get("/" + p).text
        )  # the page sets its own lang once the catalogue is chosen
