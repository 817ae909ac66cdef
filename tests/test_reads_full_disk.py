"""A full disk loses nothing a decoder still holds. The session's log is made full for real
(SQLite `max_page_count` on its connection: every write that needs a page fails with "database or
disk is full") while fake P3 decoders and an MQTT publisher keep reading through real sockets;
then it frees. Reads that could not be written are counted (persistently), fetched again (RESEND)
or handed over again once the log takes writes, also those read before a decoder's first logged
read, across a restart of the service."""

from __future__ import annotations

import asyncio
import json

import aiomqtt
import pytest

from service.sessions.live import DecoderLink, LiveSession
from service.sessions.manager import Manager
from tests.mqtt_broker import mosquitto  # noqa: F401  (pytest fixture)
from tests.p3_fake_decoder import DECODER_ID, RTC0, FakeDecoder
from tests.service_proc import local_manager, until

FAST = "retry_min=0.05&retry_max=0.2"
PIT_ID = "0000aa01"
pytestmark = pytest.mark.timeout(90)


def fill(s: LiveSession) -> None:
    """The disk is full: the log cannot take one more page."""
    n = s.store.db.execute("PRAGMA page_count").fetchone()[0]
    s.store.db.execute(f"PRAGMA max_page_count={n}")


def free(s: LiveSession) -> None:
    s.store.db.execute("PRAGMA max_page_count=1073741823")


def reads(s: LiveSession) -> list[tuple[str, int]]:
    return sorted((x["decoder"], x["passing_id"]) for x in s.store.lines() if x["type"] == "passing")


def new_session(mgr: Manager) -> LiveSession:
    s = mgr.create("full disk", {"preset": "generic-timed", "min_lap_s": 0.5})
    s.add_entries(
        [
            {
                "type": "entry",
                "number": str(k),
                "name": f"car {k}",
                "transponder": str(5_000_000 + k),
                "category": "x",
            }
            for k in range(7)
        ]
    )
    s.submit({"type": "signal", "signal": "green", "t": 0})
    return s


async def test_a_disk_that_fills_and_frees_mid_race_then_a_restart(tmp_path):
    mgr = local_manager(tmp_path)
    s = new_session(mgr)
    sid = s.id
    async with FakeDecoder() as finish, FakeDecoder(decoder_id=PIT_ID) as pit:
        await mgr.start_decoder(s, DecoderLink(url=f"{finish.url}?{FAST}", loop="finish", rtc_zero_us=RTC0))
        await mgr.start_decoder(s, DecoderLink(url=f"{pit.url}?{FAST}", loop="pit_in", rtc_zero_us=RTC0))
        await until(lambda: finish.writers and pit.writers, 10, "both links connected")
        finish.emit(10)
        await until(lambda: len(reads(s)) == 10, 10, "10 reads logged")

        fill(s)
        finish.emit(40)
        pit.emit(6)  # the pit decoder's first reads: none of them can be written
        fin_link, pit_link = s.decoders
        await until(
            lambda: fin_link.source.status.passings >= 50 and pit_link.source.status.passings >= 6,
            10,
            "the reads handed over while the disk is full",
        )
        head = s.header()["log"]
        unwritten = 46 - (len(reads(s)) - 10)  # a few may still fit in the last pages
        assert head["unwritable"] is not None and "full" in head["unwritable"]["error"]
        assert unwritten > 20 and head["log_errors"] >= unwritten and head["unstored"] == unwritten
        assert fin_link.describe()["unstored"] + pit_link.describe()["unstored"] == unwritten
        assert pit_link.describe()["passings"] == 0 and fin_link.describe()["passings_lost"] == 0

        pit.drop()  # the pit decoder's network goes away with its reads: it comes back after a restart
        free(s)
        finish.emit(5)  # the race goes on: a read that can be written, then the missing ones fetched again
        await until(
            lambda: len(reads(s)) == 55 + len([r for r in reads(s) if r[0] == PIT_ID]),
            15,
            "every finish read logged",
        )
        assert s.header()["log"]["unwritable"] is None
        errors = s.intake.log_errors
        assert s.store.get_meta()["log_errors"] == errors >= unwritten  # kept as soon as the log took writes
        assert s.store.get_meta()["first_reads"][PIT_ID] == {"1": 1}

        await mgr.shutdown()  # the service stops (or dies) before the pit decoder is back
        mgr = local_manager(tmp_path)
        mgr.load_all()
        await mgr.restore_decoders()
        s = mgr.get(sid)
        assert s.header()["log"]["log_errors"] == errors  # the count survives the restart
        await pit.come_up()
        try:
            await until(
                lambda: len(reads(s)) == 61, 15, "the pit reads, all read before its first logged one"
            )
            await asyncio.sleep(0.3)
            assert reads(s) == sorted(
                [(DECODER_ID, n) for n in range(1, 56)] + [(PIT_ID, n) for n in range(1, 7)]
            )
            assert all(d.describe()["passings_lost"] == 0 for d in s.decoders)
            assert s.intake.aside()["reads"] == []
        finally:
            await mgr.shutdown()


@pytest.mark.mqtt
async def test_mqtt_reads_are_handed_over_again_once_the_log_takes_writes(mosquitto, tmp_path):  # noqa: F811
    mgr = local_manager(tmp_path)
    s = new_session(mgr)
    topic = "site/decoder/gate1/passing"
    try:
        await mgr.start_decoder(
            s,
            DecoderLink(
                url=f"mqtt://{mosquitto.host}:{mosquitto.port}/site?{FAST}", loop="finish", rtc_zero_us=RTC0
            ),
        )
        (link,) = s.decoders
        await until(lambda: link.source.status.state == "connected", 10, "subscribed")
        link.source.retry_every = 0.1

        def read(n: int) -> bytes:
            return json.dumps(
                {
                    "transponder": str(5_000_000 + n % 7),
                    "rtc_time_us": RTC0 + n * 1_000_000,
                    "passing_number": n,
                }
            ).encode()

        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as pub:
            await pub.publish(topic, read(1), qos=1)
            await until(lambda: len(reads(s)) == 1, 10, "the first read")
            fill(s)
            for n in range(2, 30):
                await pub.publish(topic, read(n), qos=1)
            await until(lambda: link.source.status.passings >= 29, 10, "handed over")
            assert s.header()["log"]["unwritable"] is not None and link.describe()["unstored"] > 0
            free(s)  # no new read comes: the held copies are handed over again by themselves
            await until(lambda: len(reads(s)) == 29, 15, "every read logged")
        assert reads(s) == [("gate1", n) for n in range(1, 30)]
        assert link.describe()["unstored"] == 0 and link.describe()["passings_lost"] == 0
        assert s.header()["log"]["unwritable"] is None and s.intake.log_errors > 0
    finally:
        await mgr.shutdown()
