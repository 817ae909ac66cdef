"""A real mosquitto broker for tests, on a free 127.0.0.1 port, that can be stopped and restarted.

    with running_mosquitto() as broker:      # skips the test when mosquitto is not installed
                                             # (websockets=True adds a listener: broker.ws_url)
        ... broker.host, broker.port ...
        broker.stop(); broker.start()        # or broker.restart(): same port, clients reconnect

or use the `mosquitto` pytest fixture defined here (`from tests.mqtt_broker import mosquitto`).
The broker itself is service/embedded_broker.py (`boucle demo --publish` runs the same one).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from service.embedded_broker import MOSQUITTO, MosquittoBroker, free_port, mosquitto_path

__all__ = ["MOSQUITTO", "MosquittoBroker", "free_port", "mosquitto", "mosquitto_path", "running_mosquitto"]


@contextlib.contextmanager
def running_mosquitto(port: int | None = None, websockets: bool = False) -> Iterator[MosquittoBroker]:
    """A started broker for the block; the calling test is skipped if mosquitto is missing."""
    try:
        broker = MosquittoBroker(port, websockets=websockets)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    try:
        broker.start()
        yield broker
    finally:
        broker.close()


@pytest.fixture
def mosquitto() -> Iterator[MosquittoBroker]:
    """A fresh broker per test (start takes ~50 ms)."""
    with running_mosquitto() as broker:
        yield broker
