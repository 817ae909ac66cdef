"""RMonitor records (AMB RMonitor Timing Protocol) from a session's state: pure formatting and diffing.

A `Board` is what a scoreboard should show, taken from the engine and the classification rows;
`refresh()` is the full picture sent on connect, `changes(old, new)` the records that bring a
scoreboard from one board to the next ($J when a car completed a lap, $G/$H for rows that
changed). No I/O and no clock here: the server (rmonitor_server.py) passes the time of day in.
Field mapping of every record: docs/outputs.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from service.engine import Engine
from service.timeutil import s_to_us

NO_TIME = "00:00:00.000"  # a car without a crossing (total) or without a timed lap (best)
NOT_A_LAP_RACE = 9999  # $F laps to go of a timed session
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# Boucle flag states -> the $F flag field (6 characters, space padded); safety car shows as Yellow
FLAGS = {
    "none": "",
    "green": "Green",
    "yellow": "Yellow",
    "sc": "Yellow",
    "red": "Red",
    "chequered": "Finish",
}
NAME = 20  # $COMP / $A first name, last name, nationality, additional data: at most 20 characters each
ENCODINGS = ("utf-8", "cp1252")  # UTF-8 by default; Windows-1252 for old scoreboards (docs/outputs.md)


@lru_cache(maxsize=16384)
def fmt_time(us: int | None, millis: bool = True) -> str:
    """`HH:MM:SS.sss` (or `HH:MM:SS`) from microseconds, rounded to the millisecond; None -> 0."""
    if us is None or us < 0:
        us = 0
    ms = (us + 500) // 1000
    if not millis:
        ms -= ms % 1000
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}" if millis else f"{h:02d}:{m:02d}:{s:02d}"


def _s_to_us(seconds: float | None) -> int | None:
    return None if seconds is None else s_to_us(seconds)


@lru_cache(maxsize=16384)  # the same few hundred fields, formatted again on every change
def text(value: Any, limit: int) -> str:
    """A quoted string field: no quotes, commas or line breaks inside, at most `limit` characters."""
    s = str(value or "").replace('"', "'").replace(",", " ")
    return " ".join(s.split())[:limit].rstrip()


@lru_cache(maxsize=16384)
def record(command: str, *fields: Any) -> str:
    """One record without its CR LF: strings quoted, integers bare."""
    out = [f"${command}"]
    for f in fields:
        out.append(str(f) if isinstance(f, int) else f'"{f}"')
    return ",".join(out)


def encode(records: list[str], encoding: str = "utf-8") -> bytes:
    """Records as sent on the wire, CR LF each: UTF-8, or cp1252 for old scoreboards (a character
    cp1252 lacks becomes '?')."""
    return "".join(r + "\r\n" for r in records).encode(encoding, errors="replace")


@lru_cache(maxsize=16384)
def split_name(name: str) -> tuple[str, str]:
    """`Jean Dupont` -> (`Jean`, `Dupont`); a single word is a last name."""
    parts = name.split(None, 1)
    if len(parts) < 2:
        return "", name.strip()
    return parts[0], parts[1]


@dataclass
class Board:
    """Everything a scoreboard shows, as ready-made records keyed by what they describe."""

    init_date: str = ""
    run: str = ""
    classes: dict[str, str] = field(default_factory=dict)  # class name -> $C
    competitors: dict[str, tuple[str, str]] = field(default_factory=dict)  # reg -> ($COMP, $A)
    settings: list[str] = field(default_factory=list)  # $E
    race: dict[str, str] = field(default_factory=dict)  # reg -> $G, in position order
    best: dict[str, str] = field(default_factory=dict)  # reg -> $H, in best-lap order
    laps: dict[str, int] = field(default_factory=dict)  # reg -> laps crossed (raw), for $J
    passing: dict[str, str] = field(default_factory=dict)  # reg -> $J of its latest lap


@lru_cache(maxsize=16384)
def reg_of(number: str) -> str:
    """Registration number: the car number (at most 8 characters)."""
    return text(number, 8)


def build_board(engine: Engine, rows: list[dict[str, Any]], name: str, run_no: int) -> Board:
    """The board of a session: `rows` are its public classification rows (what /results shows)."""
    p = engine.params
    b = Board(run=record("B", max(1, min(run_no, 99)), text(name, 40)))
    present = [c.category for c in engine.cars.values()]
    ordered = [str(c) for c in p.get("category_order") or [] if str(c) in present] + present
    class_no: dict[str, int] = {}
    for cat in ordered:
        if cat not in class_no:
            class_no[cat] = len(class_no) + 1
            b.classes[cat] = record("C", min(class_no[cat], 99), text(cat, 40))
    last_lap: dict[str, int] = {}
    for car in engine.cars.values():
        reg = reg_of(car.number)
        if car.drivers:  # team endurance: the current driver and the team
            first, last = text(car.driver_name(car.driver), NAME), text(car.name, NAME)
        else:
            first, last = (text(x, NAME) for x in split_name(car.name))
        cls = min(class_no.get(car.category, 1), 99)
        tr = int(car.transponder) if car.transponder.isdigit() else 0
        b.competitors[reg] = (
            record("COMP", reg, text(car.number, 5), cls, first, last, "", text(car.category, NAME)),
            record("A", reg, text(car.number, 5), tr, first, last, "", cls),
        )
        b.laps[reg] = car.laps
        if car.laps:
            last_lap[reg] = car.lap_times[car.laps - 1]
    track = p.get("track_name") or p.get("track") or ""
    b.settings = [record("E", "TRACKNAME", text(track, 40))]
    if p.get("track_length_m"):
        b.settings.append(record("E", "TRACKLENGTH", text(f"{float(p['track_length_m']) / 1000:.3f}", 8)))
    for r in rows:
        reg = reg_of(r["number"])
        total = fmt_time(_s_to_us(r["total_time_s"]))
        b.race[reg] = record("G", r["position"], reg, r["laps"], total)
        if reg in last_lap:
            b.passing[reg] = record("J", reg, fmt_time(last_lap[reg]), total)
    timed = [r for r in rows if r["best_lap_s"] is not None]
    ranked = sorted(timed, key=lambda r: (r["best_lap_s"], r["position"])) + [
        r for r in rows if r["best_lap_s"] is None
    ]
    for pos, r in enumerate(ranked, 1):
        reg = reg_of(r["number"])
        b.best[reg] = record("H", pos, reg, r["best_lap_no"] or 0, fmt_time(_s_to_us(r["best_lap_s"])))
    return b


def init_record(now: datetime) -> str:
    """$I: time of day and date; a scoreboard clears everything it shows when it gets one."""
    date = f"{now.day:02d} {MONTHS[now.month - 1]} {now.year % 100:02d}"
    return record(
        "I", fmt_time((now.hour * 3600 + now.minute * 60 + now.second) * 1_000_000 + now.microsecond), date
    )


def refresh(board: Board, now: datetime) -> list[str]:
    """The full picture, in the order a scoreboard needs it: $I $B $C $COMP $A $E $G $H."""
    out = [init_record(now), board.run, *board.classes.values()]
    for comp, a in board.competitors.values():
        out += [comp, a]
    return out + board.settings + list(board.race.values()) + list(board.best.values())


def changes(old: Board, new: Board) -> list[str]:
    """Records that bring a scoreboard showing `old` to `new` ($J for every car that completed a lap).

    Both boards are of the same run; for another session the caller sends `refresh()` instead.
    """
    out = [c for k, c in new.classes.items() if old.classes.get(k) != c]
    for reg, pair in new.competitors.items():
        if old.competitors.get(reg) != pair:
            out += list(pair)
    if new.settings != old.settings:
        out += new.settings
    out += [
        new.passing[reg] for reg, n in new.laps.items() if n > old.laps.get(reg, 0) and reg in new.passing
    ]
    out += [g for reg, g in new.race.items() if old.race.get(reg) != g]
    out += [h for reg, h in new.best.items() if old.best.get(reg) != h]
    return out


def heartbeat(header: dict[str, Any], now: datetime) -> str:
    """$F from the session header (service/sessions/views.py `header()`): laps/time to go, clocks, flag."""
    c = header["clock"]
    if c.get("laps_target"):
        laps_to_go = max(0, int(c["laps_target"]) - int(c.get("leader_laps") or 0))
    else:
        laps_to_go = NOT_A_LAP_RACE
    remaining = c.get("remaining_s")
    if remaining is None and c.get("duration_s") is not None and c.get("green_s") is None:
        remaining = c["duration_s"]
    race = 0.0 if c.get("green_s") is None else max(0.0, c["now_s"] - c["green_s"])
    tod = (now.hour * 3600 + now.minute * 60 + now.second) * 1_000_000
    flag = FLAGS.get(header.get("flag") or "none", "Yellow")
    return record(
        "F",
        min(laps_to_go, 99999),
        fmt_time(_s_to_us(remaining), False),
        fmt_time(tod, False),
        fmt_time(_s_to_us(race), False),
        f"{flag:<6}",
    )
