"""The standby's copy of the primary's log: follows `/ws/log`, resumes after any cut.

Every committed line of every session is logged here at the same sequence number as on the
primary and applied to this machine's sessions (their pages and spectator streams show it), so
this data folder is a valid primary's. New sessions and their meta (entries are lines; decoder
links, tokens, clock maps are meta), kept-aside reads, and the meetings' and championships' files
are copied too. A session whose copy went
its own way (`diverged`: lines an old primary wrote after its standby took over) is moved to
`DATA/diverged/` whole and copied again.

How far behind: `lines` (the primary's newest sequence numbers, told every second, minus ours),
`seconds` (0 when caught up; while catching up the age of the line being copied; while the primary
is unreachable, since when), and the copy delay of each line (commit there to commit here)
as p50/p99. The two clocks' difference is measured by ping/pong (the offset of the fastest round
trip of the last 15), kept for promotion (the session clock must not jump when this machine takes
over).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import sqlite3
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus, WebSocketException

from service.jsonfile import write_json
from service.meetings.protocol import meeting_from_state
from service.sessions.live import LiveSession
from service.standby.stream import ASIDE_COLUMNS, FILES, digest
from service.store import EventStore

if TYPE_CHECKING:
    from service.standby.peer import NodeView

log = logging.getLogger("boucle.standby.follower")

SILENT_S = 5.0  # nothing from the primary for that long: the link is dead, connect again
RETRY_MIN, RETRY_MAX = 0.2, 3.0
ACK_EVERY_S = 1.0
PING_EVERY_S = 2.0
LAG_SAMPLES = 4000
CLOSE_CODES = {4401: "token", 4409: "not_primary", 4400: "version"}  # the stream's refusals (stream.py)
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\.json")


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


class Follower:
    """Copies the primary's log into this machine's sessions (see the module doc)."""

    def __init__(self, node: NodeView, url: str) -> None:
        self.node = node
        self.mgr = node.mgr
        self.url = url
        self.connected = False
        self.changed_at = time.time()  # when `connected` last changed
        self.last_heard = 0.0  # wall time of the newest message from the primary
        self.heads: dict[str, int] = {}  # the primary's newest sequence number per session
        self.copied = 0  # lines copied since start
        self.delays_ms: deque[float] = deque(maxlen=LAG_SAMPLES)
        self.copying_age_s = 0.0  # age of the newest line copied
        self.error: str | None = None  # why the copy stopped last (technical detail, for the admin)
        self.error_code: str | None = None  # the same as a catalogue code: standby.error.<code>
        self.pending: dict[str, dict[str, Any]] = {}  # meta of sessions new here, until their first lines
        self.mine: dict[str, int] = {
            sid: s.store.db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
            for sid, s in self.mgr.sessions.items()
        }  # newest line copied, per session
        self._rtts: deque[tuple[float, float]] = deque(maxlen=15)  # (round trip, offset) in seconds
        self._task: asyncio.Task | None = None
        self._waiters: list[tuple[dict[str, int], asyncio.Future]] = []

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run(), name=f"follow {self.url}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.pending.clear()

    # -- the connection ---------------------------------------------------------------------------------
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + "/ws/log"

    async def run(self) -> None:
        delay = RETRY_MIN
        while True:
            try:
                async with connect(
                    self.ws_url(),
                    additional_headers={"Authorization": f"Bearer {self.node.token}"},
                    max_size=64 * 1024 * 1024,
                    open_timeout=5,
                    ping_interval=2,
                    ping_timeout=4,
                ) as ws:
                    delay = RETRY_MIN
                    await self._serve(ws)
            except asyncio.CancelledError:
                self._set_connected(False)
                raise
            except InvalidStatus as exc:
                self._failed("version", f"HTTP {exc.response.status_code}")
            except (OSError, TimeoutError, WebSocketException, ValueError) as exc:
                reason = getattr(exc, "rcvd", None)
                if reason is not None:
                    self._failed(
                        CLOSE_CODES.get(reason.code, "unreachable"), f"{reason.code} {reason.reason}"
                    )
                else:
                    self._failed("unreachable", f"{type(exc).__name__}: {exc}")
            except Exception as exc:  # noqa: BLE001 - e.g. this disk full: the copy must start again, not die
                log.exception("copying from %s failed", self.url)
                self._failed("copy", f"{type(exc).__name__}: {exc}")
            self._set_connected(False)
            await asyncio.sleep(delay)
            delay = min(RETRY_MAX, delay * 2)

    def _failed(self, code: str, detail: str) -> None:
        """Why the copy stopped: a catalogue code the pages show (`standby.error.*`), and the detail."""
        self.error_code, self.error = code, detail

    def _set_connected(self, up: bool) -> None:
        if up != self.connected:
            self.connected, self.changed_at = up, time.time()
            log.info("primary %s: %s", self.url, "following" if up else "link lost")

    async def _serve(self, ws: Any) -> None:
        await ws.send(json.dumps(self.hello()))
        talk = asyncio.create_task(self._talk(ws))
        try:
            while True:
                async with asyncio.timeout(SILENT_S):
                    raw = await ws.recv()
                self.last_heard = time.time()
                msg = json.loads(raw)
                if msg.get("k") == "hello":
                    self._set_connected(True)
                    self.error = self.error_code = None
                    if int(msg.get("epoch") or 1) > self.node.epoch:
                        self.node.epoch = int(msg["epoch"])
                        self.node.save()
                else:
                    self.on_message(msg)
        finally:
            talk.cancel()
            with contextlib.suppress(BaseException):
                await talk

    async def _talk(self, ws: Any) -> None:
        """Acks (how far this copy is) and clock pings, while connected."""
        last_ping = 0.0
        while True:
            await asyncio.sleep(ACK_EVERY_S)
            await ws.send(json.dumps({"k": "ack", "heads": self.cursors()}))
            if time.monotonic() - last_ping >= PING_EVERY_S:
                last_ping = time.monotonic()
                await ws.send(json.dumps({"k": "ping", "t": time.time()}))

    def hello(self) -> dict[str, Any]:
        cursor: dict[str, list[Any]] = {}
        aside: dict[str, int] = {}
        for sid, s in self.mgr.sessions.items():
            row = s.store.db.execute("SELECT seq, line FROM events ORDER BY seq DESC LIMIT 1").fetchone()
            if row:
                cursor[sid] = [row[0], digest(row[1])]
                aside[sid] = int(s.store.db.execute("SELECT COALESCE(MAX(id), 0) FROM aside").fetchone()[0])
        return {
            "k": "hello",
            "node": self.node.node_id,
            "epoch": self.node.epoch,
            "cursor": cursor,
            "aside": aside,
            "advertise": self.node.my_url(self.url),
        }

    def cursors(self) -> dict[str, int]:
        return dict(self.mine)

    # -- messages -----------------------------------------------------------------------------------------
    def on_message(self, msg: dict[str, Any]) -> None:
        kind, sid = msg.get("k"), msg.get("sid")
        if kind == "lines" and isinstance(sid, str):
            self._lines(sid, msg["rows"])
        elif kind == "meta" and isinstance(sid, str) and isinstance(msg.get("meta"), dict):
            self._meta(sid, msg["meta"])
        elif kind == "aside" and isinstance(sid, str):
            self._aside(sid, msg["rows"])
        elif kind == "file" and isinstance(msg.get("path"), str):
            self._file(msg["path"], msg.get("text"))
        elif kind == "diverged" and isinstance(sid, str):
            self._diverged(sid)
        elif kind == "heads" and isinstance(msg.get("heads"), dict):
            self.heads = {k: int(v) for k, v in msg["heads"].items()}
            self._progress()
        elif kind == "pong" and isinstance(msg.get("t"), int | float):
            self._pong(float(msg["t"]), float(msg["wall"]))

    def _meta(self, sid: str, meta: dict[str, Any]) -> None:
        s = self.mgr.sessions.get(sid)
        if s is None:  # a new session: its file is made with its first lines
            self.pending[sid] = meta
            return
        s.meta.update(meta)
        s.name = meta.get("name", s.name)
        s.rate = float(meta.get("clock_rate", s.rate))
        s.origin_us = int(meta["origin_us"]) - self.node.skew_us  # the session clock on this machine's clock
        s.intake.first_reads = dict(meta.get("first_reads") or {})  # where links resume after a promotion
        s.intake.log_errors = int(meta.get("log_errors") or 0)
        with s.store.transaction():
            for k, v in meta.items():
                s.store.set_meta(k, v)
        if self.node.listening is not None:
            self.node.listening.sync(s)

    def _lines(self, sid: str, rows: list[list[Any]]) -> None:
        s = self.mgr.sessions.get(sid)
        typed = [(int(seq), str(text)) for seq, text, _ in rows]
        try:
            if s is None:
                s = self._open(sid, typed)
            else:
                s.apply_logged(typed)
        except sqlite3.IntegrityError:  # a line number this copy already has with another line
            log.warning("session %s: the copy disagrees with the primary: copied again", sid)
            self._diverged(sid)
            raise ConnectionError("copy again from the start") from None
        self.mine[sid] = max(self.mine.get(sid, 0), typed[-1][0]) if typed else self.mine.get(sid, 0)
        self.copied += len(rows)
        now, offset = time.time(), self._offset()
        since = self.changed_at + offset  # connected since (on the primary's clock)
        for _, _, at in rows:
            self.copying_age_s = max(0.0, now + offset - float(at))
            if float(at) >= since:  # committed while connected: not the backlog of a cut (`seconds_behind`)
                self.delays_ms.append(self.copying_age_s * 1000)
        if self.node.listening is not None:
            self.node.listening.copied(s, [text for _, text in typed])
        self._progress()

    def _open(self, sid: str, rows: list[tuple[int, str]]) -> LiveSession:
        """A session new to this machine: its file with its meta and first lines, then opened (replayed)."""
        meta = self.pending.pop(sid, None)
        if meta is None:
            raise ConnectionError(f"lines of session {sid} before its meta")
        store = EventStore(Path(self.mgr.data_dir) / f"{sid}.sqlite", self.mgr.synchronous)
        try:
            with store.transaction():
                for k, v in meta.items():
                    store.set_meta(k, v)
                for seq, text in rows:
                    store.insert_at(seq, text)
            s = LiveSession(store, dict(meta))
        except BaseException:
            store.close()
            raise
        s.origin_us = int(meta["origin_us"]) - self.node.skew_us
        self.mgr._add(s)  # noqa: SLF001 - the manager's one way in for an opened session
        self.node.protect(s)
        if self.node.listening is not None:
            self.node.listening.sync(s)
        return s

    def _aside(self, sid: str, rows: list[dict[str, Any]]) -> None:
        s = self.mgr.sessions.get(sid)
        if s is None:
            return
        cols = ASIDE_COLUMNS  # the rows as the primary streamed them (stream.py)
        with s.store.transaction():
            for r in rows:
                s.store.db.execute(
                    f"INSERT OR REPLACE INTO aside ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                    tuple(r.get(c) for c in cols),
                )
        s.intake._counts = s.store.aside_counts()  # noqa: SLF001 - the counts the crew sees, read again
        if self.node.listening is not None:
            self.node.listening.copied_aside(s, [r.get("read_key") for r in rows])

    def _file(self, rel: str, text: str | None) -> None:
        """A meeting's or championship's file as on the primary (written atomically; None: deleted).
        Meetings are shown at once; championships are read again at the next start."""
        folder, _, name = rel.partition("/")
        if folder not in FILES or not FILE_NAME.fullmatch(name):
            log.warning("the primary sent a file this copy does not take: %r", rel)
            return
        path = Path(self.mgr.data_dir) / folder / name
        if text is None:
            path.unlink(missing_ok=True)
            return
        try:
            doc = json.loads(text)
        except ValueError:
            return
        write_json(path, doc, private=True)  # a meeting's file holds its tokens
        book = self.mgr.meetings
        if folder == "meetings" and book is not None:
            try:
                if name == "calendar.json" and isinstance(doc, list):
                    book._calendar = doc  # noqa: SLF001 - the book's state, as its loader sets it
                elif name.startswith("m"):
                    book.meetings[doc["id"]] = meeting_from_state(doc["state"])
                    book.meta[doc["id"]] = {"tokens": doc["tokens"], "sessions": doc.get("sessions", {})}
            except (KeyError, TypeError, ValueError):
                log.warning("meeting file %s could not be read", name)

    def _diverged(self, sid: str) -> None:
        """Move this copy of the session aside (kept whole in DATA/diverged/) and copy it again."""
        s = self.mgr.sessions.pop(sid, None)
        self.mgr.hubs.pop(sid, None)
        folder = Path(self.mgr.data_dir) / "diverged"
        folder.mkdir(exist_ok=True)
        if s is not None:
            if self.node.listening is not None:
                self.node.listening.drop(s)
            s.close()
        self.pending.pop(sid, None)
        self.mine.pop(sid, None)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for suffix in ("", "-wal", "-shm"):
            src = Path(self.mgr.data_dir) / f"{sid}.sqlite{suffix}"
            if src.exists():
                src.replace(folder / f"{sid}.epoch{self.node.epoch}.{stamp}.sqlite{suffix}")
        log.warning("session %s: this copy went its own way; kept in %s, copied again", sid, folder)

    # -- how far behind -----------------------------------------------------------------------------------
    def _progress(self) -> None:
        if self.lines_behind() == 0:
            self.copying_age_s = 0.0
        for want, fut in list(self._waiters):
            if not fut.done() and self._has(want):
                fut.set_result(True)

    def lines_behind(self) -> int:
        mine = self.cursors()
        return sum(max(0, head - mine.get(sid, 0)) for sid, head in self.heads.items())

    def _has(self, heads: dict[str, int]) -> bool:
        mine = self.cursors()
        return all(mine.get(sid, 0) >= int(seq) for sid, seq in heads.items())

    async def wait_for(self, heads: dict[str, int], timeout: float) -> bool:
        """Wait until this copy has every line up to `heads` (the primary's last, at a handover)."""
        if self._has(heads):
            return True
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        entry = (heads, fut)
        self._waiters.append(entry)
        try:
            async with asyncio.timeout(timeout):
                return await fut
        except TimeoutError:
            return False
        finally:
            self._waiters.remove(entry)

    def _pong(self, sent: float, wall: float) -> None:
        now = time.time()
        self._rtts.append((now - sent, wall - (sent + now) / 2))
        skew = round(min(self._rtts)[1] * 1e6)
        if abs(skew - self.node.skew_us) > 2000:  # more than 2 ms: the sessions' clocks follow
            delta = skew - self.node.skew_us
            self.node.skew_us = skew
            self.node.save()
            for s in self.mgr.sessions.values():
                s.origin_us -= delta

    def _offset(self) -> float:
        return self.node.skew_us / 1e6

    def status(self) -> dict[str, Any]:
        now = time.time()
        behind = self.lines_behind()
        if not self.connected:
            seconds = now - (self.last_heard or self.changed_at)
        elif behind:
            seconds = self.copying_age_s
        else:
            seconds = 0.0
        delays = list(self.delays_ms)
        return {
            "url": self.url,
            "connected": self.connected,
            "since_s": round(now - self.changed_at, 1),
            "error": self.error,
            "error_code": self.error_code,
            "lines_behind": behind,
            "seconds_behind": round(seconds, 3),
            "copied": self.copied,
            "delay_ms": {"p50": percentile(delays, 0.5), "p99": percentile(delays, 0.99)},
            "skew_ms": round(self.node.skew_us / 1000, 1),
            "last_heard_s": round(now - self.last_heard, 1) if self.last_heard else None,
        }
