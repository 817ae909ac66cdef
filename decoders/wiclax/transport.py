"""Wiclax generic acquisition protocol over TCP: live reads, heartbeats, the clock, and REWIND.

The device pushes each read as it happens. Reads have no numbers, so what a cut link missed is
asked for by time: on every reconnect the source sends `REWIND` from the newest read it kept
(to its clock + 1 day: whatever it holds), and also `rewind_delay` s after a line it could not read
(a damaged read) or a read the service could not store. A rewound read comes back with
rewind = 1 (`Passing.live` False) and is dropped if already had: a read is known by chip, time
and loop id. After a restart of Boucle nothing tells the source where the log stops: `rewind=S`
asks, on the first connection, for the S seconds before the device's clock (the session drops
reads it already logged). `CLOCK` is asked every `clock_every` s (`_clock_report`), which also
keeps a quiet link from being taken for a dead one; `*` heartbeats are read and let go.
The loop id of a read (antenna or device) is its decoder id, so `loops=` or the link's per-decoder
loops can name each one's loop; a read without one carries `HOST:PORT`.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque

from decoders.daytime import DAY_US
from decoders.link import Link, LinkSource, open_tcp
from decoders.options import COMMON, IGNORE, LoopMap, host_port, query
from decoders.wiclax.codec import (
    CLOCK,
    WiclaxClock,
    WiclaxDamaged,
    WiclaxDecoder,
    WiclaxPassing,
    rewind_command,
    to_passing,
)

log = logging.getLogger(__name__)

SEEN = 50_000  # reads remembered for duplicates (a rewind may send a whole race again)
AHEAD_US = DAY_US  # a rewind runs to the device's last clock plus this: to whatever it holds
LOW_BATTERY_PCT = 20
RECENT_S = 30.0  # a damaged line this long after a rewind may belong to its answer
TRANSPORT_REASONS = ("loop", "unsaved")


class WiclaxSource(LinkSource):
    def __init__(
        self,
        url: str,
        host: str,
        port: int,
        *,
        loops: LoopMap | None = None,
        clock_every: float = 5.0,
        rewind: float = 0.0,
        rewind_delay: float = 1.0,
        low_battery: int = LOW_BATTERY_PCT,
        connect_timeout: float = 5.0,
        **kw,
    ) -> None:
        super().__init__(url, **kw)
        self.host, self.port, self.connect_timeout = host, port, connect_timeout
        self.loops = loops or LoopMap()
        self.clock_every, self.rewind, self.rewind_delay = clock_every, rewind, rewind_delay
        self.low_battery = low_battery
        self.codec = WiclaxDecoder()
        self.status.rejected.update(self.codec.rejected)
        self.status.rejected.update(dict.fromkeys(TRANSPORT_REASONS, 0))
        self._seen: OrderedDict[tuple, None] = OrderedDict()
        self._last_kept_us: int | None = None  # newest read safely kept (decoder clock)
        self._since_us: int | None = None  # the device's clock when we first heard it
        self._clock: int | None = None  # the device's clock at its last CLOCK answer
        self._clock_at = 0.0
        self._rewind_from: int | None = None
        self._rewind_at: float | None = None
        self._first_rewind = rewind > 0
        self._rewinds: deque[tuple[float, int]] = deque()  # (when, from) of the rewinds asked lately

    async def _open(self) -> Link:
        return await open_tcp(self.host, self.port, self.connect_timeout)

    # -- link events --------------------------------------------------------------------------------
    def _on_open(self, link: Link, now: float) -> None:
        self.codec.reset()
        link.write(CLOCK)
        self._clock_at = now
        self._rewind_at = None  # a rewind asked before the cut is asked on this link instead
        if self._last_kept_us is not None:  # we were away: whatever it read since the newest read we have
            self._ask_rewind(self._last_kept_us, now + 0.2)  # after the CLOCK answer, to bound it
        elif self._rewind_from is not None:
            self._ask_rewind(self._rewind_from, now + 0.2)

    def _on_data(self, link: Link, data: bytes, now: float) -> bool:
        valid = False
        for rec in self.codec.feed(data):
            if isinstance(rec, WiclaxDamaged):  # it may have been a read: rewind over it
                self._damaged(now)
                continue
            valid = True
            if isinstance(rec, WiclaxPassing):
                self._passing(rec, now)
            elif isinstance(rec, WiclaxClock):
                self._clock = rec.rtc_us
                self._clock_report(rec.rtc_us)
                if self._since_us is None:
                    self._since_us = rec.rtc_us
                if self._first_rewind:  # after a restart of Boucle: the last `rewind` seconds
                    self._first_rewind = False
                    self._ask_rewind(rec.rtc_us - round(self.rewind * 1e6), now)
        self.status.rejected.update(self.codec.rejected)
        return valid

    def _on_tick(self, link: Link, now: float) -> None:
        if self.clock_every > 0 and now - self._clock_at >= self.clock_every:
            self._clock_at = now
            link.write(CLOCK)
        if self._rewind_at is not None and now >= self._rewind_at and self._rewind_from is not None:
            newest = max(self._rewind_from, self._clock or 0)
            log.info("%s: asking the device to rewind from its read of %d", self.url, self._rewind_from)
            link.write(rewind_command(self._rewind_from, newest + AHEAD_US))
            self._rewinds.append((now, self._rewind_from))
            self._rewind_from = self._rewind_at = None

    def _damaged(self, now: float) -> None:
        """A line we could not read came live (after the newest read kept) or in the answer to a
        recent rewind (after where it started): rewind from the earlier of the two."""
        while self._rewinds and now - self._rewinds[0][0] > RECENT_S:
            self._rewinds.popleft()
        starts = [f for _, f in self._rewinds]
        newest = self._last_kept_us if self._last_kept_us is not None else self._since_us
        if newest is not None:
            starts.append(newest)
        if starts:
            self._ask_rewind(min(starts), now + self.rewind_delay)

    def _ask_rewind(self, from_us: int, at: float) -> None:
        """Rewind from `from_us` (at the latest) once `at` comes; requests in between are merged."""
        self._rewind_from = from_us if self._rewind_from is None else min(self._rewind_from, from_us)
        self._rewind_at = at if self._rewind_at is None else min(self._rewind_at, at)

    # -- reads ----------------------------------------------------------------------------------------
    def _passing(self, rec: WiclaxPassing, now: float) -> None:
        st = self.status
        key = (rec.chip, rec.rtc_us, rec.loop)
        if key in self._seen:
            st.duplicates += 1
            return
        loop = self.loops.loop(rec.loop)
        if loop == IGNORE:
            self._count_reject("loop")
        else:
            if rec.battery is not None:
                self._battery(rec.chip, rec.battery < self.low_battery, rec.battery)
            st.decoder_id = rec.loop or f"{self.host}:{self.port}"
            kept = self._emit(to_passing(rec, decoder_id=st.decoder_id, loop=loop, source=self.url))
            if kept is False:  # not stored (disk full): rewind over it later
                self._count_reject("unsaved")
                self._ask_rewind(rec.rtc_us, now + self.rewind_delay)
                return
        self._seen[key] = None
        if len(self._seen) > SEEN:
            self._seen.popitem(last=False)
        if self._last_kept_us is None or rec.rtc_us > self._last_kept_us:
            self._last_kept_us = rec.rtc_us


def from_url(url: str) -> WiclaxSource:
    """`wiclax://HOST:PORT[?loops=0A:finish&rewind=600&clock_every=5&low_battery=20]` (no default port)."""
    host, port = host_port(url, None, "wiclax://HOST:PORT")
    opts = query(
        url,
        {
            **COMMON,
            "loops": str,
            "clock_every": float,
            "rewind": float,
            "rewind_delay": float,
            "low_battery": int,
        },
    )
    loops = LoopMap.parse(url, opts.pop("loops", None))
    return WiclaxSource(url, host, port, loops=loops, **opts)
