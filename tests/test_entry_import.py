"""Entry lists as clubs have them (issue 22), through real HTTP: each encoding and separator, decimal
commas, French and English headers, endurance drivers, .xlsx; bad rows named by line in the caller's
language; nothing half-imported; the preview changes nothing. What was logged is read back from the
session's event log (export.jsonl), name by name."""

from __future__ import annotations

import io
import json
import zipfile

import openpyxl
import pytest

from tests.web_helpers import ADMIN, LiveServer

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = LiveServer(tmp_path_factory.mktemp("import")).start()
    yield s
    s.stop()


class Session:
    """A fresh session on the server, and what its log holds."""

    def __init__(self, srv: LiveServer) -> None:
        self.srv = srv
        self.sid = srv.post("/api/sessions", {"name": "import", "preset": "generic-timed", "kind": "race"})[
            "id"
        ]

    def post(self, body: bytes, ctype: str = CSV, lang: str = "fr", path: str = "entries", **query):
        headers = {"Authorization": f"Bearer {ADMIN}", "Content-Type": ctype, "Accept-Language": lang}
        return self.srv.http.post(
            f"/api/sessions/{self.sid}/{path}", content=body, headers=headers, params=query
        )

    def preview(self, body: bytes, ctype: str = CSV, lang: str = "fr", **query) -> dict:
        r = self.post(body, ctype, lang, "entries/preview", **query)
        assert r.status_code == 200, r.text
        return r.json()

    def logged(self) -> dict[str, dict]:
        """The entry lines of the session's event log, by number."""
        r = self.srv.http.get(
            f"/api/sessions/{self.sid}/export.jsonl", headers={"Authorization": f"Bearer {ADMIN}"}
        )
        lines = [json.loads(x) for x in r.text.splitlines() if x.strip()]
        return {ln["number"]: ln for ln in lines if ln.get("type") == "entry"}

    def imported(self, body: bytes, ctype: str = CSV, **query) -> dict[str, dict]:
        r = self.post(body, ctype, **query)
        assert r.status_code == 200, r.text
        entries = self.logged()
        assert r.json() == {"ok": True, "entries": len(entries)}
        return entries


@pytest.fixture
def session(srv) -> Session:
    return Session(srv)


def names(entries: dict[str, dict]) -> dict[str, str]:
    return {n: e["name"] for n, e in entries.items()}


def weights(entry: dict) -> list[float | None]:
    return [d.get("weight_kg") for d in entry.get("drivers", [])]


FRENCH_CLUB = (
    "N°;Nom;Prénom;Catégorie;Transpondeur;Poids\r\n"
    "12;LEFÈVRE;Éloïse;Maxi Tourisme;4012;68,5\r\n"
    "7;DUPONT-MARTIN;Noël;Buggy 1600;4007;72\r\n"
    "103;BÉRANGER;Gaëlle;Junior Sprint;4103;51,25\r\n"
)


def test_a_french_club_export_in_windows_1252_with_semicolons_and_decimal_commas(session):
    body = FRENCH_CLUB.encode("cp1252")
    assert b"\xc9lo\xefse" in body  # really Windows-1252 bytes, not UTF-8
    seen = session.preview(body)
    assert (seen["ok"], seen["encoding"], seen["separator"], seen["header_line"]) == (
        True,
        "windows-1252",
        ";",
        1,
    )
    assert [c["field"] for c in seen["columns"]] == [
        "number",
        "last_name",
        "first_name",
        "category",
        "transponder",
        "weight_kg",
    ]
    assert session.logged() == {}  # a preview changes nothing
    got = session.imported(body)
    assert names(got) == {"12": "Éloïse LEFÈVRE", "7": "Noël DUPONT-MARTIN", "103": "Gaëlle BÉRANGER"}
    assert got["12"]["category"] == "Maxi Tourisme" and got["12"]["transponder"] == "4012"
    assert got["12"]["drivers"] == [{"id": "d1", "name": "Éloïse LEFÈVRE", "weight_kg": 68.5}]
    assert weights(got["7"]) == [72.0] and weights(got["103"]) == [51.25]
    # the public page reads the same names
    rows = session.srv.http.get(f"/api/sessions/{session.sid}/classification").json()["rows"]
    assert sorted(r["name"] for r in rows) == ["Gaëlle BÉRANGER", "Noël DUPONT-MARTIN", "Éloïse LEFÈVRE"]


def test_the_documented_header_with_semicolons(session):
    body = (
        "number;name;transponder;category;drivers\n"
        "7;Steady Team;4007;Sport;d1:Ann:70|d2:Bob:72,5\n"
        "8;Rapide;4008;Sport;\n"
    )
    got = session.imported(body.encode())
    assert names(got) == {"7": "Steady Team", "8": "Rapide"}
    assert got["7"]["drivers"] == [
        {"id": "d1", "name": "Ann", "weight_kg": 70.0},
        {"id": "d2", "name": "Bob", "weight_kg": 72.5},
    ]
    assert "drivers" not in got["8"] and got["8"]["transponder"] == "4008"


def test_commas_with_quoted_decimal_commas_and_quoted_names(session):
    body = 'N°,Pilote,Équipe,Poids\n5,"LEFÈVRE, Éloïse","Team ""Les Lions""","68,5"\n6,Jean MARC,,"70,0"\n'
    seen = session.preview(body.encode())
    assert (seen["separator"], seen["encoding"]) == (",", "utf-8")
    got = session.imported(body.encode())
    assert names(got) == {"5": "LEFÈVRE, Éloïse", "6": "Jean MARC"}
    assert (
        got["5"]["team"] == 'Team "Les Lions"' and weights(got["5"]) == [68.5] and weights(got["6"]) == [70.0]
    )


def test_an_unquoted_decimal_comma_in_a_comma_file_is_named_not_guessed(session):
    body = "N°,Nom,Poids\n5,LEFÈVRE,68,5\n6,MARC,70\n".encode()
    r = session.post(body)
    assert r.status_code == 400
    assert r.json()["code"] == "entries.extra_cells" and r.json()["params"]["line"] == 2
    assert r.json()["detail"].startswith("ligne 2 : 4 cellules pour 3 colonnes")
    assert session.logged() == {}


def test_windows_1252_with_commas_keeps_every_accent(session):
    body = "N°,Nom,Prénom,Catégorie\n1,LEFÈVRE,Éloïse,Féminines\n2,ŒUVRE,Zoé,Élite\n".encode("cp1252")
    assert session.preview(body)["encoding"] == "windows-1252"
    got = session.imported(body)
    assert names(got) == {"1": "Éloïse LEFÈVRE", "2": "Zoé ŒUVRE"}
    assert got["1"]["category"] == "Féminines" and got["2"]["category"] == "Élite"
    assert "\ufffd" not in json.dumps(got, ensure_ascii=False)


def test_utf8_with_bom(session):
    body = "\ufeffNuméro;Nom;Prénom;Transpondeur\n21;GIRAUD;Amélie;4021\n".encode()
    seen = session.preview(body)
    assert (seen["encoding"], seen["columns"][0]["header"], seen["columns"][0]["field"]) == (
        "utf-8-sig",
        "Numéro",
        "number",
    )
    got = session.imported(body)
    assert names(got) == {"21": "Amélie GIRAUD"} and got["21"]["transponder"] == "4021"


def test_tab_separated_and_excel_unicode_text(session):
    tsv = (
        "Dossard\tPilote\tClasse\tPuce\tPoids (kg)\n"
        "31\tÉloïse LEFÈVRE\tD2\t4031\t68.5\n"
        "32\tLuc BRUN\tD2\t4032\t80\n"
    )
    assert session.preview(tsv.encode())["separator"] == "tab"
    got = session.imported(tsv.encode())
    assert names(got) == {"31": "Éloïse LEFÈVRE", "32": "Luc BRUN"}
    assert (
        weights(got["31"]) == [68.5] and got["32"]["transponder"] == "4032" and got["31"]["category"] == "D2"
    )
    utf16 = tsv.encode("utf-16")  # Excel's "Unicode text"
    again = Session(session.srv)
    assert again.preview(utf16)["encoding"] == "utf-16"
    assert names(again.imported(utf16)) == names(got)


def test_english_headers_in_any_order_and_case(session):
    body = (
        "TEAM,first name,LAST NAME,Weight (kg),Class,Transponder,Car No,Notes\n"
        "Red,Ann,SMITH,61.5,Sport,9001,11,fast\n"
    )
    seen = session.preview(body.encode(), lang="en")
    fields = {c["header"]: c["field"] for c in seen["columns"]}
    assert fields == {
        "TEAM": "team",
        "first name": "first_name",
        "LAST NAME": "last_name",
        "Weight (kg)": "weight_kg",
        "Class": "category",
        "Transponder": "transponder",
        "Car No": "number",
        "Notes": None,
    }
    got = session.imported(body.encode())
    assert names(got) == {"11": "Ann SMITH"}
    assert got["11"]["team"] == "Red" and got["11"]["category"] == "Sport" and weights(got["11"]) == [61.5]
    assert "Notes" not in got["11"] and "notes" not in got["11"]  # an unknown column is shown, not imported


def xlsx(rows: list[list], merge: str | None = None, title: str = "Engagés") -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def test_an_xlsx_workbook_with_a_title_row(session):
    body = xlsx(
        [
            ["Auto-cross de Chaumont, 12 mai"],
            [],
            ["N°", "Nom", "Prénom", "Catégorie", "Transpondeur", "Poids", "Club"],
            [12, "LEFÈVRE", "Éloïse", "Maxi Tourisme", 4012, 68.5, "ASA Haute-Marne"],
            [7, "DUPONT", "Noël", "Buggy 1600", 4007.0, 72, None],
        ]
    )
    seen = session.preview(body, XLSX)
    assert (seen["format"], seen["sheet"], seen["header_line"], seen["encoding"]) == (
        "xlsx",
        "Engagés",
        3,
        None,
    )
    got = session.imported(body, XLSX)
    assert names(got) == {"12": "Éloïse LEFÈVRE", "7": "Noël DUPONT"}
    assert got["12"]["transponder"] == "4012" and got["7"]["transponder"] == "4007"  # not "4007.0"
    assert (
        weights(got["12"]) == [68.5]
        and weights(got["7"]) == [72.0]
        and got["12"]["club"] == "ASA Haute-Marne"
    )
    # the same workbook as an upload form, and as a generic download type: sniffed as a zip
    r = session.srv.http.post(
        f"/api/sessions/{session.sid}/entries",
        files={"file": ("engages.xlsx", body, XLSX)},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert r.json() == {"ok": True, "entries": 2}
    assert session.post(body, "application/octet-stream").json() == {"ok": True, "entries": 2}


def test_endurance_drivers_as_numbered_columns(session):
    body = (
        "N°;Équipe;Catégorie;Transpondeur;Pilote 1;Poids 1;Nom pilote 2;Prénom pilote 2;Poids 2\n"
        "24;Écurie du Lac;Proto;5024;Éloïse LEFÈVRE;68,5;MARTIN;Noël;80\n"
        "25;;Proto;5025;Ann SMITH;;;;\n"
    )
    got = session.imported(body.encode("cp1252"))
    assert got["24"]["name"] == "Écurie du Lac"  # several drivers: the team names the car
    assert got["24"]["drivers"] == [
        {"id": "d1", "name": "Éloïse LEFÈVRE", "weight_kg": 68.5},
        {"id": "d2", "name": "Noël MARTIN", "weight_kg": 80.0},
    ]
    assert got["25"]["name"] == "Ann SMITH" and got["25"]["drivers"] == [{"id": "d1", "name": "Ann SMITH"}]


def test_endurance_one_row_per_driver_and_a_merged_number_cell(session):
    csv = (
        "N°;Équipe;Transpondeur;Nom;Prénom;Poids\n"
        "24;Écurie du Lac;5024;LEFÈVRE;Éloïse;68,5\n"
        "24;Écurie du Lac;;MARTIN;Noël;80\n"
        "24;;;GIRAUD;Amélie;55\n"
    )
    seen = session.preview(csv.encode())
    assert seen["count"] == 1 and [n["code"] for n in seen["notes"]] == ["entries.merged", "entries.merged"]
    got = session.imported(csv.encode())
    assert got["24"]["name"] == "Écurie du Lac" and got["24"]["transponder"] == "5024"
    assert [d["name"] for d in got["24"]["drivers"]] == ["Éloïse LEFÈVRE", "Noël MARTIN", "Amélie GIRAUD"]
    assert weights(got["24"]) == [68.5, 80.0, 55.0]
    book = xlsx(
        [["N°", "Équipe", "Nom", "Prénom"], [9, "Lions", "A", "Ann"], [None, None, "B", "Bob"]], merge="A2:A3"
    )
    got = Session(session.srv).imported(book, XLSX)
    assert [d["name"] for d in got["9"]["drivers"]] == ["Ann A", "Bob B"]


def test_a_number_given_twice_with_different_transponders_is_refused(session):
    body = "N°;Nom;Transpondeur\n7;A;4007\n7;B;4008\n".encode()
    r = session.post(body)
    assert r.status_code == 400 and r.json()["code"] == "entries.conflict"
    assert (
        r.json()["detail"]
        == "ligne 3 : le numéro 7 figure déjà ligne 2 avec Transpondeur « 4007 », ici « 4008 »"
    )


def test_a_bad_row_is_named_by_its_line_in_french_and_english_and_nothing_is_imported(session):
    body = ("N°;Nom;Prénom;Poids\n1;LEFÈVRE;Éloïse;68,5\n2;MARTIN;Noël;soixante\n\n;BRUN;Luc;70\n").encode(
        "cp1252"
    )
    fr = session.post(body, lang="fr")
    assert fr.status_code == 400
    assert (
        fr.json()["detail"]
        == "ligne 3 : le poids « soixante » (Poids) n'est pas un poids en kg comme 68,5 ou 68.5"
    )
    assert fr.json()["params"] == {"line": 3, "value": "soixante", "column": "Poids", "count": 2}
    en = session.post(body, lang="en")
    assert (
        en.json()["detail"] == "line 3: weight 'soixante' (Poids) is not a weight in kg such as 68.5 or 68,5"
    )
    assert session.logged() == {}  # not even line 2
    seen = session.preview(body, lang="fr")
    assert seen["ok"] is False and [(e["line"], e["code"]) for e in seen["errors"]] == [
        (3, "entries.bad_weight"),
        (5, "entries.no_number"),
    ]
    assert seen["errors"][1]["detail"] == "ligne 5 : pas de numéro"
    # the crew leaves the two lines out: the rest imports
    got = session.imported(body, skip="3,5")
    assert names(got) == {"1": "Éloïse LEFÈVRE"}


def test_the_crew_maps_a_column_the_headers_do_not_name(session):
    body = b"Kart;Conducteur;Remarques;Groupe\n3;Ann;rapide;Sport\n"
    seen = session.preview(body)
    assert seen["ok"] is False and seen["errors"][0]["code"] == "entries.no_number_column"
    assert [c["field"] for c in seen["columns"]] == [None, "driver", None, "category"]
    mapping = json.dumps({"Kart": "number", "3": None, "Groupe": "division"})
    seen = session.preview(body, mapping=mapping)
    assert seen["ok"] and [(c["field"], c["auto"]) for c in seen["columns"]] == [
        ("number", False),
        ("driver", True),
        (None, False),
        ("division", False),
    ]
    got = session.imported(body, mapping=mapping)
    assert got["3"]["name"] == "Ann" and got["3"]["division"] == "Sport" and "category" not in got["3"]
    for bad, code in (
        (json.dumps({"Kart": "numéro"}), "entries.mapping_field"),
        ("{", "entries.mapping_json"),
        (json.dumps({"Nope": "number"}), "entries.mapping_column"),
        (json.dumps({"1": "number", "2": "number"}), "entries.mapping_twice"),
    ):
        r = session.post(body, path="entries/preview", mapping=bad)
        assert r.status_code == 400 and r.json()["code"] == code, (bad, r.text)


def test_files_that_are_not_entry_lists_get_a_clear_refusal(session):
    cases = [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), CSV, "entries.xls"),
        (b"PK\x03\x04 truncated zip", XLSX, "entries.xlsx_unreadable"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", CSV, "entries.binary"),
        (b"", CSV, "entries.empty"),
        (b"N\xb0;Nom\n1;A\n", CSV, None),  # a lone Windows-1252 byte: read, not refused
    ]
    ods = io.BytesIO()
    with zipfile.ZipFile(ods, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    cases.append((ods.getvalue(), XLSX, "entries.ods"))
    for body, ctype, code in cases:
        r = session.post(body, ctype, lang="fr")
        if code is None:
            assert r.status_code == 200, r.text
            continue
        assert r.status_code == 400 and r.json()["code"] == code, (body[:20], r.text)
        assert r.json()["detail"] and "{" not in r.json()["detail"]


def test_a_zip_bomb_is_refused_before_it_is_inflated(session):
    body = io.BytesIO()
    with zipfile.ZipFile(body, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (200 * 1024 * 1024))  # 200 MB in about 200 KB
    assert len(body.getvalue()) < 1024 * 1024
    r = session.post(body.getvalue(), XLSX)
    assert r.status_code == 413 and r.json()["code"] == "entries.xlsx_too_big"


def test_a_field_over_128_kb_is_named_by_its_line(session):
    body = 'N°;Nom\n1;A\n2;"' + "x" * 140_000 + '"\n'
    r = session.post(body.encode(), lang="en")
    assert (
        r.status_code == 400
        and r.json()["code"] == "entries.field_too_big"
        and r.json()["params"]["line"] == 3
    )
    long_name = "N°;Nom\n1;" + "y" * 600 + "\n"
    r = session.post(long_name.encode(), lang="fr")
    assert r.json()["detail"] == "ligne 2 : Nom dépasse 500 caractères"
    assert session.logged() == {}


# -- the pure parts: headers, encodings, separators, weights ---------------------------------------
@pytest.mark.parametrize(
    "header, field",
    [
        ("N°", ("number", None)),
        ("Nº", ("number", None)),
        ("No.", ("number", None)),
        ("NUMÉRO", ("number", None)),
        ("Dossard", ("number", None)),
        ("#", ("number", None)),
        ("Car number", ("number", None)),
        ("Nom", ("last_name", None)),
        ("prénom", ("first_name", None)),
        ("Pilote", ("driver", None)),
        ("Nom Prénom", ("driver", None)),
        ("Equipe", ("team", None)),
        ("ÉCURIE", ("team", None)),
        ("Catégorie", ("category", None)),
        ("Classe", ("category", None)),
        ("Transpondeur", ("transponder", None)),
        ("N° de transpondeur", ("transponder", None)),
        ("Puce", ("transponder", None)),
        ("Poids (kg)", ("weight_kg", None)),
        ("Club", ("club", None)),
        ("N° licence", ("licence", None)),
        ("Licence", ("licence", None)),
        ("Pilote 2", ("driver", 2)),
        ("Nom du pilote 2", ("last_name", 2)),
        ("2e pilote", ("driver", 2)),
        ("Poids 3", ("weight_kg", 3)),
        ("Pilote n°2", ("driver", 2)),
        ("Remarques", (None, None)),
        ("Transpondeur 2", (None, None)),
        ("", (None, None)),
    ],
)
def test_headers_french_and_english(header, field):
    from service.entry_columns import field_of

    assert field_of(header) == field


def test_a_repeated_driver_header_goes_to_the_next_driver():
    from service.entry_columns import auto_columns

    cols = auto_columns(["N°", "Nom", "Prénom", "Nom", "Prénom", "Catégorie", "Catégorie"])
    assert [c.field for c in cols] == [
        "number",
        "last_name",
        "first_name",
        "last_name.2",
        "first_name.2",
        "category",
        None,
    ]


def test_encodings_and_separators_are_detected():
    from service.entry_file import decode, detect_separator

    text = "N°;Nom;Poids\n1;Éloïse;68,5\n"
    assert decode(text.encode("cp1252")) == (text, "windows-1252")
    assert decode(text.encode()) == (text, "utf-8")
    assert decode(b"\xef\xbb\xbf" + text.encode()) == (text, "utf-8-sig")
    assert decode(text.encode("utf-16")) == (text, "utf-16")
    assert decode(text.encode("utf-16-le")) == (text, "utf-16")  # Excel's Unicode text without its BOM
    assert detect_separator(text) == ";"
    assert detect_separator('N°,Nom,Poids\n1,"LEFÈVRE, Éloïse","68,5"\n') == ","
    assert detect_separator("N°\tNom;x\tPoids\n1\tA;b\t68,5\n") == "\t"


def test_weights_as_clubs_write_them():
    from service.entries import weight

    assert [weight(w) for w in ("68,5", "68.5", "68,5 kg", "72 KG", "51,25")] == [
        68.5,
        68.5,
        68.5,
        72.0,
        51.25,
    ]
    assert [weight(w) for w in ("soixante", "0", "-5", "600", "68,5,1", "1e2", "nan")] == [None] * 7
