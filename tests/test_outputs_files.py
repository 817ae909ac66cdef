"""Result files: the spreadsheet CSV (French: `;`, BOM, comma decimals; English: `,` and points), the
lap-by-lap chart, the PDF (fr/en), all in the caller's language (`?lang=`, else Accept-Language).

Race (generic-timed, green at t = 0), hand-computed:
  #1 Jean Dupont (Sport):    crossings 60.0, 121.5, 181.0 -> laps 60.0, 61.5, 59.5, 3 laps, 181.000
  #2 Équipe Rouge (Amateur): crossings 62.0, 120.0        -> laps 62.0, 58.0, 2 laps, 120.000
  #3 Ana (Sport):            crossing 70.0               -> 1 lap, 70.000
Positions by lap (crossing order): lap 1: 1, 2, 3; lap 2: 2, 1; lap 3: 1.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from service.app import create_app
from service.outputs import files
from tests.test_rmonitor import ENTRIES, SESSION

ADMIN = {"Authorization": "Bearer admin"}
FR = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}


@pytest.fixture
def race(tmp_path: Path) -> tuple[TestClient, str]:
    client = TestClient(create_app(tmp_path, "admin", synchronous="OFF"))
    sid = client.post("/api/sessions", json={"name": "Course d'essai", **SESSION}, headers=ADMIN).json()["id"]
    client.post(f"/api/sessions/{sid}/entries", json=ENTRIES, headers=ADMIN).raise_for_status()
    client.post(
        f"/api/sessions/{sid}/signal", json={"signal": "green", "t": 0}, headers=ADMIN
    ).raise_for_status()
    for tr, t in [
        ("101", 60.0),
        ("102", 62.0),
        ("103", 70.0),
        ("102", 120.0),
        ("101", 121.5),
        ("101", 181.0),
    ]:
        r = client.post(
            f"/api/sessions/{sid}/events",
            json={"type": "passing", "t": t, "transponder": tr, "loop": "finish"},
            headers=ADMIN,
        )
        r.raise_for_status()
    return client, sid


def lines(body: bytes, sep: str = ";") -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the accents right
    return [ln.split(sep) for ln in body[3:].decode("utf-8").split("\r\n") if ln]


def test_results_csv_for_french_spreadsheets(race) -> None:
    client, sid = race
    r = client.get(f"/api/sessions/{sid}/results.csv", headers=FR)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = lines(r.content)
    assert rows[0][:6] == ["Pos.", "N°", "Nom", "Catégorie", "Pos. cat.", "Statut"]
    assert rows[0][9] == "Temps total (s)" and rows[0][13] == "Écart"
    assert rows[1][:4] == ["1", "1", "Jean Dupont", "Sport"]
    assert rows[1][5] == "classé" and rows[1][9] == "181,000" and rows[1][10] == "59,500"
    # a gap in laps is text a spreadsheet would take for a formula ("+1 tour" -> #NOM?): quoted
    # (service/spreadsheet.py)
    assert rows[2][2] == "Équipe Rouge" and rows[2][9] == "120,000" and rows[2][13] == "'+1 tour"
    assert rows[3][13] == "'+2 tours"  # one word, the right plural
    assert [row[1] for row in rows[1:]] == ["1", "2", "3"]

    en = lines(client.get(f"/api/sessions/{sid}/results.csv?lang=en").content, ",")
    assert en[0][:3] == ["Pos", "No", "Name"] and en[1][9] == "181.000" and en[1][5] == "classified"
    assert en[2][13] == "'+1 lap" and en[3][13] == "'+2 laps"  # quoted: never a formula
    by_header = lines(
        client.get(f"/api/sessions/{sid}/results.csv", headers={"Accept-Language": "en-GB,en;q=0.8"}).content,
        ",",
    )
    assert by_header[0][2] == "Name"
    assert (
        lines(client.get(f"/api/sessions/{sid}/results.csv").content, ",")[0][2] == "Name"
    )  # no language: English
    assert (
        lines(
            client.get(
                f"/api/sessions/{sid}/results.csv", headers={"Accept-Language": "de,en;q=0.5"}
            ).content,
            ",",
        )[0][2]
        == "Name"
    )
    assert (
        lines(
            client.get(f"/api/sessions/{sid}/results.csv?lang=fr", headers={"Accept-Language": "en"}).content
        )[0][2]
        == "Nom"
    )
    comma = (
        client.get(f"/api/sessions/{sid}/results.csv?sep=comma&decimal=point", headers=FR)
        .content[3:]
        .decode()
    )
    assert comma.splitlines()[1].startswith("1,1,Jean Dupont,Sport,1,classé,3,")


def test_time_gaps_are_numbers_a_french_spreadsheet_reads(tmp_path) -> None:
    res = {
        "classification": [
            {
                "position": 1,
                "number": "7",
                "name": "A",
                "category": "",
                "category_position": 1,
                "status": "classified",
                "laps": 5,
                "penalty_laps": 0,
                "penalty_seconds": 0.0,
                "total_time_s": 295.996,
                "best_lap_s": 58.5,
                "best_lap_no": 3,
                "pit_stops": 0,
                "gap": "",
                "interval": "",
            },
            {
                "position": 2,
                "number": "8",
                "name": "B",
                "category": "",
                "category_position": 2,
                "status": "classified",
                "laps": 5,
                "penalty_laps": 1,
                "penalty_seconds": 2.5,
                "total_time_s": 308.3,
                "best_lap_s": 59.0,
                "best_lap_no": 2,
                "pit_stops": 1,
                "gap": "+12.304",
                "interval": "+12.304",
            },
        ]
    }
    fr = lines(files.results_csv(res, "fr").encode())
    assert fr[2][8:11] == ["2,500", "308,300", "59,000"] and fr[2][13:] == ["12,304", "12,304"]
    en = lines(files.results_csv(res, "en").encode(), ",")
    assert en[2][13:] == ["12.304", "12.304"] and en[2][9] == "308.300"


def test_bad_file_options_are_400(race) -> None:
    client, sid = race
    for q in ("lang=de", "decimal=dot", "sep=tab"):
        r = client.get(f"/api/sessions/{sid}/results.csv?{q}")
        assert r.status_code == 400, q
    assert client.get(f"/api/sessions/{sid}/results.pdf?lang=xx").status_code == 400
    assert client.get("/api/sessions/nope/laps.csv").status_code == 404
    assert client.get("/api/rmonitor").json() == {"enabled": False}  # off unless --rmonitor


def test_lap_chart_csv_every_lap_of_every_car(race) -> None:
    client, sid = race
    rows = lines(client.get(f"/api/sessions/{sid}/laps.csv?lang=fr").content)
    assert rows[0] == ["Tour", "Pos.", "N°", "Nom", "Catégorie", "Temps au tour (s)", "Temps de course (s)"]
    assert [(r[0], r[1], r[2], r[5], r[6]) for r in rows[1:]] == [
        ("1", "1", "1", "60,000", "60,000"),
        ("1", "2", "2", "62,000", "62,000"),
        ("1", "3", "3", "70,000", "70,000"),
        ("2", "1", "2", "58,000", "120,000"),
        ("2", "2", "1", "61,500", "121,500"),
        ("3", "1", "1", "59,500", "181,000"),
    ]
    en = lines(client.get(f"/api/sessions/{sid}/laps.csv?lang=en").content, ",")
    assert en[0][0] == "Lap" and en[6][5] == "59.500"


def pdf_text(body: bytes) -> str:
    assert body.startswith(b"%PDF-")
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)


def test_pdf_in_french_and_english(race) -> None:
    client, sid = race
    pen = client.post(
        f"/api/sessions/{sid}/penalties",
        json={"number": "3", "rule": "MANUAL", "other": True, "seconds": 10, "note": "départ anticipé"},
        headers=ADMIN,
    )
    assert pen.status_code == 201
    r = client.get(f"/api/sessions/{sid}/results.pdf", headers=FR)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    fr = pdf_text(r.content)
    for s in (
        "Classement provisoire",
        "Course d'essai",
        "Écart",
        "Catégorie",
        "Équipe Rouge",
        "Pénalités",
        "1:10.000",
        "3:01.000",
        "59.500 (3)",
        "+10 s",
        "MANUAL",
        "+1 tour",
        "+2 tours",
        "course",
        "appliquée",
        "Chronométreurs",
        "Directeur de course",
        "Commissaires sportifs",
    ):
        assert s in fr, s
    for english in ("race", "applied", "lap", "Timing crew", "+1 lap"):
        assert english not in fr.replace("Course d'essai", ""), english
    en = pdf_text(
        client.get(f"/api/sessions/{sid}/results.pdf", headers={"Accept-Language": "en-US"}).content
    )
    for s in ("Provisional classification", "Gap", "Category", "Penalties", "Équipe Rouge"):
        assert s in en, s
    assert "Écart" not in en
    for sig, t in (("chequered", 190), ("finish_session", 200)):  # at the session clock (last read 181 s)
        client.post(
            f"/api/sessions/{sid}/signal", json={"signal": sig, "t": t}, headers=ADMIN
        ).raise_for_status()
    final = pdf_text(client.get(f"/api/sessions/{sid}/results.pdf?lang=fr").content)
    assert "Classement" in final and "provisoire" not in final


def test_pdf_without_dejavu_uses_a_core_font(monkeypatch) -> None:
    monkeypatch.setattr(files, "find_font", lambda: None)
    res = {
        "session": {"finished": True},
        "penalties": [],
        "classification": [
            {
                "position": 1,
                "number": "7",
                "name": "Łukasz Zoé",
                "category": "",
                "category_position": 1,
                "status": "classified",
                "laps": 2,
                "penalty_laps": 0,
                "penalty_seconds": 0.0,
                "total_time_s": 120.0,
                "best_lap_s": 59.0,
                "best_lap_no": 2,
                "pit_stops": 0,
                "gap": "",
                "interval": "",
            }
        ],
    }
    text = pdf_text(files.results_pdf(res, "Finale", "generic-laps - final", "fr"))
    assert "?ukasz Zoé" in text and "Aucune pénalité." in text
