"""Decoder connections by URL, with one lifecycle for every transport.

    p3tcp://HOST[:5403][?idle=10&get_time=1&resend=1&probe=5]
    serial:///dev/ttyUSB0[?baud=115200&bytesize=8&parity=N&stopbits=1&idle=10&probe=5]
    mqtt://[USER:PASS@]HOST[:1883]/PREFIX[?client_id=...&keepalive=10]

Every source also takes `retry_min` and `retry_max` (seconds) for its reconnect backoff.
This module is the registry of URL schemes; the lifecycle they share is `decoders.source.Source`
(re-exported here). Transports are imported when their scheme is opened (aiomqtt and pyserial load
only when used); they import `decoders.source`, never this registry, so there is no import cycle.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlsplit

from decoders.reach import DecoderReach, mask_url
from decoders.source import OnPassing, Source

__all__ = ["DecoderReach", "OnPassing", "Source", "mask_url", "open_source", "split_decoder_spec"]

P3_TCP_PORT = 5403
MQTT_PORT = 1883


def _query(url: str, allowed: dict[str, type]) -> dict:
    out = {}
    shown = mask_url(url)
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if key not in allowed:
            raise ValueError(f"{shown!r}: unknown option {key!r} (known: {', '.join(sorted(allowed))})")
        kind = allowed[key]
        try:
            if kind is bool:
                out[key] = value.lower() in ("1", "true", "yes", "on")
            else:
                out[key] = kind(value)
        except ValueError:
            raise ValueError(f"{shown!r}: option {key}={value!r} is not a {kind.__name__}") from None
    return out


_COMMON = {"retry_min": float, "retry_max": float}
_P3 = {**_COMMON, "idle": float, "get_time": bool, "resend": bool, "probe": float}  # P3 over TCP or serial


def open_source(url: str, reach: DecoderReach | None = None) -> Source:
    """A Source for a decoder URL (see module doc). Raises ValueError for a URL it cannot use.
    With `reach` (decoders/reach.py), the source checks its target before each connection."""
    source = _open(url)
    if reach is not None:
        source.guard = reach.guard(url)
    return source


def _open(url: str) -> Source:
    shown = mask_url(url)  # what logs, status and errors show: never the password
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "p3tcp":
        from decoders.p3.transport import P3TcpSource

        if not parts.hostname:
            raise ValueError(f"{shown!r}: expected p3tcp://HOST[:PORT]")
        opts = _query(url, _P3)
        return P3TcpSource(shown, parts.hostname, parts.port or P3_TCP_PORT, **opts)
    if scheme == "serial":
        from decoders.p3.transport import P3SerialSource

        device = unquote(parts.netloc + parts.path)
        if not device:
            raise ValueError(f"{shown!r}: expected serial:///dev/DEVICE")
        opts = _query(url, {**_P3, "baud": int, "bytesize": int, "parity": str, "stopbits": float})
        return P3SerialSource(shown, device, **opts)
    if scheme == "mqtt":
        from decoders.mqtt import MqttSource

        prefix = parts.path.strip("/")
        if not parts.hostname or not prefix:
            raise ValueError(f"{shown!r}: expected mqtt://HOST[:PORT]/TOPIC/PREFIX")
        opts = _query(url, {**_COMMON, "client_id": str, "keepalive": int})
        return MqttSource(shown, parts.hostname, parts.port or MQTT_PORT, prefix,
                          username=unquote(parts.username) if parts.username else None,
                          password=unquote(parts.password) if parts.password else None, **opts)
    raise ValueError(f"{shown!r}: unknown decoder URL scheme (use p3tcp://, serial:// or mqtt://)")


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
