"""Simulated P3 decoders over TCP: one listening port per decoder, like a real decoder on 5403.

`p3tcp://127.0.0.1:5403` puts the first decoder (finish) on 5403, the next on 5404, and so on;
port 0 picks free ports. During an outage the decoder stops listening and drops its clients
(connection refused, as when the decoder's network goes away); passings read meanwhile only
reach a client that asks for them with RESEND after reconnecting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urlsplit

from simulator.emit.base import Feed, SimPassing, Target
from simulator.emit.p3frames import RequestHandler, passing_frame, status_frame

log = logging.getLogger("boucle.simulator.p3tcp")


class P3TcpTarget(Target):
    def __init__(self, url: str) -> None:
        u = urlsplit(url)
        if not u.hostname:
            raise ValueError(f"{url!r}: expected p3tcp://HOST:PORT")
        self.url = url
        self.host = u.hostname
        self.first_port = u.port if u.port is not None else 5403
        self.ports: dict[str, int] = {}
        self.servers: dict[str, asyncio.base_events.Server] = {}
        self.writers: dict[str, set[asyncio.StreamWriter]] = {}
        self.tasks: set[asyncio.Task] = set()

    async def start(self, feeds: list[Feed]) -> list[dict]:
        infos = []
        for i, f in enumerate(feeds):
            port = 0 if self.first_port == 0 else self.first_port + i
            self.writers[f.key] = set()
            await self._listen(f, port)
            infos.append(
                {
                    "decoder_id": f.decoder_id,
                    "loop": f.loop,
                    "rtc_base_us": f.rtc_base_us,
                    "url": f"p3tcp://{self.host}:{self.ports[f.key]}",
                    "passings": len(f.passings),
                }
            )
        return infos

    async def _listen(self, f: Feed, port: int) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            if not f.online:
                writer.close()
                return
            self.writers[f.key].add(writer)
            task = asyncio.current_task()
            if task:
                self.tasks.add(task)
            req = RequestHandler(f)
            try:
                while True:
                    chunk = await reader.read(4096)
                    if not chunk:
                        break
                    for frame in req.feed_bytes(chunk):
                        writer.write(frame)
                    await writer.drain()
            except (ConnectionError, OSError, asyncio.CancelledError):
                pass  # client gone, or the simulator stopping: end this connection quietly
            finally:
                self.writers[f.key].discard(writer)
                writer.close()
                if task:
                    self.tasks.discard(task)

        server = await asyncio.start_server(handle, self.host, port, reuse_address=True)
        self.servers[f.key] = server
        self.ports[f.key] = server.sockets[0].getsockname()[1]

    def clients(self, feed: Feed) -> int:
        return len(self.writers.get(feed.key, ()))

    def _send(self, f: Feed, frame: bytes) -> None:
        for w in list(self.writers.get(f.key, ())):
            if w.is_closing():
                self.writers[f.key].discard(w)
                continue
            w.write(frame)

    async def passing(self, feed: Feed, p: SimPassing) -> None:
        self._send(feed, passing_frame(feed, p))

    async def status(self, feed: Feed) -> None:
        self._send(feed, status_frame(feed))

    async def down(self, feed: Feed) -> None:
        server = self.servers.pop(feed.key, None)
        if server:
            server.close()
        for w in list(self.writers.get(feed.key, ())):
            w.close()
        self.writers[feed.key].clear()

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
        for ws in self.writers.values():
            for w in ws:
                w.close()
        for t in list(self.tasks):
            t.cancel()
        for t in list(self.tasks):
            with contextlib.suppress(BaseException):
                await t
