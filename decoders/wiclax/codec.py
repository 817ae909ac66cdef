"""Wiclax generic acquisition protocol (ASCII over TCP): pure codec (shared/spec/decoders-more.md).

Messages end with CR (LF and CR LF are read too). From the device:

- a passing `chip;dd-mm-yyyy hh:mm:ss.ccc;loop;lap;battery;rewind`, e.g.
  `01539;22-09-2011 02:41:30.620;0A;559;;0`: chip and time required; loop (antenna or device
  id), the device's own lap counter and the battery (percent) may be empty; rewind is 0 for a
  live read, 1 for one sent again on `REWIND`;
- `*` (heartbeat), `CLOCK dd-MM-yyyy HH:mm:ss` (its clock), `CLOCKOK`, `READOK`.

To the device: `CLOCK`, `CLOCK <time>`, `STARTREAD`, `STOPREAD`, `REWIND <from> <to>` (both
`dd-MM-yyyy HH:mm:ss`). `WiclaxDecoder.feed` returns records in stream order; refused lines are
counted by reason in `rejected`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from decoders.daytime import civil_us, parts
from decoders.lines import LineSplitter
from decoders.passing import Passing

ENCODING = "iso-8859-1"
MAX_LINE = 512
REJECT_REASONS = ("fields", "time", "framing", "unknown")
CLOCK = b"CLOCK\r"
_DT = re.compile(r"(\d{2})-(\d{2})-(\d{4}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?")


@dataclass(frozen=True, slots=True)
class WiclaxPassing:
    chip: str
    rtc_us: int
    loop: str  # antenna or device id ("" when not set)
    lap: int | None
    battery: int | None  # percent
    rewind: bool


@dataclass(frozen=True, slots=True)
class WiclaxClock:
    rtc_us: int


@dataclass(frozen=True, slots=True)
class WiclaxDamaged:
    """A line that could not be read where it came (counted in `rejected`): it may have been a read."""

    reason: str


@dataclass(frozen=True, slots=True)
class WiclaxReply:
    word: str  # "*" (heartbeat), CLOCKOK, READOK


Record = WiclaxPassing | WiclaxClock | WiclaxReply | WiclaxDamaged


def parse_datetime(text: str) -> int:
    m = _DT.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"{text!r} is not dd-mm-yyyy hh:mm:ss[.ccc]")
    d, mo, y, h, mi, s, frac = m.groups()
    return civil_us(int(y), int(mo), int(d), int(h), int(mi), int(s), int((frac or "0").ljust(6, "0")))


def _opt_int(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit():
        raise ValueError(value)
    return int(value)


class WiclaxDecoder:
    """Splits a Wiclax byte stream into records, whatever the read sizes (lines end with CR or LF)."""

    def __init__(self) -> None:
        self.lines = LineSplitter(b"\r", MAX_LINE)
        self.rejected: dict[str, int] = dict.fromkeys(REJECT_REASONS, 0)

    def reset(self) -> None:
        """A new link: nothing of the old one's partial line carries over (counts do)."""
        self.lines.reset()

    def feed(self, chunk: bytes) -> list[Record]:
        out: list[Record] = []
        for raw in self.lines.feed(chunk.replace(b"\n", b"\r")):
            if raw is None:
                rec: Record | None = WiclaxDamaged("framing")
            elif line := raw.decode(ENCODING).strip("\x00 \t"):
                rec = self._parse(line)
            else:
                continue
            if isinstance(rec, WiclaxDamaged):
                self.rejected[rec.reason] += 1
            out.append(rec)
        return out

    @staticmethod
    def _parse(line: str) -> Record:
        if line in ("*", "CLOCKOK", "READOK"):
            return WiclaxReply(line)
        if line.startswith("CLOCK "):
            try:
                return WiclaxClock(parse_datetime(line[6:]))
            except ValueError:
                return WiclaxDamaged("time")
        fields = line.split(";")
        if len(fields) != 6:
            return WiclaxDamaged("fields" if len(fields) > 1 else "unknown")
        chip = fields[0].strip()
        try:
            rtc = parse_datetime(fields[1])
        except ValueError:
            return WiclaxDamaged("time")
        try:
            lap, battery = _opt_int(fields[3]), _opt_int(fields[4])
            if fields[5].strip() not in ("0", "1", "") or not chip:
                raise ValueError(fields[5])
        except ValueError:
            return WiclaxDamaged("fields")
        return WiclaxPassing(chip, rtc, fields[2].strip(), lap, battery, fields[5].strip() == "1")


def to_passing(rec: WiclaxPassing, *, decoder_id: str, loop: str | None = None, source: str = "") -> Passing:
    return Passing(
        decoder_id=decoder_id,
        transponder=rec.chip,
        rtc_time_us=rec.rtc_us,
        loop=loop,
        source=source,
        live=not rec.rewind,
    )


# -- what a device sends, what is sent to it (simulator, tests, bench) ------------------------------
def fmt_datetime(us: int, millis: bool = True) -> str:
    y, mo, d, h, mi, s, micro = parts(us)
    out = f"{d:02d}-{mo:02d}-{y:04d} {h:02d}:{mi:02d}:{s:02d}"
    return f"{out}.{micro // 1000:03d}" if millis else out


def passing_line(
    chip: str,
    rtc_us: int,
    loop: str = "",
    lap: int | None = None,
    battery: int | None = None,
    rewind: bool = False,
) -> bytes:
    lap_s = "" if lap is None else str(lap)
    bat = "" if battery is None else str(battery)
    return f"{chip};{fmt_datetime(rtc_us)};{loop};{lap_s};{bat};{int(rewind)}\r".encode(ENCODING)


def clock_line(rtc_us: int) -> bytes:
    return f"CLOCK {fmt_datetime(rtc_us, millis=False)}\r".encode(ENCODING)


def rewind_command(from_us: int, to_us: int) -> bytes:
    return f"REWIND {fmt_datetime(from_us, millis=False)} {fmt_datetime(to_us, millis=False)}\r".encode(
        ENCODING
    )


def parse_rewind(text: str) -> tuple[int, int] | None:
    """`REWIND <from> <to>` as sent to a device: the period in µs (`to` up to the end of its second)."""
    m = re.fullmatch(r"REWIND (\S+ \S+) (\S+ \S+)", text.strip())
    if m is None:
        return None
    try:
        return parse_datetime(m[1]), parse_datetime(m[2]) + 999_999
    except ValueError:
        return None
