"""Decoder connections by URL, with one lifecycle for every transport.

    p3tcp://HOST[:5403][?idle=10&get_time=1&resend=1&probe=5]
    serial:///dev/ttyUSB0[?baud=115200&bytesize=8&parity=N&stopbits=1&idle=10&probe=5]
    mqtt://[USER:PASS@]HOST[:1883]/PREFIX[?client_id=...&keepalive=10]

Every source also takes `retry_min` and `retry_max` (seconds) for its reconnect backoff.
A `Source` runs until stopped or cancelled, reconnects by itself and never lets bad input
escape: the service only sees `Passing` objects through the callback and a live `status`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

from decoders.passing import DecoderStatus, Passing
from decoders.tracking import PassingTracker

log = logging.getLogger(__name__)

OnPassing = Callable[[Passing], None]

P3_TCP_PORT = 5403
MQTT_PORT = 1883


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

    def _count_reject(self, reason: str, n: int = 1) -> None:
        self.status.rejected[reason] = self.status.rejected.get(reason, 0) + n

    @abstractmethod
    async def _serve(self) -> bool:
        """Open the transport and serve until it closes. Returns True if it carried valid data."""


def _is_expected(exc: BaseException) -> bool:
    name = type(exc).__name__
    return name in ("MqttError", "MqttCodeError", "SerialException")


def _query(url: str, allowed: dict[str, type]) -> dict:
    out = {}
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if key not in allowed:
            raise ValueError(f"{url!r}: unknown option {key!r} (known: {', '.join(sorted(allowed))})")
        kind = allowed[key]
        try:
            if kind is bool:
                out[key] = value.lower() in ("1", "true", "yes", "on")
            else:
                out[key] = kind(value)
        except ValueError:
            raise ValueError(f"{url!r}: option {key}={value!r} is not a {kind.__name__}") from None
    return out


_COMMON = {"retry_min": float, "retry_max": float}


def open_source(url: str) -> Source:
    """A Source for a decoder URL (see module doc). Raises ValueError for a URL it cannot use."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "p3tcp":
        from decoders.p3.transport import P3TcpSource

        if not parts.hostname:
            raise ValueError(f"{url!r}: expected p3tcp://HOST[:PORT]")
        opts = _query(url, {**_COMMON, "idle": float, "get_time": bool, "resend": bool, "probe": float})
        return P3TcpSource(url, parts.hostname, parts.port or P3_TCP_PORT, **opts)
    if scheme == "serial":
        from decoders.p3.transport import P3SerialSource

        device = unquote(parts.netloc + parts.path)
        if not device:
            raise ValueError(f"{url!r}: expected serial:///dev/DEVICE")
        opts = _query(url, {**_COMMON, "idle": float, "get_time": bool, "resend": bool, "probe": float,
                            "baud": int, "bytesize": int, "parity": str, "stopbits": float})
        return P3SerialSource(url, device, **opts)
    if scheme == "mqtt":
        from decoders.mqtt import MqttSource

        prefix = parts.path.strip("/")
        if not parts.hostname or not prefix:
            raise ValueError(f"{url!r}: expected mqtt://HOST[:PORT]/TOPIC/PREFIX")
        opts = _query(url, {**_COMMON, "client_id": str, "keepalive": int})
        return MqttSource(url, parts.hostname, parts.port or MQTT_PORT, prefix,
                          username=unquote(parts.username) if parts.username else None,
                          password=unquote(parts.password) if parts.password else None, **opts)
    raise ValueError(f"{url!r}: unknown decoder URL scheme (use p3tcp://, serial:// or mqtt://)")


_LOOP_NAME = re.compile(r"[a-z][a-z0-9_]*")


def split_decoder_spec(spec: str) -> tuple[str, str | None]:
    """`URL=loop` as given to `boucle serve --decoder` -> (URL, loop or None).

    A trailing `=name` is a loop name unless it is the value of a query option
    (`serial:///dev/x?parity=N` keeps its `=N`; `serial:///dev/x?baud=9600=pit_in` has a loop).
    """
    url, sep, loop = spec.rpartition("=")
    if not sep or not _LOOP_NAME.fullmatch(loop):
        return spec, None
    if "?" in url and "=" not in re.split(r"[?&]", url)[-1]:
        return spec, None
    return url, loop
