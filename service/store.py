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
"""


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
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def append(self, text: str) -> int:
        """Append one line's canonical JSON text (already validated: see `events.encode_line`)."""
        cur = self.db.execute("INSERT INTO events (line, received_at) VALUES (?, ?)", (text, time.time()))
        return int(cur.lastrowid or 0)

    def texts(self) -> Iterator[tuple[int, str]]:
        """(seq, text) of every logged line, in arrival order."""
        yield from self.db.execute("SELECT seq, line FROM events ORDER BY seq")

    def lines(self) -> Iterator[dict[str, Any]]:
        for _, text in self.texts():
            yield json.loads(text)

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

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
