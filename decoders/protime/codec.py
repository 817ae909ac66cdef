"""TAG Heuer / Chronelec Protime: pure codec (bytes in, records out; shared/spec/decoders-more.md).

Messages end with CR LF (stray NUL bytes before one are line noise), ISO-8859-1 text:

- passing, 40 bytes: `<` + 32 data bytes + 4-digit checksum + `>` CR LF, e.g.
  `<STA 000255 00:00'31"957 01 01 1 1555>`; the checksum is the decimal sum of the 32 data
  bytes. Data: channel, transponder (6 digits), time of day `HH:MM'SS"mmm`, two 2-digit fields
  (meaning unknown), status (1 digit; 3 = low transponder battery).
- status: `[` + time, noise STA, noise BOX, level STA, level BOX (space separated).
- configuration (answer to ESC 0x10): `+++` + at least 48 binary bytes: STA and BOX levels at
  25/26 (BCD), IP settings at 27-42, decoder id digits at 43-46, firmware at 47 (BCD).

`ProtimeDecoder.feed` returns records in stream order; a damaged passing comes out as `Damaged`
(the transport answers it with a repeat request); everything refused is counted by reason in
`rejected`. `passing_message` and friends build the same bytes, for the simulator and the tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from decoders.daytime import nearest_day, parse_tod
from decoders.lines import LineSplitter
from decoders.passing import Passing

ESC = 0x1B
ACK = b"\x1b\x11"  # passing received and kept: the decoder sends the next one
REPEAT = b"\x1b\x12"  # send that message again
CONFIG_REQUEST = b"\x1b\x10"
STATUS_REQUEST = b"\x1b\x05"
ENCODING = "iso-8859-1"
REJECT_REASONS = ("checksum", "length", "format", "framing")
MAX_LINE = 256  # longer than any message: line noise, dropped
CONFIG_BODY = 48
LOW_BATTERY = 3
_DATA = re.compile(rb"([A-Z][A-Z0-9]{2}) (\d{6}) (\d\d):([0-5]\d)'([0-5]\d)\"(\d{3}) (\d\d) (\d\d) (\d) ")


@dataclass(frozen=True, slots=True)
class ProtimePassing:
    channel: str  # STA, BOX, MAN, B01...
    transponder: int
    tod_us: int  # time of day on the decoder's clock
    field_a: int  # the two 2-digit fields: meaning unverified, kept for `boucle` users to see
    field_b: int
    status: int  # 3: low transponder battery

    @property
    def low_battery(self) -> bool:
        return self.status == LOW_BATTERY


@dataclass(frozen=True, slots=True)
class ProtimeStatus:
    tod_us: int
    noise: dict[str, int]  # per channel: {"STA": 40, "BOX": 35}
    levels: dict[str, int]


@dataclass(frozen=True, slots=True)
class ProtimeConfig:
    decoder_id: str  # four digits
    firmware: str
    levels: dict[str, int]
    ip: str


@dataclass(frozen=True, slots=True)
class Damaged:
    """A passing message that cannot be read (bad checksum, length or fields): ask for it again."""

    reason: str
    raw: bytes


Record = ProtimePassing | ProtimeStatus | ProtimeConfig | Damaged


def checksum(data: bytes) -> bytes:
    return b"%04d" % (sum(data) % 10_000)


def _bcd(b: int) -> int:
    return 10 * (b >> 4) + (b & 0x0F)


def _to_bcd(v: int) -> int:
    return ((v // 10) % 10) << 4 | v % 10


def parse_passing(msg: bytes) -> ProtimePassing | Damaged:
    """One `<...>` message without its CR LF."""
    if len(msg) != 38 or msg[37:38] != b">":
        return Damaged("length", msg)
    data = msg[1:33]
    if checksum(data) != msg[33:37]:
        return Damaged("checksum", msg)
    m = _DATA.fullmatch(data)
    if m is None or int(m[3]) > 23:
        return Damaged("format", msg)
    channel, tr, h, mi, sec, ms, a, b, st = m.groups()
    tod_us = ((int(h) * 60 + int(mi)) * 60 + int(sec)) * 1_000_000 + int(ms) * 1000
    return ProtimePassing(channel.decode(), int(tr), tod_us, int(a), int(b), int(st))


def parse_status(msg: bytes) -> ProtimeStatus | None:
    fields = msg[1:].decode(ENCODING).strip().rstrip("]").split()
    if len(fields) != 5 or not all(f.isdigit() for f in fields[1:]):
        return None
    try:
        tod_us = parse_tod(fields[0])
    except ValueError:
        return None
    ns, nb, ls, lb = (int(f) for f in fields[1:])
    return ProtimeStatus(tod_us, {"STA": ns, "BOX": nb}, {"STA": ls, "BOX": lb})


def parse_config(body: bytes) -> ProtimeConfig | None:
    """The bytes after `+++` (at least 48)."""
    if len(body) < CONFIG_BODY or any(b > 9 for b in body[43:47]):
        return None
    ip = ".".join(str(b) for b in body[27:31])
    return ProtimeConfig(
        "".join(chr(b + 48) for b in body[43:47]),
        str(_bcd(body[47])),
        {"STA": _bcd(body[25]), "BOX": _bcd(body[26])},
        ip,
    )


def _config_hold(buf: bytearray, start: int) -> int:
    """The configuration is binary: its IP bytes may hold CR LF, so its end is looked for past them."""
    return 3 + CONFIG_BODY if buf.startswith(b"+++", start) else 0


class ProtimeDecoder:
    """Splits a Protime byte stream into records, whatever the read sizes."""

    def __init__(self) -> None:
        self.lines = LineSplitter(b"\r\n", MAX_LINE, _config_hold)
        self.rejected: dict[str, int] = dict.fromkeys(REJECT_REASONS, 0)

    def reset(self) -> None:
        """A new link: nothing of the old one's partial message carries over (counts do)."""
        self.lines.reset()

    def feed(self, chunk: bytes) -> list[Record]:
        out: list[Record] = []
        for msg in self.lines.feed(chunk):
            if msg is None:
                self.rejected["framing"] += 1
            elif (rec := self._message(msg.lstrip(b"\x00"))) is not None:  # NUL noise before a message
                out.append(rec)
        return out

    def _message(self, msg: bytes) -> Record | None:
        if not msg:
            return None
        kind = msg[:1]
        if kind == b"<":
            rec = parse_passing(msg)
            if isinstance(rec, Damaged):
                self.rejected[rec.reason] += 1
            return rec
        if kind == b"[":
            status = parse_status(msg)
            if status is None:
                self.rejected["format"] += 1
            return status
        if msg.startswith(b"+++"):
            config = parse_config(msg[3:])
            if config is None:
                self.rejected["format"] += 1
            return config
        self.rejected["framing"] += 1
        return None


def to_passing(
    rec: ProtimePassing, *, decoder_id: str, ref_us: int, loop: str | None = None, source: str = ""
) -> Passing:
    """The `Passing` of a read: its time of day on the date nearest to `ref_us` (the host's now)."""
    return Passing(
        decoder_id=decoder_id,
        transponder=str(rec.transponder),
        rtc_time_us=nearest_day(rec.tod_us, ref_us),
        flags=rec.status,
        loop=loop,
        source=source,
    )


# -- what a decoder sends (simulator, tests, bench) -------------------------------------------------
def fmt_tod(tod_us: int) -> str:
    ms = (tod_us // 1000) % 86_400_000
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}'{s:02d}\"{ms:03d}"


def passing_message(
    channel: str, transponder: int, tod_us: int, field_a: int = 1, field_b: int = 1, status: int = 1
) -> bytes:
    number = transponder % 1_000_000
    data = f"{channel:3.3s} {number:06d} {fmt_tod(tod_us)} {field_a:02d} {field_b:02d} {status:d} "
    raw = data.encode(ENCODING)
    return b"<" + raw + checksum(raw) + b">\r\n"


def status_message(tod_us: int, noise: tuple[int, int], levels: tuple[int, int]) -> bytes:
    s = (tod_us // 1_000_000) % 86_400
    clock = f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
    return f"[{clock} {noise[0]} {noise[1]} {levels[0]} {levels[1]}]\r\n".encode()


def config_message(
    decoder_id: str, firmware: int, levels: tuple[int, int], ip: str = "192.168.0.10"
) -> bytes:
    body = bytearray(CONFIG_BODY)
    body[25], body[26] = _to_bcd(levels[0]), _to_bcd(levels[1])
    body[27:31] = bytes(int(x) for x in ip.split("."))
    body[31:35] = bytes([255, 255, 255, 0])
    body[39:43] = bytes([192, 168, 0, 255])
    body[43:47] = bytes(int(c) for c in decoder_id[:4].rjust(4, "0"))
    body[47] = _to_bcd(firmware)
    return b"+++" + bytes(body) + b"\r\n"
