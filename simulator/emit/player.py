"""Real-time playback of a generated race through the real decoder protocols.

One clock drives every target: at session time t (scaled by `speed`) the decoder reads the
passing; a target then pushes it to its clients unless the decoder's link is down (an outage), in
which case only the history has it.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from enum import IntEnum

from simulator.emit.base import Feed, SimPassing, Target, build_feeds
from simulator.emit.targets import make_target
from simulator.model import Race
from simulator.scenario import event_line

log = logging.getLogger("boucle.simulator")


class Cue(IntEnum):
    """What happens at a moment of the playback timeline; at one instant, in this order."""

    REBOOT = -1  # a decoder reboots (before the reads of that instant)
    LINK_DOWN = 0  # a decoder's link drops (an outage starts)
    READ = 1  # a decoder reads a passing
    LINK_UP = 2  # the link is back (the outage ends)
    EVENT = 3  # a non-passing scenario line, for `on_event` (race control, marshals)


def _order(x: SimPassing | dict | None) -> int:
    return x.number if isinstance(x, SimPassing) else 0


async def play(
    race: Race,
    targets: list[str] | list[Target],
    *,
    speed: float = 1.0,
    rtc_base_us: int = 1_767_225_600_000_000,
    from_t: float | None = None,
    announce: Callable[[dict], None] | None = None,
    wait_clients_s: float = 0.0,
    linger_s: float = 2.0,
    status_every_s: float = 2.0,
    on_event: Callable[[dict], Awaitable[None] | None] | None = None,
    reboot_at: list[tuple[str, float]] | None = None,
    number_from: int | None = None,
) -> dict:
    """Play `race` in real time (divided by `speed`) on every target; returns counts per decoder.

    `wait_clients_s`: before starting the clock, wait up to that long for every decoder to have a
    client (so a service started alongside does not miss the first passings).
    `linger_s`: keep serving after the last passing (clients may still ask for RESEND).
    `on_event`: called with each non-passing scenario line (signals, driver changes, refuels,
    mechanicals, grid moves) at its session time, for whoever plays race control and marshals.
    `reboot_at`: (decoder key or id, session time): that decoder reboots then (see build_feeds);
    `number_from`: every decoder numbers its reads from there (default: anywhere, per decoder).
    """
    if speed <= 0:
        raise ValueError("speed must be positive")
    feeds = build_feeds(race, rtc_base_us, reboot_at, number_from)
    known = {k for f in feeds for k in (f.key, f.decoder_id)}
    for who, _ in reboot_at or ():
        if who not in known:
            raise ValueError(
                f"--reboot-at: no decoder {who!r} in this race (one of {', '.join(sorted(known))})"
            )
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
        timeline: list[tuple[float, Cue, Feed | None, SimPassing | dict | None]] = []
        for f in feeds:
            timeline += [(p.t, Cue.READ, f, p) for p in f.passings]
            for a, b in f.outages:
                timeline += [(a, Cue.LINK_DOWN, f, None), (b, Cue.LINK_UP, f, None)]
            timeline += [(at, Cue.REBOOT, f, None) for at in f.reboots]
        if on_event is not None:
            timeline += [(e.t, Cue.EVENT, None, event_line(e)) for e in race.events]
        timeline.sort(key=lambda x: (x[0], x[1], x[2].key if x[2] else "", _order(x[3])))
        t0 = from_t if from_t is not None else min([0.0] + [x[0] for x in timeline[:1]])
        wall0 = loop.time()
        for f in feeds:
            f.now = lambda: t0 + (loop.time() - wall0) * speed
            f.started = True

        async def statuses() -> None:
            while True:
                await asyncio.sleep(status_every_s)
                for tg in tgs:
                    for f in feeds:
                        if f.online:
                            await tg.status(f)

        status_task = asyncio.create_task(statuses())
        for t, cue, f, p in timeline:
            if t < t0:  # before --from-t: the decoder read it, nobody was listening
                if isinstance(p, SimPassing):
                    f.read(p)
                elif cue is Cue.REBOOT:
                    f.reboot()
                continue
            delay = wall0 + (t - t0) / speed - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if cue is Cue.EVENT:
                assert on_event is not None and isinstance(p, dict)
                res = on_event(p)
                if inspect.isawaitable(res):
                    await res
            elif cue is Cue.REBOOT:
                f.reboot()
                log.info("decoder %s (%s) reboots at t=%.1f: numbering from 1 again", f.decoder_id, f.loop, t)
                if f.online:
                    for tg in tgs:
                        await tg.reboot(f)
            elif cue is Cue.LINK_DOWN and f.online:
                f.online = False
                log.info("decoder %s (%s) link down at t=%.1f", f.decoder_id, f.loop, t)
                for tg in tgs:
                    await tg.down(f)
            elif cue is Cue.LINK_UP and not f.online:
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
    return {
        f.decoder_id: {
            "loop": f.loop,
            "passings": len(f.passings),
            "sent": f.sent,
            "resent": f.resent,
            "reboots": len(f.reboots),
        }
        for f in feeds
    }
