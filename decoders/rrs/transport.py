"""Race Result over TCP (port 3601): pushed passings, and what the link missed fetched by number.

On every connection the source negotiates protocol 3.0, turns on pushed passings, asks the box
name, the status and `PASSINGS` (how many passings the decoder's current file holds). Passings
are numbered 1, 2, 3... per file; the source tracks them per `box/file` (its decoder id, so a new
file's numbers never collide with the old one's) with `decoders.tracking.PassingTracker`:
duplicates dropped, jumps fetched with `<first>:<count>`, again up to `fetch_tries` times, and
`PASSINGS` ahead of the newest number we have (the link was down over the last reads, or Boucle
restarted: `resume_from` gives the numbers already logged) fetched the same way. `PASSINGS` and
`GETSTATUS` (the decoder's clock, battery, operation mode) are asked every `poll` seconds, which
also keeps a quiet link alive. Fetched and transponder-stored passings are not live
(`Passing.live`); markers (transponder 99999...) are counted and shown, never a competitor.
"""

from __future__ import annotations

import logging

from decoders.daytime import local_now_us
from decoders.link import Link, LinkSource, open_tcp
from decoders.options import COMMON, IGNORE, LoopMap, host_port, query
from decoders.rrs.codec import (
    PORT,
    PROTOCOL,
    RrsConfig,
    RrsCount,
    RrsDecoder,
    RrsFetchEnd,
    RrsPassing,
    RrsProtocol,
    RrsStatus,
    line,
    to_passing,
)

log = logging.getLogger(__name__)

MAX_FETCH = 2_000  # passings asked for at once (the tracker's widest gap)
LOW_BATTERY_V = 2.0  # a transponder below this voltage is shown to the timing crew
TRANSPORT_REASONS = ("loop", "unsaved")
GREETING = (
    "GETPROTOCOL",
    f"SETPROTOCOL;{PROTOCOL}",
    "SETPUSHPREWARNS;0",
    "SETPUSHPASSINGS;1;0",
    "GETCONFIG;GENERAL;BOXNAME",
    "GETSTATUS",
    "PASSINGS",
)


def _version(text: str) -> tuple[int, ...]:
    """`3.0` -> (3, 0), so 10.0 comes after 3.0; unreadable: (0,)."""
    try:
        return tuple(int(x) for x in text.split("."))
    except ValueError:
        return (0,)


class RrsSource(LinkSource):
    def __init__(
        self,
        url: str,
        host: str,
        port: int = PORT,
        *,
        loops: LoopMap | None = None,
        poll: float = 5.0,
        fetch_retry: float = 3.0,
        fetch_tries: int = 3,
        hold: float = 2.0,
        low_battery: float = LOW_BATTERY_V,
        connect_timeout: float = 5.0,
        **kw,
    ) -> None:
        super().__init__(url, **kw)
        self.host, self.port, self.connect_timeout = host, port, connect_timeout
        self.loops = loops or LoopMap()
        self.poll, self.fetch_retry, self.fetch_tries, self.hold = poll, fetch_retry, fetch_tries, hold
        self.low_battery = low_battery
        self.codec = RrsDecoder()
        self.status.rejected.update(self.codec.rejected)
        self.status.rejected.update(dict.fromkeys(TRANSPORT_REASONS, 0))
        self._box: str | None = None
        self._file: int | None = None
        self._count: int | None = None  # the decoder's newest passing number, from PASSINGS
        self._ready_until: float | None = None  # passings held until the decoder said its box and file
        self._held: list[RrsPassing] = []
        self._fetch_until: float | None = None  # a fetch is answering (or timed out then)
        self._poll_at = 0.0
        self._unsaved: dict[tuple[str, int], float] = {}  # reads the service could not store: fetch again
        self._ahead: tuple[str, int, int] | None = None  # (decoder id, first, tries) of the count-ahead fetch
        self._lost_ahead = 0

    async def _open(self) -> Link:
        return await open_tcp(self.host, self.port, self.connect_timeout)

    def _did(self, file_no: int | None) -> str:
        box = self._box or self.host
        return box if file_no is None else f"{box}/{file_no}"

    # -- link events --------------------------------------------------------------------------------
    def _on_open(self, link: Link, now: float) -> None:
        self.codec.reset()
        self._count = self._fetch_until = None
        self._ready_until = now + self.hold
        for command in GREETING:
            link.write(line(command))
        self._poll_at = now + self.poll
        self.tracker.rearm()

    def _on_close(self) -> None:
        self._release(0.0)

    def _on_data(self, link: Link, data: bytes, now: float) -> bool:
        valid = False
        for rec in self.codec.feed(data):
            valid = True
            if isinstance(rec, RrsPassing):
                if self._ready_until is not None:
                    self._held.append(rec)
                else:
                    self._passing(rec, now)
            elif isinstance(rec, RrsFetchEnd):
                self._fetch_until = None
            elif isinstance(rec, RrsCount):
                self._count, self._file = rec.count, rec.file_no
                self.status.decoder_id = self._did(self._file)
                self._release(now)
            elif isinstance(rec, RrsStatus):
                self._status(rec)
            elif isinstance(rec, RrsConfig):
                if len(rec.fields) >= 4 and rec.fields[1] == "BOXNAME":
                    self._box = rec.fields[3].strip() or rec.fields[2].strip() or None
            elif isinstance(rec, RrsProtocol) and rec.highest and _version(rec.highest) < _version(PROTOCOL):
                self.status.last_error = f"decoder speaks protocol {rec.highest} at most, {PROTOCOL} needed"
                log.error("%s: %s", self.url, self.status.last_error)
        self.status.rejected.update(self.codec.rejected)
        return valid

    def _on_tick(self, link: Link, now: float) -> None:
        if self._ready_until is not None and now >= self._ready_until:
            log.warning("%s: no PASSINGS answer; reading passings with the ids known so far", self.url)
            self._release(now)
        if now >= self._poll_at:
            self._poll_at = now + self.poll
            link.write(line("GETSTATUS") + line("PASSINGS"))
        self._fetch(link, now)

    # -- records --------------------------------------------------------------------------------------
    def _release(self, now: float) -> None:
        self._ready_until = None
        held, self._held = self._held, []
        for rec in held:
            self._passing(rec, now)

    def _status(self, rec: RrsStatus) -> None:
        if rec.clock_us is not None:
            self._clock_report(rec.clock_us)
        self.status.decoder_battery = rec.battery_pct
        if rec.operating is False:
            self.status.last_error = "decoder not in operation mode (STARTOPERATION)"

    def _passing(self, rec: RrsPassing, now: float) -> None:
        st = self.status
        did = self._did(rec.file_no if rec.file_no is not None else self._file)
        st.decoder_id = did
        key = (did, rec.number)
        retry = key in self._unsaved
        obs = self.tracker.observe(did, rec.number, (rec.transponder, rec.day_us, rec.tod_us))
        if obs.duplicate and not retry:
            st.duplicates += 1
            return
        if obs.new_gap is not None:
            st.gaps_detected += 1
            log.info("%s: passings %d..%d of %s missing", self.url, obs.new_gap.first, obs.new_gap.last, did)
        st.gaps_recovered += obs.gaps_closed
        self._sync_tracker()
        if rec.marker:
            st.markers += 1
            return
        loop = self.loops.loop(rec.loop_id)
        if loop == IGNORE:
            self._count_reject("loop")
            return
        if rec.battery is not None:
            self._battery(rec.transponder, rec.battery < self.low_battery, rec.battery)
        kept = self._emit(to_passing(rec, decoder_id=did, ref_us=local_now_us(), loop=loop, source=self.url))
        if kept is False:  # not stored (disk full): fetch it again later
            self._count_reject("unsaved")
            self._unsaved[key] = now + self.fetch_retry
        else:
            self._unsaved.pop(key, None)

    # -- fetching what is missing ---------------------------------------------------------------------
    def _fetch(self, link: Link, now: float) -> None:
        if self._count is None or (self._fetch_until is not None and now < self._fetch_until):
            return
        did = self._did(self._file)
        asks = [
            (first, last - first + 1)
            for d, first, last in self.tracker.due(now, self.fetch_retry, self.fetch_tries)
            if d == did
        ]
        highest = self.tracker.highest(did)
        if highest is not None and self._count > highest:  # read after the newest we have
            first = highest + 1
            tries = self._ahead[2] + 1 if self._ahead and self._ahead[:2] == (did, first) else 1
            self._ahead = (did, first, tries)
            if tries <= self.fetch_tries:
                asks.append((first, min(self._count - highest, MAX_FETCH)))
            elif tries == self.fetch_tries + 1:
                self._lost_ahead += self._count - highest
                log.warning(
                    "%s: passings %d..%d of %s never came, giving up", self.url, first, self._count, did
                )
        for (d, n), due in list(self._unsaved.items()):
            if d == did and now >= due:
                asks.append((n, 1))
                self._unsaved[(d, n)] = now + self.fetch_retry
        for first, count in asks:
            log.info("%s: fetching passings %d..%d of %s", self.url, first, first + count - 1, did)
            link.write(line(f"{first}:{count}"))
        if asks:
            self._fetch_until = now + self.fetch_retry
        self._sync_tracker()

    def _sync_tracker(self) -> None:
        super()._sync_tracker()
        self.status.passings_lost += self._lost_ahead


def from_url(url: str) -> RrsSource:
    """`rrs://HOST[:3601][?loops=1:finish,2:pit_in&poll=5&fetch_tries=3&low_battery=2.0]`."""
    host, port = host_port(url, PORT, "rrs://HOST[:3601]")
    opts = query(
        url,
        {
            **COMMON,
            "loops": str,
            "poll": float,
            "fetch_retry": float,
            "fetch_tries": int,
            "low_battery": float,
        },
    )
    loops = LoopMap.parse(url, opts.pop("loops", None))
    return RrsSource(url, host, port, loops=loops, **opts)
