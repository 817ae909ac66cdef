"""Simulated P3 decoders over TCP: one listening port per decoder, like a real decoder on 5403.

`p3tcp://127.0.0.1:5403` puts the first decoder (finish) on 5403, the next on 5404, and so on;
port 0 picks free ports. During an outage the decoder stops listening and drops its clients
(connection refused, as when the decoder's network goes away); passings read meanwhile only
reach a client that asks for them with RESEND after reconnecting. The listening, the clients and
the link cuts are the TCP decoders' (tcpdevices.py); P3 takes no `corrupt`/`seed` options.
"""

from __future__ import annotations

import random

from simulator.emit.base import Feed, SimPassing
from simulator.emit.p3frames import RequestHandler, passing_frame, status_frame
from simulator.emit.tcpdevices import Device, TcpDevicesTarget


class P3Device(Device):
    """One client of a simulated P3 decoder: its requests answered (RESEND, GET_TIME...)."""

    def __init__(self, target: TcpDevicesTarget, feed: Feed) -> None:
        super().__init__(target, feed)
        self.requests = RequestHandler(feed)

    def on_bytes(self, data: bytes) -> bytes:
        return b"".join(self.requests.feed_bytes(data))


class P3TcpTarget(TcpDevicesTarget):
    scheme = "p3tcp"
    default_port = 5403

    def faults(self, url: str) -> tuple[random.Random, float]:
        return random.Random(0), 0.0  # no fault options: the URL's query is not read

    def device(self, feed: Feed) -> Device:
        return P3Device(self, feed)

    # the same frame for every client of a decoder: encoded once
    async def passing(self, feed: Feed, p: SimPassing) -> None:
        frame = passing_frame(feed, p)
        self._each(feed, lambda _: frame)

    async def status(self, feed: Feed) -> None:
        frame = status_frame(feed)
        self._each(feed, lambda _: frame)
