"""Append-only per-session event log in SQLite (WAL): written before the engine sees an event.

One file per session (`<data>/<session id>.sqlite`). Restarting the service replays the log into a
fresh engine; the log's lines are scenario lines, so `boucle record` exports a session as a
scenario file that `boucle replay` reads.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from collections.abc import Iterator
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
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={synchronous}")
        self.db.executescript(SCHEMA)

    def append(self, line: dict[str, Any]) -> int:
        text = json.dumps(line, ensure_ascii=False, separators=(", ", ": "))
        cur = self.db.execute("INSERT INTO events (line, received_at) VALUES (?, ?)", (text, time.time()))
        return int(cur.lastrowid or 0)

    def lines(self) -> Iterator[dict[str, Any]]:
        for (text,) in self.db.execute("SELECT line FROM events ORDER BY seq"):
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
