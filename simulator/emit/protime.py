"""Simulated TAG Heuer / Chronelec Protime decoders, on a pty (`protime`) or over UDP (`protime+udp`).

Loops are grouped as on a kart track: one Protime decoder carries the finish loop on STA, the pit
entry on BOX, the pit exit and the start loop on B01 and B02 (its announced URL maps them with
`loops=`); a backup finish decoder is a second one. Each is stop-and-wait, as the facts say: it
sends its oldest passing not yet acknowledged, again on REPEAT (ESC 0x12) or when no ACK (ESC 0x11)
comes within `ACK_S` wall seconds, and the next one only after the ACK. It answers the
configuration (ESC 0x10) and status (ESC 0x05) requests. Times of day are the race's decoder
clock moved to the host's local time at start (announced as `rtc_base_us`, what the service
maps to t = 0), to the millisecond. During a link cut nothing goes in or out: what it reads waits
in its queue. `corrupt=P` damages a message sent (its checksum fails) or loses an ACK received.
On UDP each decoder listens from PORT upwards and answers whoever last talked to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import termios
import tty
from collections import deque
from collections.abc import Callable
from urllib.parse import urlsplit

from decoders.daytime import DAY_US, local_now_us
from decoders.protime import codec
from simulator.emit.base import Feed, SimPassing, Target
from simulator.emit.faults import damage, fault_options

log = logging.getLogger("boucle.simulator.protime")

CHANNELS = {"finish": "STA", "pit_in": "BOX", "pit_out": "B01", "start": "B02"}
ACK_S = 0.2  # a decoder sends its message again when no acknowledgement came by then (unverified)
DRAIN_S = 30.0  # at the end, how long the decoders wait for a client to take what they still hold


class Box:
    """One Protime decoder: its channels, its queue of passings waiting for their ACK."""

    def __init__(
        self,
        number: str,
        feeds: list[Feed],
        shift_us: int,
        send: Callable[[bytes], None],
        rng,
        corrupt: float,
    ) -> None:
        self.number, self.feeds, self.shift_us, self.send = number, feeds, shift_us, send
        self.channel = {f.key: "STA" if f.key == "finish-b" else CHANNELS[f.key] for f in feeds}
        self.rng, self.corrupt = rng, corrupt
        self.queue: deque[bytes] = deque()
        self.down: set[str] = set()  # feeds whose link is cut: the decoder's cable
        self.timer: asyncio.TimerHandle | None = None
        self.heard = False  # a client has talked to it
        self.pending = b""
        self.last: dict[str, int] = {}  # feed -> newest passing number queued
        self.sent = self.acked = self.damaged = 0

    @property
    def online(self) -> bool:
        return not self.down

    def url_loops(self) -> str:
        extra = [f"{ch}:{key}" for key, ch in self.channel.items() if ch[0] == "B" and ch[1:].isdigit()]
        return "loops=" + ",".join(extra) if extra else ""

    def read(self, feed: Feed, p: SimPassing) -> None:
        self.last[feed.key] = p.number
        tod = (p.rtc_time_us + self.shift_us) % DAY_US
        self.queue.append(
            codec.passing_message(
                self.channel[feed.key],
                int(p.transponder),
                tod,
                status=3 if int(p.transponder) % 10 == 3 else 1,
            )
        )
        if len(self.queue) == 1:
            self.send_head()

    def send_head(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if not self.queue or not self.online:
            return
        msg = self.queue[0]
        if self.rng.random() < self.corrupt:
            msg = damage(msg, self.rng, slice(1, 33))
            self.damaged += 1
        self.sent += 1
        self.send(msg)
        self.timer = asyncio.get_running_loop().call_later(ACK_S, self.send_head)

    def on_bytes(self, data: bytes) -> None:
        if not self.online:  # the cable is cut: nothing arrives
            return
        self.heard = True
        data, self.pending = self.pending + data, b""
        i = 0
        while i < len(data):
            if data[i] != codec.ESC:
                i += 1
                continue
            if i + 1 >= len(data):
                self.pending = data[i:]
                break
            self.command(data[i + 1])
            i += 2

    def command(self, cmd: int) -> None:
        if cmd == 0x11:
            if self.rng.random() < self.corrupt:  # this ACK is lost on the way: the message comes again
                return
            if self.queue:
                self.queue.popleft()
                self.acked += 1
            self.send_head()
        elif cmd == 0x12:
            self.send_head()
        elif cmd == 0x10:
            self.send(codec.config_message(self.number, 23, (12, 14)))
        elif cmd == 0x05:
            now = self.feeds[0].rtc_now_us()
            if now is not None:  # before the race clock starts it does not answer (the client asks again)
                self.send(codec.status_message((now + self.shift_us) % DAY_US, (38, 35), (12, 14)))

    def cut(self, key: str) -> None:
        self.down.add(key)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def mend(self, key: str) -> None:
        self.down.discard(key)
        feed = next(f for f in self.feeds if f.key == key)
        for n in sorted(n for n in feed.history if n > self.last.get(key, 0)):  # read while cut off
            self.read(feed, feed.history[n])
        if self.online:
            self.send_head()

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()


def group(feeds: list[Feed]) -> list[list[Feed]]:
    """Feeds by Protime decoder: the main one (finish, pits, start), and the backup finish one."""
    main = [f for f in feeds if f.key in CHANNELS]
    backup = [f for f in feeds if f.key == "finish-b"]
    return [g for g in (main, backup) if g]


class ProtimeTarget(Target):
    """The decoders' bookkeeping; `ProtimePtyTarget` and `ProtimeUdpTarget` put them on a wire."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.rng, self.corrupt = fault_options(url)
        self.boxes: list[Box] = []
        self.box_of: dict[str, Box] = {}

    async def start(self, feeds: list[Feed]) -> list[dict]:
        bad = [
            p.transponder
            for f in feeds
            for p in f.passings
            if not (p.transponder.isdigit() and len(p.transponder) <= 6)
        ]
        if bad:
            raise ValueError(
                f"Protime transponders have 6 digits, not {bad[0]!r}: fit the race first "
                "(simulator.emit.faults.fit_race)"
            )
        base = min(f.rtc_base_us for f in feeds)
        shift = (local_now_us() // 1000) * 1000 - base  # its clock shows the host's time of day at t = 0
        infos = []
        for i, fs in enumerate(group(feeds)):
            number = f"{1001 + i}"
            box = Box(number, fs, shift, lambda m, i=i: self._send(i, m), self.rng, self.corrupt)
            self.boxes.append(box)
            for f in fs:
                self.box_of[f.key] = box
            where = await self._open(i, box)
            loops = box.url_loops()
            infos.append(
                {
                    "decoder_id": number,
                    "loop": "finish",
                    "rtc_base_us": fs[0].rtc_base_us + shift,
                    "url": where + ("&" if "?" in where else "?") + loops if loops else where,
                    "passings": sum(len(f.passings) for f in fs),
                    "channels": {f.key: box.channel[f.key] for f in fs},
                }
            )
        return infos

    async def _open(self, i: int, box: Box) -> str:
        raise NotImplementedError

    def _send(self, i: int, msg: bytes) -> None:
        raise NotImplementedError

    async def passing(self, feed: Feed, p: SimPassing) -> None:
        self.box_of[feed.key].read(feed, p)

    async def down(self, feed: Feed) -> None:
        self.box_of[feed.key].cut(feed.key)

    async def up(self, feed: Feed) -> None:
        self.box_of[feed.key].mend(feed.key)

    def clients(self, feed: Feed) -> int:
        return int(self.box_of[feed.key].heard)

    def stats(self) -> dict[str, dict[str, int]]:
        return {
            b.number: {"sent": b.sent, "acked": b.acked, "damaged": b.damaged, "queued": len(b.queue)}
            for b in self.boxes
        }

    async def stop(self) -> None:
        """Stop once every decoder has sent what it holds (a client must be reading), or after DRAIN_S."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_S
        while any(b.queue and b.heard for b in self.boxes) and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for b in self.boxes:
            b.close()


class ProtimePtyTarget(ProtimeTarget):
    """One pseudo-terminal per decoder, raw mode, as P3's `serial` target; the service opens the slave."""

    def __init__(self, url: str = "protime") -> None:
        super().__init__(url)
        self.fds: list[tuple[int, int]] = []

    async def _open(self, i: int, box: Box) -> str:
        master, slave = os.openpty()
        tty.setraw(slave, termios.TCSANOW)
        os.set_blocking(master, False)
        self.fds.append((master, slave))
        asyncio.get_running_loop().add_reader(master, self._readable, i)
        return f"protime://{os.ttyname(slave)}"

    def _readable(self, i: int) -> None:
        try:
            chunk = os.read(self.fds[i][0], 4096)
        except OSError:
            return
        self.boxes[i].on_bytes(chunk)

    def _send(self, i: int, msg: bytes) -> None:
        with contextlib.suppress(OSError):  # a full line drops bytes, as a serial line nobody reads
            os.write(self.fds[i][0], msg)

    async def stop(self) -> None:
        await super().stop()
        loop = asyncio.get_running_loop()
        for master, slave in self.fds:
            loop.remove_reader(master)
            for fd in (master, slave):
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.fds.clear()


class _Endpoint(asyncio.DatagramProtocol):
    def __init__(self, box: Box) -> None:
        self.box = box
        self.peer: tuple | None = None
        self.transport: asyncio.DatagramTransport | None = None

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        if self.box.online:
            self.peer = addr
        self.box.on_bytes(data)


class ProtimeUdpTarget(ProtimeTarget):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        u = urlsplit(url)
        if not u.hostname:
            raise ValueError(f"{url!r}: expected protime+udp://HOST:PORT")
        self.host, self.first_port = u.hostname, u.port if u.port is not None else 2008
        self.endpoints: list[_Endpoint] = []

    async def _open(self, i: int, box: Box) -> str:
        port = 0 if self.first_port == 0 else self.first_port + i
        transport, ep = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: _Endpoint(box), local_addr=(self.host, port)
        )
        ep.transport = transport
        self.endpoints.append(ep)
        # listen=0: the client binds any free port (it answers whoever talked to it), not 2008
        return f"protime+udp://{self.host}:{transport.get_extra_info('sockname')[1]}?listen=0"

    def _send(self, i: int, msg: bytes) -> None:
        ep = self.endpoints[i]
        if ep.peer is not None and ep.transport is not None:
            ep.transport.sendto(msg, ep.peer)

    async def stop(self) -> None:
        await super().stop()
        for ep in self.endpoints:
            if ep.transport is not None:
                ep.transport.close()
