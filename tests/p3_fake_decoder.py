"""A small P3 decoder server for transport tests: pushes passings, answers RESEND and GET_TIME,
and can go "down" (drop the link mid-frame, refuse clients, keep passings only in its history).

With `clock_offset_us` it has a running clock (this computer's wall clock plus the offset): `read()`
stamps a passing with it, as a real decoder does, and GET_TIME answers it."""

from __future__ import annotations

import asyncio
import contextlib
import time

from decoders.p3.codec import (
    GetTimeRecord,
    P3StreamDecoder,
    PassingRecord,
    ResendRecord,
    StatusRecord,
    encode,
)

DECODER_ID = "13180400"
RTC0 = 1_551_542_808_933_000


def passing_frame(number: int, decoder_id: str = DECODER_ID) -> bytes:
    return encode(
        PassingRecord(
            passing_number=number,
            transponder=5_000_000 + number % 7,
            rtc_time_us=RTC0 + number * 1_000_000,
            strength=120,
            hits=30,
            flags=0,
            decoder_id=decoder_id,
        )
    )


class FakeDecoder:
    def __init__(self, clock_offset_us: int | None = None, decoder_id: str = DECODER_ID) -> None:
        self.clock_offset_us = clock_offset_us
        self.decoder_id = decoder_id
        self.stamps: dict[int, tuple[int, int]] = {}  # number -> (transponder, decoder time) of `read()`
        self.history: dict[int, bytes] = {}
        self.next_number = 1
        self.up = True
        self.writers: list[asyncio.StreamWriter] = []
        self.requests: list = []
        self.ignore_resends = 0  # how many RESEND requests to ignore before answering
        self.server: asyncio.Server | None = None
        self.port = 0
        self.connections = 0
        self.tasks: set[asyncio.Task] = set()

    async def __aenter__(self) -> FakeDecoder:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def come_up(self) -> None:
        """Back on the network after `drop()`: listening again on the same port."""
        self.up = True
        if not self.server.is_serving():
            await self.__aenter__()

    async def __aexit__(self, *exc) -> None:
        self.drop()
        self.server.close()
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=2)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                await self.server.wait_closed()

    @property
    def url(self) -> str:
        return f"p3tcp://127.0.0.1:{self.port}"

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.close()
            return
        self.connections += 1
        self.tasks.add(asyncio.current_task())
        self.writers.append(writer)
        dec = P3StreamDecoder()
        try:
            while data := await reader.read(4096):
                for rec in dec.feed(data):
                    self.requests.append(rec)
                    if isinstance(rec, ResendRecord):
                        if self.ignore_resends > 0:
                            self.ignore_resends -= 1
                            continue
                        for n in range(rec.from_number, rec.until_number + 1):
                            if n in self.history:
                                writer.write(self.history[n])
                    elif isinstance(rec, GetTimeRecord):
                        now = RTC0 if self.clock_offset_us is None else self.clock_us()
                        writer.write(
                            encode(
                                GetTimeRecord(
                                    rtc_time_us=now,
                                    flags=0,
                                    utc_time_us=now + 250,
                                    decoder_id=self.decoder_id,
                                )
                            )
                        )
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            if writer in self.writers:
                self.writers.remove(writer)
            writer.close()
            self.tasks.discard(asyncio.current_task())

    def send(self, data: bytes) -> None:
        for w in self.writers:
            w.write(data)

    def emit(self, count: int) -> list[int]:
        """New passings: pushed to connected clients when up, kept in history either way."""
        numbers = []
        for _ in range(count):
            n = self.next_number
            self.next_number += 1
            self.history[n] = passing_frame(n, self.decoder_id)
            numbers.append(n)
            if self.up:
                self.send(self.history[n])
        return numbers

    def clock_us(self) -> int:
        return time.time_ns() // 1000 + (self.clock_offset_us or 0)

    def read(self, transponder: int) -> int:
        """A car crosses now: a passing stamped with this decoder's clock, pushed when up."""
        n = self.next_number
        self.next_number += 1
        self.stamps[n] = (transponder, self.clock_us())
        self.history[n] = encode(
            PassingRecord(
                passing_number=n,
                transponder=transponder,
                rtc_time_us=self.stamps[n][1],
                strength=120,
                hits=30,
                flags=0,
                decoder_id=self.decoder_id,
            )
        )
        if self.up:
            self.send(self.history[n])
        return n

    def status(self, noise: int = 40) -> None:
        self.send(
            encode(
                StatusRecord(
                    noise=noise, gps=0, temperature=22, input_voltage=118, decoder_id=self.decoder_id
                )
            )
        )

    def drop(self, mid_frame: bytes | None = None) -> None:
        """Go down: optionally write half a frame first, cut every client, refuse new ones."""
        self.up = False
        self.server.close()
        for w in list(self.writers):
            if mid_frame:
                w.write(mid_frame[: len(mid_frame) // 2])
            w.transport.abort() if mid_frame is None else w.close()
        self.writers.clear()
