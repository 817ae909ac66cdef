"""P3 over a serial line, through a real pty pair opened by pyserial-asyncio-fast."""

from __future__ import annotations

import asyncio
import os

import pytest

from decoders.p3.codec import P3StreamDecoder, ResendRecord
from decoders.p3.transport import P3SerialSource
from decoders.sources import open_source
from tests.p3_captures import hex_frames
from tests.p3_fake_decoder import passing_frame

pytestmark = pytest.mark.timeout(30)


async def until(cond, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.01)


class Pty:
    """A pty pair whose slave is reachable through a stable symlink, like /dev/serial/by-id."""

    def __init__(self, link: str) -> None:
        self.master, self.slave = os.openpty()
        os.set_blocking(self.master, False)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(os.ttyname(self.slave), link)
        self.link = link
        self.received = P3StreamDecoder()

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def read_records(self) -> list:
        out = []
        while True:
            try:
                data = os.read(self.master, 4096)
            except (BlockingIOError, OSError):
                return out
            if not data:
                return out
            out.extend(self.received.feed(data))

    def unplug(self) -> None:
        if self.master < 0:
            return
        os.unlink(self.link)
        os.close(self.master)
        os.close(self.slave)
        self.master = self.slave = -1


async def test_frames_cross_a_real_pty(tmp_path):
    pty = Pty(str(tmp_path / "ttyP3"))
    source = open_source(f"serial://{pty.link}?baud=115200&retry_min=0.02&retry_max=0.1")
    assert isinstance(source, P3SerialSource)
    got = []
    task = asyncio.create_task(source.run(got.append))
    try:
        await until(lambda: source.status.state == "connected")
        stream = b"".join(hex_frames("amb-short.hex"))
        for i in range(0, len(stream), 997):  # odd-sized writes split frames across reads
            pty.write(stream[i : i + 997])
            await asyncio.sleep(0)
        await until(lambda: len(got) == 83)
        assert got[0].passing_number == 157777 and got[0].transponder == "5691251"
        assert source.status.noise is not None and sum(source.status.rejected.values()) == 0
    finally:
        source.stop()
        await asyncio.wait_for(task, 3)
        pty.unplug()


async def test_device_disappears_and_comes_back(tmp_path):
    link = str(tmp_path / "ttyUSB-decoder")
    pty = Pty(link)
    source = P3SerialSource(f"serial://{link}", link, retry_min=0.02, retry_max=0.1, resend_retry=0.5)
    got = []
    task = asyncio.create_task(source.run(got.append))
    try:
        await until(lambda: source.status.state == "connected")
        for n in (1, 2, 3):
            pty.write(passing_frame(n))
        await until(lambda: len(got) == 3)

        pty.unplug()  # USB decoder pulled: the open port fails, the device path is gone
        await until(lambda: source.status.state == "reconnecting")
        await asyncio.sleep(0.2)  # a few failed reopen attempts
        assert source.status.last_error

        pty = Pty(link)  # plugged back in (a new tty behind the same path)
        await until(lambda: source.status.state == "connected")
        requests = []
        await until(lambda: requests.extend(pty.read_records()) or requests)
        # back: it first asks for whatever was read since 3 (the decoder here does not answer yet)
        assert isinstance(requests[0], ResendRecord) and (
            requests[0].from_number,
            requests[0].until_number,
        ) == (4, 2003)
        pty.write(passing_frame(6))  # 4 and 5 were read while unplugged: 6 reveals the gap
        asked = lambda: [(r.from_number, r.until_number) for r in requests if isinstance(r, ResendRecord)]  # noqa: E731
        await until(lambda: requests.extend(pty.read_records()) or (4, 5) in asked())
        pty.write(passing_frame(4) + passing_frame(5) + passing_frame(3))
        await until(lambda: len(got) == 6)
        await asyncio.sleep(0.05)
        assert sorted(p.passing_number for p in got) == [1, 2, 3, 4, 5, 6]
        st = source.status
        assert (st.reconnects, st.gaps_recovered, st.duplicates) == (1, 1, 1)
    finally:
        source.stop()
        await asyncio.wait_for(task, 3)
        pty.unplug()
