"""RMonitor scoreboard feed: a strict client (tests/rmonitor_client.py) against a live race.

The race is driven through `LiveSession.submit` with explicit times, so every expected figure is
hand-computed: green at t = 0 (generic-timed race, TIME-FINISH), laps counted from the green.
  #1 Jean Dupont (Sport):      60.0, 121.5, 181.0 -> laps 60.0, 61.5, 59.5
  #2 Équipe Rouge (Amateur):   62.0, 120.0        -> laps 62.0, 58.0 (drivers Zoé Martin, Luc Petit)
  #3 Ana (Sport):              70.0               -> lap 70.0
"""

from __future__ import annotations

import asyncio
import socket
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from service.cli import main
from service.outputs import rmonitor
from service.outputs.rmonitor_server import RMonitorServer, parse_address
from service.sessions.manager import Manager
from tests.rmonitor_client import Client, ProtocolError, Scoreboard, parse_record
from tests.service_proc import TOKEN, ServiceProcess, free_port

SESSION = {
    "preset": "generic-timed",
    "kind": "race",
    "duration_s": 600,
    "track_name": "Circuit de l'Ouest",
    "track_length_m": 1200,
}
ENTRIES = [
    {"type": "entry", "number": "1", "name": "Jean Dupont", "transponder": "101", "category": "Sport"},
    {
        "type": "entry",
        "number": "2",
        "name": "Équipe Rouge",
        "transponder": "102",
        "category": "Amateur",
        "drivers": [{"id": "a", "name": "Zoé Martin"}, {"id": "b", "name": "Luc Petit"}],
    },
    {"type": "entry", "number": "3", "name": "Ana", "transponder": "103", "category": "Sport"},
]


def passing(tr: str, t: float) -> dict:
    return {"type": "passing", "t": t, "transponder": tr, "loop": "finish"}


def hms(seconds: float | None) -> str:
    return rmonitor.fmt_time(None if seconds is None else round(seconds * 1e6))


def assert_board_matches(board: Scoreboard, results: dict) -> None:
    """The scoreboard shows exactly /results: position, laps, total time; best laps ranked."""
    rows = results["classification"]
    assert board.standings() == [r["number"] for r in rows]
    for r in rows:
        assert board.race[r["number"]] == (r["position"], r["laps"], hms(r["total_time_s"])), r["number"]
    timed = sorted(
        (r for r in rows if r["best_lap_s"] is not None), key=lambda r: (r["best_lap_s"], r["position"])
    )
    for pos, r in enumerate(timed, 1):
        assert board.best[r["number"]] == (pos, r["best_lap_no"], hms(r["best_lap_s"]))


@pytest.fixture
def mgr(tmp_path: Path):
    m = Manager(tmp_path, "admin", synchronous="OFF")
    yield m
    for s in m.sessions.values():
        s.close()


def new_session(mgr: Manager, name: str = "Course d'essai"):
    s = mgr.create(name, SESSION)
    for e in ENTRIES:
        s.submit(e)
    return s


async def settle(client: Client, *marks: tuple[str, str]) -> None:
    """Read until the $J of each (registration, race time) came, then the next heartbeat: what came
    before it is complete (a car's earlier $J does not count: it would not wait for the newest)."""
    wanted = set(marks)
    await client.until(lambda c, f: c == "J" and wanted.discard((f[0], f[2])) is None and not wanted)
    await client.until(lambda c, f: c == "F")


# -- pure formatting ----------------------------------------------------------------------------------
def test_records_are_quoted_utf8_lines_or_cp1252_for_old_scoreboards() -> None:
    assert rmonitor.fmt_time(3_723_456_789) == "01:02:03.457"
    assert rmonitor.fmt_time(None) == "00:00:00.000"
    assert rmonitor.fmt_time(59_400_000, millis=False) == "00:00:59"
    rec = rmonitor.record("COMP", "12", "12", 1, rmonitor.text('Jean "JJ", le', 20), "Zoé Ł", "", "")
    assert rec == '$COMP,"12","12",1,"Jean \'JJ\' le","Zoé Ł","",""'
    assert rmonitor.encode([rec]).endswith('"Zoé Ł","",""\r\n'.encode())  # UTF-8 by default
    assert parse_record(rmonitor.encode([rec]))[1][4] == "Zoé Ł"  # what a UTF-8 client shows
    old = rmonitor.encode([rec], "cp1252")
    assert old.endswith(b'"Zo\xe9 ?","",""\r\n')  # cp1252, unmappable -> ?
    assert parse_record(old, "cp1252")[1][4] == "Zoé ?"
    with pytest.raises(ProtocolError):
        parse_record(old)  # cp1252 bytes are not UTF-8: why a UTF-8 scoreboard needs the default


def test_heartbeat_fields_and_flags() -> None:
    clock = {
        "now_s": 100.0,
        "green_s": 10.0,
        "duration_s": 600,
        "remaining_s": 510.0,
        "laps_target": None,
        "leader_laps": 3,
    }
    header = {"flag": "green", "clock": clock}
    f = parse_record(rmonitor.encode([rmonitor.heartbeat(header, datetime(2026, 5, 1, 14, 3, 7))]))
    assert f == ("F", [9999, "00:08:30", "14:03:07", "00:01:30", "Green "])
    for state, shown in [
        ("none", "      "),
        ("yellow", "Yellow"),
        ("sc", "Yellow"),
        ("red", "Red   "),
        ("chequered", "Finish"),
    ]:
        rec = rmonitor.heartbeat({"flag": state, "clock": clock}, datetime(2026, 5, 1))
        assert parse_record(rmonitor.encode([rec]))[1][4] == shown
    laps = {**clock, "laps_target": 10, "remaining_s": None, "duration_s": None}
    assert parse_record(
        rmonitor.encode([rmonitor.heartbeat({"flag": "green", "clock": laps}, datetime(2026, 5, 1))])
    )[1][:2] == [7, "00:00:00"]


def test_strict_client_rejects_bad_records() -> None:
    for bad in [
        b'$G,1,"1",3,"00:03:01.000"\n',
        b'$G,1,1,3,"00:03:01.000"\r\n',
        b'$G,1,"1",3,"3:01.000"\r\n',
        b'$J,"1","00:01:00.000"\r\n',
        b'$X,"1"\r\n',
        b'$F,1,"00:00:00","00:00:00","00:00:00","Blue  "\r\n',
    ]:
        with pytest.raises(ProtocolError):
            parse_record(bad)
    board = Scoreboard()
    with pytest.raises(ProtocolError):
        board.apply(*parse_record(b'$G,1,"9",3,"00:03:01.000"\r\n'))  # never announced


def test_address(capsys) -> None:
    assert parse_address("50000") == ("127.0.0.1", 50000)
    assert parse_address("0.0.0.0:50001") == ("0.0.0.0", 50001)
    with pytest.raises(ValueError):
        parse_address("here:port")
    assert main(["serve", "--rmonitor", "here:port", "--data", "/nonexistent"]) == 2
    assert "--rmonitor expects [HOST:]PORT" in capsys.readouterr().err


# -- live ------------------------------------------------------------------------------------------------
async def test_live_race_feed_matches_results(mgr: Manager) -> None:
    s = new_session(mgr)
    server = RMonitorServer(mgr, "127.0.0.1", 0, heartbeat_s=0.05)
    await server.start()
    a = await Client.connect("127.0.0.1", server.port)
    try:
        await a.until(lambda c, f: c == "F")  # the refresh, then a heartbeat
        assert [c for c, _ in a.log][:4] == ["I", "B", "C", "C"]
        assert a.board.seen >= {"I", "B", "C", "COMP", "A", "E", "G", "H", "F"}
        assert a.board.run == (1, "Course d'essai")
        assert a.board.classes == {1: "Sport", 2: "Amateur"}
        assert a.board.settings == {"TRACKNAME": "Circuit de l'Ouest", "TRACKLENGTH": "1.200"}
        assert a.board.competitors["1"] == {
            "number": "1",
            "first": "Jean",
            "last": "Dupont",
            "cls": 1,
            "transponder": 101,
            "additional": "Sport",
        }
        team = a.board.competitors["2"]  # team endurance: current driver, team name
        assert (team["first"], team["last"], team["cls"]) == ("Zoé Martin", "Équipe Rouge", 2)
        assert a.board.heartbeat[4] == "      "  # before the start: blank flag
        assert a.board.heartbeat[1] == "00:10:00"  # the whole race to go
        assert_board_matches(a.board, s.results())

        s.submit({"type": "signal", "signal": "green", "t": 0})
        for tr, t in [("101", 60.0), ("102", 62.0), ("103", 70.0), ("102", 120.0)]:
            s.submit(passing(tr, t))
            await asyncio.sleep(0)
        await settle(a, ("2", "00:02:00.000"))
        assert a.board.heartbeat[4] == "Green "
        assert a.board.passings == [
            ("1", "00:01:00.000", "00:01:00.000"),
            ("2", "00:01:02.000", "00:01:02.000"),
            ("3", "00:01:10.000", "00:01:10.000"),
            ("2", "00:00:58.000", "00:02:00.000"),
        ]
        assert a.board.standings() == ["2", "1", "3"]  # #2 two laps ahead of the others
        assert_board_matches(a.board, s.results())

        # a scoreboard joining mid-race gets the same consistent board
        b = await Client.connect("127.0.0.1", server.port)
        try:
            await b.until(lambda c, f: c == "F")
            assert b.board.inits == 1 and b.board.race == a.board.race and b.board.best == a.board.best
            assert_board_matches(b.board, s.results())

            s.submit(passing("101", 121.5))
            await settle(a, ("1", "00:02:01.500"))
            assert a.board.race["1"] == (2, 2, "00:02:01.500") and a.board.race["2"][0] == 1
            s.submit({"type": "driver_change", "number": "2", "driver": "b", "t": 125.0})
            s.submit(passing("101", 181.0))
            s.submit({"type": "signal", "signal": "sc", "t": 182.0})
            await settle(a, ("1", "00:03:01.000"))
            await a.until(lambda c, f: c == "F" and f[4] == "Yellow")  # safety car shows as Yellow
            assert a.board.standings() == ["1", "2", "3"]
            assert a.board.best["2"] == (1, 2, "00:00:58.000") and a.board.best["1"] == (2, 3, "00:00:59.500")
            assert_board_matches(a.board, s.results())
            await b.until(lambda c, f: c == "J" and f == ["1", "00:00:59.500", "00:03:01.000"])
            await b.until(lambda c, f: c == "F")
            assert b.board.race == a.board.race and b.board.best == a.board.best

            s.submit({"type": "signal", "signal": "red", "t": 183.0})
            await a.until(lambda c, f: c == "F" and f[4] == "Red   ")
            s.submit({"type": "signal", "signal": "chequered", "t": 184.0})
            await a.until(lambda c, f: c == "F" and f[4] == "Finish")
            assert server.describe()["clients"] == 2 and server.stats["resyncs"] == 0
        finally:
            await b.close()
    finally:
        await a.close()
        await server.stop()


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
async def test_long_accented_names_are_cut_to_the_field_sizes_and_read_back(
    mgr: Manager, encoding: str
) -> None:
    s = mgr.create("Course", SESSION)
    long_first = "Marie-Françoise-Élisabeth-Anne"  # 30 characters: the first name field holds 20
    s.submit(
        {
            "type": "entry",
            "number": "7",
            "name": f"{long_first} de La Rochefoucauld-Liancourt",
            "transponder": "107",
            "category": "Catégorie très longue pour un tableau",
        }
    )
    s.submit(
        {
            "type": "entry",
            "number": "8",
            "name": "Écurie des Châteaux de la Loire",
            "transponder": "108",
            "drivers": [{"id": "a", "name": "Jean-Christophe-Emmanuel Dupont"}],
        }
    )
    server = RMonitorServer(mgr, "127.0.0.1", 0, heartbeat_s=0.05, encoding=encoding)
    await server.start()
    client = await Client.connect("127.0.0.1", server.port, encoding)  # strict: 20 characters, its encoding
    try:
        await client.until(lambda c, f: c == "F")
        solo, team = client.board.competitors["7"], client.board.competitors["8"]
        assert (solo["first"], solo["last"]) == ("Marie-Françoise-Élis", "de La Rochefoucauld-")
        assert solo["additional"] == "Catégorie très longu"
        assert (team["first"], team["last"]) == ("Jean-Christophe-Emma", "Écurie des Châteaux")
        assert server.describe()["encoding"] == encoding
    finally:
        await client.close()
        await server.stop()


async def test_driver_change_updates_competitor(mgr: Manager) -> None:
    s = new_session(mgr)
    s.submit({"type": "signal", "signal": "green", "t": 0})
    server = RMonitorServer(mgr, "127.0.0.1", 0, heartbeat_s=0.05)
    await server.start()
    a = await Client.connect("127.0.0.1", server.port)
    try:
        await a.until(lambda c, f: c == "F")
        s.submit({"type": "passing", "t": 30.0, "transponder": "102", "loop": "pit_in"})
        s.submit({"type": "driver_change", "number": "2", "driver": "b", "t": 35.0})
        s.submit({"type": "passing", "t": 40.0, "transponder": "102", "loop": "pit_out"})
        await a.until(lambda c, f: c == "A" and f[0] == "2" and f[3] == "Luc Petit")
        assert a.board.competitors["2"]["first"] == "Luc Petit"
    finally:
        await a.close()
        await server.stop()


async def test_slow_client_never_slows_the_others(mgr: Manager) -> None:
    """A scoreboard that stops reading is cut back to a full refresh; the others get every record."""
    s = mgr.create("Endurance", {"preset": "generic-timed", "kind": "race", "duration_s": 36000})
    for n in range(1, 21):
        s.submit({"type": "entry", "number": str(n), "name": f"Pilote {n}", "transponder": str(1000 + n)})
    s.submit({"type": "signal", "signal": "green", "t": 0})
    server = RMonitorServer(mgr, "127.0.0.1", 0, queue_max=4, heartbeat_s=0.05, sndbuf=4096, write_limit=4096)
    await server.start()
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    slow.setblocking(False)
    await asyncio.get_running_loop().sock_connect(slow, ("127.0.0.1", server.port))
    fast = await Client.connect("127.0.0.1", server.port)
    try:
        await fast.until(lambda c, f: c == "F")
        laps = 40
        for lap in range(1, laps + 1):
            for n in range(1, 21):  # the fast scoreboard reads each passing's $J before the next one
                s.submit(passing(str(1000 + n), lap * 60.0 + n * 0.25))
                await fast.until(lambda c, f, reg=str(n): c == "J" and f[0] == reg)
        assert server.stats["resyncs"] >= 1  # the slow one fell behind and was dropped to a refresh
        await fast.until(lambda c, f: c == "F")
        assert len(fast.board.passings) == 20 * laps and fast.board.inits == 1  # nothing lost, no refresh
        assert_board_matches(fast.board, s.results())

        # the slow scoreboard reads again: old records, then a refresh with the current board
        reader, writer = await asyncio.open_connection(sock=slow)
        late = Client(reader, writer)
        await late.until(lambda c, f: c == "I" and late.board.inits == 2)  # the first was on connect
        await late.until(lambda c, f: c == "F")
        assert_board_matches(late.board, s.results())
        await late.close()
    finally:
        await fast.close()
        await server.stop()


async def test_follows_the_newest_open_session(mgr: Manager) -> None:
    first = new_session(mgr, "Essais")
    server = RMonitorServer(mgr, "127.0.0.1", 0, heartbeat_s=0.05)
    await server.start()
    a = await Client.connect("127.0.0.1", server.port)
    try:
        await a.until(lambda c, f: c == "F")
        assert a.board.run[1] == "Essais"
        first.submit({"type": "signal", "signal": "finish_session", "t": 1.0})
        second = new_session(mgr, "Course")
        await a.until(lambda c, f: c == "B" and f[1] == "Course")
        assert a.board.inits == 2 and a.board.run == (2, "Course")  # a refresh for the new run
        assert server.describe()["session"] == second.id
    finally:
        await a.close()
        await server.stop()


# -- the real service -------------------------------------------------------------------------------
def test_boucle_serve_rmonitor_mid_race(tmp_path: Path) -> None:
    """`boucle serve --rmonitor`: a scoreboard joining mid-race shows what /results says."""
    port = free_port()
    with ServiceProcess(tmp_path, extra=["--rmonitor", f"127.0.0.1:{port}"]) as svc:
        h = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=svc.url, headers=h, timeout=10) as http:
            sid = http.post("/api/sessions", json={"name": "Course", **SESSION}).json()["id"]
            assert http.post(f"/api/sessions/{sid}/entries", json=ENTRIES).status_code == 200
            http.post(f"/api/sessions/{sid}/signal", json={"signal": "green", "t": 0}).raise_for_status()
            for tr, t in [("101", 60.0), ("102", 62.0), ("103", 70.0), ("102", 120.0)]:
                http.post(f"/api/sessions/{sid}/events", json=passing(tr, t)).raise_for_status()
            status = http.get("/api/rmonitor").json()
            assert status["enabled"] and status["port"] == port and status["session"] == sid

            async def scoreboard() -> Scoreboard:
                c = await Client.connect("127.0.0.1", port)
                try:
                    await c.until(lambda cmd, f: cmd == "F")
                    assert_board_matches(c.board, http.get(f"/api/sessions/{sid}/results").json())
                    assert c.board.heartbeat[4] == "Green "
                    return c.board
                finally:
                    await c.close()

            board = asyncio.run(scoreboard())
            assert board.standings() == ["2", "1", "3"]
