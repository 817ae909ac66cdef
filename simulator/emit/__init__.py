"""Real-time playback of a generated race through the real decoder protocols.

One `Feed` per simulated decoder (finish, pit_in, pit_out, start, backup finish) holds what that
decoder has read so far: its passing history with per-decoder passing numbers, as a real decoder
keeps it for RESEND. One clock drives every target: at session time t (scaled by `speed`) the
decoder reads the passing; a target then pushes it to its clients unless the decoder's link is
down (an outage), in which case only the history has it.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np

from simulator.model import DECODER_IDS, DECODER_LOOP, Race
from simulator.scenario import event_line, t_us

log = logging.getLogger("boucle.simulator")


@dataclass(frozen=True, slots=True)
class SimPassing:
    """One passing as the decoder reports it."""

    number: int
    transponder: str
    rtc_time_us: int
    strength: int
    hits: int
    t: float  # session time (not sent; used for scheduling)


@dataclass
class Feed:
    """One simulated decoder: identity, clock, full read list and what it has read so far."""

    key: str  # finish | pit_in | pit_out | start | finish-b
    decoder_id: str
    loop: str
    rtc_base_us: int
    passings: list[SimPassing]
    outages: list[tuple[float, float]]
    history: dict[int, SimPassing] = field(default_factory=dict)
    online: bool = True
    sent: int = 0  # passings pushed live to at least the link (not counting resends)
    resent: int = 0
    now: Callable[[], float] = lambda: 0.0  # session clock, set by `play`

    def rtc_now_us(self) -> int:
        return self.rtc_base_us + t_us(self.now())

    def read(self, p: SimPassing) -> None:
        self.history[p.number] = p

    def range(self, lo: int, hi: int) -> list[SimPassing]:
        """Passings numbered lo..hi that the decoder has already read (RESEND answer)."""
        if hi < lo:
            return []
        hi = min(hi, lo + 100_000)  # bounded, whatever the request says
        return [self.history[n] for n in range(lo, hi + 1) if n in self.history]


def _order(x: SimPassing | dict | None) -> int:
    return x.number if isinstance(x, SimPassing) else 0


def build_feeds(race: Race, rtc_base_us: int) -> list[Feed]:
    """Split the race's reads by decoder and number them; numbering starts anywhere, as on a real box."""
    rng = np.random.default_rng([race.seed, 0xB0C1E])
    feeds = []
    for key in race.decoders():
        reads = [r for r in race.reads if r.decoder == key]
        first = int(rng.integers(1, 60_000))
        base = rtc_base_us + (round(race.params.clock_offset_s * 1e6) if key == "finish-b" else 0)
        ps = [SimPassing(first + i, r.transponder, base + t_us(r.t), r.strength, r.hits, r.t)
              for i, r in enumerate(reads)]
        outs = [(a, b) for d, a, b in race.outages if d == key]
        feeds.append(Feed(key, DECODER_IDS[key], DECODER_LOOP.get(key, key), base, ps, outs))
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

    def clients(self, feed: Feed) -> int:
        """Connected clients for this decoder (targets without the notion answer 1)."""
        return 1

    async def stop(self) -> None:
        """Close everything."""


def make_target(url: str) -> Target:
    scheme = url.split(":", 1)[0].lower()
    if scheme == "p3tcp":
        from simulator.emit.p3tcp import P3TcpTarget

        return P3TcpTarget(url)
    if scheme == "serial":
        from simulator.emit.serial import SerialTarget

        return SerialTarget(url)
    if scheme in ("mqtt", "mqtts"):
        from simulator.emit.mqtt import MqttTarget

        return MqttTarget(url)
    raise ValueError(f"unknown playback target {url!r}: use p3tcp://HOST:PORT, serial or mqtt://HOST:PORT/PREFIX")


async def play(race: Race, targets: list[str] | list[Target], *, speed: float = 1.0,
               rtc_base_us: int = 1_767_225_600_000_000, from_t: float | None = None,
               announce: Callable[[dict], None] | None = None, wait_clients_s: float = 0.0,
               linger_s: float = 2.0, status_every_s: float = 2.0,
               on_event: Callable[[dict], Awaitable[None] | None] | None = None) -> dict:
    """Play `race` in real time (divided by `speed`) on every target; returns counts per decoder.

    `wait_clients_s`: before starting the clock, wait up to that long for every decoder to have a
    client (so a service started alongside does not miss the first passings).
    `linger_s`: keep serving after the last passing (clients may still ask for RESEND).
    `on_event`: called with each non-passing scenario line (signals, driver changes, refuels,
    mechanicals, grid moves) at its session time, for whoever plays race control and marshals.
    """
    if speed <= 0:
        raise ValueError("speed must be positive")
    feeds = build_feeds(race, rtc_base_us)
    tgs = [make_target(t) if isinstance(t, str) else t for t in targets]
    loop = asyncio.get_running_loop()
    status_task: asyncio.Task | None = None
    try:
        for tg in tgs:
            for info in await tg.start(feeds):
                if announce:
                    announce(info)
        deadline = loop.time() + wait_clients_s
        while loop.time() < deadline and not all(tg.clients(f) for tg in tgs for f in feeds):
            await asyncio.sleep(0.02)
        # one timeline for all decoders: reads, link drops and recoveries
        timeline: list[tuple[float, int, Feed | None, SimPassing | dict | None]] = []
        for f in feeds:
            timeline += [(p.t, 1, f, p) for p in f.passings]
            for a, b in f.outages:
                timeline += [(a, 0, f, None), (b, 2, f, None)]
        if on_event is not None:
            timeline += [(e.t, 3, None, event_line(e)) for e in race.events]
        timeline.sort(key=lambda x: (x[0], x[1], x[2].key if x[2] else "", _order(x[3])))
        t0 = from_t if from_t is not None else min([0.0] + [x[0] for x in timeline[:1]])
        wall0 = loop.time()
        for f in feeds:
            f.now = lambda: t0 + (loop.time() - wall0) * speed

        async def statuses() -> None:
            while True:
                await asyncio.sleep(status_every_s)
                for tg in tgs:
                    for f in feeds:
                        if f.online:
                            await tg.status(f)

        status_task = asyncio.create_task(statuses())
        for t, kind, f, p in timeline:
            if t < t0:  # before --from-t: the decoder read it, nobody was listening
                if isinstance(p, SimPassing):
                    f.read(p)
                continue
            delay = wall0 + (t - t0) / speed - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if kind == 3:
                assert on_event is not None and isinstance(p, dict)
                res = on_event(p)
                if inspect.isawaitable(res):
                    await res
            elif kind == 0 and f.online:
                f.online = False
                log.info("decoder %s (%s) link down at t=%.1f", f.decoder_id, f.loop, t)
                for tg in tgs:
                    await tg.down(f)
            elif kind == 2 and not f.online:
                f.online = True
                log.info("decoder %s (%s) link up at t=%.1f", f.decoder_id, f.loop, t)
                for tg in tgs:
                    await tg.up(f)
            elif isinstance(p, SimPassing):
                f.read(p)
                if f.online:
                    f.sent += 1
                    for tg in tgs:
                        await tg.passing(f, p)
        await asyncio.sleep(linger_s)
    finally:
        if status_task:
            status_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await status_task
        for tg in tgs:
            with contextlib.suppress(Exception):
                await tg.stop()
    return {f.decoder_id: {"loop": f.loop, "passings": len(f.passings), "sent": f.sent, "resent": f.resent}
            for f in feeds}
