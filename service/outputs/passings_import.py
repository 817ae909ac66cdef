"""Import a MyLaps/Orbits passings export (CSV: transponder, time, loop) as a backup decoder's reads.

For the day a decoder link failed but the decoder's memory or a backup laptop kept the reads:
each line becomes a `passing` submitted through `LiveSession.submit` (the session's one writer),
after the clock offset is applied. A read already known (same transponder and loop within
`tolerance_s`, in the log or earlier in the file) is a duplicate and is dropped, so importing
the same file twice, or a file overlapping the live reads, counts nothing twice.
"""

from __future__ import annotations

import asyncio
import bisect
import csv
import io
import logging
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from service.engine.outcome import UNKNOWN
from service.errors import Invalid
from service.session import LOOPS, LiveSession

log = logging.getLogger(__name__)

TRANSPONDER = ("transponder", "transponder number", "transponder no", "transponder_id", "tx", "chip",
               "transpondeur", "transpondeur n°")  # fmt: skip
TIME = ("time", "passing time", "passingtime", "time of day", "timestamp", "rtc_time", "heure", "temps", "date time")
LOOP = ("loop", "loop id", "loop name", "boucle", "location")
LOOP_ALIASES = {"start/finish": "finish", "start finish": "finish", "finish line": "finish", "arrivee": "finish",
                "arrivée": "finish", "pit in": "pit_in", "pitin": "pit_in", "pit entry": "pit_in",
                "entree stand": "pit_in", "pit out": "pit_out", "pitout": "pit_out", "pit exit": "pit_out",
                "sortie stand": "pit_out"}  # fmt: skip
TOD = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d{1,6}))?$")
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d")
MAX_LINES = 200_000
BATCH = 200  # reads per log transaction, between two turns of the event loop


class ImportProblem(Invalid):
    """A file that cannot be imported; the message names the line (nothing was submitted)."""


@dataclass(frozen=True, slots=True)
class Read:
    line: int
    transponder: str
    t: float  # session seconds, offset applied
    loop: str


def _column(fields: list[str], names: tuple[str, ...]) -> int | None:
    norm = [f.strip().strip('"').lower() for f in fields]
    for n in names:
        if n in norm:
            return norm.index(n)
    return None


def _loop(value: str, default: str | None, mapping: dict[str, str]) -> str | None:
    v = value.strip().lower()
    if not v:
        return default
    if v in mapping:
        return mapping[v]
    v2 = v.replace("-", "_").replace(" ", "_")
    if v2 in LOOPS:
        return v2
    return LOOP_ALIASES.get(v)


def parse_time(value: str, day: datetime) -> datetime | float:
    """A wall-clock time (time of day on `day`, or a full date and time), or session seconds."""
    v = value.strip()
    if ":" not in v:
        return float(v.replace(",", "."))
    date_part, _, tod = v.replace("T", " ").rpartition(" ")
    m = TOD.match(tod)
    if m is None:
        raise ValueError(f"time {value!r} is not HH:MM:SS[.fff]")
    h, mi, s, frac = m.groups()
    base = day
    if date_part:
        for fmt in DATE_FORMATS:
            try:
                base = datetime.strptime(date_part.strip(), fmt)
                break
            except ValueError:
                continue
        else:
            raise ValueError(f"date {date_part!r} is not YYYY-MM-DD or DD/MM/YYYY")
    micro = int((frac or "0").ljust(6, "0"))
    return base.replace(hour=int(h), minute=int(mi), second=int(s), microsecond=micro, tzinfo=None)


def parse(text: str, origin: datetime, rate: float, offset_s: float = 0.0, default_loop: str | None = "finish",
          loops: dict[str, str] | None = None) -> list[Read]:  # fmt: skip
    """Reads of a passings CSV, on the session clock. `origin`: local wall time of session t = 0.

    Times of day are on the session's date (a time more than 12 h before the origin is the next
    day: a 24-hour race). Plain numbers are already session seconds. `offset_s` is added to
    every read (the backup clock's error). Raises ImportProblem naming the bad line.
    """
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    if not lines:
        raise ImportProblem("empty file")
    if len(lines) > MAX_LINES:
        raise ImportProblem(f"more than {MAX_LINES} lines")
    sep = max((",", ";", "\t"), key=lines[0].count)
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=sep))
    except csv.Error as exc:  # a field over csv's size limit (128 KB), a NUL...: the file's fault
        raise ImportProblem("import.csv_unreadable", error=str(exc)) from None
    header = rows[0]
    ct, ctime, cloop = _column(header, TRANSPONDER), _column(header, TIME), _column(header, LOOP)
    if ct is None or ctime is None:
        raise ImportProblem("line 1: a header with at least 'transponder' and 'time' columns is needed "
                            "(and optionally 'loop')")  # fmt: skip
    mapping = {k.strip().lower(): v for k, v in (loops or {}).items()}
    out = []
    day = origin.replace(hour=0, minute=0, second=0, microsecond=0)
    for no, row in enumerate(rows[1:], 2):
        if not row or not any(c.strip() for c in row):
            continue
        try:
            tr = row[ct].strip()
            raw_time = row[ctime]
        except IndexError:
            raise ImportProblem(f"line {no}: {len(row)} fields, the header has {len(header)}") from None
        if not tr:
            raise ImportProblem(f"line {no}: empty transponder")
        loop = _loop(row[cloop] if cloop is not None and cloop < len(row) else "", default_loop, mapping)
        if loop is None:
            raise ImportProblem(f"line {no}: unknown loop {row[cloop]!r}; one of {', '.join(LOOPS)} "
                                f"or map it with loops=NAME:finish")  # fmt: skip
        try:
            when = parse_time(raw_time, day)
        except ValueError as exc:
            raise ImportProblem(f"line {no}: {exc}") from None
        if isinstance(when, datetime):
            if when < origin - timedelta(hours=12):
                when += timedelta(days=1)
            t = (when - origin).total_seconds() * rate
        else:
            t = when
        out.append(Read(no, tr, round(t + offset_s, 6), loop))
    return out


async def import_reads(session: LiveSession, reads: list[Read], tolerance_s: float = 1.0,
                       decoder: str = "import", batch: int = BATCH) -> dict[str, Any]:  # fmt: skip
    """Submit the reads not already known, in time order. Returns what happened, for the caller.

    Reads go in batches of `batch`, each one transaction of the log (one fsync); between two
    batches the event loop runs others, and reads that came in meanwhile join the duplicate check.
    """
    known: dict[tuple[str, str], list[float]] = {}
    indexed = _index(session, known, 0)
    imported = duplicates = unknown = 0
    pending: list[dict[str, Any]] = []

    async def flush() -> None:
        nonlocal indexed, unknown, imported
        outcomes = session.submit_many(pending)
        imported += len(pending)
        unknown += sum(1 for o in outcomes if o.status == UNKNOWN)
        pending.clear()
        await asyncio.sleep(0)
        indexed = _index(session, known, indexed)  # with the reads that came in meanwhile

    for r in sorted(reads, key=lambda r: (r.t, r.line)):
        times = known.setdefault((r.transponder, r.loop), [])
        j = bisect.bisect_left(times, r.t - tolerance_s)
        if j < len(times) and times[j] <= r.t + tolerance_s:
            duplicates += 1
            continue
        bisect.insort(times, r.t)  # a read twice in the file is a duplicate too
        pending.append({"type": "passing", "t": r.t, "transponder": r.transponder, "loop": r.loop, "decoder": decoder})
        if len(pending) >= batch:
            await flush()
    if pending:
        await flush()
    log.info("session %s: imported %d reads (%d duplicates dropped, %d of unknown transponders)",
             session.id, imported, duplicates, unknown)  # fmt: skip
    return {"lines": len(reads), "imported": imported, "duplicates": duplicates, "unknown": unknown}


def _index(session: LiveSession, known: dict[tuple[str, str], list[float]], start: int) -> int:
    """Add the session's passings from event `start` on to `known`; returns where it stopped."""
    events = session.engine.events  # append-only, arrival order
    for ev in events[start:]:
        if ev.type == "passing" and ev.transponder is not None:
            bisect.insort(known.setdefault((ev.transponder, ev.loop or "finish"), []), ev.t / 1e6)
    return len(events)


def decode(data: bytes) -> str:
    """A passings file as text: UTF-8, else Windows-1252 (what Windows exports write)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def parse_loops(spec: str | None) -> dict[str, str]:
    """`1:finish,2:pit_in` maps the file's loop names or ids to Boucle's loops."""
    out = {}
    for part in filter(None, (spec or "").split(",")):
        name, _, loop = part.rpartition(":")
        if not name or loop not in LOOPS:
            raise ImportProblem(f"loops: {part!r} is not NAME:LOOP with LOOP one of {', '.join(LOOPS)}")
        out[name] = loop
    return out


async def import_file(session: LiveSession, data: bytes, offset_s: float = 0.0, loop: str = "finish",
                      loops: str | None = None, tolerance_s: float = 1.0) -> dict[str, Any]:  # fmt: skip
    """Check the options, read the file (a refused file is counted in the session's `rejected`),
    then submit the reads not already known (`import_reads`)."""
    if loop not in LOOPS:
        raise ImportProblem(f"loop must be one of {', '.join(LOOPS)}")
    if not math.isfinite(offset_s) or abs(offset_s) > 86400:
        raise ImportProblem("offset_s must be a number of seconds within one day")
    if not 0 <= tolerance_s <= 60:
        raise ImportProblem("tolerance_s must be between 0 and 60")
    mapping = parse_loops(loops)
    text = decode(data)
    origin = datetime.fromtimestamp(session.origin_us / 1e6)
    try:
        reads = parse(text, origin, session.rate, offset_s, loop, mapping)
    except ImportProblem as exc:
        session.counters["rejected"] += 1
        log.warning("session %s: passings import rejected: %s", session.id, exc)
        raise
    return await import_reads(session, reads, tolerance_s)
