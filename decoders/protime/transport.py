"""Protime on a serial line (19,200 baud) or over UDP (port 2008): stop-and-wait with acknowledgements.

The decoder sends one passing and waits for the computer. ACK (ESC 0x11) goes out only once the
read is safely kept (`_emit` did not answer False; otherwise a REPEAT asks for it again after
`repeat_after` s); a damaged message is answered with REPEAT (ESC 0x12) and counted, and after
`checksum_tries` damaged copies in a row it is acknowledged and counted lost, so the decoder never
stalls on one bad message. Protime has no passing numbers: a read is known by channel,
transponder and time of day, so a message sent again (our ACK was lost) is acknowledged again
and dropped as a duplicate.

On open the source asks the configuration (ESC 0x10: decoder id, firmware, levels) and holds
passings, unacknowledged, until it has it (at most `config_wait` s), so every read carries the
decoder id; then it asks the status (ESC 0x05: noise, levels, the decoder's clock) every
`status_every` s, which also keeps a quiet link from being taken for a dead one. Channels map
to loops with `loops=` (options.LoopMap); MAN (a push button, transponder 000000) and the
photocell (transponder `photocell`) are triggers, counted and shown, not a car's read.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from urllib.parse import unquote, urlsplit

from decoders.daytime import local_now_us, nearest_day
from decoders.errors import DecoderUrlError
from decoders.link import Link, LinkSource, open_serial, open_udp
from decoders.options import COMMON, IGNORE, LoopMap, host_port, query
from decoders.protime.codec import (
    ACK,
    CONFIG_REQUEST,
    REPEAT,
    STATUS_REQUEST,
    Damaged,
    ProtimeConfig,
    ProtimeDecoder,
    ProtimePassing,
    ProtimeStatus,
    to_passing,
)

log = logging.getLogger(__name__)

BAUD = 19_200
UDP_PORT = 2008
DEFAULT_LOOPS: dict[str, str | None] = {"STA": None, "BOX": "pit_in"}  # None: the link's loop (=LOOP)
SEEN = 20_000  # reads remembered for duplicates (a repeat comes within seconds)
TRANSPORT_REASONS = ("skipped", "channel", "unsaved")


class ProtimeSource(LinkSource):
    """The protocol over any link; `ProtimeSerialSource` and `ProtimeUdpSource` open it."""

    def __init__(
        self,
        url: str,
        *,
        loops: LoopMap | None = None,
        photocell: int = 255,
        status_every: float = 5.0,
        checksum_tries: int = 3,
        config_wait: float = 2.0,
        repeat_after: float = 1.0,
        **kw,
    ) -> None:
        super().__init__(url, **kw)
        self.loops = loops or LoopMap(dict(DEFAULT_LOOPS), IGNORE)
        self.photocell = photocell
        self.status_every = status_every
        self.checksum_tries = checksum_tries
        self.config_wait = config_wait
        self.repeat_after = repeat_after
        self.codec = ProtimeDecoder()
        self.status.rejected.update(self.codec.rejected)
        self.status.rejected.update(dict.fromkeys(TRANSPORT_REASONS, 0))
        self._seen: OrderedDict[tuple, None] = OrderedDict()
        self._bad_in_row = 0
        self._config_until: float | None = None
        self._held = False
        self._repeat_at: float | None = None
        self._status_at = 0.0
        self._opened = False

    # -- link events --------------------------------------------------------------------------------
    def _on_open(self, link: Link, now: float) -> None:
        self.codec.reset()
        self._bad_in_row = 0
        link.write(CONFIG_REQUEST)
        if self.status.firmware is None:  # first contact: hold passings until the decoder says who it is
            self._config_until = now + self.config_wait
        if self._opened:  # it may be waiting for the acknowledgement of a message we never got
            link.write(REPEAT)
        self._opened = True
        link.write(STATUS_REQUEST)
        self._status_at = now

    def _on_data(self, link: Link, data: bytes, now: float) -> bool:
        valid = False
        for rec in self.codec.feed(data):
            if isinstance(rec, Damaged):
                self._damaged(link, rec)
                continue
            valid = True
            if isinstance(rec, ProtimePassing):
                self._passing(link, rec, now)
            elif isinstance(rec, ProtimeStatus):
                st = self.status
                st.channel_noise, st.levels, st.noise = rec.noise, rec.levels, rec.noise["STA"]
                self._clock_report(nearest_day(rec.tod_us, local_now_us()))
            elif isinstance(rec, ProtimeConfig):
                self._config(link, rec)
        self.status.rejected.update(self.codec.rejected)
        return valid

    def _on_tick(self, link: Link, now: float) -> None:
        if self._config_until is not None and now >= self._config_until:
            log.warning("%s: no configuration answer; reads carry no decoder id", self.url)
            self._config_until = None
            self._release(link)
        if self._repeat_at is not None and now >= self._repeat_at:
            self._repeat_at = None
            link.write(REPEAT)
        if self.status_every > 0 and now - self._status_at >= self.status_every:
            self._status_at = now
            link.write(STATUS_REQUEST)

    # -- messages -------------------------------------------------------------------------------------
    def _config(self, link: Link, rec: ProtimeConfig) -> None:
        st = self.status
        st.decoder_id, st.firmware, st.levels = rec.decoder_id, rec.firmware, rec.levels
        log.info("%s: Protime decoder %s, firmware %s", self.url, rec.decoder_id, rec.firmware)
        self._config_until = None
        self._release(link)

    def _release(self, link: Link) -> None:
        if self._held:  # the passing we did not acknowledge while waiting: ask for it now
            self._held = False
            link.write(REPEAT)

    def _damaged(self, link: Link, rec: Damaged) -> None:
        self._bad_in_row += 1
        if self._bad_in_row <= self.checksum_tries:
            link.write(REPEAT)
            return
        self._bad_in_row = 0
        self._count_reject("skipped")
        self.status.passings_lost += 1
        self.status.last_error = f"passing unreadable {self.checksum_tries + 1} times ({rec.reason}), skipped"
        log.warning("%s: %s: %r", self.url, self.status.last_error, rec.raw)
        link.write(ACK)

    def _passing(self, link: Link, rec: ProtimePassing, now: float) -> None:
        if self._config_until is not None:
            self._held = True
            return
        self._bad_in_row = 0
        st = self.status
        key = (rec.channel, rec.transponder, rec.tod_us)
        if key in self._seen:
            st.duplicates += 1
            link.write(ACK)
            return
        if rec.channel == "MAN" or rec.transponder == self.photocell:
            st.triggers += 1
        elif (loop := self.loops.loop(rec.channel)) == IGNORE:
            self._count_reject("channel")
        else:
            self._battery(str(rec.transponder), rec.low_battery)
            p = to_passing(
                rec, decoder_id=st.decoder_id or "", ref_us=local_now_us(), loop=loop, source=self.url
            )
            if self._emit(p) is False:  # not stored (disk full): no acknowledgement, ask again later
                self._count_reject("unsaved")
                self._repeat_at = now + self.repeat_after
                return
        self._seen[key] = None
        if len(self._seen) > SEEN:
            self._seen.popitem(last=False)
        link.write(ACK)


class ProtimeSerialSource(ProtimeSource):
    def __init__(self, url: str, device: str, *, baud: int = BAUD, **kw) -> None:
        super().__init__(url, **kw)
        self.device, self.baud = device, baud

    async def _open(self) -> Link:
        return await open_serial(self.device, self.baud)


class ProtimeUdpSource(ProtimeSource):
    """The decoder answers the address that talks to it; `listen` is our port (2008 as on the decoder)."""

    connect_on_data = True

    def __init__(self, url: str, host: str, port: int = UDP_PORT, *, listen: int = UDP_PORT, **kw) -> None:
        super().__init__(url, **kw)
        self.host, self.port, self.listen = host, port, listen

    async def _open(self) -> Link:
        return await open_udp(self.host, self.port, self.listen, lambda: self._count_reject("foreign"))


def from_url(url: str) -> ProtimeSource:
    """`protime:///dev/ttyUSB0[?baud=19200]` or `protime+udp://HOST[:2008][?listen=2008]`, both with
    `loops=STA:finish,BOX:pit_in,B01:-`, `photocell`, `status_every`, `checksum_tries`, `idle`."""
    parts = urlsplit(url)
    opts = query(
        url,
        {
            **COMMON,
            "loops": str,
            "photocell": int,
            "status_every": float,
            "checksum_tries": int,
            "config_wait": float,
            "baud": int,
            "listen": int,
        },
    )
    loops = LoopMap.parse(url, opts.pop("loops", None), DEFAULT_LOOPS, IGNORE)
    if parts.scheme.lower() == "protime+udp":
        host, port = host_port(url, UDP_PORT, "protime+udp://HOST[:2008][?listen=PORT]")
        if "baud" in opts:
            raise DecoderUrlError("decoder.url_other_link", url=url, option="baud")
        return ProtimeUdpSource(url, host, port, loops=loops, **opts)
    device = unquote(parts.netloc + parts.path)
    if not device:
        raise DecoderUrlError("decoder.url_expected", url=url, form="protime:///dev/DEVICE[?baud=19200]")
    if "listen" in opts:
        raise DecoderUrlError("decoder.url_other_link", url=url, option="listen")
    return ProtimeSerialSource(url, device, loops=loops, **opts)
