"""Append-only per-session event log in SQLite (WAL): written before the engine sees an event.

One file per session (`<data>/<session id>.sqlite`). Restarting the service replays the log into a
fresh engine; the log's lines are scenario lines, so `boucle record` exports a session as a
scenario file that `boucle replay` reads.

Beside each log, `<id>.sqlite-seq` holds the number (`seq`) of the last line committed. A log that
lost lines (its `-wal` file deleted, a bad page, a truncated copy) is found out when it is opened
(`open_log`): what can be read is loaded, what is missing is reported on the session, never
silently (docs/storage.md says which settings bound the loss).
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    line TEXT NOT NULL,
    received_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS aside (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    read TEXT NOT NULL,
    line TEXT NOT NULL,
    link TEXT NOT NULL,
    read_key TEXT UNIQUE,
    received_at REAL NOT NULL,
    admitted_at REAL
);
"""
# `aside`: decoder reads kept out of the log (service/sessions/intake.py): refused by the boundary, arrived
# after the session was finished, or timed far from their decoder's clock. `read` is the read as
# the decoder sent it, `line` the passing line it made, `link` the decoder URL; `read_key`
# (decoder|epoch|number) keeps a resent read once. Admitting one logs its line as a passing.
ASIDE_COLUMNS = ("id", "kind", "reason", "detail", "read", "line", "link", "received_at", "admitted_at")


# SQLite checkpoints the WAL into the database file every this many pages (its default is 1000): a
# deleted or unreadable `-wal` file loses at most the lines since the last checkpoint (docs/storage.md).
WAL_AUTOCHECKPOINT = 100
SEQ_SUFFIX = "-seq"  # beside the log: the last line committed


class EventStore:
    """The durable log of one session. `synchronous=FULL`: a committed event survives a crash."""

    def __init__(self, path: str | Path, synchronous: str = "FULL", create: bool = True) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not self.path.exists()
        if fresh:  # the log holds the session's tokens: readable by the service user only
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._seq_fd: int | None = None
        self._in_tx = False
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute(f"PRAGMA synchronous={synchronous}")
            self.db.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")
            if create or fresh:  # an existing log to check first (open_log) is not written to yet
                self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError:
            self.db.close()
            raise
        for suffix in ("", "-wal", "-shm"):
            side = Path(f"{self.path}{suffix}")
            if side.exists() and side.stat().st_mode & 0o077:
                side.chmod(0o600)
        self._last = self._marked = -1  # last seq appended, last seq written beside the log

    @property
    def seq_path(self) -> Path:
        return Path(f"{self.path}{SEQ_SUFFIX}")

    def committed_seq(self) -> int | None:
        """The last line committed, as written beside the log (None: never written, or unreadable)."""
        return _committed(self.path)

    def _mark(self) -> None:
        """Write the last committed seq beside the log: a few bytes, no fsync (a crash can only leave
        it behind the log, never ahead of it, so it never reports lines as lost that were not)."""
        if self._last <= self._marked:
            return
        if self._seq_fd is None:
            self._seq_fd = os.open(self.seq_path, os.O_RDWR | os.O_CREAT, 0o600)
        os.pwrite(self._seq_fd, f"{self._last:>20}\n".encode(), 0)
        self._marked = self._last

    def mark_committed(self, seq: int) -> None:
        """After a check of the log (open_log): `seq` is its last line, and the next one is numbered
        after it even if the lines up to it were lost (a lost number is never given again)."""
        row = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
        if (row[0] if row else 0) != seq:
            with self.transaction():
                self.db.execute("DELETE FROM sqlite_sequence WHERE name = 'events'")
                self.db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)", (seq,))
        self._last, self._marked = seq, -1
        self._mark()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Lines appended inside are committed together (one fsync), or not at all if it raises."""
        self.db.execute("BEGIN IMMEDIATE")
        self._in_tx = True
        try:
            yield
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:  # a COMMIT that failed (disk full) may leave it open
                self.db.execute("ROLLBACK")
            self._last = self._marked
            raise
        finally:
            self._in_tx = False
        self._mark()

    def append(self, text: str) -> int:
        """Append one line's canonical JSON text (already validated: see `events.encode_line`)."""
        cur = self.db.execute("INSERT INTO events (line, received_at) VALUES (?, ?)", (text, time.time()))
        self._last = int(cur.lastrowid or 0)
        if not self._in_tx:
            self._mark()
        return self._last

    def insert_at(self, seq: int, text: str) -> None:
        """A line another machine logged at `seq` (a standby's copy): same numbering on both."""
        self.db.execute(
            "INSERT INTO events (seq, line, received_at) VALUES (?, ?, ?)", (seq, text, time.time())
        )

    def texts(self) -> Iterator[tuple[int, str]]:
        """(seq, text) of every logged line, in arrival order."""
        yield from self.db.execute("SELECT seq, line FROM events ORDER BY seq")

    def lines(self) -> Iterator[dict[str, Any]]:
        for _, text in self.texts():
            yield json.loads(text)

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    # -- reads kept aside -------------------------------------------------------------------------
    def keep_aside(
        self,
        kind: str,
        reason: str,
        detail: str,
        read: dict[str, Any],
        line: dict[str, Any],
        link: str,
        read_key: str | None,
    ) -> int | None:
        """Keep a decoder read out of the log; None when that numbered read is already kept."""
        cur = self.db.execute(
            "INSERT OR IGNORE INTO aside (kind, reason, detail, read, line, link, read_key, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (kind, reason, detail[:500], json.dumps(read), json.dumps(line), link, read_key, time.time()),
        )
        return int(cur.lastrowid) if cur.rowcount else None

    def aside_has(self, read_key: str | None) -> bool:
        return (
            read_key is not None
            and self.db.execute("SELECT 1 FROM aside WHERE read_key = ?", (read_key,)).fetchone() is not None
        )

    def aside(self, where: str = "1", args: tuple = (), limit: int = 10_000) -> list[dict[str, Any]]:
        """Kept-aside reads, newest first (`where`: an SQL condition on the columns, with `args`)."""
        rows = self.db.execute(
            f"SELECT {', '.join(ASIDE_COLUMNS)} FROM aside WHERE {where} ORDER BY id DESC LIMIT ?",
            (*args, limit),
        )
        out = []
        for row in rows:
            d = dict(zip(ASIDE_COLUMNS, row, strict=True))
            d["read"], d["line"] = json.loads(d["read"]), json.loads(d["line"])
            out.append(d)
        return out

    def aside_counts(self) -> dict[tuple[str, str, bool], int]:
        """(link, kind, admitted) -> number of kept-aside reads."""
        rows = self.db.execute(
            "SELECT link, kind, admitted_at IS NOT NULL, COUNT(*) FROM aside GROUP BY 1, 2, 3"
        )
        return {(link, kind, bool(done)): n for link, kind, done, n in rows}

    def admitted(self, aside_id: int, line: dict[str, Any]) -> None:
        """This kept-aside read is in the log now, as `line`."""
        self.db.execute(
            "UPDATE aside SET admitted_at = ?, line = ? WHERE id = ?",
            (time.time(), json.dumps(line), aside_id),
        )

    def get_meta(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self.db.execute("SELECT key, value FROM meta")}

    def set_meta(self, key: str, value: Any) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def close(self) -> None:
        self.db.close()
        if self._seq_fd is not None:
            os.close(self._seq_fd)
            self._seq_fd = None


# -- opening a log that may be damaged ----------------------------------------------------------------
class LogError(Exception):
    """A file that holds no session log that can be loaded: listed with this reason, never loaded."""


CHUNK = 256  # lines read at once when salvaging a damaged log
META_KEYS = ("id", "name", "created", "origin_us", "clock_rate", "tokens", "decoders", "damage")


def open_log(path: str | Path, synchronous: str = "FULL") -> EventStore:
    """Open an existing session log to load it, checking that no line is missing.

    Lines missing (a hole in the numbers, or fewer than were committed: the `-wal` file deleted)
    are reported in the log's meta `damage` (a list of reports: which lines, found when, why). A log
    SQLite cannot read whole (a bad page, a truncated copy) is rewritten from every line that can be
    read, the damaged file kept beside it (`<id>.sqlite.damaged-<time>`), and reported the same way.
    Raises LogError for a file that holds nothing to load (0 bytes, not a database, no session)."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise LogError("empty file (0 bytes): no session log in it")
    try:
        store = EventStore(path, synchronous, create=False)
    except sqlite3.DatabaseError as exc:
        if not _corrupt(exc):  # not a database, locked, an I/O error: listed with it, left as it is
            raise LogError(f"cannot open the log ({exc})") from exc
        return _rebuild(path, _committed(path), str(exc), synchronous)
    try:
        committed = store.committed_seq()
        try:
            n, lo, hi = store.db.execute("SELECT count(*), min(seq), max(seq) FROM events").fetchone()
            meta = store.get_meta()
            if n and (lo != 1 or hi - lo + 1 != n):
                seqs: Any = [s for (s,) in store.db.execute("SELECT seq FROM events ORDER BY seq")]
            else:
                seqs = range(1, (hi or 0) + 1)
        except sqlite3.DatabaseError as exc:
            if not _corrupt(exc):
                raise
            store.close()
            return _rebuild(path, committed, str(exc), synchronous)
        if "id" not in meta:
            raise LogError("no session in this file (its meta has no id)")
        store.db.executescript(SCHEMA)  # readable: tables a newer version adds are created now
        missing = _missing(seqs, max(hi or 0, committed or 0), meta.get("damage") or [])
        if missing:
            cause = "lost_tail" if missing[-1][1] > (hi or 0) else "holes"
            store.set_meta("damage", [*(meta.get("damage") or []), _report(missing, cause)])
        store.mark_committed(max(hi or 0, committed or 0))
        return store
    except BaseException:
        store.close()
        raise


def _missing(seqs: Any, last: int, reported: list[dict[str, Any]]) -> list[list[int]]:
    """Ranges [first, last] of line numbers 1..last not in `seqs` (sorted), minus those already reported."""
    known = {s for r in reported for a, b in r.get("missing", []) for s in range(a, b + 1)}
    out: list[list[int]] = []
    expect = 1
    for s in [*seqs, last + 1]:
        for gap in range(expect, min(s, last + 1)):
            if gap in known:
                continue
            if out and out[-1][1] == gap - 1:
                out[-1][1] = gap
            else:
                out.append([gap, gap])
        expect = max(expect, s + 1)
    return out


CAUSES = {  # what a damage report's `cause` means (the pages say it from their catalogue: tc.damage_*)
    "lost_tail": "the log ends before its last committed line (its -wal file lost or deleted)",
    "holes": "lines missing inside the log",
    "unreadable": "SQLite could not read the log whole (a bad page, a truncated file)",
}


def _report(
    missing: list[list[int]], cause: str, error: str | None = None, kept_as: str | None = None
) -> dict[str, Any]:
    """One damage report: which lines (ranges of `seq`), how many, found when, why."""
    r: dict[str, Any] = {
        "found": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "cause": cause,
        "why": CAUSES[cause],
        "missing": missing,
        "lines_missing": sum(b - a + 1 for a, b in missing),
    }
    if error:
        r["error"] = error
    if kept_as:
        r["kept_as"] = kept_as
    return r


def _corrupt(exc: sqlite3.DatabaseError) -> bool:
    """SQLite says the file is damaged (a bad page, a truncated file), not busy or missing a table."""
    return str(getattr(exc, "sqlite_errorname", "")).startswith("SQLITE_CORRUPT")


def _committed(path: Path) -> int | None:
    try:
        return int(Path(f"{path}{SEQ_SUFFIX}").read_bytes().strip() or b"x")
    except (OSError, ValueError):
        return None


def _rebuild(path: Path, committed: int | None, error: str, synchronous: str) -> EventStore:
    """Every line of a damaged log that can be read, into a fresh log at the same place (the damaged
    file kept beside it, renamed), with the report of what could not be read. LogError when nothing
    can be read (then the file is left as it is)."""
    try:
        db = sqlite3.connect(path)
        # read only; `writable_schema` makes SQLite read a file shorter than its header says (truncated)
        db.execute("PRAGMA query_only=ON")
        db.execute("PRAGMA writable_schema=ON")
    except sqlite3.DatabaseError as exc:
        raise LogError(f"not a readable SQLite database ({exc})") from exc
    try:
        rows = _readable_rows(db, committed)
        meta = _readable_meta(db)
    finally:
        db.close()
    if not rows and "id" not in meta:
        raise LogError(f"not a readable SQLite database ({error})")
    kept = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    for suffix in ("", "-wal", "-shm"):  # the damaged set stays together, readable by SQLite as it was
        if Path(f"{path}{suffix}").exists():
            os.replace(f"{path}{suffix}", f"{kept}{suffix}")
    last = max([committed or 0, *(r[0] for r in rows)])
    if "id" not in meta:  # its meta was lost too: the file's name is the session's id
        meta["id"] = path.stem
        first = min((r[2] for r in rows), default=time.time())
        meta.setdefault("origin_us", int(first * 1e6))  # the session line is logged when it is created
    meta.setdefault("name", meta["id"])
    meta.setdefault(
        "tokens", {"race_control": secrets.token_urlsafe(18), "timing": secrets.token_urlsafe(18)}
    )
    missing = _missing([r[0] for r in rows], last, meta.get("damage") or [])
    meta["damage"] = [*(meta.get("damage") or []), _report(missing, "unreadable", error, kept.name)]
    fresh = EventStore(path, synchronous)
    with fresh.transaction():
        fresh.db.executemany("INSERT INTO events (seq, line, received_at) VALUES (?, ?, ?)", rows)
        for k, v in meta.items():
            fresh.set_meta(k, v)
    fresh.mark_committed(last)
    return fresh


def _readable_rows(db: sqlite3.Connection, committed: int | None) -> list[tuple[int, str, float]]:
    """(seq, line, received_at) of every line that can still be read, chunk by chunk, then line by line
    where a chunk fails."""
    hi = committed or 0
    for q in ("SELECT max(seq) FROM events", "SELECT seq FROM sqlite_sequence WHERE name = 'events'"):
        try:
            hi = max(hi, int((db.execute(q).fetchone() or [0])[0] or 0))
        except (sqlite3.DatabaseError, TypeError, ValueError):
            continue
    rows: dict[int, tuple[int, str, float]] = {}  # by seq: a damaged tree may give a row twice
    q = "SELECT seq, line, received_at FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq"
    for a in range(1, hi + 1, CHUNK):
        b = min(a + CHUNK - 1, hi)
        try:
            got = db.execute(q, (a, b)).fetchall()
        except sqlite3.DatabaseError:
            got = []
            for seq in range(a, b + 1):
                try:
                    got += db.execute(q, (seq, seq)).fetchall()
                except sqlite3.DatabaseError:
                    continue
        for seq, line, at in got:
            if not isinstance(seq, int) or not a <= seq <= b or line is None:
                continue  # what a damaged page reads as (zeros): no line
            text = line.decode("utf-8", "replace") if isinstance(line, bytes) else str(line)
            rows.setdefault(int(seq), (int(seq), text, at if isinstance(at, float) else time.time()))
    return sorted(rows.values())


def _readable_meta(db: sqlite3.Connection) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for key in META_KEYS:
        try:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            if row is not None:
                meta[key] = json.loads(row[0])
        except (sqlite3.DatabaseError, ValueError, TypeError):
            continue
    return meta


def scenario_lines(lines: list[Any]) -> list[Any]:
    """Order a log as a scenario: the last session line, the entries, then events in arrival order.

    Arrival order is kept on purpose: the engine puts late events in place itself, and penalty ids
    referenced by `waive` lines depend on the order race control saw them in. An item that is not a
    line (the text of a line set aside) stays among the events, in arrival order.
    """

    def kind(ln: Any) -> Any:
        return ln.get("type") if isinstance(ln, dict) else None

    session = [ln for ln in lines if kind(ln) == "session"][-1:]
    entries = [ln for ln in lines if kind(ln) == "entry"]
    rest = [ln for ln in lines if kind(ln) not in ("session", "entry")]
    return session + entries + rest


def scenario_text(store: EventStore, damage: list[dict[str, Any]] | None = None) -> tuple[str, int]:
    """A session's log as a scenario file (`boucle record`, export.jsonl), and its number of lines."""
    return texts_scenario([text for _, text in store.texts()], damage)


def texts_scenario(texts: list[str], damage: list[dict[str, Any]] | None = None) -> tuple[str, int]:
    """Logged line texts as a scenario file (pure: drawn off the event loop for export.jsonl).

    Every logged line is written, a line this version sets aside too (as it was: replaying the file
    sets it aside the same way, naming it); lines the log lost are said in `#` comments first."""
    items: list[Any] = []
    for text in texts:
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError):
            obj = None
        items.append(obj if isinstance(obj, dict) else " ".join(text.splitlines()))
    head = [
        f"# {d.get('lines_missing', 0)} line(s) missing from this log ({_ranges(d.get('missing', []))}): "
        f"{d.get('why', '')}, found {d.get('found', '?')}"
        f"{'; damaged file kept as ' + d['kept_as'] if d.get('kept_as') else ''}\n"
        for d in damage or []
    ]
    body = [
        (json.dumps(x, ensure_ascii=False) if isinstance(x, dict) else x) + "\n"
        for x in scenario_lines(items)
    ]
    return "".join(head + body), len(body)


def _ranges(missing: list[list[int]]) -> str:
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in missing)


def export_scenario(db_path: str | Path, out: str | Path) -> tuple[int, list[dict[str, Any]]]:
    """`boucle record`: write a session's log as a scenario file (or to stdout with '-'). Returns the
    number of lines written and the log's damage reports (also written as comments)."""
    path = Path(db_path)
    if not path.is_file():
        raise ValueError(f"no such session log: {db_path}")
    if path.stat().st_size == 0:
        raise ValueError(f"empty file (0 bytes): no session log in {db_path}")
    store = EventStore(path, create=False)
    try:
        meta = store.get_meta()
        damage = list(meta.get("damage") or [])
        text, n = scenario_text(store, damage)
    finally:
        store.close()
    exported = time.strftime("%Y-%m-%d %H:%M:%S")
    head = f"# Boucle session {meta.get('id', '?')} ({meta.get('name', '')}), exported {exported}\n"
    if str(out) == "-":
        sys.stdout.write(head + text)
    else:
        Path(out).write_text(head + text, encoding="utf-8")
    return n, damage
