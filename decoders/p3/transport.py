"""P3 over a byte stream: TCP to a decoder (port 5403) or a serial line.

Both share one session: decode the pushed stream, turn PASSING records into `Passing`,
drop duplicates by (decoder id, passing number), and when numbers jump (we were away) ask the
decoder for the missing range with RESEND, again after each reconnect and a few times more if
the answer does not come. A link silent for `idle` seconds is treated as dead: decoders push
STATUS every few seconds, so silence means a cable or network failure that TCP may not report.

A jump is only seen when a higher number arrives; passings read while we were away at the end
of a session (no higher one ever comes) are found by the probe: on every (re)connect, and when
no passing has come for `probe` seconds, a RESEND from the newest number we have (or the
session logged) + 1 onwards, which a decoder answers with whatever it read since.

The decoder's clock: GET_TIME once connected (again every 2 s, five times, until it answers),
then every `clock_every` seconds; each answer is a clock report (`Source._clock_report`) the service aligns
the decoder's times with. Passings that answer a RESEND or a probe are not `live`.
"""

from __future__ import annotations

import logging
import time

from decoders.link import Link, LinkSource, StreamLink, open_serial, open_tcp
from decoders.p3.codec import (
    REJECT_REASONS,
    ErrorRecord,
    GetTimeRecord,
    P3StreamDecoder,
    PassingRecord,
    Record,
    StatusRecord,
    encode,
    get_time_request,
    resend_request,
    tor_name,
    tor_of,
)
from decoders.passing import Passing

log = logging.getLogger(__name__)


class P3StreamSource(LinkSource):
    """Common P3 session over a byte stream (the session loop is `LinkSource`'s); subclasses only
    open the transport."""

    def __init__(
        self,
        url: str,
        *,
        idle: float = 10.0,
        get_time: bool = True,
        resend: bool = True,
        resend_retry: float = 3.0,
        resend_tries: int = 3,
        probe: float = 5.0,
        clock_every: float = 60.0,
        **kw,
    ) -> None:
        super().__init__(url, idle=idle, **kw)
        self.get_time = get_time
        self.clock_every = clock_every
        self._time_asked: tuple[float, int] | None = None  # (monotonic, host µs) of the last GET_TIME sent
        self._time_answered = False  # on this connection
        self._time_tries = 0
        self._asked: dict[str, tuple[int, float]] = {}  # decoder id -> (first number probed, monotonic)
        self.resend = resend
        self.resend_retry = resend_retry
        self.resend_tries = resend_tries
        self.probe = probe if resend else 0.0  # 0: never ask for passings beyond the newest we have
        self._quiet_since: dict[str, float] = {}  # decoder id -> last passing or probe (monotonic)
        self._rejected_before: dict[str, int] = dict.fromkeys(REJECT_REASONS, 0)
        self.status.rejected.update(self._rejected_before)
        self._decoder: P3StreamDecoder | None = None  # this connection's stream decoder

    def _read_timeout(self) -> float:
        return min(1.0, self.idle / 2) if self.idle > 0 else 1.0

    def _on_open(self, link: Link, now: float) -> None:
        self._decoder = P3StreamDecoder()
        self._time_asked, self._time_answered, self._time_tries = None, False, 0
        self.tracker.rearm()
        self._request_resends(link)
        for decoder_id in self.tracker.decoders():  # we were away: ask for what was read since
            self._probe(link, decoder_id)
        self._ask_time(link)

    def _on_data(self, link: Link, data: bytes, now: float) -> bool:
        decoder = self._decoder
        assert decoder is not None
        productive = False
        for record in decoder.feed(data):
            productive = True
            try:
                self._handle(record, link)
            except Exception:  # a record no rule foresaw: counted, the link stays up
                self._count_reject("record")
                log.exception("%s: cannot handle %s record", self.url, type(record).__name__)
        self._sync_rejects(decoder)
        return productive

    def _on_tick(self, link: Link, now: float) -> None:
        self._request_resends(link)
        self._probe_quiet(link)
        self._ask_time(link)

    def _on_close(self) -> None:
        decoder, self._decoder = self._decoder, None
        if decoder is not None:
            decoder.close()
            self._sync_rejects(decoder)
        self._rejected_before = dict(self.status.rejected)

    def _sync_rejects(self, decoder: P3StreamDecoder) -> None:
        for reason, n in decoder.rejected.items():
            self.status.rejected[reason] = self._rejected_before.get(reason, 0) + n

    def _ask_time(self, link: Link) -> None:
        """GET_TIME: every 2 s (five times) until the decoder answers on this connection, then every
        `clock_every` s (a decoder that never answers is not asked more often than that)."""
        if not self.get_time:
            return
        now = time.monotonic()
        every = (
            self.clock_every if self._time_answered or self._time_tries >= 5 else min(2.0, self.clock_every)
        )
        if self._time_asked is None or now - self._time_asked[0] >= every:
            self._time_asked = (now, time.time_ns() // 1000)
            self._time_tries += 1
            link.write(encode(get_time_request()))

    def _refetch(self, passing: Passing) -> bool:
        if passing.passing_number is None or not self.resend:
            return False
        self.tracker.unstored(
            passing.decoder_id, passing.passing_number
        )  # asked again once the service can store it
        return True

    def _request_resends(self, link: Link) -> None:
        tries = self.resend_tries if self.resend else 0  # 0: gaps are given up (counted lost) at once
        due = self.tracker.due(time.monotonic(), self.resend_retry, tries, writable=self._store_ok)
        for _decoder_id, first, last in due:
            log.info("%s: asking decoder to resend passings %d..%d", self.url, first, last)
            link.write(encode(resend_request(first, last)))
        self._sync_tracker()

    def _probe(self, link: Link, decoder_id: str) -> None:
        """RESEND from our newest number + 1 on: the decoder answers with what it read since, if anything."""
        self._quiet_since[decoder_id] = time.monotonic()
        highest = self.tracker.highest(decoder_id)
        if not self.probe or highest is None:
            return
        self._asked[decoder_id] = (highest + 1, time.monotonic())
        log.debug("%s: asking decoder %s for passings after %d", self.url, decoder_id or "?", highest)
        link.write(encode(resend_request(highest + 1, highest + self.tracker.max_gap)))

    def _probe_quiet(self, link: Link) -> None:
        """A decoder with no passing for `probe` seconds and no gap pending may hold reads we missed."""
        if not self.probe:
            return
        now = time.monotonic()
        for decoder_id, since in list(self._quiet_since.items()):
            if now - since >= self.probe and not self.tracker.outstanding(decoder_id):
                self._probe(link, decoder_id)

    def _handle(self, record: Record, link: Link) -> None:
        st = self.status
        if record.decoder_id is not None:
            st.decoder_id = record.decoder_id
            if not self.tracker.knows(
                record.decoder_id
            ):  # first sight (after a restart: seeded from the log)
                self._probe(link, record.decoder_id)
        if isinstance(record, PassingRecord):
            self._passing(record)
        elif isinstance(record, StatusRecord):
            st.noise = record.noise if record.noise is not None else st.noise
            st.temperature = record.temperature if record.temperature is not None else st.temperature
            st.gps = record.gps if record.gps is not None else st.gps
            st.input_voltage = record.input_voltage if record.input_voltage is not None else st.input_voltage
        elif isinstance(record, GetTimeRecord):
            if record.rtc_time_us is not None:
                host = time.time_ns() // 1000
                utc = record.utc_time_us if record.utc_time_us is not None else host
                st.clock_offset_us = utc - record.rtc_time_us
                asked = self._time_asked
                if asked is not None and 0 <= host - asked[1] < 2_000_000:
                    host = (host + asked[1]) // 2  # the decoder read its clock between question and answer
                self._time_answered = True
                self._clock_report(record.rtc_time_us, host, record.decoder_id)
        elif isinstance(record, ErrorRecord):
            st.last_error = f"decoder error code {record.code}"
            log.warning("%s: decoder reports error code %s", self.url, record.code)
        else:
            log.debug("%s: ignoring %s record", self.url, tor_name(tor_of(record)))

    def _passing(self, rec: PassingRecord) -> None:
        if rec.transponder is not None:
            transponder = str(rec.transponder)
        elif rec.tran_code:
            transponder = rec.tran_code
        else:
            transponder = ""
        if not transponder or rec.rtc_time_us is None:
            self._count_reject("incomplete")
            log.warning("%s: passing %s without transponder or time ignored", self.url, rec.passing_number)
            return
        decoder_id = rec.decoder_id or ""
        live, epoch = True, self.tracker.epoch(decoder_id)
        if rec.passing_number is not None:
            n = rec.passing_number
            obs = self.tracker.observe(decoder_id, n, (transponder, rec.rtc_time_us), rec.rtc_time_us)
            self._quiet_since[decoder_id] = time.monotonic()
            if obs.duplicate:
                self.status.duplicates += 1
                return
            if obs.restarted:
                self.status.reboots += 1
            if obs.new_gap is not None:
                self.status.gaps_detected += 1
                log.info("%s: passings %d..%d missing", self.url, obs.new_gap.first, obs.new_gap.last)
            self.status.gaps_recovered += obs.gaps_closed
            asked = self._asked.get(decoder_id)
            probed = asked is not None and n >= asked[0] and time.monotonic() - asked[1] < 2.0
            live, epoch = not (obs.recovered or obs.refetched or probed), obs.epoch
        self._emit(
            Passing(
                decoder_id=decoder_id,
                transponder=transponder,
                rtc_time_us=rec.rtc_time_us,
                passing_number=rec.passing_number,
                strength=rec.strength,
                hits=rec.hits,
                flags=rec.flags,
                source=self.url,
                live=live,
                epoch=epoch,
            )
        )


class P3TcpSource(P3StreamSource):
    """TCP client to a decoder. TCP keep-alive plus the idle timeout notice a dead link in seconds."""

    def __init__(self, url: str, host: str, port: int = 5403, *, connect_timeout: float = 5.0, **kw) -> None:
        super().__init__(url, **kw)
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout

    async def _open(self) -> StreamLink:
        return await open_tcp(self.host, self.port, self.connect_timeout)


class P3SerialSource(P3StreamSource):
    """P3 on a serial line; reopens the device when it disappears (USB unplugged) and comes back."""

    def __init__(
        self,
        url: str,
        device: str,
        *,
        baud: int = 115200,
        bytesize: int = 8,
        parity: str = "N",
        stopbits: float = 1,
        **kw,
    ) -> None:
        super().__init__(url, **kw)
        self.device = device
        self.baud = baud
        self.bytesize = bytesize
        self.parity = parity.upper()
        self.stopbits = int(stopbits) if stopbits == int(stopbits) else stopbits

    async def _open(self) -> StreamLink:
        return await open_serial(self.device, self.baud, self.bytesize, self.parity, self.stopbits)
