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

from decoders.source import OnPassing, Source

__all__ = ["OnPassing", "Source", "SourceUrlError", "open_source", "split_decoder_spec"]

P3_TCP_PORT = 5403
MQTT_PORT = 1883


class SourceUrlError(ValueError):
    """A decoder URL no source can use. `code` and `params` let the service say it in the caller's
    language (web/i18n `_errors`; decoders never import the service); `str()` is the English text."""

    def __init__(self, code: str, english: str, **params: object) -> None:
        super().__init__(english)
        self.code, self.params = code, params


def _query(url: str, allowed: dict[str, type]) -> dict:
    out = {}
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            raise SourceUrlError("decoder.url_option", f"'{url}': unknown option '{key}' (known: {known})",
                                 url=url, option=key, known=known)  # fmt: skip
        kind = allowed[key]
        try:
            if kind is bool:
                out[key] = value.lower() in ("1", "true", "yes", "on")
            else:
                out[key] = kind(value)
        except ValueError:
            raise SourceUrlError("decoder.url_value", f"'{url}': option {key}='{value}' is not a {kind.__name__}",
                                 url=url, option=key, value=value, kind=kind.__name__) from None  # fmt: skip
    return out


_COMMON = {"retry_min": float, "retry_max": float}
_P3 = {**_COMMON, "idle": float, "get_time": bool, "resend": bool, "probe": float}  # P3 over TCP or serial


def open_source(url: str) -> Source:
    """A Source for a decoder URL (see module doc). Raises ValueError for a URL it cannot use."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "p3tcp":
        from decoders.p3.transport import P3TcpSource

        if not parts.hostname:
            raise SourceUrlError("decoder.url_p3tcp", f"'{url}': expected p3tcp://HOST[:PORT]", url=url)
        opts = _query(url, _P3)
        return P3TcpSource(url, parts.hostname, parts.port or P3_TCP_PORT, **opts)
    if scheme == "serial":
        from decoders.p3.transport import P3SerialSource

        device = unquote(parts.netloc + parts.path)
        if not device:
            raise SourceUrlError("decoder.url_serial", f"'{url}': expected serial:///dev/DEVICE", url=url)
        opts = _query(url, {**_P3, "baud": int, "bytesize": int, "parity": str, "stopbits": float})
        return P3SerialSource(url, device, **opts)
    if scheme == "mqtt":
        from decoders.mqtt import MqttSource

        prefix = parts.path.strip("/")
        if not parts.hostname or not prefix:
            raise SourceUrlError("decoder.url_mqtt", f"'{url}': expected mqtt://HOST[:PORT]/TOPIC/PREFIX", url=url)
        opts = _query(url, {**_COMMON, "client_id": str, "keepalive": int})
        return MqttSource(url, parts.hostname, parts.port or MQTT_PORT, prefix,
                          username=unquote(parts.username) if parts.username else None,
                          password=unquote(parts.password) if parts.password else None, **opts)
    raise SourceUrlError("decoder.url_scheme",
                         f"'{url}': unknown decoder URL scheme (use p3tcp://, serial:// or mqtt://)", url=url)


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
