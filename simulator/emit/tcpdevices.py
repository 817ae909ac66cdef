"""Simulated decoders over TCP (P3, Race Result, Wiclax): one listening port per decoder.

`SCHEME://HOST:PORT` puts the first decoder on PORT, the next on PORT+1
(port 0: free ports); during a link cut the decoder stops listening and drops its clients, and
what it reads meanwhile is only in its memory (`Feed.history`), for the client to ask for again.
A protocol is a `Device` per client connection: what it answers to the client's bytes, what it
pushes when a passing is read, what it sends on the status tick. `corrupt=P` (faults.py) lets
the device damage a line it sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from urllib.parse import urlsplit

from simulator.emit.base import Feed, SimPassing, Target
from simulator.emit.faults import fault_options

log = logging.getLogger("boucle.simulator.tcp")


class Device:
    """One client connection to a simulated decoder."""

    def __init__(self, target: TcpDevicesTarget, feed: Feed) -> None:
        self.target, self.feed = target, feed

    def on_bytes(self, data: bytes) -> bytes:
        """The answers to what the client sent."""
        return b""

    def push(self, p: SimPassing) -> bytes:
        """What goes out when the decoder reads `p` live."""
        return b""

    def tick(self) -> bytes:
        """What goes out on the status tick (a heartbeat)."""
        return b""


class TcpDevicesTarget(Target):
    scheme = ""
    default_port = 0

    def __init__(self, url: str) -> None:
        u = urlsplit(url)
        if not u.hostname:
            raise ValueError(f"{url!r}: expected {self.scheme}://HOST:PORT")
        self.url, self.host = url, u.hostname
        self.first_port = u.port if u.port is not None else self.default_port
        self.rng, self.corrupt = self.faults(url)
        self.ports: dict[str, int] = {}
        self.servers: dict[str, asyncio.Server] = {}
        self.devices: dict[str, dict[asyncio.StreamWriter, Device]] = {}
        self.tasks: set[asyncio.Task] = set()

    def faults(self, url: str) -> tuple[random.Random, float]:
        """(fault stream, corrupt probability) from the URL's `corrupt=P&seed=S` (faults.py)."""
        return fault_options(url)

    def device(self, feed: Feed) -> Device:
        raise NotImplementedError

    def info(self, feed: Feed) -> dict:
        return {
            "decoder_id": feed.decoder_id,
            "loop": feed.loop,
            "rtc_base_us": feed.rtc_base_us,
            "url": f"{self.scheme}://{self.host}:{self.ports[feed.key]}",
            "passings": len(feed.passings),
        }

    async def start(self, feeds: list[Feed]) -> list[dict]:
        infos = []
        for i, f in enumerate(feeds):
            self.devices[f.key] = {}
            await self._listen(f, 0 if self.first_port == 0 else self.first_port + i)
            infos.append(self.info(f))
        return infos

    async def _listen(self, f: Feed, port: int) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            if not f.online:
                writer.close()
                return
            dev = self.device(f)
            self.devices[f.key][writer] = dev
            task = asyncio.current_task()
            if task:
                self.tasks.add(task)
            try:
                while chunk := await reader.read(4096):
                    if out := dev.on_bytes(chunk):
                        writer.write(out)
                    await writer.drain()
            except (ConnectionError, OSError, asyncio.CancelledError):
                pass  # client gone, or the simulator stopping
            finally:
                self.devices[f.key].pop(writer, None)
                writer.close()
                if task:
                    self.tasks.discard(task)

        server = await asyncio.start_server(handle, self.host, port, reuse_address=True)
        self.servers[f.key] = server
        self.ports[f.key] = server.sockets[0].getsockname()[1]

    def _each(self, feed: Feed, what) -> None:
        for w, dev in list(self.devices.get(feed.key, {}).items()):
            if w.is_closing():
                self.devices[feed.key].pop(w, None)
            elif out := what(dev):
                w.write(out)

    async def passing(self, feed: Feed, p: SimPassing) -> None:
        self._each(feed, lambda d: d.push(p))

    async def status(self, feed: Feed) -> None:
        self._each(feed, lambda d: d.tick())

    def clients(self, feed: Feed) -> int:
        return len(self.devices.get(feed.key, ()))

    async def down(self, feed: Feed) -> None:
        server = self.servers.pop(feed.key, None)
        if server:
            server.close()
        for w in list(self.devices.get(feed.key, {})):
            w.close()
        self.devices[feed.key].clear()

    async def up(self, feed: Feed) -> None:
        try:
            await self._listen(feed, self.ports[feed.key])
        except OSError as e:  # port taken meanwhile: this decoder stays unreachable, the others play on
            log.warning(
                "decoder %s cannot listen again on port %d: %s", feed.decoder_id, self.ports[feed.key], e
            )

    async def stop(self) -> None:
        for key in list(self.servers):
            self.servers.pop(key).close()
        for devs in self.devices.values():
            for w in devs:
                w.close()
        for t in list(self.tasks):
            t.cancel()
        for t in list(self.tasks):
            with contextlib.suppress(BaseException):
                await t
