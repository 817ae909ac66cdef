"""Simulated Race Result decoders over TCP (`rrs://HOST:PORT`), one box per loop.

Each box keeps one passings file (file 1), numbered from 1: number 1 is a marker (transponder
99999...) set at the start, the race's reads follow. It answers GETPROTOCOL (up to 3.0),
SETPROTOCOL, SETPUSHPASSINGS (then pushes `#P;` lines as it reads), GETCONFIG;GENERAL;BOXNAME,
GETSTATUS (its clock, 87 % battery), PASSINGS (count and file) and `<n>:<k>` (those passings from
its memory, then an empty line). Every 7th passing is flagged stored by its transponder
(internal active data 0x40), and transponders ending in 3 report 1.9 V (low battery).
`corrupt=P` damages the time of a passing line sent, so the client cannot read it.
"""

from __future__ import annotations

from decoders.rrs import codec
from simulator.emit.base import Feed, SimPassing
from simulator.emit.faults import damage
from simulator.emit.tcpdevices import Device, TcpDevicesTarget

FILE = 1
MARKER = "9999900001"
VERSIONS = ("1.0", "3.0", "3.0")


class RrsDevice(Device):
    def __init__(self, target: RrsTarget, feed: Feed) -> None:
        super().__init__(target, feed)
        self.buf = b""
        self.pushing = False

    def number(self, p: SimPassing) -> int:
        return p.number - self.feed.passings[0].number + 2  # 1 is the marker

    def line(self, p: SimPassing | None, pushed: bool) -> bytes:
        if p is None:
            out = codec.passing_line(
                1,
                MARKER,
                self.feed.rtc_base_us,
                battery=None,
                box_name="sim",
                box_id=self.feed.decoder_id,
                pushed=pushed,
            )
        else:
            n = self.number(p)
            out = codec.passing_line(
                n,
                p.transponder,
                p.rtc_time_us,
                hits=p.hits,
                rssi=p.strength,
                battery=1.9 if p.transponder.endswith("3") else 3.0,
                active_data=codec.STORED if n % 7 == 0 else 0,
                box_name="sim",
                box_id=self.feed.decoder_id,
                pushed=pushed,
            )
        t = self.target
        if t.rng.random() < t.corrupt:
            before = out.split(b";")[: 4 if pushed else 3]  # the fields before the time of day
            start = sum(len(x) + 1 for x in before)
            out = damage(out, t.rng, slice(start, start + 8))
        return out

    def count(self) -> int:
        h = self.feed.history
        return 1 + (max(h) - self.feed.passings[0].number + 1 if h else 0)

    def fetch(self, first: int, k: int) -> bytes:
        out = []
        base = self.feed.passings[0].number - 2
        for n in range(max(first, 1), min(first + max(k, 0), first + 10_000)):
            if n == 1:
                out.append(self.line(None, pushed=False))
            elif (p := self.feed.history.get(n + base)) is not None:
                out.append(self.line(p, pushed=False))
                self.feed.resent += 1
        return b"".join(out) + b"\r\n"

    def on_bytes(self, data: bytes) -> bytes:
        self.buf += data
        *lines, self.buf = self.buf.split(b"\n")
        return b"".join(self.answer(raw.decode("latin-1").strip()) for raw in lines)

    def answer(self, cmd: str) -> bytes:
        f = self.feed
        fields = cmd.split(";")
        head = fields[0]
        if ":" in head and head.replace(":", "").isdigit():
            first, k = head.split(":")
            return self.fetch(int(first), int(k))
        if head == "GETPROTOCOL":
            return codec.line("GETPROTOCOL", *VERSIONS)
        if head == "SETPUSHPASSINGS":
            starting = not self.pushing and fields[1:2] == ["1"]
            self.pushing = fields[1:2] == ["1"]
            if starting and not f.history:  # the start marker was just set: it goes out live
                return codec.line(*fields) + self.line(None, pushed=True)
            return codec.line(*fields)
        if head in ("SETPROTOCOL", "SETPUSHPREWARNS", "STARTOPERATION", "STOPOPERATION"):
            return codec.line(*fields)
        if head == "GETCONFIG":
            return codec.line("GETCONFIG", "GENERAL", "BOXNAME", "sim", f.decoder_id)
        if head == "GETSTATUS":
            now = f.rtc_now_us()
            return b"" if now is None else codec.status_line(now, FILE)  # silent before the race clock starts
        if head == "PASSINGS":
            return codec.line("PASSINGS", self.count(), FILE)
        return codec.line("ERROR", "unknown command")

    def push(self, p: SimPassing) -> bytes:
        return self.line(p, pushed=True) if self.pushing else b""


class RrsTarget(TcpDevicesTarget):
    scheme = "rrs"
    default_port = codec.PORT

    def device(self, feed: Feed) -> Device:
        return RrsDevice(self, feed)

    def info(self, feed: Feed) -> dict:
        return {**super().info(feed), "decoder_id": f"{feed.decoder_id}/{FILE}"}
