"""P3 over real TCP sockets on 127.0.0.1 against a fake decoder that fails on purpose."""

from __future__ import annotations

import asyncio

import pytest

from decoders.p3.codec import GetTimeRecord, ResendRecord
from decoders.p3.transport import P3TcpSource
from decoders.sources import open_source
from tests.p3_fake_decoder import DECODER_ID, RTC0, FakeDecoder, passing_frame

pytestmark = pytest.mark.timeout(30)


async def until(cond, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.01)


def fast_source(server: FakeDecoder, **kw) -> P3TcpSource:
    kw.setdefault("idle", 3.0)
    return P3TcpSource(server.url, "127.0.0.1", server.port, retry_min=0.02, retry_max=0.1, **kw)


async def started(source, got: list):
    task = asyncio.create_task(source.run(got.append))
    await until(lambda: source.status.state == "connected")
    return task


async def linked(server: FakeDecoder, got: list, **kw):
    """A fast source running against `server`, once the fake decoder holds its connection."""
    source = fast_source(server, **kw)
    task = await started(source, got)
    await until(lambda: server.writers)
    return source, task


async def stopped(source, task) -> None:
    source.stop()
    async with asyncio.timeout(3):
        await task
    assert source.status.state == "stopped"


async def test_drop_mid_stream_then_every_passing_recovered_once():
    async with FakeDecoder() as server:
        got = []
        source, task = await linked(
            server, got, resend_retry=0.5, probe=0
        )  # only the jump reveals the gap here
        server.status()
        server.emit(10)
        await until(lambda: len(got) == 10)

        server.drop(mid_frame=passing_frame(999))
        await until(lambda: source.status.state == "reconnecting")
        server.emit(10)  # 11..20 happen while the link is down: history only
        await asyncio.sleep(0.3)  # several refused attempts: none counts as a reconnect
        await server.come_up()
        await until(lambda: server.writers and source.status.state == "connected")
        server.emit(5)  # 21..25 pushed live; 21 reveals the gap 11..20
        server.send(server.history[5] + server.history[21])  # duplicates must not come out twice
        await until(lambda: len(got) >= 25)
        await asyncio.sleep(0.2)

        numbers = [p.passing_number for p in got]
        assert sorted(numbers) == list(range(1, 26)) and len(numbers) == 25
        assert any(
            isinstance(r, ResendRecord) and (r.from_number, r.until_number) == (11, 20)
            for r in server.requests
        )
        st = source.status
        assert (st.reconnects, st.gaps_detected, st.gaps_recovered) == (1, 1, 1)
        assert st.duplicates == 2 and st.passings == 25 and st.passings_lost == 0
        assert (st.passings_recovered, st.recovering) == (10, 0)
        assert st.decoder_id == DECODER_ID and st.noise == 40
        assert st.rejected["framing"] >= 1  # the half frame cut by the drop
        p = got[0]
        assert (p.decoder_id, p.transponder, p.rtc_time_us, p.source) == (
            DECODER_ID,
            str(5_000_001),
            RTC0 + 1_000_000,
            server.url,
        )
        assert p.loop is None
        await stopped(source, task)


async def test_reconnect_asks_for_what_was_read_meanwhile_even_with_no_higher_passing():
    # the link is cut over the last laps: after it, no passing comes that would reveal a jump
    async with FakeDecoder() as server:
        got = []
        source, task = await linked(server, got)
        server.emit(4)
        await until(lambda: len(got) == 4)
        server.drop()
        server.emit(6)  # 5..10 read while the link is down, and nothing after
        await server.come_up()
        await until(lambda: len(got) == 10)
        assert [p.passing_number for p in got] == list(range(1, 11))
        probes = [r for r in server.requests if isinstance(r, ResendRecord)]
        assert probes and (probes[0].from_number, probes[0].until_number) == (5, 5 + 1999)
        assert source.status.passings_lost == 0
        await stopped(source, task)


async def test_a_quiet_decoder_is_probed_for_passings_it_did_not_push():
    async with FakeDecoder() as server:
        got = []
        source, task = await linked(server, got, probe=0.2)
        server.emit(2)
        await until(lambda: len(got) == 2)
        server.up = False  # connected, but these are not pushed (lost on the way)
        server.emit(3)
        server.up = True
        await until(lambda: len(got) == 5)  # no reconnect, no higher passing: only the probe finds them
        assert [p.passing_number for p in got] == [1, 2, 3, 4, 5]
        assert source.status.reconnects == 0 and source.status.duplicates == 0
        await stopped(source, task)


async def test_after_a_restart_the_source_resumes_from_the_logged_numbers():
    async with FakeDecoder() as server:
        server.up = False
        server.emit(12)  # the decoder kept reading while the service was down
        server.up = True
        logged = {DECODER_ID: [1, 2, 4, 5]}  # what the session's log holds (3 never arrived)
        asked = []
        got = []
        source = fast_source(server)
        source.resume_from(lambda d: asked.append(d) or logged.get(d, []))
        task = await started(source, got)
        await until(lambda: server.writers)
        server.status()  # the first record names the decoder: the source resumes from its log
        await until(lambda: len(got) == 8)
        assert sorted(p.passing_number for p in got) == [3, 6, 7, 8, 9, 10, 11, 12]
        assert asked == [DECODER_ID]
        resends = [(r.from_number, r.until_number) for r in server.requests if isinstance(r, ResendRecord)]
        assert (6, 6 + 1999) in resends and (3, 3) in resends
        st = source.status
        assert (st.passings, st.passings_recovered, st.passings_lost, st.recovering) == (8, 1, 0, 0)
        server.send(server.history[4] + server.history[7])  # logged before the restart / just got
        server.emit(1)
        await until(lambda: len(got) == 9)
        assert got[-1].passing_number == 13 and source.status.duplicates == 2
        await stopped(source, task)


async def test_unanswered_resend_is_asked_again():
    async with FakeDecoder() as server:
        server.ignore_resends = 1
        got = []
        source, task = await linked(server, got, resend_retry=0.2)
        server.emit(2)
        server.up = False
        server.emit(3)  # 3..5 only in history
        server.up = True
        server.emit(1)  # 6: gap 3..5
        await until(lambda: len(got) == 6, timeout=5)
        resends = [r for r in server.requests if isinstance(r, ResendRecord)]
        assert len(resends) == 2 and all((r.from_number, r.until_number) == (3, 5) for r in resends)
        assert source.status.gaps_recovered == 1
        await stopped(source, task)


async def test_silent_link_is_noticed_and_reconnected():
    async with FakeDecoder() as server:
        got = []
        source = fast_source(server, idle=0.3)
        task = await started(source, got)
        await until(lambda: source.status.reconnects >= 1, timeout=5)
        assert "no data" in (source.status.last_error or "") or source.status.state == "connected"
        await stopped(source, task)


async def test_garbage_and_bad_frames_are_counted_not_fatal():
    async with FakeDecoder() as server:
        got = []
        source, task = await linked(server, got)
        bad = bytearray(passing_frame(1))
        bad[-3] ^= 0x55
        server.send(b"\x00garbage\xff" + bytes(bad) + b"\x8e\x02\x05\x00\x00\x00\x8f")
        server.emit(1)
        await until(lambda: len(got) == 1)
        assert source.status.rejected["crc"] == 1
        assert source.status.rejected["framing"] >= 1 and source.status.rejected["length"] == 1
        assert source.status.state == "connected" and source.status.reconnects == 0
        await stopped(source, task)


async def test_get_time_sets_clock_offset():
    async with FakeDecoder() as server:
        source = fast_source(server, get_time=True)
        task = await started(source, [])
        await until(lambda: source.status.clock_offset_us is not None)
        assert source.status.clock_offset_us == 250
        assert any(isinstance(r, GetTimeRecord) and r.version == 0 for r in server.requests)
        await stopped(source, task)


async def test_stop_while_decoder_unreachable():
    async with FakeDecoder() as server:
        port = server.port
    source = open_source(f"p3tcp://127.0.0.1:{port}?retry_min=0.05&retry_max=0.1")
    task = asyncio.create_task(source.run(lambda p: None))
    await until(lambda: source.status.state == "reconnecting" and source.status.last_error)
    await stopped(source, task)
    assert source.status.passings == 0


async def test_callback_errors_do_not_kill_the_link():
    async with FakeDecoder() as server:
        seen = []

        def flaky(p):
            seen.append(p.passing_number)
            if seen == [1]:
                raise RuntimeError("service hiccup")

        source = fast_source(server, resend_retry=0.1)
        task = asyncio.create_task(source.run(flaky))
        await until(lambda: server.writers)
        server.emit(2)
        await until(lambda: seen == [1, 2, 1])  # the read the service failed on is asked for again (RESEND)
        assert source.status.reconnects == 0 and source.status.unstored == 0
        await stopped(source, task)


async def test_stop_before_run_returns_at_once():
    source = open_source("p3tcp://127.0.0.1:9")
    source.stop()
    await asyncio.wait_for(source.run(lambda p: None), 1)
    assert source.status.state == "stopped"


async def test_without_resend_missed_passings_are_counted_lost():
    async with FakeDecoder() as server:
        got = []
        source, task = await linked(server, got, resend=False)
        server.emit(1)
        server.up = False
        server.emit(4)
        server.up = True
        server.emit(1)
        await until(lambda: len(got) == 2)
        await asyncio.sleep(0.1)
        assert not any(isinstance(r, ResendRecord) for r in server.requests)
        st = source.status
        assert (st.gaps_detected, st.gaps_recovered, st.passings_lost) == (1, 0, 4)
        await stopped(source, task)


async def test_code_only_transponder_and_incomplete_passings():
    from decoders.p3.codec import PassingRecord, encode

    async with FakeDecoder() as server:
        got = []
        source, task = await linked(server, got)
        server.send(
            encode(
                PassingRecord(passing_number=1, tran_code="PV-38463", rtc_time_us=2_842_800_000, version=1)
            )
        )
        server.send(encode(PassingRecord(passing_number=2, rtc_time_us=5, decoder_id=DECODER_ID)))
        server.send(encode(PassingRecord(passing_number=3, transponder=7, decoder_id=DECODER_ID)))
        server.emit(1)
        await until(lambda: len(got) == 2)
        assert (got[0].transponder, got[0].decoder_id, got[0].rtc_time_us) == ("PV-38463", "", 2_842_800_000)
        assert source.status.rejected["incomplete"] == 2
        await stopped(source, task)
