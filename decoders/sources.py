"""Decoder connections by URL, with one lifecycle for every transport.

    p3tcp://HOST[:5403][?idle=10&get_time=1&clock_every=60&resend=1&probe=5]
    serial:///dev/ttyUSB0[?baud=115200&bytesize=8&parity=N&stopbits=1&idle=10&probe=5]
    mqtt://[USER:PASS@]HOST[:1883]/PREFIX[?client_id=...&keepalive=10]
    protime:///dev/ttyUSB0[?baud=19200&loops=STA:finish,BOX:pit_in]   protime+udp://HOST[:2008]
    rrs://HOST[:3601]   wiclax://HOST:PORT   (options: decoders/*/transport.py `from_url`)

Every source also takes `retry_min` and `retry_max` (seconds) for its reconnect backoff.
This module is the registry of URL schemes; the lifecycle they share is `decoders.source.Source`.
Transports are imported when their scheme is opened (aiomqtt and pyserial load
only when used); they import `decoders.source`, never this registry, so there is no import cycle.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from decoders.errors import DecoderUrlError
from decoders.options import query as _query
from decoders.reach import DecoderReach, mask_url
from decoders.source import Source

SCHEMES = "p3tcp://, serial://, mqtt://, protime://, protime+udp://, rrs://, wiclax://"
P3_TCP_PORT = 5403
MQTT_PORT = 1883


_COMMON = {"retry_min": float, "retry_max": float}
_P3 = {
    **_COMMON,
    "idle": float,
    "get_time": bool,
    "clock_every": float,
    "resend": bool,
    "probe": float,
}  # P3 over TCP or serial


def open_source(url: str, reach: DecoderReach | None = None) -> Source:
    """A Source for a decoder URL (see module doc). Raises DecoderUrlError (a ValueError with a
    catalogue code; the URL in it masked) for a URL it cannot use. With `reach` (decoders/reach.py),
    the source checks its target before each connection."""
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
            raise DecoderUrlError("decoder.url_expected", url=url, form="p3tcp://HOST[:PORT]")
        opts = _query(url, _P3)
        return P3TcpSource(shown, parts.hostname, parts.port or P3_TCP_PORT, **opts)
    if scheme == "serial":
        from decoders.p3.transport import P3SerialSource

        device = unquote(parts.netloc + parts.path)
        if not device:
            raise DecoderUrlError("decoder.url_expected", url=url, form="serial:///dev/DEVICE")
        opts = _query(url, {**_P3, "baud": int, "bytesize": int, "parity": str, "stopbits": float})
        return P3SerialSource(shown, device, **opts)
    if scheme == "mqtt":
        from decoders.mqtt import MqttSource

        prefix = parts.path.strip("/")
        if not parts.hostname or not prefix:
            raise DecoderUrlError("decoder.url_expected", url=url, form="mqtt://HOST[:PORT]/TOPIC/PREFIX")
        opts = _query(url, {**_COMMON, "client_id": str, "keepalive": int})
        return MqttSource(
            shown,
            parts.hostname,
            parts.port or MQTT_PORT,
            prefix,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            **opts,
        )
    if scheme in ("protime", "protime+udp"):
        from decoders.protime.transport import from_url as protime

        return protime(url)
    if scheme == "rrs":
        from decoders.rrs.transport import from_url as rrs

        return rrs(url)
    if scheme == "wiclax":
        from decoders.wiclax.transport import from_url as wiclax

        return wiclax(url)
    raise DecoderUrlError("decoder.url_scheme", url=url, schemes=SCHEMES)


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
