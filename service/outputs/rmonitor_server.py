"""The RMonitor TCP server: every scoreboard client gets a full refresh, then live records.

One board per server, diffed once per change of the session and encoded once for all clients.
A slow client never slows the service: each client has a bounded queue; when it is full the
client's backlog is dropped and it gets a fresh full refresh once it reads again.
The session streamed is the one named by `--session`, else the newest open one (re-checked
every second, so a session created later is picked up and announced with a refresh).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from datetime import datetime
from typing import Any

from service.outputs import rmonitor
from service.sessions.live import Applied, LiveSession

log = logging.getLogger(__name__)

CLIENT_QUEUE = 256  # chunks queued for one client before it is dropped back to a full refresh
HEARTBEAT_S = 1.0


def parse_address(spec: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """`[HOST:]PORT` -> (host, port); ValueError with a readable reason."""
    host, _, port = str(spec).partition("?")[0].rpartition(":")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--rmonitor expects [HOST:]PORT, got {spec!r}")
    return (host.strip("[]") or default_host), int(port)


class Client:
    def __init__(self, server: RMonitorServer, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.writer = writer
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=server.queue_max)
        self.needs_refresh = False
        self.peer = writer.get_extra_info("peername")

    def offer(self, data: bytes) -> None:
        if self.needs_refresh:
            return
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:  # fallen behind: forget its backlog, send a refresh when it reads again
            self.server.stats["resyncs"] += 1
            log.info("rmonitor client %s fell behind: resynchronised with a full refresh", self.peer)
            self.needs_refresh = True
            _drain(self.queue)
            self.queue.put_nowait(b"")

    def close(self) -> None:
        _drain(self.queue)
        self.queue.put_nowait(None)


def feed_encoding(spec: str) -> str:
    """The text encoding a feed spec names (`HOST:PORT?encoding=cp1252`), UTF-8 by default."""
    query = str(spec).partition("?")[2]
    enc = query.removeprefix("encoding=").lower() if query else "utf-8"
    if enc not in rmonitor.ENCODINGS:
        raise ValueError(f"--rmonitor-encoding expects {' or '.join(rmonitor.ENCODINGS)}, got {enc!r}")
    return enc


class RMonitorServer:
    def __init__(
        self,
        manager: Any,
        host: str,
        port: int,
        session_id: str | None = None,
        queue_max: int = CLIENT_QUEUE,
        heartbeat_s: float = HEARTBEAT_S,
        sndbuf: int | None = None,
        write_limit: int | None = None,
        encoding: str = "utf-8",
    ) -> None:
        self.manager = manager
        self.encoding = encoding
        self.host, self.port = host, port
        self.session_id = session_id
        self.queue_max = queue_max
        self.heartbeat_s = heartbeat_s
        self.sndbuf, self.write_limit = (
            sndbuf,
            write_limit,
        )  # smaller buffers: a stalled client is seen sooner
        self.clients: set[Client] = set()
        self.session: LiveSession | None = None
        self.board: rmonitor.Board | None = None
        self.stats = {"connections": 0, "resyncs": 0, "records": 0}
        self._server: asyncio.Server | None = None
        self._ticker: asyncio.Task | None = None
        self._pending = False
        self._handlers: set[asyncio.Task] = set()
        self._runs: dict[str, int] = {}  # session id -> $B run number, in the order streamed

    # -- life cycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]  # port 0: the one the system picked
        self._ticker = asyncio.create_task(self._tick(), name="rmonitor heartbeat")
        if self.session_id and self.session_id not in self.manager.sessions:
            log.warning(
                "RMonitor: no session %r (yet); scoreboards get only $I until it exists", self.session_id
            )
        self._follow()
        log.info("RMonitor feed on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
        if self._server is not None:
            self._server.close()
        for c in list(self.clients):
            c.close()
            c.writer.close()
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=5)
        self._detach()

    def describe(self) -> dict[str, Any]:
        self._follow()
        return {
            "host": self.host,
            "port": self.port,
            "session": self.session.id if self.session else None,
            "clients": len(self.clients),
            "encoding": self.encoding,
            **self.stats,
        }

    # -- which session ---------------------------------------------------------------------------
    def target(self) -> LiveSession | None:
        sessions = self.manager.sessions
        if self.session_id:
            return sessions.get(self.session_id)
        open_ = [s for s in sessions.values() if not s.engine.closed] or list(sessions.values())
        # ids start with the creation second; within one second, the later created (dict order) wins
        newest = max(enumerate(open_), key=lambda p: (p[1].id[:15], p[0]), default=None)
        return newest[1] if newest else None

    def _follow(self) -> None:
        """Stream the target session; a change of session is a full refresh for every client."""
        target = self.target()
        if target is self.session:
            return
        self._detach()
        self.session = target
        self.board = None
        if target is not None:
            target.listeners.append(self._on_change)
        for c in self.clients:
            c.offer(self._refresh_bytes())

    def _detach(self) -> None:
        if self.session is not None and self._on_change in self.session.listeners:
            self.session.listeners.remove(self._on_change)

    # -- records ---------------------------------------------------------------------------------
    def _build(self) -> rmonitor.Board:
        s = self.session
        assert s is not None
        hub = self.manager.hubs.get(s.id)
        rows = hub.rows() if hub is not None else s.rows()  # the hub caches rows per engine change
        run_no = self._runs.setdefault(s.id, len(self._runs) + 1)  # stable while the server runs
        return rmonitor.build_board(s.engine, rows, s.name, run_no)

    def _refresh_bytes(self) -> bytes:
        if self.session is None:
            return rmonitor.encode([rmonitor.init_record(datetime.now())], self.encoding)
        if self.board is None:
            self.board = self._build()
        recs = rmonitor.refresh(self.board, datetime.now())
        self.stats["records"] += len(recs)
        return rmonitor.encode(recs, self.encoding)

    def _on_change(self, applied: list[Applied]) -> None:
        """A session listener: one flush per turn of the event loop, whatever the number of changes."""
        if not self.clients:
            self.board = None  # nobody to diff for: rebuilt when a scoreboard connects
            return
        if self._pending:
            return
        try:
            asyncio.get_running_loop().call_soon(self._flush)
            self._pending = True
        except RuntimeError:  # no loop (start-up replay): nothing to push
            pass

    def _flush(self) -> None:
        """Diff the board once for everyone; one encoded chunk for all clients."""
        self._pending = False
        if self.session is None or not self.clients:
            return
        new = self._build()
        old, self.board = self.board, new
        recs = (
            rmonitor.refresh(new, datetime.now())
            if old is None or old.run != new.run
            else rmonitor.changes(old, new)
        )
        if recs:
            self._broadcast(recs)

    def _broadcast(self, recs: list[str]) -> None:
        data = rmonitor.encode(recs, self.encoding)
        self.stats["records"] += len(recs)
        for c in tuple(self.clients):
            c.offer(data)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            try:
                self._follow()
                if self.clients and self.session is not None:
                    if self._pending:
                        self._flush()
                    self._broadcast([rmonitor.heartbeat(self.session.header(), datetime.now())])
            except Exception:  # noqa: BLE001 - the heartbeat must survive one bad tick
                log.exception("rmonitor heartbeat failed")

    # -- one client ------------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = Client(self, writer)
        self.stats["connections"] += 1
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        sock = writer.get_extra_info("socket")
        if self.sndbuf and sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.sndbuf)
        if self.write_limit:
            writer.transport.set_write_buffer_limits(high=self.write_limit)
        self._follow()
        if self._pending:
            self._flush()  # earlier changes go to the others first: the refresh includes them
        client.queue.put_nowait(self._refresh_bytes())
        if self.session is not None:
            client.queue.put_nowait(
                rmonitor.encode([rmonitor.heartbeat(self.session.header(), datetime.now())], self.encoding)
            )
        self.clients.add(client)
        log.info("rmonitor client %s connected (%d)", client.peer, len(self.clients))
        watch = asyncio.create_task(self._watch_eof(reader, client))
        try:
            while True:
                data = await client.queue.get()
                if data is None:
                    break
                if client.needs_refresh:
                    client.needs_refresh = False
                    data = self._refresh_bytes()
                if data:
                    writer.write(data)
                    await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self.clients.discard(client)
            watch.cancel()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            log.info("rmonitor client %s left", client.peer)

    @staticmethod
    async def _watch_eof(reader: asyncio.StreamReader, client: Client) -> None:
        """Scoreboards send nothing; reading only tells us when they hang up."""
        with contextlib.suppress(Exception):
            while await reader.read(4096):
                pass
        client.close()


def _drain(q: asyncio.Queue) -> None:
    while not q.empty():
        q.get_nowait()


async def start_rmonitor(app: Any, mgr: Any, spec: str, session_id: str | None) -> RMonitorServer:
    """Open the scoreboard feed on `[HOST:]PORT[?encoding=cp1252]` (the app's `rmonitor` option) and keep it
    on `app.state`."""
    host, port = parse_address(spec)
    server = RMonitorServer(mgr, host, port, session_id, encoding=feed_encoding(spec))
    await server.start()
    app.state.rmonitor = server
    return server
