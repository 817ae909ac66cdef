"""Printed and exported documents in the reader's language (issue 22): meeting sheets and the result
PDF of a meeting's session in French and English, with the meeting's date, place and organiser, the
AX-PUBLISH status, publication time and signature blocks; plurals, one sign, times as m:ss.mmm; no
English word left in a French document (a word list)."""

from __future__ import annotations

import io
import re
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from service.app import create_app
from service.i18n import print_text
from service.printed import date_text, gap_text, penalty_amounts, penalty_text, race_time
from tests.test_meeting_api import NUMBERS, drive, hdr

ADMIN = "admin-secret"
FR = {"Accept-Language": "fr-FR,fr;q=0.9"}
EN = {"Accept-Language": "en-GB,en;q=0.9"}
# English words a French sheet must not show (names, rule ids and numbers aside)
ENGLISH = re.compile(
    r"\b(race|heat|heats|practice|final|lap|laps|applied|waived|proposed|none|driver|"
    r"classified|retired|stewards|timing|director|posted|unless|provisional|results|time|"
    r"gap|no|yes|start list|series|printed|penalties|evidence|state)\b",
    re.I,
)


def visible(html: str) -> str:
    """The words a reader sees on a sheet (tags, style and title out)."""
    html = re.sub(r"<(style|title)>.*?</\1>", " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", html))


def pdf_text(body: bytes) -> str:
    assert body.startswith(b"%PDF-")
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)


@pytest.fixture
def meeting(tmp_path: Path):
    """An auto-cross meeting of 12 with its date, place and organiser, practice run and heat 1 run."""
    client = TestClient(create_app(tmp_path, ADMIN, synchronous="OFF"))
    mgr = client.app.state.manager
    entries = [
        {"number": n, "name": f"Pilote {n}", "transponder": f"X{n}", "division": "Maxi Sprint"}
        for n in NUMBERS
    ]
    r = client.post(
        "/api/meetings",
        headers=hdr(ADMIN),
        json={
            "name": "Saint-Igny",
            "division": "D1",
            "entries": entries,
            "date": "2026-05-12",
            "place": "Circuit des Ajoncs",
            "organiser": "ASA Bretagne",
        },
    )
    assert r.status_code == 201, r.text
    mid, tokens = r.json()["id"], r.json()["tokens"]
    assert (r.json()["date"], r.json()["place"], r.json()["organiser"]) == (
        "2026-05-12",
        "Circuit des Ajoncs",
        "ASA Bretagne",
    )
    for stage in ("practice1", "practice2", "heat1"):
        for sess in client.post(
            f"/api/meetings/{mid}/stages/{stage}/start", headers=hdr(tokens["timing"])
        ).json():
            cars = [{**mgr.sessions[sess["session_id"]].engine.cars[n].entry} for n in sess["grid"] if n]
            drive(
                mgr, sess["session_id"], cars, sess["kind"], sess["laps"], "203" if stage == "heat1" else None
            )
            assert (
                client.post(
                    f"/api/meetings/{mid}/sessions/{sess['key']}/finish", headers=hdr(tokens["timing"])
                ).status_code
                == 200
            )
    return client, mid, tokens


def test_meeting_sheets_in_french_and_english(meeting):
    client, mid, tokens = meeting
    client.post(
        f"/api/meetings/{mid}/signoff",
        json={"document": "heat1.1", "by": "M. Chrono"},
        headers=hdr(tokens["timing"]),
    ).raise_for_status()
    fr = client.get(f"/api/meetings/{mid}/results/heat1.1.html", headers=FR).text
    en = client.get(f"/api/meetings/{mid}/results/heat1.1.html?lang=en").text
    assert '<html lang="fr">' in fr and '<html lang="en">' in en
    for s in (
        "Manche 1 · série 1",
        "12/05/2026 · Circuit des Ajoncs · ASA Bretagne",
        "<th>Écart</th>",
        "+10 s AX-JUMP",
        "Chronométreurs",
        "Directeur de course",
        "Commissaires sportifs",
        "M. Chrono",
        "signé",
    ):
        assert s in fr, s
    assert (
        "Heat 1 · series 1" in en
        and "2026-05-12 · Circuit des Ajoncs · ASA Bretagne" in en
        and "Timing crew" in en
    )
    times = re.findall(r'<td class="n">(\d+:\d\d\.\d{3})</td>', fr)
    assert len(times) == 12 and not re.search(
        r"<td[^>]*>\d{3}\.\d{3}</td>", fr
    )  # m:ss.mmm, never raw seconds
    words = ENGLISH.findall(visible(fr).replace("Saint-Igny", ""))
    assert words == [], words
    # the rankings: practice times m:ss.mmm, "Qualifié" oui/non, the general's "from" column in words
    prac = client.get(f"/api/meetings/{mid}/results/practice.html", headers=FR).text
    assert "<td>oui</td>" in prac and re.search(r"<td>0:50\.400</td>|<td>50\.400</td>", prac)
    assert ENGLISH.findall(visible(prac).replace("Saint-Igny", "")) == []
    sl = client.get(f"/api/meetings/{mid}/startlist/heat2.1.html", headers=FR).text
    assert re.search(r"grille de départ, \d+ tours", sl) and "Manche 2 · série 1" in sl and "12/05/2026" in sl
    assert ENGLISH.findall(visible(sl).replace("Saint-Igny", "")) == []


def test_a_meeting_session_pdf_says_its_meeting_status_and_signatures(meeting):
    client, mid, tokens = meeting
    sid = client.get(f"/api/meetings/{mid}").json()["sessions"]["heat1.1"]
    head = client.get(f"/api/sessions/{sid}").json()
    assert head["meeting"]["key"] == "heat1.1" and head["publication"]["status"] == "draft"
    assert head["publication"]["meeting"]["place"] == "Circuit des Ajoncs"
    client.post(
        f"/api/meetings/{mid}/signoff",
        json={"document": "heat1.1", "by": "Mme Directrice"},
        headers=hdr(tokens["race_director"]),
    ).raise_for_status()
    pub = client.get(f"/api/sessions/{sid}").json()["publication"]
    assert (
        pub["status"] == "provisional"
        and pub["posted_at"]
        and pub["signatures"]["race_director"]["by"] == "Mme Directrice"
    )
    fr = pdf_text(client.get(f"/api/sessions/{sid}/results.pdf", headers=FR).content)
    for s in (
        "Classement provisoire",
        "12/05/2026 · Circuit des Ajoncs · ASA Bretagne",
        "affiché le",
        "officiel à",
        "Mme Directrice",
        "Commissaires sportifs",
        "manche",
        "premier départ anticipé",
        "appliquée",
        "+10 s",
    ):
        assert s in fr, s
    assert ENGLISH.findall(fr.replace("Saint-Igny", "").replace("autocross", "")) == []
    en = pdf_text(client.get(f"/api/sessions/{sid}/results.pdf?lang=en").content)
    for s in (
        "Provisional classification",
        "2026-05-12",
        "posted",
        "first jump start",
        "applied",
        "Stewards",
    ):
        assert s in en, s
    client.post(
        f"/api/meetings/{mid}/signoff",
        json={"document": "heat1.1", "by": "Collège"},
        headers=hdr(tokens["stewards"]),
    ).raise_for_status()
    assert "Classement officiel" in pdf_text(
        client.get(f"/api/sessions/{sid}/results.pdf", headers=FR).content
    )


def test_plurals_signs_and_times():
    assert [print_text("fr", "+{n} laps", n=n) for n in (1, 2)] == ["+1 tour", "+2 tours"]
    assert [print_text("en", "+{n} laps", n=n) for n in (1, 2)] == ["+1 lap", "+2 laps"]
    assert [gap_text("fr", g) for g in ("+1 lap", "+3 laps", "+75.300", "+2.5")] == [
        "+1 tour",
        "+3 tours",
        "+1:15.300",
        "+2.500",
    ]
    assert penalty_text("fr", "-1 lap LM-STOPS") == "-1 tour LM-STOPS"
    assert penalty_text("fr", "-20 laps LM-STOPS") == "-20 tours LM-STOPS"
    assert penalty_text("fr", "+5 s best lap LM-MIN-PIT") == "+5 s meilleur tour LM-MIN-PIT"
    assert penalty_text("fr", "? AX-TRANSPONDER (proposed)") == "AX-TRANSPONDER en cours d'examen"
    assert penalty_amounts("fr", 1, 2.5) == "-1 tour, +2,5 s" and penalty_amounts("en", 2, 0) == "-2 laps"
    assert "--" not in penalty_amounts("fr", 1, 0)
    assert race_time(295_996_000) == "4:55.996" and race_time(3_725_100_000) == "1:02:05.100"
    assert race_time(59_123_400) == "59.123"
    assert (
        date_text("fr", "2026-05-12T14:30:00") == "12/05/2026 14:30"
        and date_text("en", "2026-05-12") == "2026-05-12"
    )
