"""The primary's log stream (`/ws/log`): every committed line of every session, to a follower.

One WebSocket per follower, authenticated with the admin token (`Authorization: Bearer`). The
follower says where it is (`hello`: per session its last line's sequence number and a digest of
that line); the primary checks the digest (a copy that went its own way, e.g. an old primary's
lines written after its standby took over, is told `diverged` and copied again from the start),
then sends, per session, its meta, its lines after the cursor in batches, and its kept-aside reads;
then whatever is committed, as it is committed (each session's listeners wake the stream); the
meetings' and championships' JSON files when they change (checked every second). Every
second, `heads` (the newest sequence number of every session) lets the follower tell how far
behind it is; it answers `ack` with its own, which the primary shows. `ping`/`pong` measure the
two machines' clock difference.

Lines are read through a read-only SQLite connection of their own: with WAL it only ever sees
committed transactions, whichever thread the writer runs in.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import WebSocket, WebSocketDisconnect

from service import auth

if TYPE_CHECKING:
    from service.sessions.live import LiveSession
    from service.standby.peer import NodeView

log = logging.getLogger("boucle.standby.stream")

BATCH = 1000  # lines per message
HEADS_EVERY_S = 1.0
META_EVERY_S = 1.0
HELLO_TIMEOUT_S = 10.0
FILES = ("meetings", "championships")  # folders of the data folder copied whole (their JSON files)
ASIDE_COLUMNS = (
    "id",
    "kind",
    "reason",
    "detail",
    "read",
    "line",
    "link",
    "read_key",
    "received_at",
    "admitted_at",
)


def digest(text: str) -> str:
    """What names a line's text in a cursor (two copies agree on their last line)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class SessionReader:
    """One session's log through a read-only connection: lines after a cursor, meta, aside rows."""

    def __init__(self, session: LiveSession, cursor: int, aside_after: int) -> None:
        self.sid = session.id
        self.db = sqlite3.connect(f"file:{session.store.path}?mode=ro", uri=True, check_same_thread=False)
        self.cursor = cursor
        self.aside_after = aside_after
        self.admitted = -1  # admitted kept-aside reads last sent
        self.meta_text = ""
        self.seen: dict[str, int] = {}  # what was looked at -> the file's data_version then

    def changed(self, what: str) -> bool:
        """Did another connection commit to this file since `what` was last looked at? (An idle
        session costs one PRAGMA per look, however many sessions the data folder holds.)"""
        version = self.db.execute("PRAGMA data_version").fetchone()[0]
        if self.seen.get(what) == version:
            return False
        self.seen[what] = version
        return True

    def line_at(self, seq: int) -> str | None:
        row = self.db.execute("SELECT line FROM events WHERE seq = ?", (seq,)).fetchone()
        return row[0] if row else None

    def lines(self) -> list[list[Any]]:
        rows = self.db.execute(
            "SELECT seq, line, received_at FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            (self.cursor, BATCH),
        ).fetchall()
        if rows:
            self.cursor = rows[-1][0]
        return [list(r) for r in rows]

    def meta(self) -> dict[str, Any] | None:
        """The meta when it changed since last sent."""
        rows = sorted(self.db.execute("SELECT key, value FROM meta").fetchall())
        text = json.dumps(rows)
        if text == self.meta_text:
            return None
        self.meta_text = text
        return {k: json.loads(v) for k, v in rows}

    def aside(self) -> list[dict[str, Any]]:
        """Kept-aside reads new since last sent, and all admitted ones when admissions changed."""
        cols = ", ".join(ASIDE_COLUMNS)
        rows = self.db.execute(
            f"SELECT {cols} FROM aside WHERE id > ? ORDER BY id", (self.aside_after,)
        ).fetchall()
        admitted = int(self.db.execute("SELECT COUNT(admitted_at) FROM aside").fetchone()[0])
        if admitted != self.admitted:
            self.admitted = admitted
            rows += self.db.execute(
                f"SELECT {cols} FROM aside WHERE admitted_at IS NOT NULL AND id <= ?", (self.aside_after,)
            ).fetchall()
        if rows:
            self.aside_after = max(self.aside_after, max(r[0] for r in rows))
        return [dict(zip(ASIDE_COLUMNS, r, strict=True)) for r in rows]

    def seconds_behind(self, seq: int) -> float:
        """How long ago the oldest line after `seq` was committed (0 when there is none)."""
        row = self.db.execute(
            "SELECT received_at FROM events WHERE seq > ? ORDER BY seq LIMIT 1", (seq,)
        ).fetchone()
        return max(0.0, time.time() - row[0]) if row else 0.0

    def close(self) -> None:
        self.db.close()


class LogStream:
    """One follower's connection, primary side."""

    def __init__(self, node: NodeView, ws: WebSocket) -> None:
        self.node = node
        self.ws = ws
        self.readers: dict[str, SessionReader] = {}
        self.wake = asyncio.Event()
        self.send_lock = asyncio.Lock()
        self.listening: dict[str, Any] = {}  # session id -> our listener on it
        self.view: dict[str, Any] = {}
        self.files: dict[str, tuple[int, int]] = {}  # copied files (FILES) -> (mtime, size) last sent

    async def send(self, msg: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.ws.send_text(json.dumps(msg, separators=(",", ":"), ensure_ascii=False))

    def _woken(self, _applied: Any) -> None:
        """A session listener: lines were committed (maybe in a worker thread)."""
        with contextlib.suppress(RuntimeError):  # the loop is closing
            self.loop.call_soon_threadsafe(self.wake.set)

    async def serve(self) -> None:
        ws, node = self.ws, self.node
        self.loop = asyncio.get_running_loop()
        token = auth.token_from(ws.headers, {})
        await ws.accept()
        if not token or not auth.same_token(token, node.mgr.admin_token):
            await ws.close(code=4401, reason="the log stream needs the admin token")
            return
        if not node.writable:
            await ws.close(code=4409, reason=f"this machine is not the primary ({node.role})")
            return
        try:
            async with asyncio.timeout(HELLO_TIMEOUT_S):
                hello = json.loads(await ws.receive_text())
        except (TimeoutError, ValueError, WebSocketDisconnect, RuntimeError):
            await ws.close(code=4400, reason="expected a hello")
            return
        if not isinstance(hello, dict) or hello.get("k") != "hello":
            await ws.close(code=4400, reason="expected a hello")
            return
        if int(hello.get("epoch") or 0) > node.epoch:  # the follower knows of a newer primary than this one
            await ws.close(code=4409, reason="this primary's epoch is older than the follower's")
            return
        who = str(hello.get("node") or "?")
        advertise = hello.get("advertise")
        if isinstance(advertise, str) and advertise.startswith("http"):
            node.add_peer(advertise)
        self.view = node.followers[who] = {
            "node": who,
            "url": advertise,
            "connected": True,
            "lines_behind": None,
            "seconds_behind": None,
            "last_s": time.time(),
        }
        await self.send({"k": "hello", "node": node.node_id, "epoch": node.epoch, "wall": time.time()})
        reader = asyncio.create_task(self._read())
        try:
            await self._open_readers(hello)
            await self._pump(reader)
        except (WebSocketDisconnect, RuntimeError, ConnectionError):
            pass
        finally:
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader
            self.view["connected"] = False
            for sid, fn in self.listening.items():
                s = node.mgr.sessions.get(sid)
                if s is not None and fn in s.listeners:
                    s.listeners.remove(fn)
            for r in self.readers.values():
                r.close()

    async def _open_readers(self, hello: dict[str, Any]) -> None:
        """Check the follower's cursor of each session (a copy that went its own way starts again)."""
        cursor = hello.get("cursor") if isinstance(hello.get("cursor"), dict) else {}
        aside = hello.get("aside") if isinstance(hello.get("aside"), dict) else {}
        for sid, s in sorted(self.node.mgr.sessions.items()):
            seq, dig = 0, ""
            given = cursor.get(sid)
            if isinstance(given, list) and len(given) == 2 and isinstance(given[0], int):
                seq, dig = given
            reader = SessionReader(s, 0, 0)
            mine = reader.line_at(seq) if seq > 0 else None
            if seq > 0 and (mine is None or digest(mine) != dig):
                log.warning(
                    "session %s: the follower's copy differs from this log at line %d: copied again", sid, seq
                )
                await self.send({"k": "diverged", "sid": sid})
                seq = 0
            reader.cursor = seq
            reader.aside_after = int(aside.get(sid) or 0) if seq else 0
            self.readers[sid] = reader

    async def _pump(self, reader: asyncio.Task) -> None:
        heads_at = meta_at = 0.0
        while not reader.done():
            self.wake.clear()
            now = time.monotonic()
            check_meta = now - meta_at >= META_EVERY_S
            if check_meta:
                meta_at = now
            for sid, s in sorted(self.node.mgr.sessions.items()):
                await self._session(sid, s, check_meta)
            if check_meta:
                await self._files()
            if now - heads_at >= HEADS_EVERY_S:
                heads_at = now
                await self.send(
                    {
                        "k": "heads",
                        "heads": {sid: r.cursor for sid, r in self.readers.items()},
                        "wall": time.time(),
                        "epoch": self.node.epoch,
                    }
                )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.25):
                    await self.wake.wait()

    async def _session(self, sid: str, s: LiveSession, check_meta: bool) -> None:
        r = self.readers.get(sid)
        if r is None:  # a session created since the follower connected
            r = self.readers[sid] = SessionReader(s, 0, 0)
        if sid not in self.listening:
            self.listening[sid] = self._woken
            s.listeners.append(self._woken)
        if (check_meta or not r.meta_text) and r.changed("meta"):  # a new session's meta before its lines
            meta = r.meta()
            if meta is not None:
                await self.send({"k": "meta", "sid": sid, "meta": meta})
            rows = r.aside()
            if rows:
                await self.send({"k": "aside", "sid": sid, "rows": rows})
        if r.changed("lines"):
            while rows := r.lines():
                await self.send({"k": "lines", "sid": sid, "rows": rows})

    async def _files(self) -> None:
        """The meetings' and championships' files (not session logs): each sent when it changed."""
        data = Path(self.node.mgr.data_dir)
        now: dict[str, tuple[int, int]] = {}
        for folder in FILES:
            for path in sorted((data / folder).glob("*.json")):
                with contextlib.suppress(OSError):
                    st = path.stat()
                    now[f"{folder}/{path.name}"] = (st.st_mtime_ns, st.st_size)
        for rel, sig in now.items():
            if self.files.get(rel) != sig:
                with contextlib.suppress(OSError, UnicodeDecodeError):
                    await self.send(
                        {"k": "file", "path": rel, "text": (data / rel).read_text(encoding="utf-8")}
                    )
        for rel in self.files.keys() - now.keys():
            await self.send({"k": "file", "path": rel, "text": None})
        self.files = now

    async def _read(self) -> None:
        """The follower's side of the talk: acks (how far it is) and clock pings."""
        while True:
            msg = json.loads(await self.ws.receive_text())
            if not isinstance(msg, dict):
                continue
            if msg.get("k") == "ping":
                await self.send({"k": "pong", "t": msg.get("t"), "wall": time.time()})
            elif msg.get("k") == "ack" and isinstance(msg.get("heads"), dict):
                self._acked(msg["heads"])

    def _acked(self, heads: dict[str, Any]) -> None:
        behind, seconds = 0, 0.0
        for sid, r in self.readers.items():
            have = heads.get(sid)
            have = have if isinstance(have, int) else 0
            head = r.cursor  # all it was sent: the newest line committed when last looked
            if head > have:
                behind += head - have
                seconds = max(seconds, r.seconds_behind(have))
        self.view.update(
            lines_behind=behind,
            seconds_behind=round(seconds, 3),
            last_s=time.time(),
            heads={k: v for k, v in heads.items() if isinstance(v, int)},
        )


async def serve_log(node: NodeView, ws: WebSocket) -> None:
    await LogStream(node, ws).serve()
