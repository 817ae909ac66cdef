"""Spectator streams published to an MQTT broker, for audiences one process cannot serve.

`boucle serve --publish mqtt://HOST[:PORT]/PREFIX` taps every session's spectator stream (the hub
sees the publisher as one more client) and publishes, with the exact JSON of the WebSocket:

    PREFIX/sessions                  retained: the session index
    PREFIX/sessions/<id>/snapshot    retained: the latest snapshot, with its `seq`
    PREFIX/sessions/<id>/delta       every delta, consecutive `seq`

The snapshot is republished at most every SNAPSHOT_EVERY seconds while the stream moves, so a
late subscriber (or one that saw a gap) waits at most that long for a picture to resume from.
The broker (mosquitto with a websockets listener, or an EMQX/VerneMQ cluster) does the fan-out;
browsers read it directly (web/js/mqtt-feed.js). A lost broker is retried with backoff; on
reconnect the index and every snapshot are republished, so nothing stays stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from service.fanout import Message

if TYPE_CHECKING:
    import aiomqtt

log = logging.getLogger(__name__)

SNAPSHOT_EVERY = 2.0  # seconds between retained snapshot refreshes of a moving stream
QUEUE_MAX = 10_000  # deltas waiting for the broker before a session is cut back to a snapshot
RETRY_S = (0.5, 1.0, 2.0, 5.0)


@dataclass(frozen=True)
class BrokerTarget:
    host: str
    port: int
    prefix: str

    def topic(self, *parts: str) -> str:
        return "/".join((self.prefix, *parts)) if self.prefix else "/".join(parts)


def parse_publish_url(url: str) -> BrokerTarget:
    """`mqtt://HOST[:PORT]/PREFIX` -> BrokerTarget; ValueError with a readable reason otherwise."""
    u = urlsplit(url)
    if u.scheme != "mqtt" or not u.hostname:
        raise ValueError(f"--publish wants mqtt://HOST[:PORT]/PREFIX, not {url!r}")
    prefix = u.path.strip("/")
    if any(c in url.split("//", 1)[-1] for c in "#+?"):
        raise ValueError(f"MQTT prefix {prefix!r} must not hold wildcards (# or +)")
    return BrokerTarget(u.hostname, u.port or 1883, prefix)


class _Tap:
    """Stands among a spectator stream's clients: each delta it is offered goes to the publisher."""

    def __init__(self, publisher: BrokerPublisher, sid: str) -> None:
        self.publisher, self.sid = publisher, sid

    def offer(self, msg: Message) -> None:
        self.publisher.enqueue(self.sid, msg)

    def close(self) -> None:
        pass


class BrokerPublisher:
    """Publishes the spectator stream of every session of `manager` (service/app.py Manager)."""

    def __init__(self, manager: Any, target: BrokerTarget, ws_url: str | None = None) -> None:
        self.manager = manager
        self.target = target
        self.ws_url = ws_url  # where browsers reach the broker's WebSocket listener (/api/config)
        self.queue: asyncio.Queue[tuple[str, Message]] = asyncio.Queue()
        self.taps: dict[str, _Tap] = {}
        self.snap_seq: dict[str, int] = {}  # seq of the last snapshot published per session
        self.resnap: set[str] = set()  # sessions whose deltas overflowed: next thing is a snapshot
        self.index_key: Any = None
        self._task: asyncio.Task | None = None

    # -- the hub side (synchronous, on the event loop) --------------------------------------------
    def attach_new(self) -> bool:
        """Tap the spectator stream of sessions created since the last call; True if any."""
        new = False
        for sid, hub in list(self.manager.hubs.items()):
            if sid not in self.taps:
                tap = _Tap(self, sid)
                self.taps[sid] = tap
                hub.spectator.clients.add(tap)
                new = True
        return new

    def enqueue(self, sid: str, msg: Message) -> None:
        if sid in self.resnap:
            return
        if self.queue.qsize() >= QUEUE_MAX:
            self.resnap.add(sid)  # the broker is away or slow: resume this session from a snapshot
            return
        self.queue.put_nowait((sid, msg))

    def index(self) -> dict[str, Any]:
        sessions = []
        for sid in sorted(self.taps):
            s = self.manager.sessions.get(sid)
            if s is None:
                continue
            e = s.engine
            sessions.append({
                "id": sid, "name": s.name, "preset": e.params.get("preset"), "kind": e.kind,
                "flag": e.flag_state if e.flag_us is None else "chequered", "closed": e.closed,
                "snapshot": self.target.topic("sessions", sid, "snapshot"),
                "delta": self.target.topic("sessions", sid, "delta"),
            })  # fmt: skip
        return {"sessions": sessions}

    # -- the broker side ----------------------------------------------------------------------------
    def start(self) -> None:
        self.attach_new()
        self._task = asyncio.create_task(self.run(), name="mqtt publisher")

    async def stop(self) -> None:
        for sid, tap in self.taps.items():
            hub = self.manager.hubs.get(sid)
            if hub is not None:
                hub.spectator.clients.discard(tap)
        self.taps.clear()  # started again (a machine promoted back), every session is tapped anew
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def run(self) -> None:
        import aiomqtt  # only a service that publishes loads the MQTT client

        attempt = 0
        t = self.target
        while True:
            try:
                async with aiomqtt.Client(t.host, t.port, identifier=None, keepalive=30) as client:
                    attempt = 0
                    self.snap_seq.clear()
                    self.index_key = None
                    log.info("publishing spectator streams to mqtt://%s:%d/%s", t.host, t.port, t.prefix)
                    await self._publish_loop(client)
            except aiomqtt.MqttError as exc:
                delay = RETRY_S[min(attempt, len(RETRY_S) - 1)]
                attempt += 1
                log.warning("mqtt publisher: %s; retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)

    async def _publish_loop(self, client: aiomqtt.Client) -> None:
        await self._refresh(client)
        loop = asyncio.get_running_loop()
        next_refresh = loop.time() + SNAPSHOT_EVERY
        while True:
            wait = max(0.0, next_refresh - loop.time())
            try:
                sid, msg = await asyncio.wait_for(self.queue.get(), wait)
            except TimeoutError:
                await self._refresh(client)
                next_refresh = loop.time() + SNAPSHOT_EVERY
                continue
            if sid not in self.snap_seq:
                continue  # its snapshot is published at the next refresh and includes this
            await client.publish(self.target.topic("sessions", sid, "delta"), msg.text.encode(), qos=1)

    async def _refresh(self, client: aiomqtt.Client) -> None:
        """New sessions tapped, the index and every moved (or never published) snapshot retained."""
        self.attach_new()
        idx = self.index()
        key = json.dumps(idx, sort_keys=True)
        if key != self.index_key:
            await client.publish(self.target.topic("sessions"), key.encode(), qos=1, retain=True)
            self.index_key = key
        for sid in list(self.taps):
            hub = self.manager.hubs.get(sid)
            if hub is None:
                continue
            stream = hub.spectator
            if self.snap_seq.get(sid) == stream.seq and sid not in self.resnap:
                continue
            self.resnap.discard(sid)
            snap = stream.snapshot_message()
            await client.publish(self.target.topic("sessions", sid, "snapshot"), snap.text.encode(),
                                 qos=1, retain=True)  # fmt: skip
            self.snap_seq[sid] = stream.seq
