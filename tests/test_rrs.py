"""Race Result: the codec, and the source over real TCP on 127.0.0.1 against a hand-driven box:
pushed passings, gaps and the reads after a cut fetched by number, resuming from the log after a
restart, markers, stored passings, battery."""

from __future__ import annotations

import pytest

from decoders.daytime import DAY_US, civil_us, parse_tod
from decoders.rrs import codec
from decoders.rrs.transport import RrsSource
from decoders.sources import open_source
from tests.text_decoder import TextDecoder, running, until

pytestmark = pytest.mark.timeout(30)
T0 = civil_us(2026, 12, 4, 18, 35, 1, 123_000)
FAST = "retry_min=0.05&retry_max=0.1&poll=0.3&fetch_retry=0.4"


# -- codec --------------------------------------------------------------------------------------------
def test_a_pushed_passing_every_field_read():
    raw = codec.passing_line(
        157,
        "KDLWA84",
        T0,
        hits=0x2A,
        rssi=0x5F,
        loop_id="2",
        battery=1.8,
        active_data=codec.STORED,
        box_name="Arrivée",
        file_no=3,
        box_id="BOX7",
    )
    assert raw.startswith(b"#P;157;KDLWA84;2026-12-04;18:35:01.123;") and raw.endswith(b"\r\n")
    d = codec.RrsDecoder()
    (p,) = d.feed(raw)
    assert (p.number, p.transponder, p.day_us + p.tod_us, p.hits, p.rssi, p.loop_id, p.battery) == (
        157,
        "KDLWA84",
        T0,
        42,
        95,
        "2",
        1.8,
    )
    assert (p.box_name, p.file_no, p.pushed, p.stored, p.marker) == ("Arrivée", 3, True, True, False)
    out = codec.to_passing(p, decoder_id="BOX7/3", ref_us=0, loop="finish", source="rrs://x")
    assert (out.rtc_time_us, out.passing_number, out.hits, out.strength, out.live) == (T0, 157, 42, 95, False)


def test_answers_fetch_ends_and_every_reject_counted():
    fetched = codec.passing_line(1, "9999900001", T0, pushed=False)
    no_date = fetched.replace(b"2026-12-04", b"")
    stream = b"".join(
        [
            codec.line("GETPROTOCOL", "1.0", "2.1", "3.0"),
            codec.line("PASSINGS", 157, 3),
            codec.status_line(T0, file_no=3, battery_pct=87),
            codec.line("SETPROTOCOL", "3.0"),
            codec.line("GETCONFIG", "GENERAL", "BOXNAME", "Arrivée", "BOX7"),
            fetched,
            no_date,
            b"\r\n",
            codec.line("ONLY 3"),
            b"#P;1;2;3\r\n",
            b"#P;x" + fetched[1:],
            fetched.replace(b"18:35", b"18h35"),
            b"#W;1;2\r\n",
            b"#P;" + b"9" * 2000 + b"\r\n",
        ]
    )
    d = codec.RrsDecoder()
    out = [r for i in range(0, len(stream), 7) for r in d.feed(stream[i : i + 7])]
    kinds = [type(r).__name__ for r in out]
    assert kinds == [
        "RrsProtocol",
        "RrsCount",
        "RrsStatus",
        "RrsReply",
        "RrsConfig",
        "RrsPassing",
        "RrsPassing",
        "RrsFetchEnd",
        "RrsFetchEnd",
    ]
    assert out[0].highest == "3.0" and out[1] == codec.RrsCount(157, 3)
    assert out[2] == codec.RrsStatus(T0, True, True, 3, True, 87)
    assert out[5].marker and not out[5].pushed and out[6].day_us is None
    assert (
        codec.to_passing(out[6], decoder_id="b", ref_us=T0 + 3_600_000_000).rtc_time_us == T0
    )  # nearest day
    assert d.rejected == {"fields": 1, "number": 1, "time": 1, "framing": 1, "unknown": 1}


# -- source over TCP ----------------------------------------------------------------------------------
class Box:
    """A Race Result box's answers; `reads` is its passings file (number -> transponder)."""

    def __init__(self, server: TextDecoder, box: str = "BOX7", file_no: int = 1) -> None:
        self.server, self.box, self.file_no = server, box, file_no
        self.reads: dict[int, str] = {}
        self.pushing = False
        self.fetches: list[str] = []
        self.protocol = ("1.0", "3.0", "3.0")
        server.answer = self.answer

    def line(self, n: int, pushed: bool) -> bytes:
        tr = self.reads[n]
        return codec.passing_line(
            n,
            tr,
            T0 + n * 1_000_000,
            hits=n,
            rssi=0x50 + n % 16,
            battery=1.7 if tr.endswith("3") else 3.0,
            box_name="Arrivée",
            file_no=self.file_no,
            active_data=codec.STORED if tr.endswith("7") else 0,
            pushed=pushed,
        )

    def read(self, n: int, tr: str | None = None, push: bool = True) -> None:
        self.reads[n] = tr or f"T{n:04d}"
        if push and self.pushing:
            self.server.send(self.line(n, True))

    def answer(self, cmd: str) -> bytes:
        head = cmd.split(";")[0]
        if ":" in head:
            self.fetches.append(head)
            first, k = (int(x) for x in head.split(":"))
            return b"".join(self.line(n, False) for n in range(first, first + k) if n in self.reads) + b"\r\n"
        if head == "SETPUSHPASSINGS":
            self.pushing = True
        return {
            "GETPROTOCOL": codec.line("GETPROTOCOL", *self.protocol),
            "GETCONFIG": codec.line("GETCONFIG", "GENERAL", "BOXNAME", "Arrivée", self.box),
            "GETSTATUS": codec.status_line(T0 + 3_600_000_000, self.file_no, battery_pct=64),
            "PASSINGS": codec.line("PASSINGS", max(self.reads, default=0), self.file_no),
        }.get(head, codec.line(*cmd.split(";")))


async def test_pushed_reads_a_gap_fetched_markers_stored_and_battery():
    async with TextDecoder() as server:
        box = Box(server)
        src = open_source(f"rrs://127.0.0.1:{server.port}?{FAST}")
        async with running(src) as got:
            await until(lambda: box.pushing and "PASSINGS" in server.lines)
            assert server.lines[:7] == [
                "GETPROTOCOL",
                "SETPROTOCOL;3.0",
                "SETPUSHPREWARNS;0",
                "SETPUSHPASSINGS;1;0",
                "GETCONFIG;GENERAL;BOXNAME",
                "GETSTATUS",
                "PASSINGS",
            ]
            box.read(1, "9999900001")  # the start marker
            box.read(2, "T0007")  # stored by its transponder
            box.read(3, "T0013")  # low battery
            box.read(4, push=False)  # lost on the way
            box.read(5)
            await until(lambda: len(got) == 4)
            box.server.send(box.line(3, True))  # again: a duplicate
            await until(lambda: src.status.duplicates == 1)
            st = src.status
            assert [(p.passing_number, p.live) for p in got] == [(2, False), (3, True), (5, True), (4, False)]
            assert "4:1" in box.fetches and st.markers == 1 and st.decoder_id == "BOX7/1"
            assert (st.gaps_detected, st.gaps_recovered, st.passings_recovered) == (1, 1, 1)
            assert st.low_battery == {"T0013": 1.7} and st.decoder_battery == 64
            assert st.clock_decoder_us == T0 + 3_600_000_000
            assert (got[1].hits, got[1].strength, got[1].decoder_id) == (3, 0x53, "BOX7/1")


async def test_the_reads_of_a_cut_link_are_fetched_from_the_newest_we_have():
    async with TextDecoder() as server:
        box = Box(server)
        src = RrsSource(
            f"rrs://127.0.0.1:{server.port}",
            "127.0.0.1",
            server.port,
            retry_min=0.05,
            retry_max=0.1,
            poll=0.3,
            fetch_retry=0.4,
        )
        async with running(src) as got:
            await until(lambda: box.pushing)
            for n in range(1, 4):
                box.read(n)
            await until(lambda: len(got) == 3)
            server.go_down()
            box.pushing = False
            for n in range(4, 7):  # the last laps, read while the link is down: no higher number ever comes
                box.read(n)
            await server.come_up()
            await until(lambda: len(got) == 6)
            assert [p.passing_number for p in got] == [1, 2, 3, 4, 5, 6]
            assert "4:3" in box.fetches and src.status.reconnects == 1 and src.status.passings_lost == 0


async def test_after_a_restart_it_resumes_from_the_numbers_in_the_log():
    async with TextDecoder() as server:
        box = Box(server, file_no=2)
        for n in range(1, 13):  # read while Boucle was down
            box.read(n)
        logged = {"BOX7/2": [1, 2, 4, 5], "BOX7/1": list(range(1, 40))}  # 3 never arrived; file 1 is older
        src = open_source(f"rrs://127.0.0.1:{server.port}?{FAST}")
        async with running(src, logged) as got:
            await until(lambda: len(got) == 8)
            assert sorted(p.passing_number for p in got) == [3, 6, 7, 8, 9, 10, 11, 12]
            assert all(not p.live for p in got) and {"3:1", "6:7"} <= set(box.fetches)
            assert src.status.passings_recovered == 1 and src.status.passings_lost == 0


async def test_a_read_the_service_could_not_store_is_fetched_again():
    async with TextDecoder() as server:
        box = Box(server)
        src = open_source(f"rrs://127.0.0.1:{server.port}?{FAST}")
        refused = {2}
        kept = []
        src._emit = lambda p: (kept.append(p.passing_number), p.passing_number not in refused)[1]
        async with running(src):
            await until(lambda: box.pushing)
            for n in (1, 2, 3):
                box.read(n)
            await until(lambda: src.status.rejected["unsaved"] == 1)
            refused.clear()  # room again
            await until(lambda: kept.count(2) == 2)
            assert "2:1" in box.fetches and src.status.duplicates == 0


async def test_a_decoder_below_protocol_3_is_reported():
    async with TextDecoder() as server:
        box = Box(server)
        box.protocol = ("1.0", "2.1", "2.1")
        src = open_source(f"rrs://127.0.0.1:{server.port}?{FAST}")
        async with running(src):
            await until(lambda: src.status.last_error is not None)
            assert "2.1" in src.status.last_error


def test_url_options():
    s = open_source("rrs://10.0.0.9?loops=1:finish,2:pit_in,3:-&low_battery=2.2")
    assert (s.host, s.port, s.low_battery) == ("10.0.0.9", 3601, 2.2)
    assert [s.loops.loop(k) for k in ("1", "2", "3", "9")] == ["finish", "pit_in", "-", None]
    assert parse_tod("18:35:01.123") + civil_us(2026, 12, 4) == T0 and T0 % DAY_US
