"""A TCP connection on 127.0.0.1 that a test can cut and restore: the cable between two laptops, or a
venue's uplink to the cloud."""

from __future__ import annotations

import asyncio
import contextlib

from service.embedded_broker import free_port


class CutProxy:
    """127.0.0.1:port -> 127.0.0.1:target, byte for byte. `cut()` drops every connection and refuses
    new ones (connection refused, as when the cable is pulled); `restore()` listens again."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.pipes: set[asyncio.StreamWriter] = set()
        self.tasks: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def restore(self) -> CutProxy:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port, reuse_address=True)
        return self

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            return
        self.pipes |= {writer, up_w}
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
        try:
            await asyncio.gather(self._pipe(reader, up_w), self._pipe(up_r, writer))
        finally:
            for w in (writer, up_w):
                self.pipes.discard(w)
                w.close()
            if task is not None:
                self.tasks.discard(task)

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        with contextlib.suppress(ConnectionError, OSError):
            dst.close()

    async def cut(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for w in list(self.pipes):
            w.close()
        self.pipes.clear()

    async def stop(self) -> None:
        await self.cut()
        for t in list(self.tasks):
            t.cancel()
            with contextlib.suppress(BaseException):
                await t
