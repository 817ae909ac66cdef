"""Shared by the hot-standby tests: a TCP proxy that can be cut (the cable between the two laptops),
and small readers of a service's log and node status over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from service.app import create_app
from service.connections import uvicorn_config
from service.embedded_broker import free_port
from tests.service_proc import LOCAL, TOKEN, wait  # noqa: F401  (the standby tests' wait)
from tests.web_helpers import LiveServer


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


async def log_lines(http: httpx.AsyncClient, base: str, sid: str) -> list[dict] | None:
    """The session's log as its export (None while the service does not answer)."""
    try:
        r = await http.get(f"{base}/api/sessions/{sid}/export.jsonl", timeout=10)
    except httpx.TransportError:
        return None
    if r.status_code != 200:
        return None
    return [json.loads(x) for x in r.text.splitlines() if x.strip()]


async def node_status(http: httpx.AsyncClient, base: str) -> dict | None:
    try:
        r = await http.get(f"{base}/api/standby", timeout=5)
    except httpx.TransportError:
        return None
    return r.json() if r.status_code == 200 else None


def reads_of(lines: list[dict]) -> list[tuple[str, int, int]]:
    """(decoder, epoch, passing number) of every logged read."""
    return [(x["decoder"], x.get("epoch", 1), x["passing_id"]) for x in lines if x["type"] == "passing"]


class PairServer(LiveServer):
    """`create_app` under uvicorn in a thread (web_helpers.LiveServer), on a port it keeps across
    restarts (peers find it again), for the quicker standby tests; the failover test runs processes."""

    def __init__(self, data: Path, port: int | None = None, token: str = TOKEN, **options: Any) -> None:
        self.data, self.port, self.token, self.options = data, port or free_port(), token, options
        self.base = self.url
        self.server: uvicorn.Server | None = None
        self.http = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=20)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> PairServer:
        self.app = create_app(self.data, self.token, synchronous="NORMAL", advertise=self.url,
                              allow_decoders=LOCAL, **self.options)  # fmt: skip
        self.server = uvicorn.Server(uvicorn_config(self.app, "127.0.0.1", self.port, None))
        self.thread = threading.Thread(target=self.server.run, name=f"boucle {self.port}", daemon=True)
        super().start()
        return self

    def stop(self) -> None:
        """Stop serving (the data stays; `start` again serves it on the same port)."""
        if self.server is not None:
            self.server.should_exit = True
            self.thread.join(timeout=15)
            self.server = None

    def status(self) -> dict:
        return self.http.get("/api/standby").json()

    def reads(self, sid: str) -> list[tuple[str, int, int]]:
        r = self.http.get(f"/api/sessions/{sid}/export.jsonl")
        assert r.status_code == 200, r.text
        return reads_of([json.loads(x) for x in r.text.splitlines() if x.strip()])

    def export(self, sid: str) -> str:
        return self.http.get(f"/api/sessions/{sid}/export.jsonl").text
