"""WebSocket fan-out: a snapshot, then sequenced deltas found by diffing classifications.

Deltas are lean: a changed row is sent as a patch (`number`, its row version `v`, and only the
fields that changed); a row new to the stream is sent whole with `v` 1. Streams carry absolute
times, never ones that move with the engine clock (`stint_s`, `*_in_s`, countdown texts: see
`lean_row`), so a lap changes a handful of fields. A client whose copy of a row is not at `v - 1`
missed a change and asks for a snapshot (web/js/store.js).

Two streams per session. `live` (race control, timing crew) gets a message for every change at
once, with the raw reads. `spectator` is coalesced: at most one message per 100 ms, sent on the
leading edge when the stream was idle. Each message is encoded once (service/fanout.py: JSON,
compression and framing) and written to every client's socket synchronously, with no task and no
await per client; a client that falls too far behind is cut back to a fresh snapshot instead of
slowing the others; one that does not catch up within STALL_S (it stopped reading) is dropped,
and what it held is freed (its kernel buffer is small: service/connections.py). Sockets we can't
write frames to directly get a queue and a writer task, dropped the same way.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from typing import Any

from service.engine.events import READ_TYPES
from service.fanout import Message, RawSocket
from service.sessions.live import Applied, LiveSession

log = logging.getLogger(__name__)

BACKLOG = 2000  # messages kept per stream for resuming clients
CLIENT_QUEUE = 256  # messages queued for one slow (queued) client before it is resynchronised
RAW_HIGH = 1 << 20  # bytes unsent to one socket before it is resynchronised
RAW_LOW = 256 << 10  # ... and below which it gets its snapshot
CATCH_UP_POLL = 0.02  # seconds between checks of a lagging socket
STALL_S = 10.0  # a client still behind after this long has stopped reading: dropped
SNAPSHOT_TTL = 1.0  # a cached snapshot at an unchanged seq is rebuilt after this many seconds


def _lean_status(st: Any) -> Any:
    """A rule status without what moves with the engine clock (the page counts down itself)."""
    if not isinstance(st, dict):
        return st
    out = {k: v for k, v in st.items() if not _relative(k)}
    if "text_until" in out:
        out.pop("text", None)
        out.pop("text_said", None)  # the page says it from `text_until_said` and its own clock
    windows = out.get("windows")
    if windows:
        out["windows"] = [{k: v for k, v in w.items() if not _relative(k)} for w in windows]
    return out


def _relative(key: str) -> bool:
    return key == "stint_s" or key.endswith(_RELATIVE)


_RELATIVE = ("_in_s", "_left_s")


def lean_row(row: dict[str, Any]) -> dict[str, Any]:
    """A classification row as the streams carry it: absolute times only (`stint_start_s`,
    `until_s`), so it changes only when something happens to that car.
    """
    out = {k: v for k, v in row.items() if k != "stint_s"}
    rules = out.get("rules")
    if rules:
        out["rules"] = {k: _lean_status(v) for k, v in rules.items()}
    return out


def typed_note(engine: Any, source: str | None) -> str | None:
    """The note race control typed on the penalty line `source` (not a rule's own words), if any."""
    c = engine.corrections.get(source) if source else None
    return c["line"].get("note") if c and isinstance(c.get("line"), dict) else None


def public_penalty(d: dict[str, Any], typed: str | None = None) -> dict[str, Any]:
    """A penalty as spectators may read it: race control's notes (on the penalty and on its last
    decision) are for staff only, and so is an evidence that is only the note race control typed
    (`typed`, see `typed_note`); a rule's own evidence stays."""
    out = {k: v for k, v in d.items() if k != "note"}
    if typed and out.get("evidence") == typed:
        out["evidence"] = ""
    if isinstance(out.get("decision"), dict):
        out["decision"] = {k: v for k, v in out["decision"].items() if k != "note"}
    return out


def row_patch(old: dict[str, Any], new: dict[str, Any], version: int) -> dict[str, Any]:
    """The fields of `new` that differ from `old` (a key gone from `new` is sent as null)."""
    patch: dict[str, Any] = {"number": new["number"], "v": version}
    for k, v in new.items():
        if k not in old or old[k] != v:
            patch[k] = v
    for k in old:
        if k not in new:
            patch[k] = None
    return patch


class Client:
    """One WebSocket. `raw`: frames written straight to its socket; else `send` from a writer task."""

    def __init__(self, stream: Stream, send, raw: RawSocket | None = None) -> None:
        self.stream = stream
        self.send = send  # async callable(str)
        self.raw = raw
        self.queue: asyncio.Queue[Message | None] | None = (
            None if raw else asyncio.Queue(maxsize=CLIENT_QUEUE)
        )
        self.needs_snapshot = False
        self.timer: asyncio.TimerHandle | None = None
        self.behind_since = 0.0  # when it fell behind (needs_snapshot set)
        self.dropped = False

    def offer(self, msg: Message) -> None:
        if self.needs_snapshot:
            return
        raw = self.raw
        if raw is not None:
            if raw.buffered() > RAW_HIGH:
                self._fell_behind()
                self._poll()
            else:
                raw.write(msg)
            return
        assert self.queue is not None
        try:
            self.queue.put_nowait(msg)
        except asyncio.QueueFull:
            self._fell_behind()  # the writer sends a snapshot when it catches up...
            self.timer = asyncio.get_running_loop().call_later(
                STALL_S, self._check_writer
            )  # ...or it is dropped

    def _fell_behind(self) -> None:
        self.needs_snapshot = True
        self.behind_since = time.monotonic()

    def drop(self) -> None:
        """It stopped reading: close it and let go of what it holds (the serve loop ends)."""
        self.dropped = True
        self.close()
        if self.raw is not None:
            self.raw.transport.abort()  # frees the unsent bytes now; the server sees it as closed
        elif self.queue is not None:
            _drain(self.queue)
            self.queue.put_nowait(None)
        log.info("%s stream: a client that stopped reading was dropped", self.stream.name)

    def _check_writer(self) -> None:
        self.timer = None
        if self.needs_snapshot:  # the writer never caught up: its client does not read
            self.drop()

    # raw sockets: wait for the kernel to take the backlog, then send a fresh snapshot
    def _poll(self) -> None:
        if self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(CATCH_UP_POLL, self._catch_up)

    def _catch_up(self) -> None:
        self.timer = None
        raw = self.raw
        if raw is None or raw.closing() or not self.needs_snapshot:
            return
        if raw.buffered() > RAW_LOW:
            if time.monotonic() - self.behind_since > STALL_S:
                self.drop()
            else:
                self._poll()
            return
        self.needs_snapshot = False
        raw.write(self.stream.snapshot_message())

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class Stream:
    """One ordered stream of messages (its own `seq`) for a set of clients."""

    def __init__(self, hub: SessionHub, name: str, min_interval: float) -> None:
        self.hub = hub
        self.name = name
        self.min_interval = min_interval
        self.seq = 0
        self.backlog: deque[tuple[int, Message]] = deque(maxlen=BACKLOG)
        self.clients: set[Client] = set()
        self.rows: dict[str, dict[str, Any]] = {}  # what clients of this stream last saw
        self.versions: dict[str, int] = {}  # row version: +1 per change sent for that row
        self.penalties: dict[str, dict[str, Any]] = {}
        self.header_key: tuple = ()
        self.passings: list[dict[str, Any]] = []
        self.dirty = False
        self.last_sent = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self._snapshot: Message | None = None
        self._snapshot_seq = -1

    # -- building messages ---------------------------------------------------------------------
    def settle(self) -> None:
        """Changes made while nobody listened become one delta in the backlog (nobody misses it)."""
        if self.dirty and not self.clients:
            self.flush()

    def snapshot_message(self) -> Message:
        """A full picture at the stream's current `seq`; later deltas are relative to it.

        It is what this stream's clients last saw (a pending coalesced delta follows it), encoded
        once per `seq` for every client that asks.
        """
        self.settle()
        if not self.rows and self.seq == 0:
            self.dirty = False
            self.build_delta()  # the first baseline
        snap = self._snapshot
        if (
            snap is not None
            and self._snapshot_seq == self.seq
            and time.monotonic() - snap.created < SNAPSHOT_TTL
        ):
            return snap
        s = self.hub.session
        msg = {
            "type": "snapshot",
            "seq": self.seq,
            "stream": self.name,
            "session": s.header(),
            "rows": [{**r, "v": self.versions[n]} for n, r in self.rows.items()],
            "penalties": list(self.penalties.values()),
        }
        if self.name == "live":
            msg["passings"] = list(s.feed)[-50:]
            msg["decoders"] = [d.describe() for d in s.decoders]
        self._snapshot = Message(json.dumps(msg, separators=(",", ":")))
        self._snapshot_seq = self.seq
        return self._snapshot

    def snapshot(self) -> str:
        return self.snapshot_message().text

    def _header_key(self, header: dict[str, Any]) -> tuple:
        c = header["clock"]
        return (
            header["flag"],
            header["closed"],
            c["green_s"],
            c["leader_laps"],
            header["preset"],
            header["kind"],
        )

    def build_delta(self) -> Message | None:
        s = self.hub.session
        rows = self.hub.lean_rows()
        old = self.rows
        versions = self.versions
        changed = []
        for r in rows:
            n = r["number"]
            prev = old.get(n)
            if prev is None:
                versions[n] = 1
                changed.append({**r, "v": 1})
            elif prev != r:
                versions[n] += 1
                changed.append(row_patch(prev, r, versions[n]))
        self.rows = {r["number"]: r for r in rows}
        removed = [n for n in old if n not in self.rows]
        for n in removed:
            del versions[n]
        pens = self.hub.penalties(public=self.name != "live")
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
        m = Message(json.dumps(msg, separators=(",", ":")))
        self.backlog.append((self.seq, m))
        return m

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
        m = self.build_delta()
        if m is None:
            return
        for c in tuple(self.clients):
            c.offer(m)

    def since(self, seq: int) -> list[Message] | None:
        """Messages after `seq`, or None when they are no longer kept (the client needs a snapshot)."""
        if seq == self.seq:
            return []
        if not self.backlog or seq < self.backlog[0][0] - 1 or seq > self.seq:
            return None
        return [m for s, m in self.backlog if s > seq]


class SessionHub:
    """The two streams of one session, fed by the session's listeners."""

    def __init__(self, session: LiveSession) -> None:
        self.session = session
        self.live = Stream(self, "live", 0.0)
        self.spectator = Stream(self, "spectator", 0.1)
        self.version = 0  # engine changes seen; the classification is computed once per change
        self.penalty_version = 0  # lines whose outcome touched a penalty
        self._rows: tuple[int, list[dict[str, Any]]] | None = None
        self._lean: tuple[int, list[dict[str, Any]]] | None = None
        self._pens: tuple[int, dict[str, dict[str, Any]], dict[str, dict[str, Any]]] | None = None
        session.listeners.append(self.on_change)

    def rows(self) -> list[dict[str, Any]]:
        if self._rows is None or self._rows[0] != self.version:
            self._rows = (self.version, self.session.rows())
        return self._rows[1]

    def lean_rows(self) -> list[dict[str, Any]]:
        """The rows as the streams carry them (`lean_row`), computed once per engine change."""
        if self._lean is None or self._lean[0] != self.version:
            self._lean = (self.version, [lean_row(r) for r in self.rows()])
        return self._lean[1]

    def penalties(self, public: bool = False) -> dict[str, dict[str, Any]]:
        """Penalties as streams carry them (`public`: without race control's notes, for spectators),
        recomputed only after a line that touched one."""
        if self._pens is None or self._pens[0] != self.penalty_version:
            engine = self.session.engine
            pens = engine.penalties.all()
            staff = {p.id: {**p.as_dict(), **p.said()} for p in pens}
            shown = {p.id: public_penalty(staff[p.id], typed_note(engine, p.source)) for p in pens}
            self._pens = (self.penalty_version, staff, shown)
        return self._pens[2] if public else self._pens[1]

    def on_change(self, applied: list[Applied]) -> None:
        """A session listener: committed lines and their engine outcomes."""
        self.version += 1
        if any(o.penalties or o.rebuilt for _, o in applied):
            self.penalty_version += 1
        if len(applied) == 1 and applied[0][0]["type"] in READ_TYPES and self.session.feed:
            self.live.passings.append(self.session.feed[-1])
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop (e.g. start-up replay): nothing to push
        self.live.mark()
        if any(o.changed for _, o in applied):
            self.spectator.mark()

    def stream(self, name: str) -> Stream:
        return self.live if name == "live" else self.spectator

    async def serve(
        self, stream: Stream, send, receive, since: int | None, raw: RawSocket | None = None
    ) -> None:
        """Run one client: initial snapshot or resume, then forward messages until it leaves.

        With `raw`, every data frame of this client is written by the hub straight to its socket
        (the server's own `send` is never used for data); `send` is the fallback otherwise.
        """
        client = Client(stream, send, raw)
        stream.settle()
        missed = stream.since(since) if since is not None else None
        first = missed if missed is not None else [stream.snapshot_message()]
        if raw is not None:
            for m in first:  # no await between this and joining: nothing can slip in between
                raw.write(m)
            stream.clients.add(client)
            try:
                await self._read(stream, client, receive)
            finally:
                stream.clients.discard(client)
                client.close()
            return
        assert client.queue is not None
        for m in first:
            await send(m.text)
        stream.clients.add(client)
        reader = asyncio.create_task(self._read(stream, client, receive))
        try:
            while True:
                if client.needs_snapshot and client.queue.empty() and not client.dropped:
                    client.needs_snapshot = False
                    client.close()  # caught up: no drop pending
                    await send(stream.snapshot())
                    continue
                m = await client.queue.get()
                if m is None:
                    break
                if m.text:  # "" only wakes the writer for a snapshot
                    await send(m.text)
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
                    self._resync(stream, client, None)
                elif req.get("type") == "resume" and isinstance(req.get("since"), int):
                    self._resync(stream, client, stream.since(req["since"]))
        except Exception:  # the socket closed under us: the writer notices too
            pass
        finally:
            if client.queue is not None:
                _drain(client.queue)
                client.queue.put_nowait(None)

    @staticmethod
    def _resync(stream: Stream, client: Client, missed: list[Message] | None) -> None:
        """Answer a request: the missed messages, or a snapshot when `missed` is None."""
        if client.raw is not None:
            client.needs_snapshot = False  # whatever was pending, this answer brings it up to date
            for m in missed if missed is not None else [stream.snapshot_message()]:
                client.raw.write(m)
            return
        assert client.queue is not None
        _drain(client.queue)
        if missed is None:
            client.needs_snapshot = True
            client.queue.put_nowait(_WAKE)
        else:
            for m in missed:
                client.offer(m)


_WAKE = Message("")  # wakes a queued writer so it sends a snapshot


def _drain(q: asyncio.Queue) -> None:
    while not q.empty():
        q.get_nowait()
