"""Import a backup decoder's passings export (CSV: transponder, time, loop, maybe a date) as its reads.

Orbits, MyLaps, Race Result and Chronelec exports are read by their column names (docs/outputs.md
has an example of each). A read with a date (a Date column, or a date in its time) stays on its
own day: one more than 12 h before the session start or 48 h after it is refused, never moved onto
the session's day (a decoder whose clock had the wrong date is corrected with `offset_s`).

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

from service.engine.events import LOOPS
from service.engine.outcome import UNKNOWN
from service.errors import Invalid
from service.sessions.live import LiveSession

log = logging.getLogger(__name__)

TRANSPONDER = (
    "transponder",
    "transponder number",
    "transponder no",
    "transponder_id",
    "tx",
    "chip",
    "transpondeur",
    "transpondeur n°",
)
TIME = (
    "time",
    "passing time",
    "passingtime",
    "time of day",
    "timestamp",
    "rtc_time",
    "heure",
    "temps",
    "date time",
)
LOOP = ("loop", "loop id", "loopid", "loop name", "boucle", "location", "canal", "channel")
DATE = ("date", "passing date", "jour", "datum")
LOOP_ALIASES = {
    "start/finish": "finish",
    "start finish": "finish",
    "finish line": "finish",
    "arrivee": "finish",
    "arrivée": "finish",
    "pit in": "pit_in",
    "pitin": "pit_in",
    "pit entry": "pit_in",
    "entree stand": "pit_in",
    "pit out": "pit_out",
    "pitout": "pit_out",
    "pit exit": "pit_out",
    "sortie stand": "pit_out",
    "sta": "finish",
    "box": "pit_in",
}  # Chronelec channels
TOD = re.compile(r"^(\d{1,2}):(\d{2})[:'](\d{2})(?:[.,\"](\d{1,6}))?$")  # and Chronelec's 14:02'31"457
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d", "%d.%m.%Y")
BEFORE_H, AFTER_H = 12, 48  # a read this far from the session start is of another day
MAX_OFFSET_S = 100 * 366 * 86_400  # a decoder clock years off (reset to 2000-01-01) can still be corrected
MAX_LINES = 200_000
BATCH = 200  # reads per log transaction, between two turns of the event loop


class ImportProblem(Invalid):
    """A file that cannot be imported; the code and params name the line (nothing was submitted)."""


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
        try:
            return float(v.replace(",", "."))
        except ValueError:
            raise Invalid("import.time", value=value) from None
    date_part, _, tod = v.replace("T", " ").rpartition(" ")
    m = TOD.match(tod)
    if m is None:
        raise Invalid("import.time", value=value)
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
            raise Invalid("import.date", value=date_part)
    micro = int((frac or "0").ljust(6, "0"))
    try:
        return base.replace(hour=int(h), minute=int(mi), second=int(s), microsecond=micro, tzinfo=None)
    except ValueError:  # 25:61:00
        raise Invalid("import.time", value=value) from None


def parse(
    text: str,
    origin: datetime,
    rate: float,
    offset_s: float = 0.0,
    default_loop: str | None = "finish",
    loops: dict[str, str] | None = None,
) -> list[Read]:
    """Reads of a passings CSV, on the session clock. `origin`: local wall time of session t = 0.

    Times of day are on the session's date (a time more than 12 h before the origin is the next
    day: a 24-hour race); a date (Date column, or in the time) is kept. Plain numbers are already
    session seconds. `offset_s` is added to every read (the backup clock's error, days if its date
    was wrong). A read then more than 12 h before the origin or 48 h after it is of another day:
    refused. A transponder of digits only is a number (`000255` is `255`, as Protime decoders
    send it). Raises ImportProblem naming the bad line.
    """
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    if not lines:
        raise ImportProblem("import.empty")
    if len(lines) > MAX_LINES:
        raise ImportProblem("import.too_many_lines", limit=MAX_LINES)
    sep = max((",", ";", "\t"), key=lines[0].count)
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=sep))
    except csv.Error as exc:  # a field over csv's size limit (128 KB), a NUL...: the file's fault
        raise ImportProblem("import.csv_unreadable", error=str(exc)) from None
    header = rows[0]
    ct, ctime, cloop = _column(header, TRANSPONDER), _column(header, TIME), _column(header, LOOP)
    cdate = _column(header, DATE)
    if ct is None or ctime is None:
        raise ImportProblem("import.header")
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
            raise ImportProblem("import.fields", line=no, n=len(row), header=len(header)) from None
        if not tr:
            raise ImportProblem("import.no_transponder", line=no)
        if tr.isdigit():
            tr = str(int(tr))
        if cdate is not None and cdate < len(row) and row[cdate].strip() and ":" in raw_time:
            raw_time = f"{row[cdate].strip()} {raw_time.strip()}"
        loop = _loop(row[cloop] if cloop is not None and cloop < len(row) else "", default_loop, mapping)
        if loop is None:
            raise ImportProblem("import.unknown_loop", line=no, loop=row[cloop], known=", ".join(LOOPS))
        try:
            when = parse_time(raw_time, day)
        except Invalid as exc:
            raise ImportProblem("import.line", line=no, why=exc) from None
        if isinstance(when, datetime):
            dated = " " in raw_time.strip().replace("T", " ")
            if not dated and when < origin - timedelta(hours=12):
                when += timedelta(days=1)
            t = (when - origin).total_seconds() * rate + offset_s
        else:
            t = when + offset_s
        hours = t / rate / 3600
        if not -BEFORE_H <= hours <= AFTER_H:
            read = origin + timedelta(seconds=t / rate)
            raise ImportProblem(
                "import.other_day",
                line=no,
                read=read.strftime("%Y-%m-%d %H:%M:%S"),
                start=origin.strftime("%Y-%m-%d %H:%M:%S"),
                hours=round(hours, 1),
            )
        out.append(Read(no, tr, round(t, 6), loop))
    return out


async def import_reads(
    session: LiveSession,
    reads: list[Read],
    tolerance_s: float = 1.0,
    decoder: str = "import",
    batch: int = BATCH,
) -> dict[str, Any]:
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
        pending.append(
            {"type": "passing", "t": r.t, "transponder": r.transponder, "loop": r.loop, "decoder": decoder}
        )
        if len(pending) >= batch:
            await flush()
    if pending:
        await flush()
    log.info(
        "session %s: imported %d reads (%d duplicates dropped, %d of unknown transponders)",
        session.id,
        imported,
        duplicates,
        unknown,
    )
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
            raise ImportProblem("import.loops", part=part, known=", ".join(LOOPS))
        out[name] = loop
    return out


async def import_file(
    session: LiveSession,
    data: bytes,
    offset_s: float = 0.0,
    loop: str = "finish",
    loops: str | None = None,
    tolerance_s: float = 1.0,
) -> dict[str, Any]:
    """Check the options, read the file (a refused file is counted in the session's `rejected`),
    then submit the reads not already known (`import_reads`)."""
    if loop not in LOOPS:
        raise ImportProblem("decoder.loop", loop=loop, known=", ".join(LOOPS))
    if not math.isfinite(offset_s) or abs(offset_s) > MAX_OFFSET_S:
        raise ImportProblem("import.offset_range", max_days=MAX_OFFSET_S // 86_400)
    if not 0 <= tolerance_s <= 60:
        raise ImportProblem("import.tolerance")
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
