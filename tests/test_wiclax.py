"""Wiclax generic protocol: the codec on the facts' example, and the source over real TCP on
127.0.0.1 against a hand-driven device: REWIND after a cut and after a damaged line, rewound
reads not doubled, the device's clock, battery, loops."""

from __future__ import annotations

import asyncio

import pytest

from decoders.daytime import civil_us
from decoders.sources import open_source
from decoders.wiclax import codec
from tests.text_decoder import TextDecoder, running, until

pytestmark = pytest.mark.timeout(30)
T0 = civil_us(2026, 12, 4, 18, 35, 1, 120_000)
FAST = "retry_min=0.05&retry_max=0.1&rewind_delay=0.2"


def test_the_example_of_the_facts_and_every_message():
    stream = (
        b"01539;22-09-2011 02:41:30.620;0A;559;;0\r"
        b"*\r\n"
        b"CLOCK 04-12-2026 18:35:01\n"
        b"CLOCKOK\r"
        b"7;04-12-2026 18:35:01.5;;;15;1\r"
    )
    d = codec.WiclaxDecoder()
    out = [r for i in range(len(stream)) for r in d.feed(stream[i : i + 1])]
    assert out == [
        codec.WiclaxPassing("01539", civil_us(2011, 9, 22, 2, 41, 30, 620_000), "0A", 559, None, False),
        codec.WiclaxReply("*"),
        codec.WiclaxClock(civil_us(2026, 12, 4, 18, 35, 1)),
        codec.WiclaxReply("CLOCKOK"),
        codec.WiclaxPassing("7", civil_us(2026, 12, 4, 18, 35, 1, 500_000), "", None, 15, True),
    ]
    assert (
        codec.passing_line("01539", civil_us(2011, 9, 22, 2, 41, 30, 620_000), "0A", 559)
        == b"01539;22-09-2011 02:41:30.620;0A;559;;0\r"
    )
    p = codec.to_passing(out[4], decoder_id="gate", loop="finish")
    assert (p.transponder, p.rtc_time_us, p.live, p.loop, p.passing_number) == (
        "7",
        out[4].rtc_us,
        False,
        "finish",
        None,
    )


def test_damaged_lines_are_counted_and_said_where_they_came():
    d = codec.WiclaxDecoder()
    out = d.feed(
        b"1;31-02-2026 10:00:00.000;;;;0\r1;04-12-2026 10:00;;;;0\r1;2;3\r;04-12-2026 10:00:00;;;;0\r"
        b"1;04-12-2026 10:00:00;;x;;0\rhello\rCLOCK soon\r" + b"9" * 600 + b"\r2;04-12-2026 10:00:00;;;;0\r"
    )
    assert [type(r).__name__ for r in out[:-1]] == ["WiclaxDamaged"] * 8 and out[-1].chip == "2"
    assert [r.reason for r in out[:-1]] == [
        "time",
        "time",
        "fields",
        "fields",
        "fields",
        "unknown",
        "time",
        "framing",
    ]
    assert d.rejected == {"fields": 3, "time": 3, "framing": 1, "unknown": 1}
    assert codec.parse_rewind("REWIND 04-12-2026 18:35:01 04-12-2026 18:40:00") == (
        civil_us(2026, 12, 4, 18, 35, 1),
        civil_us(2026, 12, 4, 18, 40, 0, 999_999),
    )
    assert codec.rewind_command(T0, T0 + 60_000_000) == b"REWIND 04-12-2026 18:35:01 04-12-2026 18:36:01\r"


class Device:
    """A device's memory and answers: CLOCK, REWIND."""

    def __init__(self, server: TextDecoder) -> None:
        self.server = server
        self.reads: list[tuple[str, int, str]] = []
        self.clock = T0
        self.rewinds: list[tuple[int, int]] = []
        server.answer = self.answer

    def read(
        self, chip: str, dt_s: float, loop: str = "0A", push: bool = True, battery: int | None = 80
    ) -> None:
        r = (chip, T0 + round(dt_s * 1e6), loop)
        self.reads.append(r)
        self.clock = max(self.clock, r[1])
        if push:
            self.server.send(codec.passing_line(r[0], r[1], r[2], len(self.reads), battery))

    def answer(self, line: str) -> bytes:
        if line == "CLOCK":
            return codec.clock_line(self.clock)
        if (period := codec.parse_rewind(line)) is not None:
            self.rewinds.append(period)
            return b"".join(
                codec.passing_line(c, t, lp, None, None, rewind=True)
                for c, t, lp in self.reads
                if period[0] <= t <= period[1]
            )
        return b""


async def test_after_a_cut_it_rewinds_from_the_newest_read_and_doubles_nothing():
    async with TextDecoder(sep=b"\r") as server:
        dev = Device(server)
        src = open_source(f"wiclax://127.0.0.1:{server.port}?{FAST}&loops=0B:pit_in")
        async with running(src) as got:
            await until(lambda: server.lines)
            assert server.lines[0] == "CLOCK"
            dev.read("11", 1.0)
            dev.read("12", 2.2, battery=15)
            dev.read("13", 2.7, loop="0B")
            await until(lambda: len(got) == 3)
            server.go_down()
            dev.read("11", 61.0, push=False)  # read while the link is down
            dev.read("12", 62.5, push=False)
            await server.come_up()
            await until(lambda: len(got) == 5)
            await asyncio.sleep(0.2)
            st = src.status
            assert dev.rewinds[0][0] == T0 - 120_000 + 2_000_000  # from the second of the newest read kept
            assert [(p.transponder, p.live) for p in got] == [
                ("11", True),
                ("12", True),
                ("13", True),
                ("11", False),
                ("12", False),
            ]
            assert st.duplicates >= 1 and st.passings == 5 and st.reconnects == 1  # 12 and 13 came again
            assert [p.loop for p in got[:3]] == [None, None, "pit_in"] and got[2].decoder_id == "0B"
            assert st.low_battery == {"12": 15} and st.clock_decoder_us == dev.clock // 1_000_000 * 1_000_000


async def test_a_damaged_line_is_rewound_over():
    async with TextDecoder(sep=b"\r") as server:
        dev = Device(server)
        src = open_source(f"wiclax://127.0.0.1:{server.port}?{FAST}")
        async with running(src) as got:
            await until(lambda: server.lines)
            dev.read("21", 1.0)
            await until(lambda: len(got) == 1)
            dev.read("22", 3.0, push=False)
            server.send(b"22;04-12-2026 18:3#:04.120;0A;2;80;0\r")  # its line, damaged on the way
            dev.read("23", 4.0)
            await until(lambda: len(got) == 3)
            assert [p.transponder for p in got] == ["21", "23", "22"] and src.status.rejected["time"] == 1
            assert dev.rewinds and dev.rewinds[0][0] <= T0 + 1_000_000


async def test_rewind_option_after_a_restart_and_a_read_not_stored():
    async with TextDecoder(sep=b"\r") as server:
        dev = Device(server)
        dev.read("31", -120.0, push=False)  # read while Boucle was down
        dev.read("32", -700.0, push=False)  # older than asked for
        src = open_source(f"wiclax://127.0.0.1:{server.port}?{FAST}&rewind=600")
        refused = [True]
        kept = []
        src._emit = lambda p: (kept.append(p.transponder), not refused[0])[1]
        async with running(src):
            await until(lambda: kept)
            assert dev.rewinds[0][0] == T0 - 120_000 - 600_000_000  # 600 s before its clock (to the second)
            refused[0] = False  # the read was not stored: rewound again
            await until(lambda: kept == ["31", "31"])
            assert src.status.rejected["unsaved"] == 1


def test_url_needs_a_port():
    with pytest.raises(ValueError, match="wiclax://HOST:PORT") as e:
        open_source("wiclax://10.0.0.3")
    assert e.value.code == "decoder.url_expected"
