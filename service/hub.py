"""WebSocket fan-out: a snapshot, then sequenced deltas found by diffing classifications.

Two streams per session. `live` (race control, timing crew) gets a message for every change at
once, with the raw reads. `spectator` is coalesced: at most one message per 100 ms, sent on the
leading edge when the stream was idle. Each message is encoded once and queued to every client;
a client that falls too far behind is cut back to a fresh snapshot instead of slowing the others.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from typing import Any

from service.session import LiveSession

log = logging.getLogger(__name__)

BACKLOG = 2000  # messages kept per stream for resuming clients
CLIENT_QUEUE = 256  # messages queued for one slow client before it is resynchronised


class Client:
    def __init__(self, send) -> None:
        self.send = send  # async callable(str)
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=CLIENT_QUEUE)
        self.needs_snapshot = False

    def offer(self, text: str) -> None:
        if self.needs_snapshot:
            return
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.needs_snapshot = True  # the writer sends a snapshot when it catches up


class Stream:
    """One ordered stream of messages (its own `seq`) for a set of clients."""

    def __init__(self, hub: SessionHub, name: str, min_interval: float) -> None:
        self.hub = hub
        self.name = name
        self.min_interval = min_interval
        self.seq = 0
        self.backlog: deque[tuple[int, str]] = deque(maxlen=BACKLOG)
        self.clients: set[Client] = set()
        self.rows: dict[str, dict[str, Any]] = {}  # what clients of this stream last saw
        self.penalties: dict[str, dict[str, Any]] = {}
        self.header_key: tuple = ()
        self.passings: list[dict[str, Any]] = []
        self.dirty = False
        self.last_sent = 0.0
        self.timer: asyncio.TimerHandle | None = None

    # -- building messages ---------------------------------------------------------------------
    def snapshot(self) -> str:
        """A full picture at the stream's current `seq`; later deltas are relative to it."""
        if self.dirty or not self.rows:
            self.dirty = False
            self.build_delta()  # bring the baseline up to date (kept in the backlog for others)
        s = self.hub.session
        msg = {
            "type": "snapshot", "seq": self.seq, "stream": self.name, "session": s.header(),
            "rows": list(self.rows.values()), "penalties": list(self.penalties.values()),
        }  # fmt: skip
        if self.name == "live":
            msg["passings"] = list(s.feed)[-50:]
            msg["decoders"] = [d.describe() for d in s.decoders]
        return json.dumps(msg, separators=(",", ":"))

    def _header_key(self, header: dict[str, Any]) -> tuple:
        c = header["clock"]
        return (header["flag"], header["closed"], c["green_s"], c["leader_laps"], header["preset"], header["kind"])

    def build_delta(self) -> str | None:
        s = self.hub.session
        rows = s.rows()
        changed = [r for r in rows if self.rows.get(r["number"]) != r]
        numbers = {r["number"] for r in rows}
        removed = [n for n in self.rows if n not in numbers]
        self.rows = {r["number"]: r for r in rows}
        pens = {p.id: p.as_dict() for p in s.engine.penalties.all()}
        pchanged = [p for pid, p in pens.items() if self.penalties.get(pid) != p]
        premoved = [pid for pid in self.penalties if pid not in pens]
        self.penalties = pens
        header = s.header()
        hkey = self._header_key(header)
        msg: dict[str, Any] = {"type": "delta", "stream": self.name, "rows": changed}
        if removed:
            msg["removed"] = removed
        if pchanged:
            msg["penalties"] = pchanged
        if premoved:
            msg["penalties_removed"] = premoved
        if hkey != self.header_key:
            msg["session"] = header
            self.header_key = hkey
        if self.passings:
            msg["passings"], self.passings = self.passings, []
        if len(msg) == 3 and not changed:
            return None
        msg["session"] = msg.get("session", header) if self.name == "live" else msg.get("session")
        if msg["session"] is None:
            del msg["session"]
        self.seq += 1
        msg["seq"] = self.seq
        msg["server_ms"] = time.time_ns() // 1_000_000
        text = json.dumps(msg, separators=(",", ":"))
        self.backlog.append((self.seq, text))
        return text

    # -- sending --------------------------------------------------------------------------------
    def mark(self) -> None:
        self.dirty = True
        if not self.clients:
            return
        if self.min_interval <= 0:
            self.flush()
            return
        if self.timer is not None:
            return
        wait = self.last_sent + self.min_interval - time.monotonic()
        if wait <= 0:
            self.flush()
        else:
            self.timer = asyncio.get_running_loop().call_later(wait, self.flush)

    def flush(self) -> None:
        self.timer = None
        if not self.dirty:
            return
        self.dirty = False
        self.last_sent = time.monotonic()
        text = self.build_delta()
        if text is None:
            return
        for c in tuple(self.clients):
            c.offer(text)

    def since(self, seq: int) -> list[str] | None:
        """Messages after `seq`, or None when they are no longer kept (the client needs a snapshot)."""
        if seq == self.seq:
            return []
        if not self.backlog or seq < self.backlog[0][0] - 1 or seq > self.seq:
            return None
        return [text for s, text in self.backlog if s > seq]


class SessionHub:
    """The two streams of one session, fed by the session's listeners."""

    def __init__(self, session: LiveSession) -> None:
        self.session = session
        self.live = Stream(self, "live", 0.0)
        self.spectator = Stream(self, "spectator", 0.1)
        session.listeners.append(self.on_change)

    def on_change(self, deltas: list[tuple], line: dict[str, Any] | None) -> None:
        if line is not None and line.get("type") in ("passing", "manual_passing") and self.session.feed:
            self.live.passings.append(self.session.feed[-1])
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop (e.g. start-up replay): nothing to push
        self.live.mark()
        if deltas:
            self.spectator.mark()

    def stream(self, name: str) -> Stream:
        return self.live if name == "live" else self.spectator

    async def serve(self, stream: Stream, send, receive, since: int | None) -> None:
        """Run one client: initial snapshot or resume, then forward queued messages."""
        client = Client(send)
        if stream.dirty:
            stream.flush()  # changes made while nobody listened become one delta in the backlog
        if since is not None and (missed := stream.since(since)) is not None:
            for text in missed:
                await send(text)
        else:
            await send(stream.snapshot())
        stream.clients.add(client)
        reader = asyncio.create_task(self._read(stream, client, receive))
        try:
            while True:
                if client.needs_snapshot and client.queue.empty():
                    client.needs_snapshot = False
                    await send(stream.snapshot())
                    continue
                text = await client.queue.get()
                if text is None:
                    break
                if text:  # "" only wakes the writer for a snapshot
                    await send(text)
        finally:
            stream.clients.discard(client)
            reader.cancel()

    async def _read(self, stream: Stream, client: Client, receive) -> None:
        """Client requests: a fresh snapshot, or a resume from a sequence number."""
        try:
            while True:
                msg = await receive()
                if msg is None:
                    break
                try:
                    req = json.loads(msg)
                except (ValueError, TypeError):
                    continue
                if not isinstance(req, dict):
                    continue
                if req.get("type") == "snapshot":
                    _drain(client.queue)
                    client.needs_snapshot = True
                    client.queue.put_nowait("")  # wake the writer
                elif req.get("type") == "resume" and isinstance(req.get("since"), int):
                    missed = stream.since(req["since"])
                    _drain(client.queue)
                    if missed is None:
                        client.needs_snapshot = True
                        client.queue.put_nowait("")
                    else:
                        for text in missed:
                            client.offer(text)
        except Exception:  # the socket closed under us: the writer notices too
            pass
        finally:
            _drain(client.queue)
            client.queue.put_nowait(None)


def _drain(q: asyncio.Queue) -> None:
    while not q.empty():
        q.get_nowait()
