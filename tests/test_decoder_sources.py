"""Decoder URLs: what `open_source` accepts and how `--decoder URL=loop` splits."""

from __future__ import annotations

import pytest

from decoders.mqtt import MqttSource
from decoders.p3.transport import P3SerialSource, P3TcpSource
from decoders.sources import open_source, split_decoder_spec


def test_p3tcp_default_port_and_options():
    s = open_source("p3tcp://10.0.0.5")
    assert isinstance(s, P3TcpSource) and (s.host, s.port) == ("10.0.0.5", 5403)
    s = open_source("p3tcp://decoder.local:6000?idle=5&get_time=1&retry_max=3")
    assert (s.port, s.idle, s.get_time, s.retry_max) == (6000, 5.0, True, 3.0)
    assert s.status.source == "p3tcp://decoder.local:6000?idle=5&get_time=1&retry_max=3"
    assert s.status.state == "disconnected"


def test_serial_device_and_line_settings():
    s = open_source("serial:///dev/ttyUSB0")
    assert isinstance(s, P3SerialSource)
    assert (s.device, s.baud, s.bytesize, s.parity, s.stopbits) == ("/dev/ttyUSB0", 115200, 8, "N", 1)
    s = open_source("serial:///dev/ttyS1?baud=9600&parity=e&stopbits=2")
    assert (s.device, s.baud, s.parity, s.stopbits) == ("/dev/ttyS1", 9600, "E", 2)


def test_mqtt_prefix_and_credentials():
    s = open_source("mqtt://user:p%40ss@broker:1884/boucle/track1")
    assert isinstance(s, MqttSource)
    assert (s.host, s.port, s.prefix, s.username, s.password) == (
        "broker",
        1884,
        "boucle/track1",
        "user",
        "p@ss",
    )
    assert s.topics == ("boucle/track1/decoder/+/passing", "boucle/track1/decoder/+/status")
    assert open_source("mqtt://broker/x").port == 1883


@pytest.mark.parametrize(
    "url",
    [
        "http://x",
        "p3tcp://",
        "p3tcp://h?bogus=1",
        "p3tcp://h?idle=soon",
        "mqtt://broker",
        "mqtt:///prefix",
        "serial://",
    ],
)
def test_bad_urls_are_clear_errors(url):
    with pytest.raises(ValueError, match="expected|unknown|not a"):
        open_source(url)


@pytest.mark.parametrize(
    "spec,expected",
    [
        ("p3tcp://h:5403=finish", ("p3tcp://h:5403", "finish")),
        ("serial:///dev/ttyUSB0=pit_in", ("serial:///dev/ttyUSB0", "pit_in")),
        ("serial:///dev/ttyUSB0?baud=9600=pit_out", ("serial:///dev/ttyUSB0?baud=9600", "pit_out")),
        ("serial:///dev/ttyUSB0?parity=N", ("serial:///dev/ttyUSB0?parity=N", None)),
        ("serial:///dev/ttyUSB0?baud=9600", ("serial:///dev/ttyUSB0?baud=9600", None)),
        ("mqtt://h:1883/boucle/track1", ("mqtt://h:1883/boucle/track1", None)),
    ],
)
def test_split_decoder_spec(spec, expected):
    assert split_decoder_spec(spec) == expected


def test_the_new_schemes_and_their_coded_refusals():
    import json
    from pathlib import Path

    from decoders.errors import _ENGLISH
    from decoders.protime.transport import ProtimeSerialSource, ProtimeUdpSource
    from decoders.rrs.transport import RrsSource
    from decoders.wiclax.transport import WiclaxSource

    s = open_source("protime:///dev/ttyUSB1?baud=9600&loops=B01:pit_in,STA:finish&photocell=254")
    assert isinstance(s, ProtimeSerialSource) and (s.device, s.baud, s.photocell) == (
        "/dev/ttyUSB1",
        9600,
        254,
    )
    assert [s.loops.loop(c) for c in ("STA", "BOX", "B01", "B02", "MAN")] == [
        "finish",
        "pit_in",
        "pit_in",
        "-",
        "-",
    ]
    u = open_source("protime+udp://10.0.0.7")
    assert isinstance(u, ProtimeUdpSource) and (u.host, u.port, u.listen) == ("10.0.0.7", 2008, 2008)
    assert isinstance(open_source("rrs://h"), RrsSource) and open_source("rrs://h").port == 3601
    assert isinstance(open_source("wiclax://h:7000"), WiclaxSource)
    catalogue = json.loads((Path(__file__).parents[1] / "web/i18n/en.json").read_text())["_errors"]
    for url, code in [
        ("wiclax://h", "decoder.url_expected"),
        ("rrs://h?bogus=1", "decoder.url_unknown_option"),
        ("rrs://h?poll=soon", "decoder.url_not_number"),
        ("protime+udp://h?baud=1", "decoder.url_other_link"),
        ("protime:///dev/x?loops=STA:moon", "decoder.url_loops"),
        ("protime://", "decoder.url_expected"),
    ]:
        with pytest.raises(ValueError) as e:
            open_source(url)
        assert e.value.code == code and url in str(e.value) and e.value.params["url"] == url
        assert catalogue[code] == _ENGLISH[code]  # the same words for logs and for the pages


def test_a_decoder_url_refused_over_http_is_said_in_the_callers_language(tmp_path):
    from fastapi.testclient import TestClient

    from service.app import create_app

    with TestClient(create_app(tmp_path, "admin", synchronous="OFF")) as client:
        auth = {"Authorization": "Bearer admin"}
        sid = client.post(
            "/api/sessions", json={"name": "x", "preset": "generic-timed"}, headers=auth
        ).json()["id"]
        r = client.post(
            f"/api/sessions/{sid}/decoders?lang=fr", json={"url": "wiclax://10.0.0.3"}, headers=auth
        )
        assert r.status_code == 400 and r.json()["code"] == "decoder.url_expected"
        assert r.json()["detail"] == "wiclax://10.0.0.3 : attendu wiclax://HOST:PORT"
