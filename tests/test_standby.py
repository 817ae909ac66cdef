"""Hot standby (issue 26), piece by piece: the simulated P3 decoder serving two machines, the write
fence and its coded refusals, the authenticated log stream, a handover while the primary is up,
held reads surviving a standby restart (and RESEND fetching what nobody held), an old primary's
diverged copy kept aside, the command line, and the clock difference between the two machines.
The whole race with kills and a cut cable is tests/test_standby_failover.py."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from decoders.p3 import codec
from service import cli
from simulator.emit.base import Feed, SimPassing
from simulator.emit.p3tcp import P3TcpTarget
from tests.p3_fake_decoder import RTC0, FakeDecoder
from tests.service_proc import TOKEN
from tests.standby_helpers import PairServer, wait

pytestmark = pytest.mark.timeout(120)
SESSION = {"name": "heat", "preset": "generic-laps", "kind": "race"}


def passing(t: float, tr: str = "11") -> dict:
    return {"type": "passing", "t": t, "transponder": tr, "loop": "finish"}


@pytest.fixture
def pair(tmp_path):
    primary = PairServer(tmp_path / "p").start()
    standby = PairServer(tmp_path / "s", standby_of=primary.url).start()
    yield primary, standby
    standby.stop()
    primary.stop()


def session_on(primary: PairServer) -> str:
    r = primary.http.post("/api/sessions", json=SESSION)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert (
        primary.http.post(
            f"/api/sessions/{sid}/entries", json=[{"type": "entry", "number": "7", "transponder": "11"}]
        ).status_code
        == 200
    )
    return sid


def caught_up(standby: PairServer) -> bool:
    f = standby.status()["follow"]
    return f["connected"] and f["lines_behind"] == 0 and f["copied"] > 0


async def test_the_simulated_p3_decoder_serves_two_clients_at_once():
    """Both machines get every pushed passing; a RESEND is answered to the one that asked only."""
    feed = Feed("finish", "01b00400", "finish", RTC0, [], [])
    target = P3TcpTarget("p3tcp://127.0.0.1:0")
    (info,) = await target.start([feed])
    port = int(info["url"].rsplit(":", 1)[1])
    try:
        (r1, w1), (r2, w2) = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
        assert target.clients(feed) == 2
        p = SimPassing(41, "5000041", RTC0 + 1_000_000, 120, 30, 1.0)
        feed.read(p)
        await target.passing(feed, p)
        got = [await asyncio.wait_for(r.read(4096), 5) for r in (r1, r2)]
        assert all(
            isinstance(rec, codec.PassingRecord) and rec.passing_number == 41
            for g in got
            for rec in codec.P3StreamDecoder().feed(g)
        )
        w1.write(codec.encode(codec.resend_request(41, 41)))
        await w1.drain()
        again = await asyncio.wait_for(r1.read(4096), 5)
        assert [rec.passing_number for rec in codec.P3StreamDecoder().feed(again)] == [41]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(r2.read(4096), 0.3)
        for w in (w1, w2):
            w.close()
    finally:
        await target.stop()


def test_a_standby_copies_shows_how_far_behind_and_refuses_writes_with_a_code(pair):
    primary, standby = pair
    sid = session_on(primary)
    for i in range(3):
        assert (
            primary.http.post(f"/api/sessions/{sid}/events", json=passing(60.0 * (i + 1))).status_code == 200
        )
    wait(lambda: caught_up(standby) and standby.export(sid) == primary.export(sid), what="the copy")
    st = standby.status()
    assert st["role"] == "standby" and st["primary"] == primary.url and st["writable"] is False
    assert st["follow"]["copied"] == 5 and st["follow"]["seconds_behind"] == 0
    # once caught up, each line copied is timed (commit there -> commit here)
    assert primary.http.post(f"/api/sessions/{sid}/events", json=passing(240.0)).status_code == 200
    wait(
        lambda: standby.http.get(f"/api/sessions/{sid}/classification").json()["rows"][0]["laps"] == 4,
        what="the fourth lap copied",
    )
    delay = wait(lambda: standby.status()["follow"]["delay_ms"]["p50"], what="a copy delay")
    assert 0 <= delay < 10_000
    # every write refused, in the caller's language, whatever the route
    r = standby.http.post(f"/api/sessions/{sid}/events?lang=fr", json=passing(500.0))
    assert r.status_code == 409 and r.json()["code"] == "standby.read_only"
    assert r.json()["detail"].startswith("cette machine est le secours de " + primary.url)
    assert standby.http.post("/api/sessions", json=SESSION).status_code == 409
    assert standby.http.delete(f"/api/sessions/{sid}/decoders/0").json()["code"] == "standby.read_only"
    # the primary sees its standby, up to date
    wait(
        lambda: (primary.status()["followers"] or [{}])[0].get("lines_behind") == 0, what="the primary's view"
    )
    assert primary.status()["followers"][0]["connected"] is True
    # a spectator sees the roles and the lag, not the machines' addresses
    public = httpx.get(standby.url + "/api/standby").json()
    assert public["role"] == "standby" and "primary" not in public and "url" not in public["follow"]


def test_meetings_are_copied_with_their_sessions(pair):
    primary, standby = pair
    entries = [{"number": str(n), "name": f"Pilote {n}", "transponder": f"X{n}"} for n in range(701, 705)]
    m = primary.http.post(
        "/api/meetings", json={"name": "Saint-Igny", "division": "Maxi Sprint", "entries": entries}
    )
    assert m.status_code == 201, m.text
    mid = m.json()["id"]
    assert primary.http.post(f"/api/meetings/{mid}/stages/practice1/start").status_code == 200
    want = primary.http.get(f"/api/meetings/{mid}").json()
    wait(lambda: standby.http.get(f"/api/meetings/{mid}").json() == want, what="the meeting on the standby")
    sids = list(want["sessions"].values())
    assert sids
    for sid in sids:
        wait(
            lambda sid=sid: standby.http.get(f"/api/sessions/{sid}").status_code == 200, what=f"session {sid}"
        )


def test_the_log_stream_needs_the_admin_token_and_a_primary(pair):
    primary, standby = pair

    async def close_code(base: str, token: str | None) -> int:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with connect(base.replace("http", "ws") + "/ws/log", additional_headers=headers) as ws:
            with pytest.raises(ConnectionClosed):
                await ws.send(json.dumps({"k": "hello", "node": "x", "epoch": 1, "cursor": {}}))
                while True:
                    await asyncio.wait_for(ws.recv(), 5)
            return ws.close_code

    assert asyncio.run(close_code(primary.url, None)) == 4401
    assert asyncio.run(close_code(primary.url, "wrong")) == 4401
    assert asyncio.run(close_code(standby.url, TOKEN)) == 4409  # a standby streams nothing
    # a standby set up with another admin token says so (its admin page shows the catalogue's words)
    other = PairServer(standby.data.parent / "other", token="another-token", standby_of=primary.url).start()
    try:
        follow = wait(
            lambda: other.status()["follow"]["error_code"] and other.status()["follow"], what="the refusal"
        )
        assert follow["error_code"] == "token" and not follow["connected"] and follow["copied"] == 0
    finally:
        other.stop()


def test_promote_and_fence_refusals(pair):
    primary, _ = pair
    r = primary.http.post("/api/promote?lang=fr", json={})
    assert (
        r.status_code == 409
        and r.json()["code"] == "standby.already_primary"
        and "époque 1" in r.json()["detail"]
    )
    r = primary.http.post(
        "/api/standby/fence", json={"epoch": 1, "node": "", "primary": "http://127.0.0.1:9"}
    )
    assert r.status_code == 409 and r.json()["code"] == "standby.stale_epoch"
    assert primary.http.post("/api/standby/fence", json={"epoch": "2"}).json()["code"] == "standby.bad_fence"
    assert httpx.post(primary.url + "/api/promote").status_code == 401
    assert primary.status()["role"] == "primary"


def test_handover_while_the_primary_is_up_loses_nothing_and_the_old_primary_follows(pair):
    primary, standby = pair
    sid = session_on(primary)
    assert primary.http.post(f"/api/sessions/{sid}/events", json=passing(60.0)).status_code == 200
    wait(lambda: caught_up(standby), what="the copy")
    done = standby.http.post("/api/promote", json={}).json()
    assert done["epoch"] == 2 and done["handover"] is True and done["sessions"][0]["id"] == sid
    old = primary.status()
    assert old["role"] == "standby" and old["stepped_down"]["epoch"] == 2 and old["primary"] == standby.url
    assert standby.http.post(f"/api/sessions/{sid}/events", json=passing(120.0)).status_code == 200
    wait(lambda: primary.export(sid) == standby.export(sid), what="the old primary to copy the new one")
    assert (
        primary.http.post(f"/api/sessions/{sid}/events", json=passing(180.0)).json()["code"]
        == "standby.stepped_down"
    )
    # the epoch is in the session's meta (copied to the new standby), never a scenario line
    epochs = (
        sqlite3.connect(primary.data / f"{sid}.sqlite")
        .execute("SELECT value FROM meta WHERE key = 'epochs'")
        .fetchone()
    )
    assert [e["epoch"] for e in json.loads(epochs[0])] == [2]
    assert all(json.loads(x)["type"] != "epoch" for x in standby.export(sid).splitlines())


async def _held_then_promoted(tmp_path) -> tuple[dict, dict[int, float], dict, dict[int, int]]:
    """A decoder whose clock runs an hour behind this computer's: the primary learns its clock (no
    offset typed), the standby times its held reads with the primary's map when promoted."""
    async with FakeDecoder(clock_offset_us=-3_600_000_000) as dec:
        primary = PairServer(tmp_path / "p").start()
        standby = PairServer(tmp_path / "s", standby_of=primary.url).start()
        try:
            sid = await asyncio.to_thread(session_on, primary)
            r = await asyncio.to_thread(
                primary.http.post,
                f"/api/sessions/{sid}/decoders",
                json={"url": f"{dec.url}?retry_min=0.05&retry_max=0.2"},
            )
            assert r.status_code == 201, r.text
            await _until(lambda: dec.connections >= 2, "both machines on the decoder")
            await _until(
                lambda: _clock_source(primary, sid) == "decoder", "the primary to learn the decoder's clock"
            )

            async def cars(n: int) -> None:
                for _ in range(n):
                    dec.read(11)
                    await asyncio.sleep(0.02)

            await cars(5)
            await _until(
                lambda: len(standby.reads(sid)) == 5 and standby.status()["held"]["reads"] == 0, "the copy"
            )
            await asyncio.to_thread(primary.stop)  # the primary dies
            await cars(5)  # 6..10: only the standby hears them
            await _until(lambda: standby.status()["held"]["reads"] == 5, "5 held reads")
            await asyncio.to_thread(standby.stop)  # ...and the standby restarts
            await cars(2)  # 11, 12: nobody hears them; the decoder keeps them
            standby = await asyncio.to_thread(
                PairServer(tmp_path / "s", port=standby.port).start
            )  # no --standby-of
            back = standby.status()
            done = await asyncio.to_thread(standby.http.post, "/api/promote", json={})
            assert done.status_code == 200, done.text
            await _until(lambda: len(standby.reads(sid)) >= 12, "12 reads on the new primary")
            await asyncio.sleep(0.5)
            lines = [json.loads(x) for x in standby.export(sid).splitlines()]
            times = {x["passing_id"]: x["t"] for x in lines if x["type"] == "passing"}
            assert len(times) == len([x for x in lines if x["type"] == "passing"])
            return back, times, done.json(), {n: st[1] for n, st in dec.stamps.items()}
        finally:
            primary.stop()
            standby.stop()


def _clock_source(server: PairServer, sid: str) -> str | None:
    rows = server.http.get(f"/api/sessions/{sid}/decoders").json()
    clocks = rows[0]["clock"] if rows else []
    return clocks[0]["source"] if clocks else None


async def _until(cond, what: str, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not await asyncio.to_thread(cond):
            await asyncio.sleep(0.05)


def test_held_reads_survive_a_standby_restart_and_resend_fetches_what_nobody_held(tmp_path):
    back, times, done, stamps = asyncio.run(_held_then_promoted(tmp_path))
    assert back["role"] == "standby" and back["held"]["reads"] == 5  # a standby stays one; held on disk
    assert done["handover"] is False and done["sessions"][0]["logged"] == 5
    assert sorted(times) == list(range(1, 13))  # 6..10 held, 11..12 asked for (RESEND), none twice
    # one clock map for all: the primary's learnt map, copied, timed the held and resent reads
    for n in range(2, 13):
        assert abs((times[n] - times[1]) - (stamps[n] - stamps[1]) / 1e6) < 2e-6, n


def test_an_old_primarys_diverged_copy_is_kept_aside_and_copied_again(tmp_path, capsys):
    primary = PairServer(tmp_path / "p").start()
    standby = PairServer(tmp_path / "s", standby_of=primary.url).start()
    try:
        sid = session_on(primary)
        primary.http.post(f"/api/sessions/{sid}/events", json=passing(60.0))
        wait(lambda: caught_up(standby) and standby.export(sid) == primary.export(sid), what="the copy")
        standby.stop()  # the standby is off...
        for t in (120.0, 180.0):  # ...while the primary logs two more lines, then dies
            assert primary.http.post(f"/api/sessions/{sid}/events", json=passing(t)).status_code == 200
        primary.stop()
        standby.start()
        assert standby.http.post("/api/promote", json={}).json()["epoch"] == 2
        assert standby.http.post(f"/api/sessions/{sid}/events", json=passing(125.0, "12")).status_code == 200
        primary.start()  # the old primary comes back: steps down, its copy differs from the new log
        assert primary.status()["role"] == "standby"
        wait(lambda: primary.export(sid) == standby.export(sid), what="the copy made again")
        kept = list((tmp_path / "p" / "diverged").glob(f"{sid}.epoch2.*.sqlite"))
        assert len(kept) == 1
        code, out, _ = boucle(capsys, "record", str(kept[0]))
        assert code == 0 and [json.loads(x)["t"] for x in out.splitlines() if '"passing"' in x] == [
            60.0,
            120.0,
            180.0,
        ]
    finally:
        standby.stop()
        primary.stop()


def boucle(capsys, *args: str) -> tuple[int, str, str]:
    """`boucle ARGS...` (service/cli.py `main`, what `python -m service.cli` runs) in this process: its
    exit code, stdout and stderr; a new Python per command would cost ~2 s of imports each (the real
    entry point runs in tests/test_standby_failover.py's `boucle promote`)."""
    capsys.readouterr()
    try:
        code = cli.main(list(args))
    except SystemExit as exc:  # argparse
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_line_keeps_the_token_off_ps_and_refuses_unsafe_setups(tmp_path, capsys, monkeypatch):
    def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        for k, v in (env or {}).items():
            monkeypatch.setenv(k, v)
        code, out, err = boucle(capsys, *args)
        return subprocess.CompletedProcess(args, code, out, err)

    loose = tmp_path / "token"
    loose.write_text("secret\n")
    loose.chmod(0o644)
    r = run("serve", "--data", str(tmp_path / "d"), "--admin-token-file", str(loose))
    assert r.returncode == 2 and "chmod 600" in r.stderr
    r = run(
        "serve", "--data", str(tmp_path / "d"), "--standby-of", "http://127.0.0.1:9", "--decoder", "p3tcp://x"
    )
    assert r.returncode == 2 and "--decoder goes to the primary" in r.stderr
    r = run("promote", "http://127.0.0.1:9", env={"BOUCLE_ADMIN_TOKEN": ""})
    assert r.returncode == 2 and "--admin-token-file" in r.stderr
    loose.chmod(0o600)
    r = run("promote", "http://127.0.0.1:9", "--admin-token-file", str(loose))
    assert r.returncode == 1 and "does not answer" in r.stderr


def test_the_session_clock_follows_the_measured_clock_difference(tmp_path):
    """The primary's clock runs 3 s ahead of this machine's: the copied sessions' origin moves with it."""
    from service.sessions.manager import Manager
    from service.standby.follower import Follower
    from service.standby.node import Node

    mgr = Manager(tmp_path, TOKEN, "OFF")
    s = mgr.create("x", {"preset": "generic-laps", "kind": "race"})
    origin = s.origin_us
    node = Node(mgr, TOKEN, standby_of="http://127.0.0.1:9")
    f = Follower(node, node.primary)
    import time

    now = time.time()
    f._pong(now - 0.010, now - 0.005 + 3.0)  # a 10 ms round trip, the primary 3 s ahead
    assert abs(node.skew_us - 3_000_000) < 10_000
    assert abs(s.origin_us - (origin - node.skew_us)) < 1
    f._pong(now - 0.200, now - 0.100 + 2.5)  # a slower round trip does not win
    assert abs(node.skew_us - 3_000_000) < 10_000
    assert json.loads((tmp_path / "node.json").read_text())["skew_us"] == node.skew_us
    mgr.sessions[s.id].close()


async def test_no_promotion_while_the_primary_streams_and_will_not_step_down(tmp_path, monkeypatch):
    """The primary still streams its log but refuses (or misses) the step-down: nothing changes."""
    from service import errors
    from service.sessions.manager import Manager
    from service.standby import promote as promotion
    from service.standby.node import Node

    class Streaming:  # a follower whose primary still streams
        connected = True

    async def no_answer(*args, **kwargs):
        return None

    monkeypatch.setattr(promotion, "call", no_answer)
    node = Node(Manager(tmp_path, TOKEN, "OFF"), TOKEN, standby_of="http://127.0.0.1:9")
    node.follower = Streaming()  # type: ignore[assignment]
    with pytest.raises(errors.Conflict) as refused:
        await promotion.promote(node)
    assert refused.value.code == "standby.primary_alive" and refused.value.params == {
        "primary": "http://127.0.0.1:9"
    }
    assert node.role == "standby" and node.epoch == 1
    assert json.loads((tmp_path / "node.json").read_text())["role"] == "standby"
