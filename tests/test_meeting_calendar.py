"""UFOLEP calendar import (RULES.md section 5), read from the seed in the shared folder."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from service.meetings.calendar import parse_calendar

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


@pytest.fixture(scope="module")
def seed_text() -> str:
    files = sorted(SEEDS.glob("000_*.txt"))
    if not files:
        pytest.skip("shared seeds not found beside the repository")
    return files[0].read_text(encoding="utf-8")


def test_seed_calendar_parses_every_event(seed_text: str) -> None:
    events, warnings = parse_calendar(seed_text)
    assert warnings == []
    data_lines = [ln for ln in seed_text.splitlines() if ln[:2].isdigit() and ln[2:3] == "/"]
    assert len(events) == len(data_lines)
    first = events[0]
    assert (first.region, first.section) == ("RHONE-ALPES AUVERGNE", "POURSUITE SUR TERRE - KART-CROSS")
    assert (first.start, first.end, first.venue, first.department) == (
        date(2026, 3, 28),
        date(2026, 3, 29),
        "MARSAC EN LIVRADOIX",
        "63",
    )
    assert first.disciplines == ("Poursuite sur Terre", "Kart Cross")
    assert first.types == ("Contrôle Technique", "Entrainement")
    assert first.timed and first.preset == "autocross"


def test_seed_calendar_sections_trial_and_finals(seed_text: str) -> None:
    events, _ = parse_calendar(seed_text)
    trials = [e for e in events if e.section == "TRIAL 4x4"]
    assert trials and all(not e.timed and e.preset is None for e in trials)
    finals = [e for e in events if "Finale Nationale" in e.types]
    assert {e.disciplines for e in finals} >= {("Kart Cross",), ("Poursuite sur Terre",)}
    vendee = [e for e in events if e.section == "POITOU-CHARENTES- VENDÉE"]
    assert vendee and vendee[0].region == "NOUVELLE AQUITAINE"
    hdf = [e for e in events if e.region == "HAUTS DE FRANCE"]
    assert hdf[0].disciplines == ("Kart Cross",)  # written "Kart-Cross"


def test_bad_lines_are_warnings() -> None:
    text = (
        "EST\n\nDébut\tFin\tLieu\tDept\tClub\tCapacité\tQualification\tTrophée\n"
        "31/02/2026\t01/03/2026\tX\t1\tC\tKart Cross\tNationale\tT\n"
        "01/05/2026\t02/05/2026\tY\t2\n"
    )
    events, warnings = parse_calendar(text)
    assert events == []
    assert warnings == ["line 4: bad date '31/02/2026' / '01/03/2026'", "line 5: 4 columns, 8 expected"]


def test_calendar_through_the_api(tmp_path: Path, seed_text: str) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from service import http_errors
    from service.meetings.api import build_meeting_router
    from service.meetings.service import MeetingService
    from service.meetings.store import MeetingBook
    from service.sessions.manager import Manager

    book = MeetingBook(tmp_path / "meetings")
    mgr = Manager(tmp_path, "adm", synchronous="OFF", meetings=book)
    app = FastAPI()
    http_errors.install(app)  # domain errors -> HTTP, as in the app
    app.include_router(build_meeting_router(mgr, MeetingService(book, mgr)))
    client = TestClient(app)
    auth = {"Authorization": "Bearer adm"}
    assert client.post("/api/meetings/calendar", content=seed_text.encode()).status_code == 401
    r = client.post("/api/meetings/calendar", content=seed_text.encode(), headers=auth)
    events, _ = parse_calendar(seed_text)
    assert r.status_code == 200 and r.json()["events"] == len(events)
    assert r.json()["timed"] == sum(e.timed for e in events)
    est = client.get("/api/meetings/calendar", params={"region": "est", "timed": "true"}).json()
    assert est and all(e["region"] == "EST" and e["timed"] for e in est)
    trial = client.get("/api/meetings/calendar", params={"timed": "false"}).json()[0]
    assert (
        client.post(
            f"/api/meetings/calendar/{trial['index']}", json={"entries": [{"number": "1"}]}, headers=auth
        ).status_code
        == 409
    )
    pick = est[0]
    made = client.post(
        f"/api/meetings/calendar/{pick['index']}", json={"entries": [{"number": "7"}]}, headers=auth
    )
    assert made.status_code == 201
    assert made.json()["name"] == f"{pick['venue']} {pick['start']} ({pick['club']})"
    assert (made.json()["date"], made.json()["place"], made.json()["organiser"]) == (
        pick["start"],
        pick["venue"],
        pick["club"],
    )
    assert made.json()["stage"] == "practice1"
    # the import survives a restart
    again = FastAPI()
    http_errors.install(again)  # domain errors -> HTTP, as in the app
    again.include_router(build_meeting_router(mgr, MeetingService(MeetingBook(tmp_path / "meetings"), mgr)))
    assert len(TestClient(again).get("/api/meetings/calendar").json()) == len(events)
