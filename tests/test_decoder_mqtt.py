"""JSON passings over MQTT against a real mosquitto broker (valid, malformed, broker restart)."""

from __future__ import annotations

import asyncio
import json

import aiomqtt
import pytest

from decoders.mqtt import MqttSource, parse_passing
from decoders.sources import open_source
from tests.mqtt_broker import mosquitto  # noqa: F401  (pytest fixture)

pytestmark = [pytest.mark.timeout(40), pytest.mark.mqtt]
PREFIX = "boucle/track1"


async def until(cond, timeout: float = 8.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.01)


def passing(transponder="1234", rtc=1_700_000_000_000_000, number=None, **kw) -> bytes:
    return json.dumps(
        {"transponder": transponder, "rtc_time_us": rtc, "passing_number": number, **kw}
    ).encode()


async def publish(broker, messages: list[tuple[str, bytes]]) -> None:
    async with aiomqtt.Client(broker.host, broker.port) as pub:
        for topic, payload in messages:
            await pub.publish(topic, payload, qos=1)


def source_for(broker) -> MqttSource:
    source = open_source(f"mqtt://{broker.host}:{broker.port}/{PREFIX}?retry_min=0.05&retry_max=0.3")
    assert isinstance(source, MqttSource)
    return source


async def test_valid_and_malformed_payloads(mosquitto):  # noqa: F811
    source = source_for(mosquitto)
    got = []
    task = asyncio.create_task(source.run(got.append))
    try:
        await until(lambda: source.status.state == "connected")
        t = f"{PREFIX}/decoder"
        await publish(
            mosquitto,
            [
                (f"{t}/finish1/passing", passing("1234", number=1, strength=120, hits=30, loop="finish")),
                (f"{t}/finish1/passing", passing(5678, rtc=1_700_000_000_500_000, number=2)),
                (
                    f"{t}/finish1/passing",
                    passing("1234", number=1, strength=120, hits=30, loop="finish"),
                ),  # dup
                (f"{t}/diy/passing", passing("FL-94890")),
                (f"{t}/diy/passing", passing("FL-94890")),  # dup without a number
                (f"{t}/diy/passing", b"{not json"),
                (f"{t}/diy/passing", b"[1, 2]"),
                (f"{t}/diy/passing", b"\xff\xfe"),
                (f"{t}/diy/passing", json.dumps({"transponder": "9"}).encode()),
                (f"{t}/diy/passing", json.dumps({"transponder": "9", "rtc_time_us": True}).encode()),
                (f"{t}/diy/passing", passing("")),
                (f"{t}/diy/passing", passing("9", loop=3)),
                (f"{t}//passing", passing("9")),
                (f"{t}/diy/status", b"null"),
                (
                    f"{t}/finish1/status",
                    json.dumps({"noise": 41, "temperature": 23, "rtc_time_us": 5}).encode(),
                ),
                (f"{t}/finish1/passing", passing("4321", rtc=1_700_000_001_000_000, number=3)),
            ],
        )
        await until(lambda: len(got) == 4 and source.status.noise == 41)
        assert [(p.decoder_id, p.transponder, p.passing_number, p.loop) for p in got] == [
            ("finish1", "1234", 1, "finish"),
            ("finish1", "5678", 2, None),
            ("diy", "FL-94890", None, None),
            ("finish1", "4321", 3, None),
        ]
        assert (got[0].strength, got[0].hits, got[0].rtc_time_us) == (120, 30, 1_700_000_000_000_000)
        assert got[0].source == source.url
        st = source.status
        assert st.rejected == {"topic": 1, "size": 0, "json": 4, "schema": 4, "error": 0}
        assert st.duplicates == 2 and st.passings == 4 and st.temperature == 23
        assert st.last_error and st.state == "connected"
    finally:
        source.stop()
        await asyncio.wait_for(task, 5)
    assert source.status.state == "stopped"


async def test_broker_restart_reconnects_by_itself(mosquitto):  # noqa: F811
    source = source_for(mosquitto)
    got = []
    task = asyncio.create_task(source.run(got.append))
    try:
        await until(lambda: source.status.state == "connected")
        await publish(mosquitto, [(f"{PREFIX}/decoder/d1/passing", passing(number=1))])
        await until(lambda: len(got) == 1)
        await asyncio.to_thread(mosquitto.stop)
        await until(lambda: source.status.state == "reconnecting")
        await asyncio.sleep(0.3)  # some failed attempts while the broker is away
        await asyncio.to_thread(mosquitto.start)
        await until(lambda: source.status.state == "connected" and source.status.reconnects == 1)
        await publish(
            mosquitto, [(f"{PREFIX}/decoder/d1/passing", passing(rtc=1_700_000_060_000_000, number=4))]
        )
        await until(lambda: len(got) == 2)
        assert got[1].passing_number == 4
        assert source.status.gaps_detected == 1 and source.status.passings_lost == 2
    finally:
        source.stop()
        await asyncio.wait_for(task, 5)


def test_payload_parser_without_broker():
    p = parse_passing("d", b'{"transponder": " 77 ", "rtc_time_us": 5, "hits": null, "extra": 1}', "u")
    assert (p.transponder, p.rtc_time_us, p.hits, p.source) == ("77", 5, None, "u")
    source = MqttSource("mqtt://h/x", "h", 1883, "x")
    source.handle_message("x/decoder/d/passing", None)
    source.handle_message("x/decoder/d/passing", 42)
    source.handle_message("y/decoder/d/passing", b"{}")
    assert source.status.rejected == {"topic": 1, "size": 0, "json": 2, "schema": 0, "error": 0}


async def test_client_id_keeps_passings_published_while_away(mosquitto):  # noqa: F811
    url = f"mqtt://{mosquitto.host}:{mosquitto.port}/{PREFIX}?client_id=boucle-test&retry_min=0.05"
    first = open_source(url)
    task = asyncio.create_task(first.run(lambda p: None))
    await until(lambda: first.status.state == "connected")
    first.stop()
    await asyncio.wait_for(task, 5)
    await publish(mosquitto, [(f"{PREFIX}/decoder/d1/passing", passing(number=n, rtc=n)) for n in (7, 8)])
    second = open_source(url)
    got = []
    task = asyncio.create_task(second.run(got.append))
    try:
        await until(lambda: len(got) == 2)
        assert [p.passing_number for p in got] == [7, 8]
    finally:
        second.stop()
        await asyncio.wait_for(task, 5)
