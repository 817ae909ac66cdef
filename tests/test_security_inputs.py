"""What requests may put in (issue 21), through a real server over HTTP and WebSocket:

- exports cannot attack a spreadsheet: formulas neutralised, control characters stripped, numbers
  (negative gaps included) left numbers, in every CSV;
- entries stay consistent: a transponder belongs to one car (a list giving one twice, or one
  another car counts, is refused with the numbers; `replace=true` moves it, as `/assign`);
  duplicate JSON keys are refused; a read is bounded by the session's time;
- race control's notes reach staff only.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
import websockets.sync.client

from service.spreadsheet import cell, write_csv
from tests.web_helpers import ADMIN, LiveServer

AUTH = {"Authorization": f"Bearer {ADMIN}"}
EVIL = [
    '=HYPERLINK("http://x","win")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "Bob\x00\x1b[31m",
    "\u202eexe.txt",
    "\x00=1+1",
]


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("inputs"), rate_limits=None).start()
    yield server
    server.stop()


def rows_of(text: str, sep: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=sep))


def test_the_csv_writer_quotes_formulas_strips_controls_and_keeps_numbers():
    assert cell("=1+1") == "'=1+1" and cell("@A1") == "'@A1" and cell("+x") == "'+x" and cell("-x") == "'-x"
    assert cell("\t=1+1") == "'=1+1" and cell("\x00=1") == "'=1" and cell("a\x1b[0mb") == "a[0mb"
    assert cell("\u202eexe.txt") == "exe.txt" and cell("Zoé Ängström") == "Zoé Ängström"
    for number in ("-1.234", "+12,5", "-1:02.345", "1:02:03.5", "42"):
        assert cell(number) == number  # a gap or a time a spreadsheet reads as a number stays one
    assert cell(-1.5) == -1.5 and cell(3) == 3 and cell(None) == "" and cell(True) == "True"
    assert write_csv(["a"], [["=x", -2]], delimiter=";", bom=True) == "\ufeffa\r\n'=x;-2\r\n"


def test_every_csv_export_is_safe_for_spreadsheets(srv):
    s = srv.post("/api/sessions", {"name": "=cmd", "preset": "generic-timed", "kind": "race"})
    sid = s["id"]
    entries = [
        {"number": str(i + 1), "name": name, "transponder": f"T{i + 1}", "category": "@cat"}
        for i, name in enumerate(EVIL)
    ]
    srv.post(f"/api/sessions/{sid}/entries", entries)
    srv.post(f"/api/sessions/{sid}/signal", {"signal": "green", "t": 0})
    for lap in (1, 2):
        for i in range(len(EVIL)):
            srv.post(
                f"/api/sessions/{sid}/events",
                {"type": "passing", "t": 60.0 * lap + i * 1.5, "transponder": f"T{i + 1}", "loop": "finish"},
            )
    files = {
        "results.csv": (srv.http.get(f"/api/sessions/{sid}/results.csv?lang=fr").text, ";"),
        "results.csv point": (
            srv.http.get(f"/api/sessions/{sid}/results.csv?decimal=point&sep=comma").text,
            ",",
        ),
        "laps.csv": (srv.http.get(f"/api/sessions/{sid}/laps.csv?lang=fr").text, ";"),
        "export.csv": (srv.http.get(f"/api/sessions/{sid}/export.csv").text, ","),
    }
    for name, (text, sep) in files.items():
        cells = [c for row in rows_of(text, sep) for c in row]
        assert cells, name
        for c in cells:
            plain_number = c[1:].replace(",", ".").replace(".", "", 1).replace(":", "").isdigit()
            assert not c.startswith(("=", "@", "\t", "\r")) and (
                not c.startswith(("+", "-")) or plain_number
            ), (name, c)
            assert not any(ord(ch) < 32 or ch in "\u202e\u202d" for ch in c), (name, repr(c))
        assert '\'=HYPERLINK("http://x","win")' in cells and "'@cat" in cells, name
    # numbers stay numbers: the second car's total time, its gap in seconds (a number, not text)
    export = rows_of(files["export.csv"][0])
    head, second = export[0], export[2]
    assert float(second[head.index("total_time_s")]) > 0
    results = rows_of(files["results.csv point"][0])
    assert all(r[9] == "" or float(r[9]) > 0 for r in results[1:])  # total time column


def test_a_transponder_belongs_to_one_car(srv):
    sid = srv.post("/api/sessions", {"name": "tr", "preset": "generic-timed", "kind": "race"})["id"]
    url = f"/api/sessions/{sid}/entries"
    srv.post(url, [{"number": "7", "transponder": "4007"}, {"number": "8", "transponder": "4008"}])
    r = srv.http.post(
        url, json=[{"number": "9", "transponder": "5"}, {"number": "10", "transponder": "5"}], headers=AUTH
    )
    assert (
        r.status_code == 400
        and r.json()["code"] == "entries.transponder_twice"
        and "5 (9, 10)" in r.json()["detail"]
    )
    r = srv.http.post(url, json=[{"number": "9", "transponder": "4007"}], headers=AUTH)
    assert r.status_code == 409 and r.json()["code"] == "entries.transponder_taken"
    assert r.json()["params"]["clashes"] == "4007: 9 / 7"
    r = srv.http.post(
        url, content="number,name,transponder\n11,A,4008\n", headers={**AUTH, "content-type": "text/csv"}
    )
    assert r.status_code == 409 and "4008: 11 / 8" in r.json()["detail"]  # a CSV list, the same check
    r = srv.http.post(url, json=[{"number": "12"}, {"number": "12"}], headers=AUTH)
    assert r.status_code == 400 and r.json()["code"] == "entries.number_twice"
    assert srv.http.get(f"/api/sessions/{sid}/transponders", headers=AUTH).json() == {
        "7": ["4007"],
        "8": ["4008"],
    }
    # re-entering a car with its own transponder is no clash; `replace` moves one, as /assign does
    srv.post(url, [{"number": "7", "name": "Seven", "transponder": "4007"}])
    srv.post(url + "?replace=true", [{"number": "9", "transponder": "4007"}])
    tr = srv.http.get(f"/api/sessions/{sid}/transponders", headers=AUTH).json()
    assert tr["9"] == ["4007"] and "4007" not in tr.get("7", [])
    # meetings: the same rule for their entry list
    r = srv.http.post(
        "/api/meetings",
        json={"entries": [{"number": "1", "transponder": "9"}, {"number": "2", "transponder": "9"}]},
        headers=AUTH,
    )
    assert r.status_code == 400 and r.json()["code"] == "entries.transponder_twice"


def test_duplicate_keys_and_reads_outside_the_session_are_refused(srv):
    sid = srv.post(
        "/api/sessions", {"name": "dup", "preset": "generic-timed", "kind": "race", "duration_s": 3600}
    )["id"]
    srv.post(f"/api/sessions/{sid}/entries", [{"number": "7", "transponder": "7"}])
    raw = b'{"type": "passing", "t": 10, "transponder": "7", "transponder": "8", "loop": "finish"}'
    r = srv.http.post(
        f"/api/sessions/{sid}/events", content=raw, headers={**AUTH, "content-type": "application/json"}
    )
    assert (
        r.status_code == 400
        and r.json()["code"] == "request.json_duplicate_key"
        and r.json()["params"]["key"] == "transponder"
    )
    for t in (864_000, -200_000):  # ten days into a one-hour race; days before it
        r = srv.http.post(
            f"/api/sessions/{sid}/events",
            json={"type": "passing", "t": t, "transponder": "7", "loop": "finish"},
            headers=AUTH,
        )
        assert r.status_code == 400 and r.json()["code"] == (
            "time.after_clock" if t > 0 else "time.before_start"
        ), r.text
        r = srv.http.post(f"/api/sessions/{sid}/manual_passing", json={"number": "7", "t": t}, headers=AUTH)
        assert r.status_code == 400 and r.json()["code"] == (
            "time.after_clock" if t > 0 else "time.before_start"
        ), r.text
    assert (
        srv.http.post(
            f"/api/sessions/{sid}/events",
            json={"type": "passing", "t": 3500, "transponder": "7", "loop": "finish"},
            headers=AUTH,
        ).status_code
        == 200
    )
    assert len(srv.http.get(f"/api/sessions/{sid}/passings", headers=AUTH).json()) == 1


def test_race_control_notes_reach_staff_only(srv):
    s = srv.post("/api/sessions", {"name": "notes", "preset": "lemans-270-2h", "kind": "race"})
    sid, rc = s["id"], s["tokens"]["race_control"]
    srv.post(f"/api/sessions/{sid}/entries", [{"number": "7", "transponder": "7"}])
    base = f"ws://127.0.0.1:{srv.port}/ws/sessions/{sid}"
    with (
        websockets.sync.client.connect(f"{base}?stream=spectator") as spectator,
        websockets.sync.client.connect(
            f"{base}?stream=live", additional_headers={"Authorization": f"Bearer {rc}"}
        ) as staff,
    ):
        for ws in (spectator, staff):
            assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"
        p = srv.post(
            f"/api/sessions/{sid}/penalties",
            {"number": "7", "rule": "LM-UNSPORTING", "laps": 1, "note": "the marshal at T3 says so"},
            token=rc,
        )
        srv.post(
            f"/api/sessions/{sid}/penalties/{p['id']}/waive", {"note": "steward's private reason"}, token=rc
        )

        def penalties_seen(ws) -> str:
            seen = ""
            while '"waived"' not in seen:
                seen += ws.recv(timeout=10)
            return seen

        assert "marshal" not in penalties_seen(spectator)
        assert "the marshal at T3 says so" in penalties_seen(staff)
    public = srv.http.get(f"/api/sessions/{sid}/penalties").json()
    assert public[0]["state"] == "waived" and "note" not in public[0] and "note" not in public[0]["decision"]
    assert "private" not in srv.http.get(f"/api/sessions/{sid}/results").text
    mine = srv.http.get(f"/api/sessions/{sid}/penalties", headers={"Authorization": f"Bearer {rc}"}).json()
    assert (
        mine[0]["note"] == "the marshal at T3 says so"
        and mine[0]["decision"]["note"] == "steward's private reason"
    )
