"""The simulator's decoders read by the service's own sources (`decoders.sources.open_source`).

Whatever the transport (P3 over TCP, P3 on a pty, MQTT JSON), the passings a source hands to
the service, mapped back to the session clock with offset = rtc_base_us, equal the scenario's
passings; after link drop-outs the source's RESEND gets the missing ones back.
"""

from __future__ import annotations

import asyncio

import pytest

from decoders.passing import Passing
from decoders.sources import open_source
from simulator import model
from simulator.emit import play
from tests.mqtt_broker import running_mosquitto
from tests.sim_helpers import scenario_passings, small_race, with_outages

pytestmark = pytest.mark.timeout(60)
FAST = "retry_min=0.05&retry_max=0.2"


async def play_into_sources(
    race: model.Race, target: str, url_of, speed: float = 300.0, **kw
) -> tuple[list[dict], dict[str, list[Passing]], dict]:
    """Play `race` on `target`, with one source per announced decoder collecting passings."""
    infos: list[dict] = []
    got: dict[str, list[Passing]] = {}
    sources, tasks = [], []

    def announce(info: dict) -> None:
        infos.append(info)
        src = open_source(url_of(info))
        lst = got.setdefault(info["decoder_id"], [])
        sources.append(src)
        tasks.append(asyncio.create_task(src.run(lst.append)))

    try:
        result = await play(
            race, [target], speed=speed, announce=announce, linger_s=0.8, status_every_s=0.2, **kw
        )
    finally:
        for src in sources:
            src.stop()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)
    return infos, got, {"result": result, "sources": sources}


def on_session_clock(infos: list[dict], got: dict[str, list[Passing]]) -> list[tuple[float, str, str]]:
    out = []
    for info in infos:
        for p in got[info["decoder_id"]]:
            assert p.decoder_id == info["decoder_id"]
            out.append(((p.rtc_time_us - info["rtc_base_us"]) / 1e6, p.transponder, info["loop"]))
    return sorted(out)


async def test_p3_tcp_source_receives_the_scenario():
    race = small_race()
    infos, got, extra = await play_into_sources(
        race, "p3tcp://127.0.0.1:0", lambda i: f"{i['url']}?{FAST}", wait_clients_s=3.0
    )
    assert on_session_clock(infos, got) == scenario_passings(race)
    assert all(s.status.duplicates == 0 for s in extra["sources"])


async def test_p3_tcp_source_recovers_dropouts_by_resend():
    race = with_outages(small_race())
    infos, got, extra = await play_into_sources(
        race, "p3tcp://127.0.0.1:0", lambda i: f"{i['url']}?{FAST}", wait_clients_s=3.0
    )
    result = extra["result"]
    assert sum(r["passings"] - r["sent"] for r in result.values()) > 0  # passings were read while down
    assert on_session_clock(infos, got) == scenario_passings(race)
    assert sum(r["resent"] for r in result.values()) > 0
    assert sum(s.status.reconnects for s in extra["sources"]) >= 2


async def test_p3_serial_source_on_a_pty_receives_the_scenario():
    race = small_race()
    # the crew links the decoder before the start (pyserial empties the line's buffer on opening it:
    # what the decoder sent before is fetched only by the RESEND of a gap after a read)
    infos, got, _ = await play_into_sources(
        race, "serial", lambda i: f"{i['url']}?{FAST}", wait_clients_s=3.0
    )
    assert on_session_clock(infos, got) == scenario_passings(race)


@pytest.mark.mqtt
async def test_mqtt_source_receives_the_scenario():
    race = small_race()
    with running_mosquitto() as broker:
        url = f"mqtt://127.0.0.1:{broker.port}/track1"
        infos: list[dict] = []
        got: list[Passing] = []
        src = open_source(f"{url}?{FAST}")
        task = asyncio.create_task(src.run(got.append))
        for _ in range(250):  # subscribed before the race starts
            if src.status.state == "connected":
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        try:
            await play(race, [url], speed=300, announce=infos.append, linger_s=0.5, status_every_s=0.2)
        finally:
            src.stop()
            await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 5)
    by_dec: dict[str, list[Passing]] = {}
    for p in got:
        by_dec.setdefault(p.decoder_id, []).append(p)
    assert on_session_clock(infos, by_dec) == scenario_passings(race)
    assert {p.loop for p in got} == {"finish", "pit_in", "pit_out"}
