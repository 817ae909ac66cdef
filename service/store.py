"""Append-only per-session event log in SQLite (WAL): written before the engine sees an event.

One file per session (`<data>/<session id>.sqlite`). Restarting the service replays the log into a
fresh engine; the log's lines are scenario lines, so `boucle record` exports a session as a
scenario file that `boucle replay` reads.
"""

from __future__ import annotations

import json
import os
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
# `aside`: decoder reads kept out of the log (service/intake.py): refused by the boundary, arrived
# after the session was finished, or timed far from their decoder's clock. `read` is the read as
# the decoder sent it, `line` the passing line it made, `link` the decoder URL; `read_key`
# (decoder|epoch|number) keeps a resent read once. Admitting one logs its line as a passing.
ASIDE_COLUMNS = ("id", "kind", "reason", "detail", "read", "line", "link", "received_at", "admitted_at")


class EventStore:
    """The durable log of one session. `synchronous=FULL`: a committed event survives a crash."""

    def __init__(self, path: str | Path, synchronous: str = "FULL") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not self.path.exists()
        if fresh:  # the log holds the session's tokens: readable by the service user only
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={synchronous}")
        self.db.executescript(SCHEMA)
        for suffix in ("", "-wal", "-shm"):
            side = Path(f"{self.path}{suffix}")
            if side.exists() and side.stat().st_mode & 0o077:
                side.chmod(0o600)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Lines appended inside are committed together (one fsync), or not at all if it raises."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:  # a COMMIT that failed (disk full) may leave it open
                self.db.execute("ROLLBACK")
            raise

    def append(self, text: str) -> int:
        """Append one line's canonical JSON text (already validated: see `events.encode_line`)."""
        cur = self.db.execute("INSERT INTO events (line, received_at) VALUES (?, ?)", (text, time.time()))
        return int(cur.lastrowid or 0)

    def insert_at(self, seq: int, text: str) -> None:
        """A line another machine logged at `seq` (a standby's copy): same numbering on both."""
        self.db.execute("INSERT INTO events (seq, line, received_at) VALUES (?, ?, ?)", (seq, text, time.time()))

    def texts(self) -> Iterator[tuple[int, str]]:
        """(seq, text) of every logged line, in arrival order."""
        yield from self.db.execute("SELECT seq, line FROM events ORDER BY seq")

    def lines(self) -> Iterator[dict[str, Any]]:
        for _, text in self.texts():
            yield json.loads(text)

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    # -- reads kept aside -------------------------------------------------------------------------
    def keep_aside(self, kind: str, reason: str, detail: str, read: dict[str, Any], line: dict[str, Any],
                   link: str, read_key: str | None) -> int | None:
        """Keep a decoder read out of the log; None when that numbered read is already kept."""
        cur = self.db.execute(
            "INSERT OR IGNORE INTO aside (kind, reason, detail, read, line, link, read_key, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (kind, reason, detail[:500], json.dumps(read), json.dumps(line), link, read_key, time.time()))
        return int(cur.lastrowid) if cur.rowcount else None

    def aside_has(self, read_key: str | None) -> bool:
        return read_key is not None and self.db.execute("SELECT 1 FROM aside WHERE read_key = ?",
                                                        (read_key,)).fetchone() is not None  # fmt: skip

    def aside(self, where: str = "1", args: tuple = (), limit: int = 10_000) -> list[dict[str, Any]]:
        """Kept-aside reads, newest first (`where`: an SQL condition on the columns, with `args`)."""
        rows = self.db.execute(f"SELECT {', '.join(ASIDE_COLUMNS)} FROM aside WHERE {where} "
                               "ORDER BY id DESC LIMIT ?", (*args, limit))  # fmt: skip
        out = []
        for row in rows:
            d = dict(zip(ASIDE_COLUMNS, row, strict=True))
            d["read"], d["line"] = json.loads(d["read"]), json.loads(d["line"])
            out.append(d)
        return out

    def aside_counts(self) -> dict[tuple[str, str, bool], int]:
        """(link, kind, admitted) -> number of kept-aside reads."""
        rows = self.db.execute("SELECT link, kind, admitted_at IS NOT NULL, COUNT(*) FROM aside GROUP BY 1, 2, 3")
        return {(link, kind, bool(done)): n for link, kind, done, n in rows}

    def admitted(self, aside_id: int, line: dict[str, Any]) -> None:
        """This kept-aside read is in the log now, as `line`."""
        self.db.execute("UPDATE aside SET admitted_at = ?, line = ? WHERE id = ?",
                        (time.time(), json.dumps(line), aside_id))  # fmt: skip

    def get_meta(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self.db.execute("SELECT key, value FROM meta")}

    def set_meta(self, key: str, value: Any) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def close(self) -> None:
        self.db.close()


def scenario_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Order a log as a scenario: the last session line, the entries, then events in arrival order.

    Arrival order is kept on purpose: the engine puts late events in place itself, and penalty ids
    referenced by `waive` lines depend on the order race control saw them in.
    """
    session = [ln for ln in lines if ln.get("type") == "session"][-1:]
    entries = [ln for ln in lines if ln.get("type") == "entry"]
    rest = [ln for ln in lines if ln.get("type") not in ("session", "entry")]
    return session + entries + rest


def export_scenario(db_path: str | Path, out: str | Path) -> int:
    """`boucle record`: write a session's log as a scenario file (or to stdout with '-')."""
    if not Path(db_path).is_file():
        raise ValueError(f"no such session log: {db_path}")
    store = EventStore(db_path)
    try:
        meta = store.get_meta()
        lines = scenario_lines(list(store.lines()))
    finally:
        store.close()
    head = f"# Boucle session {meta.get('id', '?')} ({meta.get('name', '')}), exported {time.strftime('%Y-%m-%d %H:%M:%S')}\n"
    body = "".join(json.dumps(ln, ensure_ascii=False) + "\n" for ln in lines)
    if str(out) == "-":
        sys.stdout.write(head + body)
    else:
        Path(out).write_text(head + body, encoding="utf-8")
    return len(lines)
