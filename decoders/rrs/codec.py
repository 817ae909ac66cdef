"""Race Result decoders (active and passive systems, TCP port 3601): pure codec.

Lines of `;`-separated fields ending with CR LF, ISO-8859-1 (shared/spec/decoders-more.md).
A command's answer starts with the command (`PASSINGS;<count>;<file>`, `GETSTATUS;...`). A
passing has 20 fields (protocol 3.0), pushed ones prefixed `#P;`, fetched ones (answer to
`<n>:<k>`) bare; a fetch ends with an empty line (or `ONLY ...`). Fields read: 0 passing number,
1 transponder code, 2 date `yyyy-mm-dd`, 3 time `hh:mm:ss.fff`, 5 hits (hex), 6 max RSSI (hex),
10 loop id, 13 battery (V), 15 internal active data (bit 0x40: stored by the transponder, not
live), 16 box name, and (unverified) 17 file number. A transponder code starting
`99999` is a marker, not a competitor.

`RrsDecoder.feed` returns records in stream order; every refused line is counted by reason in
`rejected`. `to_passing` makes the `Passing`; the `*_line` functions build what a decoder sends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from decoders.daytime import civil_us, nearest_day, parse_tod, parts
from decoders.lines import LineSplitter
from decoders.passing import Passing

PORT = 3601
ENCODING = "iso-8859-1"
PROTOCOL = "3.0"
PASSING_FIELDS = 20
MARKER = "99999"
STORED = 0x40
MAX_LINE = 1024
REJECT_REASONS = ("fields", "number", "time", "framing", "unknown")
COMMANDS = frozenset(
    (
        "SETPROTOCOL",
        "SETPUSHPASSINGS",
        "SETPUSHPREWARNS",
        "SETTIME",
        "STARTOPERATION",
        "STOPOPERATION",
        "GETFILE",
        "CLEARFILES",
    )
)  # answers read and let go
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


@dataclass(frozen=True, slots=True)
class RrsPassing:
    number: int
    transponder: str
    day_us: int | None  # the date's midnight on the decoder clock; None when the decoder sends no date
    tod_us: int
    hits: int | None
    rssi: int | None
    loop_id: str
    battery: float | None  # transponder battery, volts
    active_data: int | None
    box_name: str
    file_no: int | None
    pushed: bool  # `#P;`: sent as it happened; else fetched from the decoder's memory

    @property
    def stored(self) -> bool:
        """Kept by an active transponder and sent later: its time is right, its arrival is late."""
        return self.active_data is not None and bool(self.active_data & STORED)

    @property
    def marker(self) -> bool:
        return self.transponder.startswith(MARKER)


@dataclass(frozen=True, slots=True)
class RrsProtocol:
    versions: tuple[str, ...]  # GETPROTOCOL answer: lowest, current, highest supported

    @property
    def highest(self) -> str:
        return self.versions[-1] if self.versions else ""


@dataclass(frozen=True, slots=True)
class RrsStatus:
    clock_us: int | None
    has_power: bool | None
    operating: bool | None
    file_no: int | None
    reader_ok: bool | None
    battery_pct: int | None  # None while the decoder estimates it (-1)


@dataclass(frozen=True, slots=True)
class RrsCount:
    count: int  # passings in the current file: the newest passing number
    file_no: int | None


@dataclass(frozen=True, slots=True)
class RrsConfig:
    fields: tuple[str, ...]  # after GETCONFIG: e.g. ("GENERAL", "BOXNAME", name, device id)


@dataclass(frozen=True, slots=True)
class RrsFetchEnd:
    """The end of an answer to `<n>:<k>`."""


@dataclass(frozen=True, slots=True)
class RrsReply:
    command: str
    fields: tuple[str, ...]


Record = RrsPassing | RrsProtocol | RrsStatus | RrsCount | RrsConfig | RrsFetchEnd | RrsReply


class BadLine(ValueError):
    """A line of the decoder that is not a passing: `reason` is the reject counter it goes to (internal)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _opt_int(value: str, base: int = 10) -> int | None:
    try:
        return int(value, base) if value.strip() else None
    except ValueError:
        return None


def _flag(value: str) -> bool | None:
    return {"1": True, "0": False}.get(value.strip())


def parse_passing(fields: list[str], pushed: bool) -> RrsPassing:
    if len(fields) != PASSING_FIELDS or not fields[1].strip():
        raise BadLine("fields")
    if not fields[0].isdigit():
        raise BadLine("number")
    try:
        day_us = None
        if fields[2]:
            m = _DATE.fullmatch(fields[2])
            if m is None:
                raise ValueError(fields[2])
            day_us = civil_us(int(m[1]), int(m[2]), int(m[3]))
        tod_us = parse_tod(fields[3])
    except ValueError:
        raise BadLine("time") from None
    try:
        battery = float(fields[13]) if fields[13].strip() else None
    except ValueError:
        battery = None
    return RrsPassing(
        int(fields[0]),
        fields[1].strip(),
        day_us,
        tod_us,
        _opt_int(fields[5], 16),
        _opt_int(fields[6], 16),
        fields[10].strip(),
        battery,
        _opt_int(fields[15]),
        fields[16].strip(),
        _opt_int(fields[17]),
        pushed,
    )


def parse_status(fields: list[str]) -> RrsStatus:
    if len(fields) < 10:
        raise BadLine("fields")
    clock = None
    m = _DATE.fullmatch(fields[0])
    if m is not None:
        try:
            clock = civil_us(int(m[1]), int(m[2]), int(m[3])) + parse_tod(fields[1])
        except ValueError:
            clock = None
    battery = _opt_int(fields[9])
    return RrsStatus(
        clock,
        _flag(fields[2]),
        _flag(fields[4]),
        _opt_int(fields[5]),
        _flag(fields[8]),
        battery if battery is not None and battery >= 0 else None,
    )


class RrsDecoder:
    """Splits a Race Result byte stream into records, whatever the read sizes."""

    def __init__(self) -> None:
        self.lines = LineSplitter(b"\n", MAX_LINE)
        self.rejected: dict[str, int] = dict.fromkeys(REJECT_REASONS, 0)

    def reset(self) -> None:
        """A new link: nothing of the old one's partial line carries over (counts do)."""
        self.lines.reset()

    def feed(self, chunk: bytes) -> list[Record]:
        out: list[Record] = []
        for raw in self.lines.feed(chunk):
            if raw is None:
                self.rejected["framing"] += 1
            elif (rec := self._line(raw)) is not None:
                out.append(rec)
        return out

    def _line(self, raw: bytes) -> Record | None:
        line = raw.decode(ENCODING).strip("\x00\r ")
        if not line or line.startswith("ONLY"):
            return RrsFetchEnd()
        fields = line.split(";")
        head = fields[0]
        try:
            if head == "#P":
                return parse_passing(fields[1:], pushed=True)
            if head.isdigit():
                return parse_passing(fields, pushed=False)
            if head == "GETPROTOCOL":
                return RrsProtocol(tuple(f.strip() for f in fields[1:]))
            if head == "GETSTATUS":
                return parse_status(fields[1:])
            if head == "PASSINGS":
                count = _opt_int(fields[1]) if len(fields) > 1 else None
                if count is None:
                    raise BadLine("fields")
                return RrsCount(count, _opt_int(fields[2]) if len(fields) > 2 else None)
            if head == "GETCONFIG":
                return RrsConfig(tuple(fields[1:]))
            if head in COMMANDS:
                return RrsReply(head, tuple(fields[1:]))
        except BadLine as exc:
            self.rejected[exc.reason] += 1
            return None
        self.rejected["unknown"] += 1
        return None


def to_passing(
    rec: RrsPassing, *, decoder_id: str, ref_us: int, loop: str | None = None, source: str = ""
) -> Passing:
    """The `Passing` of a read (a read with no date goes on the date nearest to `ref_us`)."""
    rtc = rec.day_us + rec.tod_us if rec.day_us is not None else nearest_day(rec.tod_us, ref_us)
    return Passing(
        decoder_id=decoder_id,
        transponder=rec.transponder,
        rtc_time_us=rtc,
        passing_number=rec.number,
        strength=rec.rssi,
        hits=rec.hits,
        loop=loop,
        source=source,
        live=rec.pushed and not rec.stored,
    )


# -- what a decoder sends (simulator, tests, bench) -------------------------------------------------
def fmt_date_time(us: int) -> tuple[str, str]:
    y, mo, d, h, mi, s, micro = parts(us)
    return f"{y:04d}-{mo:02d}-{d:02d}", f"{h:02d}:{mi:02d}:{s:02d}.{micro // 1000:03d}"


def passing_line(
    number: int,
    transponder: str,
    rtc_us: int,
    *,
    hits: int = 40,
    rssi: int = 0x55,
    loop_id: str = "1",
    battery: float | None = 3.0,
    active_data: int = 0,
    box_name: str = "",
    file_no: int = 1,
    box_id: str = "",
    pushed: bool = True,
) -> bytes:
    date, tod = fmt_date_time(rtc_us)
    fields = [
        str(number),
        transponder,
        date,
        tod,
        "0",
        f"{hits:X}",
        f"{rssi:X}",
        "0",
        "1",
        "1",
        loop_id,
        "0",
        str(number % 65536),
        "" if battery is None else f"{battery:.1f}",
        "21",
        str(active_data),
        box_name,
        str(file_no),
        "1",
        box_id,
    ]
    return (("#P;" if pushed else "") + ";".join(fields) + "\r\n").encode(ENCODING)


def status_line(clock_us: int, file_no: int = 1, battery_pct: int = 87, operating: bool = True) -> bytes:
    date, tod = fmt_date_time(clock_us)
    fields = [
        "GETSTATUS",
        date,
        tod,
        "1",
        "1",
        "1" if operating else "0",
        str(file_no),
        "0",
        "0,0",
        "1",
        str(battery_pct),
        "35",
        "30",
    ]
    return (";".join(fields) + "\r\n").encode(ENCODING)


def line(*fields: object) -> bytes:
    return (";".join(str(f) for f in fields) + "\r\n").encode(ENCODING)
