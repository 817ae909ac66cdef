"""Simulated P3 decoders on serial lines: one pseudo-terminal pair per decoder.

The simulator writes frames to the pty master; the service opens the slave path (printed by
`start`) as if it were /dev/ttyUSB0. The slave is put in raw mode so no byte is translated, and
the simulator keeps it open so the line survives the service closing and reopening it. Bytes
written while nobody reads fill the pty buffer; when it is full they are dropped, as on a serial
line with no listener. An outage is a pulled cable: nothing is written until it ends. Requests
(RESEND, GET_TIME) written by the service are read from the master and answered; a decoder whose
line has carried a request counts as having a client (`--wait-clients`): the service asks GET_TIME
as soon as it opens the device, and opening it empties what was written before.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import termios
import tty

from simulator.emit.base import Feed, SimPassing, Target
from simulator.emit.p3frames import RequestHandler, passing_frame, status_frame


class SerialTarget(Target):
    def __init__(self, url: str = "serial") -> None:
        self.url = url
        self.fds: dict[str, tuple[int, int]] = {}  # key -> (master, slave)
        self.paths: dict[str, str] = {}
        self.handlers: dict[str, RequestHandler] = {}
        self.feeds: dict[str, Feed] = {}
        self.dropped = 0
        self.heard: set[str] = set()  # decoders whose line has carried a request: someone has it open

    async def start(self, feeds: list[Feed]) -> list[dict]:
        loop = asyncio.get_running_loop()
        infos = []
        for f in feeds:
            master, slave = os.openpty()
            tty.setraw(slave, termios.TCSANOW)
            os.set_blocking(master, False)
            self.fds[f.key] = (master, slave)
            self.paths[f.key] = os.ttyname(slave)
            self.handlers[f.key] = RequestHandler(f)
            self.feeds[f.key] = f
            loop.add_reader(master, self._on_readable, f.key)
            infos.append(
                {
                    "decoder_id": f.decoder_id,
                    "loop": f.loop,
                    "rtc_base_us": f.rtc_base_us,
                    "url": f"serial://{self.paths[f.key]}",
                    "passings": len(f.passings),
                }
            )
        return infos

    def _on_readable(self, key: str) -> None:
        master = self.fds[key][0]
        try:
            chunk = os.read(master, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return
        if chunk:
            self.heard.add(key)
        if self.feeds[key].online:
            for frame in self.handlers[key].feed_bytes(chunk):
                self._write(key, frame)

    def _write(self, key: str, frame: bytes) -> None:
        master = self.fds[key][0]
        try:
            n = os.write(master, frame)
            if n < len(frame):  # partial: the line is full, the rest is lost
                self.dropped += 1
        except (BlockingIOError, InterruptedError):
            self.dropped += 1
        except OSError:
            self.dropped += 1

    def clients(self, feed: Feed) -> int:
        return int(feed.key in self.heard)

    async def passing(self, feed: Feed, p: SimPassing) -> None:
        self._write(feed.key, passing_frame(feed, p))

    async def status(self, feed: Feed) -> None:
        self._write(feed.key, status_frame(feed))

    async def stop(self) -> None:
        loop = asyncio.get_running_loop()
        for master, slave in self.fds.values():
            loop.remove_reader(master)
            for fd in (master, slave):
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.fds.clear()
