"""Protime: the codec on the facts' example and broken input, and the source through a real pty
and real UDP sockets on 127.0.0.1 against a hand-driven decoder (stop-and-wait, repeats, skips)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import termios
import tty

import pytest

from decoders.daytime import DAY_US, local_now_us, parse_tod
from decoders.protime import codec
from decoders.protime.transport import ProtimeSerialSource, ProtimeUdpSource
from decoders.sources import open_source
from tests.text_decoder import running, until

pytestmark = pytest.mark.timeout(30)
ACK, REPEAT, CONFIG, STATUS = codec.ACK, codec.REPEAT, codec.CONFIG_REQUEST, codec.STATUS_REQUEST
EXAMPLE = b"<STA 000255 00:00'31\"957 01 01 1 1555>\r\n"  # shared/spec/decoders-more.md


def msg(channel: str = "STA", tr: int = 4242, ms: int = 45_296_789, status: int = 1) -> bytes:
    return codec.passing_message(channel, tr, ms * 1000, status=status)


# -- codec --------------------------------------------------------------------------------------------
def test_the_example_of_the_facts_is_read_and_rebuilt_byte_for_byte():
    d = codec.ProtimeDecoder()
    (rec,) = d.feed(b"\x00\x00" + EXAMPLE)  # NUL noise before a message
    assert rec == codec.ProtimePassing("STA", 255, 31_957_000, 1, 1, 1)
    assert codec.passing_message("STA", 255, 31_957_000) == EXAMPLE
    assert len(EXAMPLE) == 40 and EXAMPLE.index(b">") == 37
    assert d.rejected == dict.fromkeys(codec.REJECT_REASONS, 0)


def test_any_read_size_and_every_kind_of_damage_counted():
    good = msg("BOX", 123456, 86_399_999, status=3)
    bad_sum = good[:5] + b"9" + good[6:]  # a transponder digit changed: the sum no longer matches
    short = good[:20] + b">\r\n"
    fields = (
        b"<"
        + b"STA-000255 00:00'31\"957 01 01 1 "
        + codec.checksum(b"STA-000255 00:00'31\"957 01 01 1 ")
        + b">\r\n"
    )
    stream = (
        good
        + bad_sum
        + short
        + fields
        + b"garbage\r\n"
        + codec.status_message(3_723_000_000, (40, 35), (10, 12))
    )
    d = codec.ProtimeDecoder()
    out = [r for i in range(len(stream)) for r in d.feed(stream[i : i + 1])]  # one byte at a time
    assert out[0] == codec.ProtimePassing("BOX", 123456, 86_399_999_000, 1, 1, 3) and out[0].low_battery
    assert [type(r).__name__ for r in out] == [
        "ProtimePassing",
        "Damaged",
        "Damaged",
        "Damaged",
        "ProtimeStatus",
    ]
    assert [r.reason for r in out[1:4]] == ["checksum", "length", "format"]
    assert out[4] == codec.ProtimeStatus(3_723_000_000, {"STA": 40, "BOX": 35}, {"STA": 10, "BOX": 12})
    assert d.rejected == {"checksum": 1, "length": 1, "format": 1, "framing": 1}


def test_configuration_with_cr_lf_inside_its_ip_bytes():
    raw = codec.config_message("0412", 23, (12, 14), ip="10.13.10.13")  # 13 = CR, 10 = LF
    d = codec.ProtimeDecoder()
    (cfg,) = d.feed(raw + msg())[:1]
    assert cfg == codec.ProtimeConfig("0412", "23", {"STA": 12, "BOX": 14}, "10.13.10.13")
    assert sum(d.rejected.values()) == 0


def test_endless_line_noise_is_bounded_and_counted():
    d = codec.ProtimeDecoder()
    assert d.feed(b"x" * 10_000) == [] and len(d.lines.buf) <= 1 and d.rejected["framing"] == 1
    assert d.feed(b"x" * 500 + b"\r\n" + msg()) and d.rejected["framing"] == 1  # its end dropped with it


def test_time_of_day_goes_on_the_date_nearest_to_now():
    rec = codec.ProtimePassing("STA", 7, parse_tod("23:59:59.500"), 1, 1, 1)
    just_after_midnight = 20_000 * DAY_US + 10_000_000
    p = codec.to_passing(rec, decoder_id="0412", ref_us=just_after_midnight, loop="finish")
    assert p.rtc_time_us == 20_000 * DAY_US - 500_000  # yesterday, half a second before midnight
    assert (p.transponder, p.loop, p.decoder_id, p.passing_number) == ("7", "finish", "0412", None)


# -- source through a pty -----------------------------------------------------------------------------
class PtyDecoder:
    """The decoder's end of a pty pair: what the source writes is collected as ESC commands."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave, termios.TCSANOW)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.got = bytearray()
        self.seen = 0
        asyncio.get_running_loop().add_reader(self.master, self._read)

    def _read(self) -> None:
        with contextlib.suppress(OSError):
            self.got += os.read(self.master, 4096)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    async def command(self, timeout: float = 5.0) -> bytes:
        """The next 2-byte command the source sent."""
        async with asyncio.timeout(timeout):
            while len(self.got) < self.seen + 2:
                await asyncio.sleep(0.005)
        out = bytes(self.got[self.seen : self.seen + 2])
        self.seen += 2
        return out

    async def quiet(self, wait: float = 0.3) -> bool:
        """True if the source sent nothing more within `wait` seconds."""
        await asyncio.sleep(wait)
        return len(self.got) == self.seen

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.master)
        os.close(self.master)
        os.close(self.slave)


async def test_stop_and_wait_over_a_pty():
    dec = PtyDecoder()
    src = open_source(f"protime://{dec.path}?status_every=0&loops=B02:start,B01:-&retry_min=0.05")
    assert isinstance(src, ProtimeSerialSource) and src.baud == 19_200
    async with running(src) as got:
        assert await dec.command() == CONFIG and await dec.command() == STATUS
        dec.send(msg(tr=1))  # before the configuration: held, not acknowledged
        await until(lambda: src._held)
        assert await dec.quiet() and got == []
        dec.send(codec.config_message("0412", 23, (12, 14)))
        assert await dec.command() == REPEAT  # now tell me again
        dec.send(msg(tr=1))
        assert await dec.command() == ACK
        assert (
            got[0].decoder_id == "0412" and got[0].transponder == "1" and got[0].loop is None
        )  # STA: the link's loop
        assert src.status.firmware == "23" and src.status.levels == {"STA": 12, "BOX": 14}

        # a damaged message is asked for again; the good copy is acknowledged
        dec.send(msg(tr=2)[:6] + b"9" + msg(tr=2)[7:])
        assert await dec.command() == REPEAT
        dec.send(msg(tr=2))
        assert await dec.command() == ACK
        # four damaged copies in a row: acknowledged and counted lost, the decoder goes on
        for _ in range(3):
            dec.send(b"<" + b"x" * 20 + b">\r\n")
            assert await dec.command() == REPEAT
        dec.send(b"<" + b"x" * 20 + b">\r\n")
        assert await dec.command() == ACK
        # our ACK was lost: the same message again is acknowledged and dropped
        dec.send(msg(tr=2))
        assert await dec.command() == ACK
        # channels: BOX pit_in by default, B02 mapped, B01 ignored; MAN and the photocell are triggers
        for m in (
            msg("BOX", 3),
            msg("B02", 4),
            msg("B01", 5),
            msg("MAN", 0),
            msg("STA", 255),
            msg(tr=6, status=3),
        ):
            dec.send(m)
            assert await dec.command() == ACK
        st = src.status
        assert [(p.transponder, p.loop) for p in got] == [
            ("1", None),
            ("2", None),
            ("3", "pit_in"),
            ("4", "start"),
            ("6", None),
        ]
        assert (st.passings, st.duplicates, st.triggers, st.passings_lost) == (5, 1, 2, 1)
        assert st.rejected["checksum"] == 1 and st.rejected["length"] == 4 and st.rejected["skipped"] == 1
        assert st.rejected["channel"] == 1 and st.low_battery == {"6": None}
        # a status message: noise and levels on the decoder row, and the decoder's clock
        dec.send(codec.status_message(parse_tod("12:00:01"), (40, 35), (10, 12)))
        await until(lambda: st.channel_noise == {"STA": 40, "BOX": 35})
        assert st.noise == 40 and st.levels == {"STA": 10, "BOX": 12}
        assert st.clock_decoder_us % DAY_US == parse_tod("12:00:01")
        assert abs(st.clock_decoder_us - local_now_us()) <= DAY_US // 2
    dec.close()


async def test_a_read_the_service_could_not_store_is_not_acknowledged_and_asked_again():
    dec = PtyDecoder()
    src = open_source(f"protime://{dec.path}?status_every=0")
    src.repeat_after = 0.2
    full = [True]
    emitted = []
    src._emit = lambda p: (emitted.append(p), not full[0])[1]  # the log refuses while the disk is full
    async with running(src):
        await dec.command(), await dec.command()
        dec.send(codec.config_message("0412", 23, (12, 14)))
        dec.send(msg(tr=9))
        assert await dec.command() == REPEAT  # not acknowledged: asked again after repeat_after
        assert src.status.rejected["unsaved"] == 1
        full[0] = False
        dec.send(msg(tr=9))
        assert await dec.command() == ACK
        assert [p.transponder for p in emitted] == ["9", "9"] and src.status.duplicates == 0
    dec.close()


# -- source over UDP ----------------------------------------------------------------------------------
class UdpDecoder(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.peer = None
        self.got: asyncio.Queue[bytes] = asyncio.Queue()

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.peer = addr
        for i in range(0, len(data), 2):
            self.got.put_nowait(data[i : i + 2])

    def send(self, data: bytes) -> None:
        self.transport.sendto(data, self.peer)


async def test_udp_answers_only_its_decoder_and_reopens_after_silence():
    loop = asyncio.get_running_loop()
    transport, dec = await loop.create_datagram_endpoint(UdpDecoder, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    src = open_source(
        f"protime+udp://127.0.0.1:{port}?listen=0&idle=0.6&status_every=0&retry_min=0.05&retry_max=0.1"
    )
    assert isinstance(src, ProtimeUdpSource)
    async with running(src) as got:
        assert await asyncio.wait_for(dec.got.get(), 5) == CONFIG
        assert src.status.state != "connected"  # nothing heard from the decoder yet
        dec.send(codec.config_message("0777", 31, (9, 9)))
        dec.send(msg(tr=77))
        await until(lambda: got)
        assert src.status.state == "connected" and got[0].decoder_id == "0777"
        stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        stranger.bind(("127.0.0.2", 0))  # another address on the loopback: not our decoder
        stranger.sendto(msg(tr=78), dec.peer)
        stranger.close()
        await until(lambda: src.status.rejected.get("foreign") == 1)
        await until(lambda: src.status.state == "reconnecting")  # silent for `idle`: reopened
        while await asyncio.wait_for(dec.got.get(), 5) != CONFIG:  # the new socket greets the decoder
            pass
        dec.send(msg(tr=79))
        await until(lambda: len(got) == 2)
        assert src.status.reconnects == 1 and [p.transponder for p in got] == ["77", "79"]
    transport.close()
