"""AMB / MyLaps P3 binary protocol: frame codec, pure (no I/O, no clock).

Facts and their confidence are in `shared/spec/p3.md`. The stream decoder is written for
hostile input: a decoder link can start mid-frame, drop bytes or carry noise, so every
problem is counted by reason in `P3StreamDecoder.rejected` and nothing ever raises out of
`feed()`. Field widths marked "unverified" in the spec are accepted at any length on decode;
the encoder uses the width seen in captures, or a documented guess.
"""

from __future__ import annotations

import binascii
import inspect
import logging
import re
import struct
from dataclasses import MISSING, dataclass, fields
from typing import Any

log = logging.getLogger(__name__)

SOR = 0x8E
EOR = 0x8F
ESC = 0x8D
ESC_OFFSET = 0x20
HEADER_LEN = 10  # SOR, version, length(2), crc(2), flags(2), tor(2)
MIN_FRAME = HEADER_LEN + 1  # header + EOR, no fields
MAX_WIRE_FRAME = 4096  # escaped bytes between SOR and EOR before we give up on a frame

TOR_RESET = 0x0000
TOR_PASSING = 0x0001
TOR_STATUS = 0x0002
TOR_VERSION = 0x0003
TOR_RESEND = 0x0004
TOR_CLEAR_PASSING = 0x0005
TOR_GET_TIME = 0x0024
TOR_ERROR = 0xFFFF

TOR_NAMES = {
    TOR_RESET: "RESET",
    TOR_PASSING: "PASSING",
    TOR_STATUS: "STATUS",
    TOR_VERSION: "VERSION",
    TOR_RESEND: "RESEND",
    TOR_CLEAR_PASSING: "CLEAR_PASSING",
    TOR_GET_TIME: "GET_TIME",
    TOR_ERROR: "ERROR",
}

# Tags valid in any record.
TAG_DECODER_ID = 0x81
TAG_CONTROLLER_ID = 0x83
TAG_REQUEST_ID = 0x85

REJECT_REASONS = ("crc", "length", "framing", "truncated_tlv")


# --------------------------------------------------------------------------- CRC


def _make_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return tuple(table)


_TABLE = _make_table()


def crc16_amb_reference(data: bytes) -> int:
    """Per-byte shift-register form exactly as p3.md states it (slow; the tests' yardstick)."""
    crc = 0xFFFF
    for byte in data:
        crc = _TABLE[crc >> 8] ^ ((crc << 8) & 0xFFFF) ^ byte
    return crc


def crc16_amb(data: bytes) -> int:
    """AMB CRC-16 (check value 0xA69D over b"123456789").

    Uses the identity of p3.md so the work runs in `binascii`'s C loop: the AMB form equals
    CRC-16/AUG-CCITT of all but the last two bytes, XOR those two bytes read big-endian.
    """
    if len(data) < 3:
        return crc16_amb_reference(data)
    return binascii.crc_hqx(data[:-2], 0x1D0F) ^ ((data[-2] << 8) | data[-1])


def _frame_crc(frame: bytes | bytearray | memoryview) -> int:
    """CRC of an unescaped frame with its CRC field taken as zero (two C calls, no Python loop)."""
    crc = binascii.crc_hqx(frame[6:-2], binascii.crc_hqx(frame[:4] + b"\x00\x00", 0x1D0F))
    return crc ^ ((frame[-2] << 8) | frame[-1])


# --------------------------------------------------------------------------- records

Extra = tuple[tuple[int, bytes], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Envelope:
    """Fields every record may carry (tags valid in any TOR), keyword-only so they come last."""

    decoder_id: str | None = None
    controller_id: str | None = None
    request_id: int | None = None
    extra: Extra = ()  # unknown tags (02, 11, ...), kept raw so nothing is silently lost
    requested: tuple[int, ...] = ()  # tags present with zero length (a request)
    version: int = 2


@dataclass(frozen=True, slots=True)
class PassingRecord(_Envelope):
    """TOR 0x0001: one transponder read. Absent tags are None (gate beacons carry no strength/hits)."""

    passing_number: int | None = None
    transponder: int | None = None
    rtc_time_us: int | None = None
    strength: int | None = None
    hits: int | None = None
    flags: int | None = None
    tran_code: str | None = None  # e.g. "FL-94890"; the only id of some transponders
    utc_time_us: int | None = None
    rtc_id: int | None = None
    sport: int | None = None
    voltage: int | None = None
    temperature: int | None = None
    user_flag: int | None = None
    driver_id: int | None = None


@dataclass(frozen=True, slots=True)
class StatusRecord(_Envelope):
    """TOR 0x0002: periodic decoder health; values are raw decoder units."""

    noise: int | None = None
    gps: int | None = None
    temperature: int | None = None
    satellites: int | None = None
    loop_triggers: int | None = None
    input_voltage: int | None = None


@dataclass(frozen=True, slots=True)
class VersionRecord(_Envelope):
    """TOR 0x0003. Widths of release/registration/build/options are unverified guesses."""

    decoder_type: int | None = None
    description: str | None = None
    firmware_version: str | None = None
    release: int | None = None
    registration: int | None = None
    build_number: int | None = None
    options: int | None = None


@dataclass(frozen=True, slots=True)
class GetTimeRecord(_Envelope):
    """TOR 0x0024: decoder RTC and UTC, for the per-decoder clock offset."""

    rtc_time_us: int | None = None
    flags: int | None = None
    utc_time_us: int | None = None


@dataclass(frozen=True, slots=True)
class ResendRecord(_Envelope):
    """TOR 0x0004: ask the decoder to send passings from..until (inclusive) again."""

    from_number: int | None = None
    until_number: int | None = None


@dataclass(frozen=True, slots=True)
class ErrorRecord(_Envelope):
    """TOR 0xFFFF: 1 CRC, 2 SOR missing, 3 header, 4 TOR unknown, 5 params missing, 6 too long."""

    code: int | None = None


@dataclass(frozen=True, slots=True)
class UnknownRecord(_Envelope):
    """Any other TOR: fields kept raw as (tag, value bytes) in wire order."""

    tor: int
    fields: Extra = ()


Record = (
    PassingRecord | StatusRecord | VersionRecord | GetTimeRecord | ResendRecord | ErrorRecord | UnknownRecord
)

# kind: "u" little-endian unsigned int, "hex" lowercase hex of the bytes, "str" latin-1 text.
_COMMON = (
    (TAG_DECODER_ID, "decoder_id", "hex", 4),
    (TAG_CONTROLLER_ID, "controller_id", "hex", 4),
    (TAG_REQUEST_ID, "request_id", "u", 8),
)

_SPECS: dict[int, tuple[type, tuple[tuple[int, str, str, int], ...]]] = {
    TOR_PASSING: (
        PassingRecord,
        (
            (0x01, "passing_number", "u", 4),
            (0x03, "transponder", "u", 4),
            (0x04, "rtc_time_us", "u", 8),
            (0x05, "strength", "u", 2),
            (0x06, "hits", "u", 2),
            (0x08, "flags", "u", 2),
            (0x0A, "tran_code", "str", 8),
            (0x10, "utc_time_us", "u", 8),
            (0x13, "rtc_id", "u", 4),  # width unverified
            (0x14, "sport", "u", 1),
            (0x30, "voltage", "u", 1),  # width unverified
            (0x31, "temperature", "u", 1),  # width unverified
            (0x0E, "user_flag", "u", 4),  # width unverified
            (0x0F, "driver_id", "u", 1),  # width unverified
        )
        + _COMMON,
    ),
    TOR_STATUS: (
        StatusRecord,
        (
            (0x01, "noise", "u", 2),
            (0x06, "gps", "u", 1),
            (0x07, "temperature", "u", 2),
            (0x0A, "satellites", "u", 1),
            (0x0B, "loop_triggers", "u", 1),  # width unverified
            (0x0C, "input_voltage", "u", 1),
        )
        + _COMMON,
    ),
    TOR_VERSION: (
        VersionRecord,
        (
            (0x01, "decoder_type", "u", 1),
            (0x02, "description", "str", 0),
            (0x03, "firmware_version", "str", 0),
            (0x04, "release", "u", 4),
            (0x08, "registration", "u", 8),
            (0x0A, "build_number", "u", 2),
            (0x0C, "options", "u", 4),
        )
        + _COMMON,
    ),
    TOR_RESEND: (
        ResendRecord,
        (
            (0x01, "from_number", "u", 4),
            (0x02, "until_number", "u", 4),
        )
        + _COMMON,
    ),
    TOR_GET_TIME: (
        GetTimeRecord,
        (
            (0x01, "rtc_time_us", "u", 8),
            (0x04, "flags", "u", 2),
            (0x05, "utc_time_us", "u", 8),
        )
        + _COMMON,
    ),
    TOR_ERROR: (
        ErrorRecord,
        (
            (0x01, "code", "u", 1),  # width unverified
        )
        + _COMMON,
    ),
}
_TOR_OF = {cls: tor for tor, (cls, _spec) in _SPECS.items()}
_BY_TAG = {tor: {tag: (attr, kind) for tag, attr, kind, _w in spec} for tor, (_c, spec) in _SPECS.items()}


def tor_of(record: Record) -> int:
    """The TOR number of a record."""
    if isinstance(record, UnknownRecord):
        return record.tor
    return _TOR_OF[type(record)]


def tor_name(tor: int) -> str:
    return TOR_NAMES.get(tor, f"0x{tor:04X}")


def get_time_request(decoder_id: str | None = None) -> GetTimeRecord:
    """GET_TIME request as real clients send it (version 0, length 0, zero-length fields)."""
    return GetTimeRecord(decoder_id=decoder_id, requested=(0x01, 0x04, 0x05), version=0)


def resend_request(from_number: int, until_number: int, decoder_id: str | None = None) -> ResendRecord:
    """RESEND of passings from..until inclusive, framed like a client request (version 0)."""
    return ResendRecord(from_number=from_number, until_number=until_number, decoder_id=decoder_id, version=0)


# --------------------------------------------------------------------------- encoder


def escape(body: bytes) -> bytes:
    """Escape 0x8D-0x8F only (captures carry 0x8A-0x8C raw)."""
    return body.replace(b"\x8d", b"\x8d\xad").replace(b"\x8e", b"\x8d\xae").replace(b"\x8f", b"\x8d\xaf")


def _encode_value(tag: int, kind: str, width: int, value: Any) -> bytes:
    if kind == "u":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"tag 0x{tag:02X}: expected a non-negative int, got {value!r}")
        size = width
        while value >= 1 << (8 * size):
            size *= 2  # widen rather than truncate a value the guessed width cannot hold
        return value.to_bytes(size, "little")
    if kind == "hex":
        return bytes.fromhex(value)
    return value.encode("latin-1")


def _tlv(tag: int, value: bytes) -> bytes:
    if len(value) > 255:
        raise ValueError(f"tag 0x{tag:02X}: value of {len(value)} bytes does not fit a TLV")
    return bytes((tag, len(value))) + value


def encode(record: Record, *, frame_flags: int = 0) -> bytes:
    """Wire bytes of a record: framed, CRC filled in, escaped.

    Known fields go first in tag-table order, then unknown `extra` tags, then zero-length
    `requested` tags. A version-0 record is a client request and, like the captured one,
    carries 0 in its length field.
    """
    tor = tor_of(record)
    parts: list[bytes] = []
    if isinstance(record, UnknownRecord):
        parts.extend(_tlv(tag, val) for tag, val in record.fields)
        if record.decoder_id is not None:
            parts.append(_tlv(TAG_DECODER_ID, bytes.fromhex(record.decoder_id)))
    else:
        spec = _SPECS[tor][1]
        done = set()
        for tag, attr, kind, width in spec:
            value = getattr(record, attr)
            if value is not None:
                parts.append(_tlv(tag, _encode_value(tag, kind, width, value)))
                done.add(tag)
        parts.extend(_tlv(tag, val) for tag, val in record.extra)
        parts.extend(_tlv(tag, b"") for tag in record.requested if tag not in done)
    body = b"".join(parts)
    length = HEADER_LEN + len(body) + 1
    if length > 0xFFFF:
        raise ValueError("record too long for a P3 frame")
    version = record.version
    frame = bytearray((SOR, version))
    frame += (0 if version == 0 else length).to_bytes(2, "little")
    frame += b"\x00\x00"
    frame += frame_flags.to_bytes(2, "little")
    frame += tor.to_bytes(2, "little")
    frame += body
    frame.append(EOR)
    frame[4:6] = _frame_crc(frame).to_bytes(2, "little")
    return bytes((SOR,)) + escape(bytes(frame[1:-1])) + bytes((EOR,))


# --------------------------------------------------------------------------- decoder


class FrameError(Exception):
    """Why one frame was rejected; `reason` is a key of `P3StreamDecoder.rejected`."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


_ESCAPED = re.compile(rb"\x8d(.)?", re.DOTALL)
_PLAIN = {bytes((ESC, b)): bytes(((b - ESC_OFFSET) & 0xFF,)) for b in range(256) if b != EOR}


def _unescape_one(m: re.Match) -> bytes:
    plain = _PLAIN.get(m.group())
    if plain is None:  # ESC at the very end, or ESC EOR
        raise FrameError("framing", "escape byte without a following byte")
    return plain


def unescape(raw: bytes) -> bytes:
    """Undo 0x8D escaping (the scan runs in `re`'s C loop). FrameError when an escape byte has
    nothing after it."""
    if ESC not in raw:
        return raw
    return _ESCAPED.sub(_unescape_one, raw)


def _parse_tlv(body: bytes) -> list[tuple[int, bytes]]:
    """TLV fields of an unknown TOR, kept raw."""
    out = []
    i = 0
    n = len(body)
    while i < n:
        if i + 2 > n:
            raise FrameError("truncated_tlv", f"tag 0x{body[i]:02X} without a length byte")
        tag = body[i]
        size = body[i + 1]
        end = i + 2 + size
        if end > n:
            raise FrameError("truncated_tlv", f"tag 0x{tag:02X} wants {size} bytes, {n - i - 2} left")
        out.append((tag, body[i + 2 : end]))
        i = end
    return out


_KIND_CODE = {"u": 0, "hex": 1, "str": 2}
_BY_TAG_FAST = {
    tor: {tag: (attr, _KIND_CODE[kind]) for tag, (attr, kind) in by_tag.items()}
    for tor, by_tag in _BY_TAG.items()
}


def _unknown(tor: int, version: int, body: bytes) -> UnknownRecord:
    decoder_id = None
    rest = []
    for tag, val in _parse_tlv(body):
        if tag == TAG_DECODER_ID and val:
            decoder_id = val.hex()
        else:
            rest.append((tag, val))
    return UnknownRecord(tor=tor, fields=tuple(rest), decoder_id=decoder_id, version=version)


def _build(tor: int, version: int, frame: bytes) -> Record:
    """Record from the TLV body of an unescaped frame (the decoder's hot loop: kept flat)."""
    by_tag = _BY_TAG_FAST.get(tor)
    if by_tag is None:
        return _unknown(tor, version, frame[HEADER_LEN:-1])
    kwargs: dict[str, Any] = {} if version == 2 else {"version": version}
    extra = None
    requested = None
    from_bytes = int.from_bytes
    i = HEADER_LEN
    end = len(frame) - 1
    while i < end:
        if i + 2 > end:
            raise FrameError("truncated_tlv", f"tag 0x{frame[i]:02X} without a length byte")
        tag = frame[i]
        j = i + 2 + frame[i + 1]
        if j > end:
            raise FrameError(
                "truncated_tlv", f"tag 0x{tag:02X} wants {frame[i + 1]} bytes, {end - i - 2} left"
            )
        known = by_tag.get(tag)
        if known is None:
            if extra is None:
                extra = []
            extra.append((tag, frame[i + 2 : j]))
        elif j == i + 2:
            if requested is None:
                requested = []
            requested.append(tag)
            kwargs[known[0]] = None
        elif known[1] == 0:
            kwargs[known[0]] = from_bytes(frame[i + 2 : j], "little")
        elif known[1] == 1:
            kwargs[known[0]] = frame[i + 2 : j].hex()
        else:
            kwargs[known[0]] = frame[i + 2 : j].decode("latin-1").rstrip("\x00")
        i = j
    if extra:
        kwargs["extra"] = tuple(extra)
    if requested:
        kwargs["requested"] = tuple(requested)
    return _SPECS[tor][0](**kwargs)


def _layout(tor: int, version: int, frame: bytes) -> Any:
    """A decoder for frames of the same TOR, version and length as `frame` (its tags in order).

    One precompiled `struct` reads every tag, length and value at once; a frame takes this path
    only when its tags and lengths are exactly these, so it decodes as `_build` would. The record
    is filled through its slots' descriptors: a frozen dataclass `__init__` pays
    `object.__setattr__` per field, about 3x the time. The function is generated once per shape,
    as `dataclasses` generates `__init__` (tests/test_p3_codec.py compares both paths).
    Raises KeyError for a shape it does not take (unknown tags, requests, odd widths).
    """
    by_tag = _BY_TAG_FAST[tor]
    cls = _SPECS[tor][0]
    fmt, tags, sizes, value_of = ["<"], [], [], {}
    i, end = HEADER_LEN, len(frame) - 1
    while i < end:
        tag, size = frame[i], frame[i + 1]
        attr, kind = by_tag[tag]
        code = _UINT.get(size) if kind == 0 else f"{size}s"
        if code is None or size == 0:
            raise KeyError(tag)
        k = 3 * len(tags) + 2
        value_of[attr] = (
            f"t[{k}]"
            if kind == 0
            else f"t[{k}].hex()"
            if kind == 1
            else f"t[{k}].decode('latin-1').rstrip('\\x00')"
        )  # a repeated tag: the last one wins, as in _build
        fmt.append("BB" + code)
        tags.append(tag)
        sizes.append(size)
        i += 2 + size
    env: dict[str, Any] = {
        "_new": object.__new__,
        "_cls": cls,
        "_unpack": struct.Struct("".join(fmt)).unpack_from,
        "_tags": tuple(tags),
        "_sizes": tuple(sizes),
    }
    body = [
        f"    t = _unpack(frame, {HEADER_LEN})",
        "    if t[0::3] != _tags or t[1::3] != _sizes:",
        "        return None",
        "    o = _new(_cls)",
    ]
    for k, f in enumerate(fields(cls)):
        env[f"_set{k}"] = inspect.getattr_static(cls, f.name).__set__
        if f.name in value_of:
            value = value_of[f.name]
        elif f.name == "version":
            value = str(version)
        elif f.default is MISSING:
            raise KeyError(f.name)
        else:
            env[f"_d{k}"] = f.default
            value = f"_d{k}"
        body.append(f"    _set{k}(o, {value})")
    exec("def decode(frame):\n" + "\n".join(body) + "\n    return o\n", env)  # noqa: S102 - text built here
    return env["decode"]


_UINT = {1: "B", 2: "H", 4: "I", 8: "Q"}
_LAYOUTS: dict[tuple[int, int, int], Any] = {}  # (tor, version, length) -> `_layout` decoder; None: none
_LAYOUTS_MAX = 512


def _decode_body(tor: int, version: int, frame: bytes) -> Record:
    key = (tor, version, len(frame))
    lay = _LAYOUTS.get(key)
    if lay is not None:
        rec = lay(frame)
        if rec is not None:
            return rec
    rec = _build(tor, version, frame)
    if lay is None and key not in _LAYOUTS and tor in _BY_TAG_FAST and len(_LAYOUTS) < _LAYOUTS_MAX:
        try:
            _LAYOUTS[key] = _layout(tor, version, frame)
        except KeyError:  # unknown tags or odd widths: always the general path for this shape
            _LAYOUTS[key] = None
    return rec


def decode_frame(raw: bytes) -> Record:
    """Decode one escaped wire frame (SOR..EOR). Raises FrameError with a reason."""
    if len(raw) < 2 or raw[0] != SOR or raw[-1] != EOR:
        raise FrameError("framing", "frame does not start with SOR and end with EOR")
    frame = unescape(raw)
    n = len(frame)
    if n < MIN_FRAME:
        raise FrameError("length", f"{n} bytes is shorter than a header")
    version = frame[1]
    length = frame[2] | (frame[3] << 8)
    if length != n and not (length == 0 and version == 0):
        raise FrameError("length", f"length field {length}, frame has {n} bytes")
    stored = frame[4] | (frame[5] << 8)
    computed = _frame_crc(frame)
    if stored != computed:
        raise FrameError("crc", f"crc 0x{stored:04X} != 0x{computed:04X}")
    return _decode_body(frame[8] | (frame[9] << 8), version, frame)


class P3StreamDecoder:
    """Splits an arbitrary byte stream into P3 records.

    Chunk boundaries do not matter: the same bytes fed in any chunking give the same records
    and the same reject counts. Bytes outside frames count once per run as "framing"; a frame
    cut short by a new SOR counts as "framing"; a frame with no EOR after MAX_WIRE_FRAME bytes
    is dropped as "length". Call `close()` at end of stream to count a frame left unfinished.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._in_junk = False
        self.rejected: dict[str, int] = dict.fromkeys(REJECT_REASONS, 0)
        self.records = 0

    def _reject(self, reason: str, detail: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1
        log.debug("P3 frame rejected (%s): %s", reason, detail)

    def _junk(self) -> None:
        if not self._in_junk:
            self._in_junk = True
            self._reject("framing", "bytes outside a frame")

    def feed(self, chunk: bytes) -> list[Record]:
        """Add bytes, return every record completed by them. Never raises."""
        out: list[Record] = []
        try:
            self._feed(chunk, out)
        except Exception:  # a bug must not take the link down; count and resync
            log.exception("P3 stream decoder failure; resynchronising")
            self._buf.clear()
            self._reject("framing", "internal error")
        return out

    def _feed(self, chunk: bytes, out: list[Record]) -> None:
        """Split on EOR in one C call; a piece that is exactly one clean frame (SOR first, no other
        SOR, not too long) is decoded at once, anything else goes through `_scan` piece by piece.
        Pieces are independent (a frame ends at its EOR) but for the junk flag, kept across."""
        buf = self._buf
        if b"\x8f" not in chunk:
            buf += chunk
            self._scan(buf, out)
            return
        data = bytes(buf) + chunk if buf else chunk
        buf.clear()
        pieces = data.split(b"\x8f")
        tail = pieces.pop()  # after the last EOR: a frame still arriving, or nothing
        crc_hqx, layouts = binascii.crc_hqx, _LAYOUTS
        for piece in pieces:
            if piece[:1] == b"\x8e" and piece.find(b"\x8e", 1) < 0 and len(piece) <= MAX_WIRE_FRAME:
                self._in_junk = False
                # the common case inline: no escape, length and CRC right (the CRC of the frame
                # with its EOR, as _frame_crc), a layout known for its shape
                n = len(piece) + 1
                if (
                    n >= MIN_FRAME
                    and b"\x8d" not in piece
                    and piece[2] | (piece[3] << 8) == n
                    and crc_hqx(piece[6:-1], crc_hqx(piece[:4] + b"\x00\x00", 0x1D0F))
                    ^ ((piece[-1] << 8) | EOR)
                    == piece[4] | (piece[5] << 8)
                ):
                    lay = layouts.get((piece[8] | (piece[9] << 8), piece[1], n))
                    rec = lay(piece) if lay is not None else None
                    if rec is not None:
                        out.append(rec)
                        self.records += 1
                        continue
                try:
                    out.append(decode_frame(piece + b"\x8f"))
                    self.records += 1
                except FrameError as exc:
                    self._reject(exc.reason, str(exc))
            else:
                self._scan(bytearray(piece + b"\x8f"), out)
        if tail:
            buf += tail
            self._scan(buf, out)

    def _scan(self, buf: bytearray, out: list[Record]) -> None:
        """The general splitter: junk, frames cut short, over-long frames; keeps a partial frame."""
        n = len(buf)
        pos = 0
        find = buf.find
        while pos < n:
            s = find(b"\x8e", pos)
            if s < 0:
                self._junk()
                pos = n
                break
            if s > pos:
                self._junk()
            self._in_junk = False
            e = find(b"\x8f", s + 1)
            nxt = find(b"\x8e", s + 1, e if e >= 0 else n)
            bound = nxt if nxt >= 0 else e  # first SOR or EOR after this SOR, -1 if none yet
            if (bound if bound >= 0 else n) - s > MAX_WIRE_FRAME:
                self._reject("length", f"no EOR within {MAX_WIRE_FRAME} bytes")
                self._in_junk = True  # what follows up to the next SOR belongs to this bad frame
                if bound < 0:
                    pos = n
                    break
                pos = nxt if nxt >= 0 else e + 1
                continue
            if nxt >= 0:
                self._reject("framing", "frame cut short by a new SOR")
                pos = nxt
                continue
            if e < 0:
                pos = s  # keep the partial frame for the next chunk
                break
            pos = e + 1
            try:
                out.append(decode_frame(bytes(buf[s:pos])))
                self.records += 1
            except FrameError as exc:
                self._reject(exc.reason, str(exc))
        del buf[:pos]

    def close(self) -> None:
        """End of stream (link closed): a frame still incomplete can never finish, count it."""
        if self._buf:
            self._reject("framing", f"stream ended inside a frame ({len(self._buf)} bytes)")
            self._buf.clear()
        self._in_junk = False


def decode_all(data: bytes) -> list[Record]:
    """Convenience: all records of a complete byte string."""
    return P3StreamDecoder().feed(data)


def record_fields(record: Record) -> dict[str, Any]:
    """The record as a plain dict (for logging and JSON)."""
    return {f.name: getattr(record, f.name) for f in fields(record)}
