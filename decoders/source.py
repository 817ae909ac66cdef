"""`Source`: the one lifecycle every decoder transport shares (connect, serve, reconnect, stop).

The transports (decoders/p3/transport.py, decoders/mqtt.py) subclass it; `decoders.sources` opens
them by URL. It lives apart from that registry so the transports never import the registry back.
A `Source` runs until stopped or cancelled, reconnects by itself and never lets bad input
escape: the service only sees `Passing` objects through the callback and a live `status`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable

from decoders.passing import DecoderStatus, Passing
from decoders.tracking import PassingTracker

log = logging.getLogger("decoders.sources")  # the name operators already filter on

OnPassing = Callable[[Passing], None]


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
        self.guard: Callable[[], Awaitable[None]] | None = None  # checks the target before each connection

    def resume_from(self, logged: Callable[[str], Iterable[int]]) -> None:
        """Where to resume after a restart: the passing numbers already logged, per decoder id."""
        self.tracker.baseline = logged

    def _sync_tracker(self) -> None:
        st = self.status
        st.passings_lost, st.passings_recovered = self.tracker.lost, self.tracker.recovered
        st.recovering = self.tracker.outstanding()

    async def run(self, on_passing: OnPassing) -> None:
        """Connect, serve, reconnect with bounded exponential backoff; returns after `stop()`."""
        self._task = asyncio.current_task()
        self._on_passing = on_passing
        attempt = 0
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

    def _emit(self, passing: Passing) -> None:
        """Hand a passing to the service; a failing callback is logged, never kills the link."""
        self.status.passings += 1
        self.status.last_passing_us = passing.rtc_time_us
        try:
            self._on_passing(passing)
        except Exception:
            log.exception("%s: on_passing callback failed for %s", self.url, passing)

    def _clock_report(self, decoder_us: int, host_us: int | None = None) -> None:
        """The decoder told its clock (answer to a time request, a status message): kept with the
        host's wall clock of that moment, so the service can align the decoder without an offset typed."""
        self.status.clock_decoder_us = decoder_us
        self.status.clock_host_us = time.time_ns() // 1000 if host_us is None else host_us

    def _count_reject(self, reason: str, n: int = 1) -> None:
        self.status.rejected[reason] = self.status.rejected.get(reason, 0) + n

    @abstractmethod
    async def _serve(self) -> bool:
        """Open the transport and serve until it closes. Returns True if it carried valid data."""


def _is_expected(exc: BaseException) -> bool:
    name = type(exc).__name__
    return name in ("MqttError", "MqttCodeError", "SerialException")
