"""JSON passings over MQTT, for decoders and DIY readers that publish to a broker.

Topic layout under a site prefix (e.g. `boucle/track1`):

    PREFIX/decoder/<decoder_id>/passing   {"transponder": "1234", "rtc_time_us": 1700000000000000,
                                           "passing_number": 17, "strength": 120, "hits": 30,
                                           "loop": "finish"}
    PREFIX/decoder/<decoder_id>/status    {"noise": 40, "temperature": 22, "gps": 1, "input_voltage": 118,
                                           "rtc_time_us": 1700000000000000}

Only `transponder` (string, or a non-negative integer) and `rtc_time_us` (integer) are required;
the other keys may be absent or null, unknown keys are ignored; `"resent": true` marks a read sent
again from the reader's memory. A status `rtc_time_us` is the decoder's clock now: a clock report.
Malformed messages (too big, not UTF-8, not JSON, nested too deep, wrong fields) are counted in
`status.rejected` ("topic", "size", "json", "schema"; "error" for anything else) and logged; no
payload ever stops the subscription.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from dataclasses import replace
from typing import Any

import aiomqtt

from decoders.passing import Passing
from decoders.source import Source

log = logging.getLogger(__name__)

MQTT_REJECT_REASONS = ("topic", "size", "json", "schema", "error")
MAX_PAYLOAD = 64 * 1024  # bytes: a passing or status message is a few hundred
MAX_US = 1 << 63  # decoder times are signed 64-bit microseconds
MAX_NUMBER = 1 << 32  # passing numbers are P3's u32


class PayloadError(ValueError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def _json_object(payload: bytes | str) -> dict:
    if not isinstance(payload, bytes | bytearray | str):
        payload = str(payload)
    if len(payload) > MAX_PAYLOAD:
        raise PayloadError("size", f"{len(payload)} bytes, more than {MAX_PAYLOAD}")
    try:
        text = payload.decode("utf-8") if isinstance(payload, bytes | bytearray) else payload
        data = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError("json", f"not JSON: {exc}") from None
    except RecursionError:  # e.g. 100,000 '[': refused, never a crash of the link
        raise PayloadError("json", "nested too deep") from None
    if not isinstance(data, dict):
        raise PayloadError("json", f"expected a JSON object, got {type(data).__name__}")
    return data


def _opt_int(data: dict, key: str, *, required: bool = False, below: int = MAX_US) -> int | None:
    value = data.get(key)
    if value is None:
        if required:
            raise PayloadError("schema", f"{key!r} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < below:
        raise PayloadError(
            "schema", f"{key!r} must be an integer from 0 to {below - 1}, got {str(value)[:40]}"
        )
    return value


def parse_passing(decoder_id: str, payload: bytes | str, source: str = "") -> Passing:
    """A `Passing` from one passing message, or PayloadError saying what is wrong."""
    data = _json_object(payload)
    transponder = data.get("transponder")
    if isinstance(transponder, int) and not isinstance(transponder, bool) and transponder >= 0:
        transponder = str(transponder)
    if not isinstance(transponder, str) or not transponder.strip():
        raise PayloadError(
            "schema", f"'transponder' must be a non-empty string, got {str(transponder)[:40]!r}"
        )
    rtc = _opt_int(data, "rtc_time_us", required=True)
    loop = data.get("loop")
    if loop is not None and (not isinstance(loop, str) or not loop):
        raise PayloadError("schema", f"'loop' must be a string or null, got {str(loop)[:40]!r}")
    resent = data.get("resent")
    if resent is not None and not isinstance(resent, bool):
        raise PayloadError("schema", "'resent' must be true, false or null")
    return Passing(
        decoder_id=decoder_id,
        transponder=transponder.strip(),
        rtc_time_us=rtc,
        passing_number=_opt_int(data, "passing_number", below=MAX_NUMBER),
        strength=_opt_int(data, "strength"),
        hits=_opt_int(data, "hits"),
        flags=_opt_int(data, "flags"),
        loop=loop,
        source=source,
        live=not resent,
    )


STATUS_KEYS = ("noise", "temperature", "gps", "input_voltage", "rtc_time_us")


def parse_status(payload: bytes | str) -> dict[str, int | None]:
    """Known status values of one status message (absent ones are None)."""
    data = _json_object(payload)
    return {key: _opt_int(data, key) for key in STATUS_KEYS}


class MqttSource(Source):
    """Subscribes to every decoder under a prefix; reconnects to the broker by itself."""

    def __init__(
        self,
        url: str,
        host: str,
        port: int,
        prefix: str,
        *,
        username: str | None = None,
        password: str | None = None,
        client_id: str | None = None,
        keepalive: int = 10,
        **kw: Any,
    ) -> None:
        super().__init__(url, **kw)
        self.host = host
        self.port = port
        self.prefix = prefix.strip("/")
        self.username = username
        self.password = password
        self.client_id = client_id
        self.keepalive = keepalive
        self.topics = (f"{self.prefix}/decoder/+/passing", f"{self.prefix}/decoder/+/status")
        self._recent: OrderedDict[tuple, None] = OrderedDict()  # passings without a number
        for reason in MQTT_REJECT_REASONS:
            self.status.rejected[reason] = 0

    async def _serve(self) -> bool:
        # A fixed client id gets a persistent session: the broker queues QoS 1 passings while we are away.
        async with aiomqtt.Client(
            self.host,
            self.port,
            username=self.username,
            password=self.password,
            identifier=self.client_id,
            clean_session=self.client_id is None,
            keepalive=self.keepalive,
            timeout=5,
        ) as client:
            for topic in self.topics:
                await client.subscribe(topic, qos=1)
            self._mark_connected()
            async for message in client.messages:
                self.handle_message(str(message.topic), message.payload)
        return True

    def handle_message(self, topic: str, payload: Any) -> None:
        """One broker message; public so it can be driven without a broker."""
        try:
            decoder_id, kind = self._split_topic(topic)
            if kind == "passing":
                self._passing(parse_passing(decoder_id, payload if payload is not None else b"", self.url))
            else:
                self._status(decoder_id, parse_status(payload if payload is not None else b""))
        except PayloadError as exc:
            self._refuse(topic, exc.reason, str(exc))
        except Exception as exc:  # noqa: BLE001 - whatever a payload does, the subscription goes on
            self._refuse(topic, "error", f"{type(exc).__name__}: {exc}")
            log.exception("%s: message on %s could not be handled", self.url, topic[:200])

    def _refuse(self, topic: str, reason: str, detail: str) -> None:
        self._count_reject(reason)
        self.status.last_error = f"{topic[:200]}: {detail[:300]}"
        n = self.status.rejected[reason]
        if n <= 5 or n % 100 == 0:
            log.warning(
                "%s: rejected message #%d on %s (%s): %s", self.url, n, topic[:200], reason, detail[:300]
            )

    def _split_topic(self, topic: str) -> tuple[str, str]:
        head = f"{self.prefix}/decoder/"
        rest = topic[len(head) :].split("/") if topic.startswith(head) else []
        if len(rest) != 2 or not rest[0] or rest[1] not in ("passing", "status"):
            raise PayloadError("topic", f"unexpected topic {topic!r}")
        return rest[0], rest[1]

    def _status(self, decoder_id: str, values: dict[str, int | None]) -> None:
        st = self.status
        st.decoder_id = decoder_id
        clock = values.pop("rtc_time_us", None)
        for key, value in values.items():
            if value is not None:
                setattr(st, key, value)
        if clock is not None:
            self._clock_report(clock, decoder_id=decoder_id)

    def _passing(self, p: Passing) -> None:
        self.status.decoder_id = p.decoder_id
        if p.passing_number is not None:
            obs = self.tracker.observe(
                p.decoder_id, p.passing_number, (p.transponder, p.rtc_time_us), p.rtc_time_us
            )
            if obs.duplicate:
                self.status.duplicates += 1
                return
            if obs.restarted:
                self.status.reboots += 1
            p = replace(p, epoch=obs.epoch, live=p.live and not obs.recovered)
            if obs.new_gap is not None:
                self.status.gaps_detected += 1
            if self.tracker.pending():
                self.tracker.due(0.0, 0.0, 0)  # MQTT cannot ask again: account them as lost now
            self._sync_tracker()
        else:
            key = (p.decoder_id, p.transponder, p.rtc_time_us)
            if key in self._recent:
                self.status.duplicates += 1
                return
            self._recent[key] = None
            if len(self._recent) > 10_000:
                self._recent.popitem(last=False)
        self._emit(p)
