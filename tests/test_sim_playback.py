"""Playback through real transports on 127.0.0.1: what a client receives equals the scenario.

The receiving side here is a plain wire-level client built on the P3 codec (and aiomqtt), so
these tests pin the simulated decoder's behaviour itself: numbering, RTC, STATUS, RESEND after a
drop-out. Tests with the service's own sources live in test_sim_sources.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from pathlib import Path

import pytest

from decoders.p3 import codec
from simulator import model
from simulator.emit import play
from tests.mqtt_broker import mosquitto  # noqa: F401 (pytest fixture)
from tests.sim_helpers import scenario_passings, small_race, with_outages

pytestmark = pytest.mark.timeout(60)
REPO = Path(__file__).resolve().parents[1]


def to_scenario(received: dict[str, dict[int, codec.PassingRecord]], infos: list[dict]) -> list[tuple]:
    """Received P3 passings back on the session clock, keyed like scenario passings."""
    by_id = {i["decoder_id"]: i for i in infos}
    out = []
    for dec, recs in received.items():
        info = by_id[dec]
        for rec in recs.values():
            out.append(((rec.rtc_time_us - info["rtc_base_us"]) / 1e6, str(rec.transponder), info["loop"]))
    return sorted(out)


async def p3_tcp_client(url: str, received: dict[int, codec.PassingRecord], stats: dict, stop: asyncio.Event):
    """Connect, keep reconnecting after a drop, and RESEND everything after the last number seen."""
    host, port = url.removeprefix("p3tcp://").rsplit(":", 1)
    last = None
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, int(port))
        except OSError:
            stats["refused"] = stats.get("refused", 0) + 1
            await asyncio.sleep(0.02)
            continue
        stats["connects"] = stats.get("connects", 0) + 1
        if last is not None:
            writer.write(codec.encode(codec.resend_request(last + 1, last + 100_000)))
        dec = codec.P3StreamDecoder()
        try:
            while chunk := await reader.read(65536):
                for rec in dec.feed(chunk):
                    if isinstance(rec, codec.PassingRecord):
                        if rec.passing_number in received:
                            stats["dup"] = stats.get("dup", 0) + 1
                        received[rec.passing_number] = rec
                        if last is not None and rec.passing_number > last + 1:
                            writer.write(codec.encode(codec.resend_request(last + 1, rec.passing_number - 1)))
                        last = max(last or 0, rec.passing_number)
                    elif isinstance(rec, codec.StatusRecord):
                        stats["status"] = stats.get("status", 0) + 1
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
        await asyncio.sleep(0.01)


async def run_tcp(race: model.Race, speed: float) -> tuple[list[dict], dict, dict, dict]:
    infos: list[dict] = []
    received: dict[str, dict[int, codec.PassingRecord]] = {}
    stats: dict[str, dict] = {}
    stop = asyncio.Event()
    tasks = []

    def announce(info: dict) -> None:
        infos.append(info)
        received[info["decoder_id"]] = {}
        stats[info["decoder_id"]] = {}
        tasks.append(
            asyncio.create_task(
                p3_tcp_client(info["url"], received[info["decoder_id"]], stats[info["decoder_id"]], stop)
            )
        )

    result = await play(
        race,
        ["p3tcp://127.0.0.1:0"],
        speed=speed,
        announce=announce,
        wait_clients_s=2.0,
        linger_s=0.4,
        status_every_s=0.2,
    )
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)
    return infos, received, stats, result


async def test_p3_tcp_playback_equals_the_scenario():
    race = small_race()
    t0 = time.monotonic()
    infos, received, stats, result = await run_tcp(race, speed=300)
    assert time.monotonic() - t0 < 10
    assert {i["loop"] for i in infos} == {"finish", "pit_in", "pit_out"}
    assert len({i["decoder_id"] for i in infos}) == 3 and len({i["url"] for i in infos}) == 3
    assert to_scenario(received, infos) == scenario_passings(race)
    for info in infos:
        nums = sorted(received[info["decoder_id"]])
        assert nums == list(range(nums[0], nums[0] + len(nums)))  # numbered one by one per decoder
        assert all(r.decoder_id == info["decoder_id"] for r in received[info["decoder_id"]].values())
        assert stats[info["decoder_id"]].get("status", 0) >= 1
        assert result[info["decoder_id"]]["resent"] == 0


async def test_p3_tcp_dropout_is_recovered_by_resend():
    race = with_outages(small_race())
    assert len(race.outages) == 2
    infos, received, stats, result = await run_tcp(race, speed=300)
    assert to_scenario(received, infos) == scenario_passings(race)
    down = {model.DECODER_IDS[d] for d, _, _ in race.outages}
    lost_live = sum(r["passings"] - r["sent"] for r in result.values())
    assert lost_live > 0  # the outages really swallowed passings...
    assert sum(result[d]["resent"] for d in down) >= lost_live  # ...and RESEND brought them back
    assert all(stats[d]["connects"] >= 2 for d in down)


def _open_pty_reader(path: str) -> int:
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    return fd


async def test_p3_serial_pty_playback_equals_the_scenario_and_answers_resend():
    race = small_race()
    loop = asyncio.get_running_loop()
    infos: list[dict] = []
    received: dict[str, dict[int, codec.PassingRecord]] = {}
    fds: dict[str, int] = {}
    resent: dict[str, int] = {}

    def announce(info: dict) -> None:
        path = info["url"].removeprefix("serial://")
        assert os.path.exists(path) and path.startswith("/dev/pts/")
        infos.append(info)
        dec_id = info["decoder_id"]
        received[dec_id] = {}
        fd = fds[dec_id] = _open_pty_reader(path)
        dec = codec.P3StreamDecoder()

        def on_readable() -> None:
            with contextlib.suppress(BlockingIOError, OSError):
                for rec in dec.feed(os.read(fd, 65536)):
                    if isinstance(rec, codec.PassingRecord):
                        if rec.passing_number in received[dec_id]:
                            resent[dec_id] = resent.get(dec_id, 0) + 1
                        received[dec_id][rec.passing_number] = rec

        loop.add_reader(fd, on_readable)

    async def ask_resend() -> None:  # half way through, ask the finish decoder for its first 3 passings
        while not received or not all(len(r) >= 3 for r in received.values()):
            await asyncio.sleep(0.01)
        dec_id = infos[0]["decoder_id"]
        first = min(received[dec_id])
        os.write(fds[dec_id], codec.encode(codec.resend_request(first, first + 2)))

    asker = asyncio.create_task(ask_resend())
    try:
        await play(race, ["serial"], speed=300, announce=announce, linger_s=0.3, status_every_s=0.2)
    finally:
        asker.cancel()
        for fd in fds.values():
            loop.remove_reader(fd)
            os.close(fd)
    assert to_scenario(received, infos) == scenario_passings(race)
    assert resent.get(infos[0]["decoder_id"]) == 3


# --------------------------------------------------------------------------- MQTT


@pytest.mark.mqtt
async def test_mqtt_playback_equals_the_scenario(mosquitto):  # noqa: F811 (fixture)
    import aiomqtt

    race = small_race()
    got: list[tuple[str, dict]] = []
    infos: list[dict] = []
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as client:
        await client.subscribe("track1/#", qos=1)

        async def rx() -> None:
            async for m in client.messages:
                got.append((str(m.topic), json.loads(m.payload)))

        task = asyncio.create_task(rx())
        await play(
            race,
            [f"mqtt://127.0.0.1:{mosquitto.port}/track1"],
            speed=300,
            announce=infos.append,
            linger_s=0.3,
            status_every_s=0.2,
        )
        await asyncio.sleep(0.2)
        task.cancel()
    base = {i["decoder_id"]: i["rtc_base_us"] for i in infos}
    passings = []
    statuses = 0
    for topic, payload in got:
        _, _, dec, what = topic.split("/")
        if what == "status":
            statuses += 1
            continue
        assert set(payload) == {"transponder", "rtc_time_us", "passing_number", "strength", "hits", "loop"}
        passings.append(((payload["rtc_time_us"] - base[dec]) / 1e6, payload["transponder"], payload["loop"]))
    assert sorted(passings) == scenario_passings(race)
    assert statuses >= 1


async def test_cli_play_announces_decoders_and_serves_p3(tmp_path):
    """`python -m simulator --play p3tcp://...`: JSON announce lines, then a decoder that serves P3."""
    out = tmp_path / "race.jsonl"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        "--preset",
        "generic-laps",
        "--cars",
        "4",
        "--laps",
        "3",
        "--seed",
        "9",
        "--out",
        str(out),
        "--play",
        "p3tcp://127.0.0.1:0",
        "--speed",
        "300",
        "--wait-clients",
        "5",
        "--linger",
        "0.3",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        info = json.loads(await asyncio.wait_for(proc.stdout.readline(), 10))
        received: dict[int, codec.PassingRecord] = {}
        stop = asyncio.Event()
        client = asyncio.create_task(p3_tcp_client(info["url"], received, {}, stop))
        assert await asyncio.wait_for(proc.wait(), 20) == 0
        stop.set()
        await asyncio.wait_for(client, 5)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert info["loop"] == "finish" and info["rtc_base_us"] == 1_767_225_600_000_000
    want = sorted(
        (o["t"], o["transponder"])
        for o in map(json.loads, out.read_text().splitlines()[2:])
        if o["type"] == "passing"
    )
    got = sorted(((r.rtc_time_us - info["rtc_base_us"]) / 1e6, str(r.transponder)) for r in received.values())
    assert got == want and len(got) >= 12


async def test_backup_finish_decoder_has_its_own_id_and_clock():
    race = small_race(second_finish_decoder=1.0, clock_offset_s=3.217)
    infos, received, _, _ = await run_tcp(race, speed=300)
    bases = {i["decoder_id"]: i["rtc_base_us"] for i in infos}
    main, backup = model.DECODER_IDS["finish"], model.DECODER_IDS["finish-b"]
    assert bases[backup] - bases[main] == 3_217_000
    assert {i["loop"] for i in infos if i["decoder_id"] == backup} == {"finish"}
    assert to_scenario(received, infos) == scenario_passings(race)  # each clock mapped by its own offset
    assert len(received[backup]) == len(received[main])
