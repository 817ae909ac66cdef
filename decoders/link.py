"""`LinkSource`: the session loop of the byte-stream decoders (P3, Protime, Race Result, Wiclax).

A `Link` is an open transport (a TCP stream, a serial line, or UDP datagrams to one decoder): read
bytes with a timeout, write bytes, close. `LinkSource` opens one, greets the decoder, feeds what
arrives to the protocol (`_on_data`), runs its timers (`_on_tick`: polls, repeats, fetches) and
declares the link dead after `idle` seconds of silence, so `Source.run` reopens it. The protocols
keep their state across reconnects (what was read, what is missing) and never see a socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable

from decoders.source import Source

READ_SIZE = 1 << 16
LOW_BATTERY_SHOWN = 20


class LinkIdle(ConnectionError):
    """Nothing received for longer than the idle timeout."""


class Link:
    """An open transport. `read` answers None when nothing came within `timeout`, b"" at its end."""

    async def read(self, timeout: float) -> bytes | None:
        raise NotImplementedError

    def write(self, data: bytes) -> None:
        raise NotImplementedError

    async def drain(self) -> None:
        """Wait until written bytes are on their way (flow control)."""

    async def close(self) -> None:
        raise NotImplementedError


class StreamLink(Link):
    """TCP or serial: an asyncio (reader, writer) pair."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def read(self, timeout: float) -> bytes | None:
        try:
            async with asyncio.timeout(timeout):
                return await self.reader.read(READ_SIZE)
        except TimeoutError:
            return None

    def write(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    async def drain(self) -> None:
        await self.writer.drain()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await self.writer.wait_closed()


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, peer_ip: str, on_foreign: Callable[[], None]) -> None:
        self.peer_ip = peer_ip
        self.on_foreign = on_foreign  # a datagram from another address: not our decoder
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=4096)

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        if addr[0] != self.peer_ip:
            self.on_foreign()
            return
        with contextlib.suppress(asyncio.QueueFull):  # a flood is cut, never buffered without bound
            self.queue.put_nowait(data)

    def error_received(self, exc: Exception) -> None:  # e.g. ICMP port unreachable: the decoder is away
        pass


class UdpLink(Link):
    """Datagrams to and from one decoder (its address, its port); others are counted and ignored."""

    def __init__(
        self, transport: asyncio.DatagramTransport, proto: _Datagrams, peer: tuple[str, int]
    ) -> None:
        self.transport, self.proto, self.peer = transport, proto, peer

    async def read(self, timeout: float) -> bytes | None:
        try:
            async with asyncio.timeout(timeout):
                return await self.proto.queue.get()
        except TimeoutError:
            return None

    def write(self, data: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.sendto(data, self.peer)

    async def close(self) -> None:
        self.transport.close()


async def open_tcp(host: str, port: int, timeout: float = 5.0) -> StreamLink:
    """A TCP client link with keep-alive, so a dead cable is noticed in seconds."""
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(host, port)
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 5)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 2)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
    return StreamLink(reader, writer)


async def open_serial(
    device: str, baud: int, bytesize: int = 8, parity: str = "N", stopbits: float = 1
) -> StreamLink:
    """A serial line (pyserial-asyncio-fast); a missing device is an OSError, retried by `Source.run`."""
    import serial_asyncio_fast

    reader, writer = await serial_asyncio_fast.open_serial_connection(
        url=device, baudrate=baud, bytesize=bytesize, parity=parity, stopbits=stopbits
    )
    return StreamLink(reader, writer)


async def open_udp(host: str, port: int, listen_port: int, on_foreign: Callable[[], None]) -> UdpLink:
    """Bind `listen_port` (0: any) and talk to the decoder at host:port (a decoder on this machine:
    bind loopback only, else every address, where the decoder's answers arrive)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, family=socket.AF_INET, type=socket.SOCK_DGRAM)
    peer = infos[0][4][:2]
    local = "127.0.0.1" if peer[0].startswith("127.") else "0.0.0.0"
    transport, proto = await loop.create_datagram_endpoint(
        lambda: _Datagrams(peer[0], on_foreign), local_addr=(local, listen_port)
    )
    return UdpLink(transport, proto, peer)


class LinkSource(Source):
    """A decoder session over a `Link`; subclasses open the link and speak the protocol.

    `connect_on_data`: a link that can open without the decoder (UDP) is `connected` only once
    the decoder has been heard. `_on_data` returns True when the bytes held a valid message.
    """

    connect_on_data = False

    def __init__(self, url: str, *, idle: float = 15.0, **kw) -> None:
        super().__init__(url, **kw)
        self.idle = idle

    async def _open(self) -> Link:
        raise NotImplementedError

    def _read_timeout(self) -> float:
        """How long a read waits for bytes before the timers run and the silence is checked."""
        return min(0.25, self.idle / 4) if self.idle > 0 else 0.25

    def _on_open(self, link: Link, now: float) -> None:
        """Greet the decoder (ask its identity, clock, what was missed)."""

    def _on_data(self, link: Link, data: bytes, now: float) -> bool:
        raise NotImplementedError

    def _on_tick(self, link: Link, now: float) -> None:
        """Timers: polls, repeats, fetches; runs after every read or read timeout."""

    def _on_close(self) -> None:
        """The link is gone (requests in flight are lost with it)."""

    def _battery(self, transponder: str, low: bool, reading: float | None = None) -> None:
        """Keep the newest low-battery transponders for the timing crew; a good reading clears one."""
        shown = self.status.low_battery
        shown.pop(transponder, None)
        if low:
            shown[transponder] = reading
            while len(shown) > LOW_BATTERY_SHOWN:
                del shown[next(iter(shown))]

    async def _serve(self) -> bool:
        link = await self._open()
        loop = asyncio.get_running_loop()
        if not self.connect_on_data:
            self._mark_connected()
        productive = False
        tick = self._read_timeout()
        last = loop.time()
        try:
            self._on_open(link, last)
            await link.drain()
            while True:
                data = await link.read(tick)
                now = loop.time()
                if data is not None:
                    if not data:
                        return productive
                    last = now
                    if self.status.state != "connected":
                        self._mark_connected()
                    productive = self._on_data(link, data, now) or productive
                elif self.idle > 0 and now - last > self.idle:
                    raise LinkIdle(f"no data for {self.idle:g} s")
                self._on_tick(link, now)
                await link.drain()
        finally:
            self._on_close()
            await link.close()
