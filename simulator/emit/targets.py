"""Playback targets by URL scheme: P3 over TCP, P3 on a pty pair, MQTT JSON, Protime (pty, UDP),
Race Result and Wiclax (TCP).

Each target module is imported when its scheme is played (aiomqtt loads only for mqtt://), as
decoders/sources.py opens the decoder side.
"""

from __future__ import annotations

import re

from simulator.emit.base import Target


def make_target(url: str) -> Target:
    """The target for a `--play` URL; ValueError for a scheme nobody plays."""
    scheme = re.split(r"[:?]", url, maxsplit=1)[0].lower()  # `protime?corrupt=0.1`: a pty with options
    if scheme == "p3tcp":
        from simulator.emit.p3tcp import P3TcpTarget

        return P3TcpTarget(url)
    if scheme == "serial":
        from simulator.emit.serial import SerialTarget

        return SerialTarget(url)
    if scheme in ("mqtt", "mqtts"):
        from simulator.emit.mqtt import MqttTarget

        return MqttTarget(url)
    if scheme in ("protime", "protime+udp"):
        from simulator.emit.protime import ProtimePtyTarget, ProtimeUdpTarget

        return ProtimeUdpTarget(url) if scheme == "protime+udp" else ProtimePtyTarget(url)
    if scheme == "rrs":
        from simulator.emit.rrs import RrsTarget

        return RrsTarget(url)
    if scheme == "wiclax":
        from simulator.emit.wiclax import WiclaxTarget

        return WiclaxTarget(url)
    raise ValueError(
        f"unknown playback target {url!r}: use p3tcp://HOST:PORT, serial, mqtt://HOST:PORT/PREFIX, "
        "protime, protime+udp://HOST:PORT, rrs://HOST:PORT or wiclax://HOST:PORT"
    )
