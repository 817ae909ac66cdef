"""A strict RMonitor scoreboard client for tests, written from the AMB RMonitor Timing Protocol text.

Every record starts with `$`, ends with CR LF, fields are separated by commas; text fields are
quoted, numbers are bare. Each record type has a fixed layout (below); anything else (a missing
field, an unquoted text, a time not `HH:MM:SS.DDD`, a competitor never announced, a class never
described) raises `ProtocolError`. The client keeps the board a scoreboard would show.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

TIME_MS = re.compile(r"^\d{2}:[0-5]\d:[0-5]\d\.\d{3}$")  # HH:MM:SS.DDD
TIME_S = re.compile(r"^\d{2}:[0-5]\d:[0-5]\d$")  # HH:MM:SS
DATE = re.compile(r"^\d{2} (jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec) \d{2}$")
FLAGS = {"      ", "Green ", "Yellow", "Red   ", "Finish"}

# field kinds: "int", ("str", max length), "time" (HH:MM:SS.DDD quoted), "hms" (HH:MM:SS quoted),
# "flag", "date"
LAYOUTS: dict[str, list] = {
    "I": ["time", "date"],  # init: time of day, date
    "B": ["int", ("str", 40)],  # run: unique number, description
    "C": ["int", ("str", 40)],  # class: unique number, description
    "COMP": [("str", 8), ("str", 5), "int", ("str", 20), ("str", 20), ("str", 20), ("str", 20)],
    "A": [("str", 8), ("str", 5), "int", ("str", 20), ("str", 20), ("str", 20), "int"],
    "E": [("str", 20), ("str", 40)],  # setting: description, value
    "G": ["int", ("str", 8), "int", "time"],  # race: position, reg, laps, total time
    "H": ["int", ("str", 8), "int", "time"],  # practice/qualifying: position, reg, best lap, best lap time
    "J": [("str", 8), "time", "time"],  # passing: reg, lap time, total time
    "F": [
        "int",
        "hms",
        "hms",
        "hms",
        "flag",
    ],  # heartbeat: laps to go, time to go, time of day, race time, flag
}


class ProtocolError(AssertionError):
    pass


def split_fields(body: str) -> list[tuple[str, bool]]:
    """(value, was_quoted) for each comma-separated field; quotes only around a whole field."""
    out, i = [], 0
    while True:
        if i < len(body) and body[i] == '"':
            j = body.find('"', i + 1)
            if j < 0:
                raise ProtocolError(f"unterminated quote in {body!r}")
            out.append((body[i + 1 : j], True))
            i = j + 1
            if i < len(body) and body[i] != ",":
                raise ProtocolError(f"text after a closing quote in {body!r}")
        else:
            j = body.find(",", i)
            j = len(body) if j < 0 else j
            value = body[i:j]
            if '"' in value:
                raise ProtocolError(f"stray quote in {body!r}")
            out.append((value, False))
            i = j
        if i >= len(body):
            return out
        i += 1  # the comma


def parse_record(raw: bytes, encoding: str = "utf-8") -> tuple[str, list]:
    """One line with its CR LF -> (command, typed fields); text as a UTF-8 client reads it (strict:
    bytes that are not UTF-8 fail), or in the encoding given."""
    if not raw.endswith(b"\r\n") or raw.count(b"\n") != 1 or b"\r" in raw[:-2]:
        raise ProtocolError(f"record not ended by CR LF: {raw!r}")
    try:
        line = raw[:-2].decode(encoding)
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"not {encoding}: {raw!r} ({exc})") from None
    if not line.startswith("$") or "," not in line:
        raise ProtocolError(f"record does not start with $command, : {line!r}")
    command, body = line[1:].split(",", 1)
    layout = LAYOUTS.get(command)
    if layout is None:
        raise ProtocolError(f"unknown record ${command}")
    fields = split_fields(body)
    if len(fields) != len(layout):
        raise ProtocolError(f"${command} has {len(fields)} fields, expected {len(layout)}: {line!r}")
    typed = []
    for (value, quoted), kind in zip(fields, layout, strict=True):
        if kind == "int":
            if quoted or not value.isdigit():
                raise ProtocolError(f"${command}: {value!r} is not a bare number in {line!r}")
            typed.append(int(value))
            continue
        if not quoted:
            raise ProtocolError(f"${command}: text field {value!r} not quoted in {line!r}")
        if isinstance(kind, tuple) and len(value) > kind[1]:
            raise ProtocolError(f"${command}: {value!r} longer than {kind[1]}")
        pattern = {"time": TIME_MS, "hms": TIME_S, "date": DATE}.get(kind) if isinstance(kind, str) else None
        if pattern is not None and not pattern.match(value):
            raise ProtocolError(f"${command}: {value!r} is not a {kind} in {line!r}")
        if kind == "flag" and value not in FLAGS:
            raise ProtocolError(f"$F: unknown flag {value!r}")
        typed.append(value)
    return command, typed


@dataclass
class Scoreboard:
    """What a scoreboard shows, from the records it got."""

    run: tuple | None = None
    classes: dict[int, str] = field(default_factory=dict)
    competitors: dict[str, dict] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)
    race: dict[str, tuple[int, int, str]] = field(default_factory=dict)  # reg -> (position, laps, total)
    best: dict[str, tuple[int, int, str]] = field(default_factory=dict)  # reg -> (position, lap, time)
    passings: list[tuple[str, str, str]] = field(default_factory=list)
    heartbeat: list | None = None
    inits: int = 0
    seen: set[str] = field(default_factory=set)

    def apply(self, command: str, f: list) -> None:
        self.seen.add(command)
        if command == "I":
            self.__init__(inits=self.inits + 1, seen=self.seen)  # a scoreboard clears everything
        elif command == "B":
            self.run = (f[0], f[1])
        elif command == "C":
            self.classes[f[0]] = f[1]
        elif command in ("COMP", "A"):
            cls = f[2] if command == "COMP" else f[6]
            if cls not in self.classes:
                raise ProtocolError(f"${command} {f[0]} in class {cls} never described by $C")
            c = self.competitors.setdefault(f[0], {})
            c.update(number=f[1], first=f[3], last=f[4], cls=cls)
            if command == "A":
                c["transponder"] = f[2]
            else:
                c["additional"] = f[6]
        elif command == "E":
            self.settings[f[0]] = f[1]
        elif command in ("G", "H", "J"):
            reg = f[1] if command != "J" else f[0]
            if reg not in self.competitors:
                raise ProtocolError(f"${command} for {reg!r}, never announced by $A/$COMP")
            if command == "G":
                self.race[reg] = (f[0], f[2], f[3])
            elif command == "H":
                self.best[reg] = (f[0], f[2], f[3])
            else:
                self.passings.append((reg, f[1], f[2]))
        elif command == "F":
            self.heartbeat = f

    def standings(self) -> list[str]:
        """Registration numbers in race order; positions must be exactly 1..N."""
        order = sorted(self.race, key=lambda r: self.race[r][0])
        positions = [self.race[r][0] for r in order]
        if positions != list(range(1, len(order) + 1)):
            raise ProtocolError(f"$G positions are not 1..N: {positions}")
        return order


class Client:
    """A TCP scoreboard: reads records one line at a time, strictly, into a Scoreboard."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, encoding: str = "utf-8"
    ) -> None:
        self.reader, self.writer, self.encoding = reader, writer, encoding
        self.board = Scoreboard()
        self.log: list[tuple[str, list]] = []

    @classmethod
    async def connect(cls, host: str, port: int, encoding: str = "utf-8") -> Client:
        r, w = await asyncio.open_connection(host, port)
        return cls(r, w, encoding)

    async def next(self, timeout: float = 30.0) -> tuple[str, list]:
        raw = await asyncio.wait_for(self.reader.readuntil(b"\n"), timeout)
        command, fields = parse_record(raw, self.encoding)
        self.board.apply(command, fields)
        self.log.append((command, fields))
        return command, fields

    async def until(self, pred, timeout: float = 30.0, limit: int = 100_000) -> tuple[str, list]:
        """Read records until `pred(command, fields)` holds (bounded by count and time)."""
        for _ in range(limit):
            command, fields = await self.next(timeout)
            if pred(command, fields):
                return command, fields
        raise AssertionError("record never came")

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass
