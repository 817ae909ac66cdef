"""Encode once, write everywhere: WebSocket frames built once per message, written straight to sockets.

Sending one message to N clients through the ASGI `send` costs, per client, a task wake-up, a few
awaits and - worst - a permessage-deflate compression of the whole message with that client's
own zlib context (browsers always ask for compression). Here a message is compressed at most
once per window size, without context takeover (each message compressed on its own: any
deflate client can decode it, whatever it negotiated), framed once, and the same bytes are
written to every transport with one synchronous `transport.write` per client.

Only used when the server underneath is known (uvicorn's `websockets-sansio` protocol, or a
`websockets` connection): then every data frame of that client goes through here, so the
server's own compressor never sees data and never disagrees with the client about its history.
Anything else falls back to the ASGI `send` (see service/hub.py).
"""

from __future__ import annotations

import struct
import time
import zlib
from typing import Any

# deflate settings of the shared frames; messages are compressed once, so level 6 is cheap
LEVEL = 6
MEM_LEVEL = 8
_TAIL = b"\x00\x00\xff\xff"


def _header(first: int, n: int) -> bytes:
    if n < 126:
        return bytes((first, n))
    if n < 65536:
        return struct.pack("!BBH", first, 126, n)
    return struct.pack("!BBQ", first, 127, n)


class Message:
    """One encoded message (JSON text) and its server-to-client frames, built on first use."""

    __slots__ = ("text", "created", "_data", "_frames")

    def __init__(self, text: str) -> None:
        self.text = text
        self.created = time.monotonic()
        self._data: bytes | None = None
        self._frames: dict[int, bytes] = {}

    def frame(self, wbits: int) -> bytes:
        """A complete text frame: uncompressed for `wbits` 0, else deflated with that window."""
        f = self._frames.get(wbits)
        if f is None:
            if self._data is None:
                self._data = self.text.encode()
            if wbits:
                c = zlib.compressobj(LEVEL, zlib.DEFLATED, -wbits, MEM_LEVEL)
                payload = c.compress(self._data) + c.flush(zlib.Z_SYNC_FLUSH)
                assert payload.endswith(_TAIL)
                payload = payload[:-4]
                f = _header(0xC1, len(payload)) + payload  # FIN + RSV1 (compressed) + text
            else:
                f = _header(0x81, len(self._data)) + self._data  # FIN + text
            self._frames[wbits] = f
        return f


class RawSocket:
    """A WebSocket whose data frames we write ourselves to its transport."""

    __slots__ = ("transport", "wbits")

    def __init__(self, transport: Any, wbits: int) -> None:
        self.transport = transport
        self.wbits = wbits  # 0: no compression

    def write(self, msg: Message) -> None:
        if not self.transport.is_closing():
            self.transport.write(msg.frame(self.wbits))

    def buffered(self) -> int:
        return self.transport.get_write_buffer_size()

    def closing(self) -> bool:
        return self.transport.is_closing()


def _from_protocol(conn: Any, transport: Any) -> RawSocket | None:
    """A RawSocket for a websockets sans-I/O protocol object that is open, or None."""
    try:
        from websockets.extensions.permessage_deflate import PerMessageDeflate
        from websockets.protocol import OPEN, Protocol
    except ImportError:  # pragma: no cover
        return None
    if not isinstance(conn, Protocol) or transport is None or conn.state is not OPEN:
        return None
    if not all(hasattr(transport, a) for a in ("write", "is_closing", "get_write_buffer_size")):
        return None
    wbits = 0
    for ext in conn.extensions:
        if not isinstance(ext, PerMessageDeflate):
            return None  # an extension we don't frame for: let the server send
        wbits = ext.local_max_window_bits or 15
    if wbits and not 9 <= wbits <= 15:
        return None  # zlib can't honour a window of 8 bits; the server's own encoder can
    return RawSocket(transport, wbits)


def raw_socket(asgi_send: Any) -> RawSocket | None:
    """The socket under an ASGI WebSocket `send`, when the server is one we can write frames for.

    `asgi_send` is the server's own callable (see RawSendMiddleware): for uvicorn's
    `websockets-sansio` implementation a bound method of its protocol, which holds the transport
    and the `websockets` ServerProtocol (`conn`) with the negotiated extensions.
    """
    proto = getattr(asgi_send, "__self__", None)
    if proto is None:
        return None
    return _from_protocol(getattr(proto, "conn", None), getattr(proto, "transport", None))


def raw_socket_of_connection(connection: Any) -> RawSocket | None:
    """The same for a `websockets.asyncio` connection (its `protocol` and `transport`)."""
    return _from_protocol(getattr(connection, "protocol", None), getattr(connection, "transport", None))


class RawSendMiddleware:
    """Keeps the server's own ASGI `send` of a WebSocket in the scope (`boucle.send`).

    Starlette wraps `send` in closures; the hub needs the original to find the socket.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            scope["boucle.send"] = send
        await self.app(scope, receive, send)
