"""`Source`: the one lifecycle every decoder transport shares (connect, serve, reconnect, stop).

The transports (decoders/p3/transport.py, decoders/mqtt.py) subclass it; `decoders.sources` opens
them by URL. It lives apart from that registry so the transports never import the registry back.
A `Source` runs until stopped or cancelled, reconnects by itself and never lets bad input
escape: the service only sees `Passing` objects through the callback and a live `status`.

The callback answers whether the read is safely kept (logged, kept aside, or already had):
`False` means the service could not store it (its log cannot be written). A source that can ask
its decoder again (P3 RESEND) forgets it as seen and asks for it once the service stores reads
again; any other keeps a copy and hands it over again (`_held`). Clock reports
(`_clock_report`) go to `on_clock`, for the service's clock alignment.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from decoders.passing import DecoderStatus, Passing
from decoders.tracking import Baseline, PassingTracker

log = logging.getLogger("decoders.sources")  # the name operators already filter on

OnPassing = Callable[[Passing], "bool | None"]  # False: could not be stored (see the module doc)
OnClock = Callable[[str, int, int], None]  # (decoder id, decoder time, host wall clock), both in µs
HELD_MAX = 50_000  # copies of unstored reads a source without resend keeps (the rest count as lost)


class Source(ABC):
    """One decoder connection. Subclasses implement `_serve` (one connected session)."""

    def __init__(self, url: str, *, retry_min: float = 0.5, retry_max: float = 10.0) -> None:
        self.url = url
        self.status = DecoderStatus(source=url)
        self.retry_min = retry_min
        self.retry_max = max(retry_max, retry_min)
        self._stopping = False
        self._task: asyncio.Task | None = None
        self._connected_before = False
        self.tracker = PassingTracker()  # numbered sources: duplicates and gaps per decoder id
        self.on_clock: OnClock | None = None
        self.retry_every = 1.0  # seconds between two looks at reads held for the service
        self._held: OrderedDict[tuple, Passing] = OrderedDict()  # unstored reads this source cannot re-ask
        self._held_lost = 0
        self._store_ok = True  # the last read handed over was stored
        self._held_tried = 0.0
        self.guard: Callable[[], Awaitable[None]] | None = None  # checks the target before each connection

    def resume_from(self, logged: Baseline) -> None:
        """Where to resume after a restart: what the session holds of each decoder id (`Logged`, or
        just the passing numbers logged)."""
        self.tracker.baseline = logged

    def _sync_tracker(self) -> None:
        st = self.status
        st.passings_lost, st.passings_recovered = self.tracker.lost + self._held_lost, self.tracker.recovered
        st.recovering = self.tracker.outstanding()
        st.unstored = self.tracker.unstored_count() + len(self._held)

    async def run(self, on_passing: OnPassing) -> None:
        """Connect, serve, reconnect with bounded exponential backoff; returns after `stop()`."""
        self._task = asyncio.current_task()
        self._on_passing = on_passing
        attempt = 0
        keeper = asyncio.create_task(self._keep_held(), name=f"held reads {self.url}")
        try:
            while not self._stopping:
                productive = False
                try:
                    if self.guard is not None:  # decoders/reach.py: the name may point elsewhere now
                        await self.guard()
                    productive = await self._serve()
                    log.info("%s: connection closed", self.url)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # transports raise many types; none may kill the source
                    error = f"{type(exc).__name__}: {exc}"
                    repeated = error == self.status.last_error
                    self.status.last_error = error
                    if isinstance(exc, OSError | TimeoutError | ConnectionError) or _is_expected(exc):
                        # a decoder left unplugged must not flood the log: same error again is debug
                        log.log(logging.DEBUG if repeated else logging.WARNING, "%s: %s", self.url, error)
                    else:
                        log.exception("%s: unexpected error", self.url)
                if self._stopping:
                    break
                attempt = 0 if productive else attempt + 1
                self.status.state = "reconnecting"
                await asyncio.sleep(self._backoff(attempt))
        except asyncio.CancelledError:
            if not self._stopping:
                raise
        finally:
            keeper.cancel()
            self.status.state = "stopped"
            self._task = None

    def stop(self) -> None:
        """Ask `run()` to return (also if it has not started yet). Call from the event loop's thread."""
        self._stopping = True
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def _backoff(self, attempt: int) -> float:
        delay = min(self.retry_max, self.retry_min * (2 ** min(attempt, 16)))
        return delay * random.uniform(0.8, 1.0)

    def _mark_connected(self) -> None:
        if self._connected_before:
            self.status.reconnects += 1
        self._connected_before = True
        self.status.state = "connected"
        self.status.last_error = None
        log.info("%s: connected", self.url)

    def _emit(self, passing: Passing) -> bool:
        """Hand a read to the service; True when it is safely kept. A failing callback is logged (the
        read is then not kept, so it is held or asked for again), never kills the link."""
        self.status.passings += 1
        self.status.last_passing_us = passing.rtc_time_us
        try:
            kept = self._on_passing(passing)
        except Exception:
            log.exception("%s: on_passing callback failed for %s", self.url, passing)
            kept = False
        if kept is False:
            self._store_ok = False
            if not self._refetch(passing):
                self._hold(passing)
            self._sync_tracker()
            return False
        self._store_ok = True
        return True

    def _refetch(self, passing: Passing) -> bool:
        """Arrange to ask the decoder for an unstored read again; False if this source cannot."""
        return False

    def _hold(self, passing: Passing) -> None:
        key = (
            passing.decoder_id,
            passing.epoch,
            passing.passing_number,
            passing.transponder,
            passing.rtc_time_us,
        )
        if key in self._held or len(self._held) < HELD_MAX:
            self._held[key] = passing
        else:
            self._held_lost += 1

    async def _keep_held(self) -> None:
        """Hand held reads over again: all of them once the service stores reads again, else one now and
        then."""
        while True:
            await asyncio.sleep(self.retry_every)
            now = time.monotonic()
            if not self._held or (not self._store_ok and now - self._held_tried < 5 * self.retry_every):
                continue
            self._held_tried = now
            while self._held:
                _, p = self._held.popitem(last=False)
                self.status.passings -= 1  # handed over again: counted once
                if not self._emit(p):
                    break
            self._sync_tracker()

    def _clock_report(
        self, decoder_us: int, host_us: int | None = None, decoder_id: str | None = None
    ) -> None:
        """The decoder told its clock (answer to a time request, a status message): kept with the
        host's wall clock of that moment, and passed to `on_clock` so the service aligns the decoder
        without an offset typed. `decoder_id`: the decoder that reported (default: the link's)."""
        host = time.time_ns() // 1000 if host_us is None else host_us
        self.status.clock_decoder_us, self.status.clock_host_us = decoder_us, host
        if self.on_clock is not None:
            try:
                self.on_clock(
                    decoder_id if decoder_id is not None else self.status.decoder_id or "", decoder_us, host
                )
            except Exception:
                log.exception("%s: clock report callback failed", self.url)

    def _count_reject(self, reason: str, n: int = 1) -> None:
        self.status.rejected[reason] = self.status.rejected.get(reason, 0) + n

    @abstractmethod
    async def _serve(self) -> bool:
        """Open the transport and serve until it closes. Returns True if it carried valid data."""


def _is_expected(exc: BaseException) -> bool:
    name = type(exc).__name__
    return name in ("MqttError", "MqttCodeError", "SerialException")
