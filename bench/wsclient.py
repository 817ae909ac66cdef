"""The client side of a bare WebSocket for the benches: `BareClient` (an asyncio Protocol) sends
the upgrade request, reads the server's answer, then hands each batch of complete frames to
`received`. bench/latency.py and bench/fanout.py build their clients on it, so a client costs a
few microseconds per message (the figures are the server's, not the bench's). Server frames are
never masked, and the servers measured never fragment.
"""

from __future__ import annotations

import asyncio
import time

KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455's sample key: the benches do not check the accept value


def upgrade_request(host: str, path: str, extra_headers: str = "") -> bytes:
    """The GET that asks for a WebSocket; `extra_headers` are whole `Name: value\\r\\n` lines."""
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra_headers}\r\n"
    ).encode()


def read_upgrade(buf: bytearray) -> bool | None:
    """The server's answer at the start of `buf`: None until complete, True (consumed) on 101, else False."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    if not buf.startswith(b"HTTP/1.1 101"):
        return False
    del buf[: end + 4]
    return True


def take_frames(buf: bytearray) -> list[tuple[int, bytes]]:
    """The complete frames at the start of `buf` as (first byte, payload), removed from `buf`."""
    out = []
    pos, n = 0, len(buf)
    while n - pos >= 2:
        size, head = buf[pos + 1] & 0x7F, 2
        if size == 126:
            if n - pos < 4:
                break
            size, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
        elif size == 127:
            if n - pos < 10:
                break
            size, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
        if n - pos < head + size:
            break
        out.append((buf[pos], bytes(buf[pos + head : pos + head + size])))
        pos += head + size
    del buf[:pos]
    return out


class BareClient(asyncio.Protocol):
    """Upgrades the connection, then calls `opened()` once and `received(now, frames)` per read."""

    def __init__(self, host: str, path: str, extra_headers: str = "") -> None:
        self.host, self.path, self.extra_headers = host, path, extra_headers
        self.buf = bytearray()
        self.open = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(upgrade_request(self.host, self.path, self.extra_headers))

    def data_received(self, data: bytes) -> None:
        now = time.time()  # arrival time, before any parsing
        buf = self.buf
        buf += data
        if not self.open:
            answer = read_upgrade(buf)
            if answer is None:
                return
            if not answer:
                self.transport.close()
                return
            self.open = True
            self.opened()
        self.received(now, take_frames(buf))

    def opened(self) -> None:
        """The server said 101: the WebSocket is open."""

    def received(self, now: float, frames: list[tuple[int, bytes]]) -> None:
        """Complete frames that arrived at `now` (possibly none)."""
