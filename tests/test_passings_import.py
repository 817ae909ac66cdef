"""Passings import: a backup decoder's MyLaps/Orbits CSV export fills the gap a failed link left.

Session clock anchored at 10:00:00.000 local, green at t = 0 (generic-timed race). The primary
decoder delivered #1 at 60.0 and then failed; the backup laptop's clock runs 2.5 s fast, so its
export says 10:01:02.500 for t = 60.0 and the import uses offset_s = -2.5. Hand-computed result:
  #1: 60.0 (live), 121.5, 181.0 (file)  -> 3 laps, total 181.000, best 59.5 (lap 3)
  #2: 62.0, 120.0 (file)               -> 2 laps, total 120.000, best 58.0 (lap 2)
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from tests.test_rmonitor import ENTRIES, SESSION

ADMIN = {"Authorization": "Bearer admin"}
FAST = 2.5  # the backup clock's error


def tod(t: float) -> str:
    """What the backup laptop wrote for session time t."""
    s = 10 * 3600 + t + FAST
    return f"{int(s // 3600):02d}:{int(s % 3600 // 60):02d}:{s % 60:06.3f}"


@pytest.fixture
def live(tmp_path: Path):
    app = create_app(tmp_path, "admin", synchronous="OFF")
    client = TestClient(app)
    body = client.post("/api/sessions", json={"name": "Course", **SESSION}, headers=ADMIN).json()
    sid = body["id"]
    session = app.state.manager.sessions[sid]
    session.set_clock(
        round(datetime.now().replace(hour=10, minute=0, second=0, microsecond=0).timestamp() * 1e6)
    )
    client.post(f"/api/sessions/{sid}/entries", json=ENTRIES, headers=ADMIN).raise_for_status()
    client.post(
        f"/api/sessions/{sid}/signal", json={"signal": "green", "t": 0}, headers=ADMIN
    ).raise_for_status()
    client.post(
        f"/api/sessions/{sid}/events",
        json={"type": "passing", "t": 60.0, "transponder": "101", "loop": "finish"},
        headers=ADMIN,
    ).raise_for_status()
    return client, sid, session, body["tokens"]


def export() -> str:
    day = datetime.now().strftime("%Y-%m-%d")
    return (
        "\r\n".join(
            [
                "Transponder,Time,Loop",
                f"101,{tod(60.0)},Start/Finish",  # the live read again: a duplicate
                f"102,{tod(62.0)},finish",
                f"999,{tod(100.0)},finish",  # nobody's transponder: kept for the timing crew
                f"102,{day} {tod(120.0)},finish",  # a full date and time
                f"102,{tod(120.0)},finish",  # the same read twice in the file
                f"101,{tod(121.5)},",  # no loop: the default (finish)
                f"101,{tod(181.0)},Start/Finish",
                f"102,{tod(150.0)},Pit In",
            ]
        )
        + "\r\n"
    )


def test_import_fills_the_gap(live) -> None:
    client, sid, session, _ = live
    r = client.post(
        f"/api/sessions/{sid}/passings/import?offset_s=-{FAST}",
        content=export(),
        headers={**ADMIN, "Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"ok": True, "lines": 8, "imported": 6, "duplicates": 2, "unknown": 1}
    rows = {row["number"]: row for row in client.get(f"/api/sessions/{sid}/results").json()["classification"]}
    assert (
        rows["1"]["laps"],
        rows["1"]["total_time_s"],
        rows["1"]["best_lap_s"],
        rows["1"]["best_lap_no"],
    ) == (3, 181.0, 59.5, 3)
    assert (rows["2"]["laps"], rows["2"]["total_time_s"], rows["2"]["best_lap_s"]) == (2, 120.0, 58.0)
    assert rows["1"]["position"] == 1 and rows["2"]["position"] == 2
    # through the one writer: in the log, with the backup's decoder name, pit read on its loop
    logged = [ln for ln in session.store.lines() if ln.get("decoder") == "import"]
    assert (
        len(logged) == 6
        and {"t": 150.0, "loop": "pit_in"}.items() <= next(ln for ln in logged if ln["t"] == 150.0).items()
    )
    assert any(
        u["transponder"] == "999" for u in client.get(f"/api/sessions/{sid}/unknown", headers=ADMIN).json()
    )

    again = client.post(
        f"/api/sessions/{sid}/passings/import?offset_s=-{FAST}",
        files={"file": ("x.csv", export())},
        headers=ADMIN,
    ).json()
    assert (again["imported"], again["duplicates"]) == (0, 8)  # importing twice counts nothing twice


def test_semicolon_export_with_loop_ids_and_session_seconds(live) -> None:
    client, sid, _, _ = live
    text = "\ufeffTranspondeur;Heure;Boucle\n102;62,000;1\n102;120,000;1\n102;130,5;2\n"
    r = client.post(
        f"/api/sessions/{sid}/passings/import?loops=1:finish,2:pit_in",
        content=text.encode("cp1252", errors="ignore"),
        headers={**ADMIN, "Content-Type": "text/csv"},
    )
    assert r.status_code == 200 and r.json()["imported"] == 3
    row = next(
        r for r in client.get(f"/api/sessions/{sid}/results").json()["classification"] if r["number"] == "2"
    )
    assert (row["laps"], row["total_time_s"]) == (2, 120.0)


@pytest.mark.parametrize(
    "body, message",
    [
        ("number,when\n1,10:00:00\n", "line 1"),
        ("transponder,time,loop\n101,25:61:00,finish\n", "line 2"),
        (
            "transponder,time,loop\n101,10:01:00,finish\n101,10:02:00,bridge\n",
            "line 3: unknown loop 'bridge'",
        ),
        ("transponder,time\n,10:01:00\n", "line 2: empty transponder"),
        ("transponder,time,loop\n101,2026-13-45 10:01:00,finish\n", "line 2"),
        ("", "empty file"),
    ],
)
def test_bad_files_are_400_and_nothing_is_imported(live, body: str, message: str) -> None:
    client, sid, session, _ = live
    before = session.store.count()
    r = client.post(
        f"/api/sessions/{sid}/passings/import", content=body, headers={**ADMIN, "Content-Type": "text/csv"}
    )
    assert r.status_code == 400 and message in r.json()["detail"]
    assert session.store.count() == before and session.counters["rejected"] >= 1


def test_import_needs_a_timing_token(live) -> None:
    client, sid, _, tokens = live
    url = f"/api/sessions/{sid}/passings/import"
    body = {"content": "transponder,time\n101,10:03:00\n"}
    assert client.post(url, **body).status_code == 401
    assert (
        client.post(url, **body, headers={"Authorization": f"Bearer {tokens['race_control']}"}).status_code
        == 403
    )
    assert (
        client.post(url, **body, headers={"Authorization": f"Bearer {tokens['timing']}"}).status_code == 200
    )
    assert client.post(url + "?loop=bridge", **body, headers=ADMIN).status_code == 400
    assert client.post(url + "?loops=1:nowhere", **body, headers=ADMIN).status_code == 400
    for bad in ("offset_s=nan", "offset_s=1e9", "offset_s=abc", "tolerance_s=-1"):
        assert client.post(f"{url}?{bad}", **body, headers=ADMIN).status_code in (400, 422), bad


async def test_long_import_lets_the_live_service_run(tmp_path: Path) -> None:
    """The import yields between batches; a live read arriving meanwhile is not imported twice."""
    from service.outputs.passings_import import Read, import_reads
    from service.sessions.manager import Manager

    mgr = Manager(tmp_path, "admin", synchronous="OFF")
    s = mgr.create("Course", {**SESSION, "duration_s": 7200})
    for e in ENTRIES:
        s.submit(e)
    reads = [Read(i, "101", 60.0 * i, "finish") for i in range(1, 41)]
    turns = []

    async def live_decoder() -> None:  # the primary link is back: it delivers lap 30 while the import runs
        await asyncio.sleep(0)
        turns.append(len(s.engine.events))
        s.submit({"type": "passing", "t": 1800.0004, "transponder": "101", "loop": "finish"})

    task = asyncio.create_task(live_decoder())
    result = await import_reads(s, reads, batch=10)
    await task
    assert turns and turns[0] < 40  # the live read went in while the import was running
    assert result == {"lines": 40, "imported": 39, "duplicates": 1, "unknown": 0}
    assert s.engine.cars["1"].laps == 40
    s.close()


# -- vendor exports (docs/outputs.md, "Passings import": one example each) ------------------------------
EXPORTS = {
    "orbits": (
        "Date,Time,Transponder,Loop,Hits,Strength\n"
        "{iso},10:01:02.000,102,Start/Finish,52,178\n{iso},10:02:00.000,102,Start/Finish,48,170\n"
        "{iso},10:02:30.000,101,Pit In,40,150\n",
        "",
    ),
    "mylaps": (
        "Transponder;Passing time;Loop;Hits\n102;{dotted} 10:01:02.000;1;52\n102;{dotted} 10:02:00.000;1;48\n"
        "101;{dotted} 10:02:30.000;2;40\n",
        "loops=1:finish,2:pit_in",
    ),
    "raceresult": (
        "PassingNo;Transponder;Date;Time;Hits;RSSI;LoopID\n1;102;{iso};10:01:02.000;2A;5F;1\n"
        "2;102;{iso};10:02:00.000;26;5A;1\n3;101;{iso};10:02:30.000;20;50;2\n",
        "loops=1:finish,2:pit_in",
    ),
    "chronelec": (
        "Canal;Transpondeur;Heure\nSTA;000102;10:01'02\"000\nSTA;000102;10:02'00\"000\n"
        "BOX;000101;10:02'30\"000\n",
        "",
    ),
}


def post(client, sid, text: str, query: str = "", lang: str = "en"):
    return client.post(
        f"/api/sessions/{sid}/passings/import?{query}&lang={lang}",
        content=text.encode(),
        headers={**ADMIN, "Content-Type": "text/csv"},
    )


@pytest.mark.parametrize("vendor", sorted(EXPORTS))
def test_each_vendor_export_is_read(live, vendor) -> None:
    client, sid, session, _ = live
    template, query = EXPORTS[vendor]
    today = datetime.now()
    text = template.format(iso=today.strftime("%Y-%m-%d"), dotted=today.strftime("%d.%m.%Y"))
    r = post(client, sid, text, query)
    assert r.status_code == 200, r.text
    assert r.json() == {"ok": True, "lines": 3, "imported": 3, "duplicates": 0, "unknown": 0}
    logged = sorted(
        (ln["t"], ln["transponder"], ln["loop"])
        for ln in session.store.lines()
        if ln.get("decoder") == "import"
    )
    assert logged == [(62.0, "102", "finish"), (120.0, "102", "finish"), (150.0, "101", "pit_in")]
    row = next(
        r for r in client.get(f"/api/sessions/{sid}/results").json()["classification"] if r["number"] == "2"
    )
    assert (row["laps"], row["total_time_s"], row["best_lap_s"]) == (2, 120.0, 58.0)


def test_a_read_of_the_day_before_is_refused_and_a_wrong_date_corrected_by_offset(live) -> None:
    client, sid, session, _ = live
    yesterday = (datetime.now() - timedelta(days=1)).strftime("%d.%m.%Y")
    text = (
        f"Transponder;Date;Time\n102;{datetime.now():%d.%m.%Y};10:01:02.000\n102;{yesterday};10:02:00.000\n"
    )
    before = session.store.count()
    r = post(client, sid, text, lang="fr")
    body = r.json()
    assert r.status_code == 400 and body["code"] == "import.other_day" and body["params"]["line"] == 3
    assert body["params"]["hours"] == -24.0 and "autre jour" in body["detail"]  # said in French
    assert session.store.count() == before  # nothing of the file went in
    # the backup decoder's clock had yesterday's date: the whole file is a day late
    late = f"Transponder;Date;Time\n102;{yesterday};10:01:02.000\n102;{yesterday};10:02:00.000\n"
    r = post(client, sid, late, "offset_s=86400")
    assert r.status_code == 200 and r.json()["imported"] == 2
    assert post(client, sid, late, "offset_s=1e12").json()["code"] == "import.offset_range"


def test_time_only_and_date_time_files_land_on_the_same_reads(live) -> None:
    client, sid, session, _ = live
    day = datetime.now()
    assert post(client, sid, "transponder,time\n102,10:01:02.000\n").json()["imported"] == 1
    dup = post(
        client, sid, f"transponder,time\n102,{day:%d.%m.%Y} 10:01:02.000\n102,{day:%Y-%m-%dT}10:02:00\n"
    )
    assert (dup.json()["duplicates"], dup.json()["imported"]) == (1, 1)
    assert sorted(ln["t"] for ln in session.store.lines() if ln.get("decoder") == "import") == [62.0, 120.0]
