"""Decoder clocks align themselves: decoders whose clocks are months off, on GPS time, or a backup
with a wrong date, linked with no offset typed, through real sockets (fake P3 decoders with a running
clock, the simulator's P3 decoders). Every read reaches the session and lap times are exactly the
decoders' own differences."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time

import pytest

from service.sessions.live import DecoderLink
from simulator import model
from simulator.emit import play
from tests.p3_fake_decoder import FakeDecoder
from tests.service_proc import local_manager, until
from tests.test_chaos_restart import WatchedTarget

FAST = "retry_min=0.05&retry_max=0.2"
DAY_US = 86_400 * 1_000_000
pytestmark = pytest.mark.timeout(90)


def logged(session) -> list[dict]:
    return [ln for ln in session.store.lines() if ln["type"] == "passing"]


async def test_p3_decoders_months_off_and_on_gps_time_need_no_offset(tmp_path):
    mgr = local_manager(tmp_path)
    s = mgr.create("clocks", {"preset": "generic-timed", "min_lap_s": 0.2})
    s.add_entries(
        [
            {
                "type": "entry",
                "number": str(n),
                "name": f"car {n}",
                "transponder": str(100 + n),
                "category": "x",
            }
            for n in (1, 2, 3)
        ]
    )
    try:
        async with (
            FakeDecoder(clock_offset_us=-150 * DAY_US, decoder_id="0000f001") as finish,
            FakeDecoder(clock_offset_us=0, decoder_id="0000f002") as pits,
        ):
            await mgr.start_decoder(s, DecoderLink(url=f"{finish.url}?{FAST}", loop="finish"))
            await mgr.start_decoder(s, DecoderLink(url=f"{pits.url}?{FAST}", loop="pit_in"))
            await until(lambda: finish.writers and pits.writers, 10, "both links connected")
            s.submit({"type": "signal", "signal": "green"})
            await asyncio.sleep(0.3)
            rng = random.Random(3)
            for _ in range(4):
                for car in (1, 2, 3):
                    finish.read(100 + car)
                    await asyncio.sleep(rng.uniform(0.08, 0.15))  # a car's lap: 3 of these, over min_lap_s
            pits.read(102)
            await until(lambda: len(logged(s)) == 13, 20, "13 reads logged")
            (fin, pit) = [d.describe() for d in s.decoders]
        lines = logged(s)
        assert sorted((x["decoder"], x["passing_id"]) for x in lines) == [
            ("0000f001", n) for n in range(1, 13)
        ] + [("0000f002", 1)]
        assert s.intake.aside()["reads"] == [] and s.header()["log"]["refused"] == 0
        # lap times are the decoder's own differences, to the microsecond
        for car in (1, 2, 3):
            stamps = [us for tr, us in finish.stamps.values() if tr == 100 + car]
            want = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
            assert s.engine.cars[str(car)].lap_times[1:] == want
        # each decoder's clock was learnt from its GET_TIME answers: 150 days behind, and on time
        now = s.now_t()
        assert fin["clock"][0]["source"] == "decoder" and abs(fin["clock"][0]["offset_s"] - 150 * 86_400) < 1
        assert pit["clock"][0]["source"] == "decoder" and abs(pit["clock"][0]["offset_s"]) < 1
        assert all(0 <= now - x["t"] < 10 for x in lines)  # timed on the session clock, when they happened
        assert (fin["passings"], fin["received"], fin["refused"], pit["passings"]) == (12, 12, 0, 1)
    finally:
        await mgr.shutdown()


async def test_simulated_decoders_months_off_and_a_backup_with_a_wrong_date(tmp_path):
    # the simulator's decoders count from 2026-01-01 (months before this machine's clock) and the
    # backup finish decoder's date is 400 days off; played in real time, a window of the race
    p = model.Params(second_finish_decoder=1.0, clock_offset_s=-400 * 86_400.0)
    race = model.generate("lemans-270-2h", 8, 21, p, duration_s=900.0)
    mgr = local_manager(tmp_path)
    s = mgr.create("sim clocks", {"preset": "lemans-270-2h"})
    target = WatchedTarget()
    linked: list[asyncio.Task] = []

    def announce(info: dict) -> None:
        link = DecoderLink(url=f"{info['url']}?{FAST}", loop=info["loop"])
        linked.append(asyncio.create_task(mgr.start_decoder(s, link)))

    # the window: from just before a read after 5 min to just after the 6th read of the main finish decoder
    # (6 reads each decoder, where a fixed 14 s held 7, played in about half the time)
    fin = sorted(r.t for r in race.reads if r.t >= 300 and r.decoder == "finish")
    from_t = fin[0] - 1.0
    window = fin[5] - from_t + 0.5
    player = asyncio.create_task(
        play(
            race,
            [target],
            speed=1.0,
            from_t=from_t,
            announce=announce,
            wait_clients_s=10,
            linger_s=30,
            status_every_s=1.0,
        )
    )
    try:
        await until(
            lambda: target.feeds and target.feeds[0].now() >= from_t + window, 40, "the window played"
        )
        await asyncio.sleep(0.5)
        sent = {
            (f.decoder_id, p.number): (f, p)
            for f in target.feeds
            for p in f.passings
            if from_t <= p.t < from_t + window
        }
        await until(
            lambda: {(x["decoder"], x["passing_id"]) for x in logged(s)} >= set(sent),
            20,
            "every read of the window logged",
        )
        views = {d.describe()["decoder_id"]: d.describe() for d in s.decoders}
        all_lines = logged(s)
    finally:
        player.cancel()
        with contextlib.suppress(BaseException):
            await player
        await mgr.shutdown()
    lines = {(x["decoder"], x["passing_id"]): x for x in all_lines}
    assert len(lines) == len(all_lines)  # each once
    by_decoder: dict[str, list] = {}
    for key, (f, p) in sorted(sent.items(), key=lambda kv: kv[1][1].t):
        by_decoder.setdefault(f.decoder_id, []).append((p, lines[key]["t"]))
    main_id, backup_id = model.DECODER_IDS["finish"], model.DECODER_IDS["finish-b"]
    assert set(by_decoder) == {main_id, backup_id}
    assert all(len(reads) >= 6 for reads in by_decoder.values())  # 5 differences each, at least
    for reads in by_decoder.values():  # every difference of session times is the decoder's, to the µs
        assert [round(b[1] * 1e6) - round(a[1] * 1e6) for a, b in zip(reads, reads[1:], strict=False)] == [
            b[0].rtc_time_us - a[0].rtc_time_us for a, b in zip(reads, reads[1:], strict=False)
        ]
    wall_now = time.time()
    main, backup = views[main_id]["clock"][0], views[backup_id]["clock"][0]
    behind = wall_now - (1_767_225_600 + from_t)  # decoder clock at from_t vs the host's now
    assert abs(main["offset_s"] - behind) < 60 and abs(backup["offset_s"] - (behind + 400 * 86_400)) < 60
    assert main["source"] == backup["source"] == "decoder"  # GET_TIME, asked again until the race clock ran
    assert views[main_id]["refused"] == views[backup_id]["refused"] == 0


def test_resent_reads_before_any_clock_evidence_wait_for_it_then_are_timed(tmp_path):
    from decoders import Passing
    from service.sessions.live import LiveSession

    s = LiveSession.create(tmp_path, "x", {"preset": "generic-timed"})
    link = DecoderLink(url="mqtt://h/site")
    link.origin_us = s.origin_us
    s.decoders.append(link)
    off = -90 * DAY_US  # the decoder's clock is three months behind
    now = time.time_ns() // 1000
    resent = [
        Passing("gate1", "7", now + off - k * 10_000_000, passing_number=10 - k, live=False)
        for k in (3, 2, 1)
    ]
    assert all(s.on_passing(link, p) for p in resent)  # safe, but not timed by their arrival
    assert not logged(s) and s.header()["log"]["waiting_clock"] == 3 and link.describe()["waiting_clock"] == 3
    s.intake.on_clock(link, "gate1", now + off, now)  # the decoder tells its clock
    ts = [x["t"] for x in logged(s)]
    want = round((now - s.origin_us) / 1e6, 6)
    assert [round(want - t, 3) for t in ts] == [30.0, 20.0, 10.0] and link.describe()["waiting_clock"] == 0
    assert link.describe()["clock"][0]["source"] == "decoder"
