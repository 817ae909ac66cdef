"""Simulated devices speaking Wiclax's generic acquisition protocol over TCP (`wiclax://HOST:PORT`).

One device per loop; its reads carry the device's id (the race's decoder id) as loop id, its own
lap counter per chip and a battery level (15 % for chips ending in 3, else 80 %). It pushes each
read live (rewind 0), a `*` heartbeat on the status tick, answers `CLOCK` with its clock,
`CLOCK <time>` with CLOCKOK, STARTREAD/STOPREAD with READOK, and `REWIND <from> <to>` with every
read of that period it holds (rewind 1). `corrupt=P` damages the time of a read it sends.
"""

from __future__ import annotations

from collections import Counter

from decoders.wiclax import codec
from simulator.emit.base import Feed, SimPassing
from simulator.emit.faults import damage
from simulator.emit.tcpdevices import Device, TcpDevicesTarget


class WiclaxDevice(Device):
    def __init__(self, target: WiclaxTarget, feed: Feed) -> None:
        super().__init__(target, feed)
        self.buf = b""

    def line(self, p: SimPassing, rewind: bool) -> bytes:
        t = self.target
        out = codec.passing_line(
            p.transponder,
            p.rtc_time_us,
            self.feed.decoder_id,
            t.laps[(self.feed.key, p.number)],
            15 if p.transponder.endswith("3") else 80,
            rewind,
        )
        if t.rng.random() < t.corrupt:
            start = len(p.transponder) + 12  # the time of day, after "chip;dd-mm-yyyy "
            out = damage(out, t.rng, slice(start, start + 8))
        return out

    def on_bytes(self, data: bytes) -> bytes:
        self.buf += data
        *lines, self.buf = self.buf.replace(b"\n", b"\r").split(b"\r")
        return b"".join(self.answer(raw.decode("latin-1").strip()) for raw in lines if raw.strip())

    def answer(self, cmd: str) -> bytes:
        if cmd == "CLOCK":
            now = self.feed.rtc_now_us()
            return b"" if now is None else codec.clock_line(now)  # no clock before the race clock starts
        if cmd.startswith("CLOCK "):
            return b"CLOCKOK\r"
        if cmd in ("STARTREAD", "STOPREAD"):
            return b"READOK\r"
        period = codec.parse_rewind(cmd)
        if period is not None:
            lo, hi = period
            hist = self.feed.history
            picked = [hist[n] for n in sorted(hist) if lo <= hist[n].rtc_time_us <= hi]
            self.feed.resent += len(picked)
            return b"".join(self.line(p, rewind=True) for p in picked)
        return b""

    def push(self, p: SimPassing) -> bytes:
        return self.line(p, rewind=False)

    def tick(self) -> bytes:
        return b"*\r"


class WiclaxTarget(TcpDevicesTarget):
    scheme = "wiclax"
    default_port = 0

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.laps: dict[tuple[str, int], int] = {}

    async def start(self, feeds: list[Feed]) -> list[dict]:
        for f in feeds:
            seen: Counter = Counter()
            for p in f.passings:
                seen[p.transponder] += 1
                self.laps[(f.key, p.number)] = seen[p.transponder]
        return await super().start(feeds)

    def device(self, feed: Feed) -> Device:
        return WiclaxDevice(self, feed)
