"""What every playback target shares: a simulated decoder's `Feed`, its `SimPassing`s, `Target`.

One `Feed` per simulated decoder (finish, pit_in, pit_out, start, backup finish) holds what that
decoder has read so far: its passing history with per-decoder passing numbers, as a real decoder
keeps it for RESEND. A decoder that reboots (`reboots`) loses that history and numbers its
next reads from 1 again: a new numbering epoch (its clock runs on). The targets (p3tcp, serial, mqtt)
import this module, never the package, so `simulator.emit` can list them without an import cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from service.timeutil import s_to_us
from simulator.model import DECODER_IDS, DECODER_LOOP, Race
from simulator.scenario import t_us


@dataclass(frozen=True, slots=True)
class SimPassing:
    """One passing as the decoder reports it."""

    number: int
    transponder: str
    rtc_time_us: int
    strength: int
    hits: int
    t: float  # session time (not sent; used for scheduling)
    epoch: int = 1  # 1 + reboots of the decoder before this read


@dataclass
class Feed:
    """One simulated decoder: identity, clock, full read list and what it has read so far."""

    key: str  # finish | pit_in | pit_out | start | finish-b
    decoder_id: str
    loop: str
    rtc_base_us: int
    passings: list[SimPassing]
    outages: list[tuple[float, float]]
    reboots: list[float] = field(default_factory=list)  # session times the decoder reboots at
    history: dict[int, SimPassing] = field(default_factory=dict)
    online: bool = True
    sent: int = 0  # passings pushed live to at least the link (not counting resends)
    resent: int = 0
    now: Callable[[], float] = lambda: 0.0  # session clock, set by `play`
    started: bool = False  # the race clock runs (set by `play`)

    def rtc_now_us(self) -> int | None:
        """The decoder's clock now (None before the race clock starts: it does not answer yet)."""
        return self.rtc_base_us + t_us(self.now()) if self.started else None

    def reboot(self) -> None:
        """Stored passings gone; the next reads are numbered from 1 (see build_feeds)."""
        self.history.clear()

    def read(self, p: SimPassing) -> None:
        self.history[p.number] = p

    def range(self, lo: int, hi: int) -> list[SimPassing]:
        """Passings numbered lo..hi that the decoder has already read (RESEND answer)."""
        if hi < lo:
            return []
        hi = min(hi, lo + 100_000)  # bounded, whatever the request says
        return [self.history[n] for n in range(lo, hi + 1) if n in self.history]


def build_feeds(
    race: Race,
    rtc_base_us: int,
    reboots: list[tuple[str, float]] | None = None,
    number_from: int | None = None,
) -> list[Feed]:
    """Split the race's reads by decoder and number them; numbering starts anywhere, as on a real box
    (or at `number_from`), and again at 1 after each of the decoder's reboots (`reboots`: (decoder
    key or id, session time))."""
    rng = np.random.default_rng([race.seed, 0xB0C1E])
    feeds = []
    for key in race.decoders():
        reads = [r for r in race.reads if r.decoder == key]
        first = int(rng.integers(1, 60_000)) if number_from is None else number_from
        base = rtc_base_us + (s_to_us(race.params.clock_offset_s) if key == "finish-b" else 0)
        boots = sorted(at for who, at in reboots or () if who in (key, DECODER_IDS[key]))
        ps, number, epoch = [], first, 1
        for r in reads:
            while epoch <= len(boots) and r.t >= boots[epoch - 1]:
                number, epoch = 1, epoch + 1
            ps.append(SimPassing(number, r.transponder, base + t_us(r.t), r.strength, r.hits, r.t, epoch))
            number += 1
        outs = [(a, b) for d, a, b in race.outages if d == key]
        feeds.append(Feed(key, DECODER_IDS[key], DECODER_LOOP.get(key, key), base, ps, outs, boots))
    return feeds


class Target:
    """A way of putting decoders on the wire (P3 over TCP, P3 on a pty, MQTT)."""

    url: str = ""

    async def start(self, feeds: list[Feed]) -> list[dict]:
        """Open the transport; return one info dict per decoder (where to reach it)."""
        raise NotImplementedError

    async def passing(self, feed: Feed, p: SimPassing) -> None:
        """The decoder has just read `p` (and it is online): push it."""

    async def status(self, feed: Feed) -> None:
        """Periodic decoder status (noise, temperature...)."""

    async def down(self, feed: Feed) -> None:
        """The decoder's link drops: close connections, push nothing until `up`."""

    async def up(self, feed: Feed) -> None:
        """The link is back."""

    async def reboot(self, feed: Feed) -> None:
        """The decoder restarts: its links drop and come back at once (its history is already gone)."""
        await self.down(feed)
        await self.up(feed)

    def clients(self, feed: Feed) -> int:
        """Connected clients for this decoder (targets without the notion answer 1)."""
        return 1

    async def stop(self) -> None:
        """Close everything."""
