"""Playback targets by URL scheme: P3 over TCP, P3 on a pty pair, MQTT JSON.

Each target module is imported when its scheme is played (aiomqtt loads only for mqtt://), as
decoders/sources.py opens the decoder side.
"""

from __future__ import annotations

from simulator.emit.base import Target


def make_target(url: str) -> Target:
    """The target for a `--play` URL; ValueError for a scheme nobody plays."""
    scheme = url.split(":", 1)[0].lower()
    if scheme == "p3tcp":
        from simulator.emit.p3tcp import P3TcpTarget

        return P3TcpTarget(url)
    if scheme == "serial":
        from simulator.emit.serial import SerialTarget

        return SerialTarget(url)
    if scheme in ("mqtt", "mqtts"):
        from simulator.emit.mqtt import MqttTarget

        return MqttTarget(url)
    raise ValueError(f"unknown playback target {url!r}: use p3tcp://HOST:PORT, serial or mqtt://HOST:PORT/PREFIX")
