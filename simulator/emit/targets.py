"""Playback targets by URL scheme: P3 over TCP, P3 on a pty pair, MQTT JSON."""

from __future__ import annotations

from simulator.emit.base import Target
from simulator.emit.mqtt import MqttTarget
from simulator.emit.p3tcp import P3TcpTarget
from simulator.emit.serial import SerialTarget

TARGETS: dict[str, type[Target]] = {
    "p3tcp": P3TcpTarget, "serial": SerialTarget, "mqtt": MqttTarget, "mqtts": MqttTarget,
}


def make_target(url: str) -> Target:
    """The target for a `--play` URL; ValueError for a scheme nobody plays."""
    cls = TARGETS.get(url.split(":", 1)[0].lower())
    if cls is None:
        raise ValueError(f"unknown playback target {url!r}: use p3tcp://HOST:PORT, serial or mqtt://HOST:PORT/PREFIX")
    return cls(url)
