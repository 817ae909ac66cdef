"""Helpers of the Protime, Race Result and Wiclax transport tests: a hand-driven text decoder on
127.0.0.1 (it collects the lines the client sends, sends what the test says, can cut the link),
a source running for the length of a `with`, and a bounded wait."""

from __future__ import annotations

import asyncio
import contextlib


async def until(cond, timeout: float = 5.0) -> None:
    """Wait for `cond()`: bounded, never a timed assertion."""
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.005)


@contextlib.asynccontextmanager
async def running(source, logged: dict | None = None):
    """`source` running (resuming from `logged` numbers when given); yields the passings it hands over."""
    got = []
    if logged is not None:
        source.resume_from(lambda d: logged.get(d, []))
    task = asyncio.create_task(source.run(got.append))
    try:
        yield got
    finally:
        source.stop()
        await asyncio.wait_for(task, 3)


class TextDecoder:
    def __init__(self, sep: bytes = b"\n") -> None:
        self.sep = sep
        self.lines: list[str] = []  # every line the client sent, in order
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.port = 0
        self.connections = 0
        self.answer = None  # optional callable(line) -> bytes, run for each client line
        self.tasks: set[asyncio.Task] = set()

    async def __aenter__(self) -> TextDecoder:
        await self.come_up()
        return self

    async def __aexit__(self, *exc) -> None:
        self.go_down()
        for t in list(self.tasks):
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def come_up(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)
        self.port = self.server.sockets[0].getsockname()[1]

    def go_down(self) -> None:
        """The decoder's network goes away: connections cut, new ones refused."""
        if self.server is not None:
            self.server.close()
            self.server = None
        for w in self.writers:
            w.close()
        self.writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        self.tasks.add(asyncio.current_task())
        buf = b""
        try:
            while chunk := await reader.read(4096):
                buf += chunk.replace(b"\r\n", self.sep).replace(b"\r", self.sep)
                *lines, buf = buf.split(self.sep)
                for raw in lines:
                    line = raw.decode("latin-1")
                    self.lines.append(line)
                    if self.answer is not None and (out := self.answer(line)):
                        writer.write(out)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(ValueError):
                self.writers.remove(writer)
            writer.close()
            self.tasks.discard(asyncio.current_task())

    def send(self, data: bytes) -> None:
        for w in self.writers:
            w.write(data)

    async def wait_line(self, pred, timeout: float = 5.0, start: int = 0) -> str:
        """The first line from index `start` on for which `pred(line)` holds."""
        async with asyncio.timeout(timeout):
            while True:
                for line in self.lines[start:]:
                    if pred(line):
                        return line
                await asyncio.sleep(0.01)
