"""Connections the service accepts, and for how long it waits on them (uvicorn's protocols, bounded).

uvicorn times out an idle keep-alive connection, but not a request that arrives slowly: a client
that sends half a header line and then one byte a minute holds a socket and a file descriptor
forever (slowloris), and enough of them exhaust the process's file limit. ASGI middleware cannot
help, it runs once the request is complete. So the service runs uvicorn with its own protocol
classes (`Config(http=..., ws=...)`):

- a request's headers must arrive within `header_timeout` of its first byte (or of the
  connection), its body within `body_timeout` after them; past that the connection is closed;
- a client address holds at most `per_client` connections and the service `total` (HTTP and
  WebSocket alike, counted from accept to close); one more is answered 503 and closed at once;
- a WebSocket's kernel send buffer is bounded (`ws_send_buffer`), so a client that stops reading
  costs little before the hub drops it (service/hub.py, RAW_HIGH / STALL_S).

`uvicorn_config(app, ...)` is how `boucle serve`, the demo and the tests build their server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import socket
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

log = logging.getLogger("boucle.connections")

REFUSED = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 33\r\n"
    b"retry-after: 5\r\nconnection: close\r\n\r\ntoo many connections, retry later\n"
)
WS_MAX_MESSAGE = 64 * 1024  # bytes a client may send in one WebSocket message (requests are tiny JSON)
FD_MARGIN = 256  # file descriptors kept for session logs, decoder links, the broker...


@dataclass
class ConnectionLimits:
    """How many connections, and how long a request may take to arrive. 0: no limit (for `total`:
    the file limit, see `fit_file_limit`)."""

    per_client: int = 100  # a phone opens 2-6; a track's NAT may put a few dozen behind one address
    total: int = 4000
    header_timeout: float = 10.0
    body_timeout: float = 60.0  # 4 MB (MAX_BODY) over a poor mobile uplink
    ws_send_buffer: int = 128 * 1024  # bytes the kernel may hold for one WebSocket
    _by_client: dict[str, set[Any]] = field(default_factory=dict, repr=False)
    _count: int = 0
    refused: int = 0  # connections refused over a cap (since start)
    timed_out: int = 0  # requests that did not arrive in time

    def fit_file_limit(self) -> None:
        """Raise the soft file limit to the hard one, and keep `total` below it (a refused connection
        gets a 503; one the kernel cannot accept gets nothing)."""
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        with contextlib.suppress(ValueError, OSError):
            if hard == resource.RLIM_INFINITY or soft < hard:
                resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
                soft = hard
        if soft != resource.RLIM_INFINITY and soft > FD_MARGIN:
            self.total = min(self.total or soft, soft - FD_MARGIN)

    def admit(self, client: str, transport: Any) -> bool:
        held = self._by_client.get(client)
        if (self.total and self._count >= self.total) or (
            self.per_client and held and len(held) >= self.per_client
        ):
            self.refused += 1
            return False
        self._by_client.setdefault(client, set()).add(transport)
        self._count += 1
        return True

    def release(self, client: str, transport: Any) -> None:
        held = self._by_client.get(client)
        if held is None or transport not in held:
            return  # released already (a WebSocket's connection was counted once, by its HTTP request)
        held.discard(transport)
        self._count -= 1
        if not held:
            del self._by_client[client]

    def connections(self) -> int:
        return self._count


def _client_of(transport: Any) -> str:
    peer = transport.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple | list) and peer else "?"


def protocols(limits: ConnectionLimits) -> tuple[type, type]:
    """uvicorn protocol classes (HTTP, WebSocket) bound to `limits`."""

    class BoundedHttp(HttpToolsProtocol):
        """uvicorn's httptools protocol with per-request read deadlines and connection caps."""

        _deadline: asyncio.TimerHandle | None = None
        _admitted = False

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._peer = _client_of(transport)
            if not limits.admit(self._peer, transport):
                transport.write(REFUSED)
                transport.close()
                return
            self._admitted = True
            self._arm(limits.header_timeout, "headers")  # the first request, or nothing at all

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self._admitted:
                limits.release(self._peer, self.transport)
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._deadline is None:
                self._arm(limits.header_timeout, "headers")

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            self._arm(limits.body_timeout, "body")

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._disarm()  # the request is in: the answer may take as long as it takes

        def handle_websocket_upgrade(self) -> None:
            self._disarm()
            self._admitted = False  # the WebSocket protocol releases the connection when it closes
            super().handle_websocket_upgrade()

        def _arm(self, seconds: float, what: str) -> None:
            self._disarm()
            if seconds > 0:
                self._deadline = self.loop.call_later(seconds, self._too_slow, what)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self, what: str) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                limits.timed_out += 1
                log.info("%s: request %s not received in time: connection closed", self._peer, what)
                self.transport.close()

    class BoundedWebSocket(WebSocketsSansIOProtocol):
        """uvicorn's sans-I/O WebSocket protocol, its kernel send buffer bounded, its connection
        counted until it closes."""

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._peer = _client_of(transport)
            sock = transport.get_extra_info("socket")
            if sock is not None and limits.ws_send_buffer:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, limits.ws_send_buffer)

        def connection_lost(self, exc: Exception | None) -> None:
            limits.release(self._peer, self.transport)
            super().connection_lost(exc)

    return BoundedHttp, BoundedWebSocket


def uvicorn_config(
    app: Any, host: str, port: int, limits: ConnectionLimits | None = None, **options: Any
) -> uvicorn.Config:
    """The server config of the service: its bounded protocols, small WebSocket messages, quiet logs."""
    limits = limits or ConnectionLimits()
    limits.fit_file_limit()
    http, ws = protocols(limits)
    options.setdefault("log_level", "warning")
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=http,
        ws=ws,
        ws_max_size=WS_MAX_MESSAGE,
        timeout_keep_alive=5,
        **options,
    )
    app.state.connection_limits = limits  # seen by the app (and tests): counts, refusals, time-outs
    return config
