"""This machine's role in a primary/standby pair, its epoch and its peers (kept in `DATA/node.json`).

Never two primaries: every promotion raises the **epoch** (recorded in `node.json` and in the meta
of every session the new primary took over, `epochs`), and whenever two primaries meet the one
with the older epoch (then the smaller node id) steps down: it stops its decoder links, refuses
writes, and follows the newer one as a standby. They meet through the peers each machine keeps:
a primary learns its standby's address when the standby connects, a promoted standby keeps the
old primary's; each primary asks its peers every few seconds (and once before it opens its
decoders at start-up) and tells an older primary to step down (`POST /api/standby/fence`).

A standby stays a standby across restarts (whatever the command line): only a person promotes it
(`POST /api/promote`); a cut between the two machines never does.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import secrets
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from service.errors import Conflict
from service.jsonfile import write_json
from service.standby.client import call, normal_url
from service.standby.follower import Follower
from service.standby.listen import Listening, commit_leftovers

if TYPE_CHECKING:
    from service.sessions.live import LiveSession
    from service.sessions.manager import Manager

log = logging.getLogger("boucle.standby")

PRIMARY, STANDBY = "primary", "standby"
NODE_FILE = "node.json"
PEER_EVERY_S = 2.0  # how often a primary asks its peers for their epoch
STARTUP_ASK_S = 2.0  # how long a primary waits for its peers' answers before opening its decoders


def session_epoch(session: LiveSession) -> int:
    """The newest epoch recorded in a session's meta (1 when no promotion ever happened)."""
    epochs = session.meta.get("epochs")
    return (
        max([1, *(int(e.get("epoch") or 1) for e in epochs if isinstance(e, dict))])
        if isinstance(epochs, list)
        else 1
    )


class Node:
    """Role, epoch and peers of this machine; the transitions between roles (start, step down)."""

    def __init__(
        self, mgr: Manager, token: str, standby_of: str | None = None, advertise: str | None = None
    ) -> None:
        self.mgr = mgr
        self.token = token
        self.path = Path(mgr.data_dir) / NODE_FILE
        state = self._load()
        self.node_id: str = str(state.get("node") or secrets.token_hex(4))
        self.role: str = state.get("role") if state.get("role") in (PRIMARY, STANDBY) else PRIMARY
        self.epoch: int = max(
            [int(state.get("epoch") or 1), *(session_epoch(s) for s in mgr.sessions.values())]
        )
        self.primary: str | None = state.get("primary")  # the primary a standby follows
        self.peers: list[str] = [p for p in state.get("peers") or [] if isinstance(p, str)]
        self.stepped_down: dict[str, Any] | None = state.get(
            "stepped_down"
        )  # a primary until a newer one came
        self.skew_us: int = int(state.get("skew_us") or 0)  # the primary's clock minus this machine's
        self.advertise = advertise  # how the other machine reaches this one ("http://*:PORT": as it sees us)
        if standby_of:
            self.role, self.primary = STANDBY, normal_url(standby_of)
        self.follower: Follower | None = None
        self.listening: Listening | None = None
        self.followers: dict[str, dict[str, Any]] = {}  # primary side: who follows, how far behind
        self.lock = asyncio.Lock()  # one promotion or step-down at a time
        self.on_primary: list[Callable[[], Any]] = []  # told when this machine becomes the primary
        self.on_standby: list[Callable[[], Any]] = []  # ...and when it steps down
        self._watch: asyncio.Task | None = None
        self.save()

    def _load(self) -> dict[str, Any]:
        try:
            state = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError:
            log.error("%s is damaged: starting from a new node state", self.path)
            return {}
        return state if isinstance(state, dict) else {}

    def save(self) -> None:
        write_json(
            self.path,
            {
                "node": self.node_id,
                "role": self.role,
                "epoch": self.epoch,
                "primary": self.primary,
                "peers": self.peers,
                "stepped_down": self.stepped_down,
                "skew_us": self.skew_us,
            },
            private=True,
        )

    # -- the write fence ------------------------------------------------------------------------------
    @property
    def writable(self) -> bool:
        return self.role == PRIMARY

    def refusal(self) -> Conflict:
        """Why this machine takes no write: a standby, or a primary that a newer one replaced."""
        if self.stepped_down:
            return Conflict("standby.stepped_down", epoch=self.epoch, primary=self.primary or "?")
        return Conflict("standby.read_only", primary=self.primary or "?")

    def guard(self) -> None:
        """`LiveSession.guard`: every write of a session asks first (the fence below the HTTP one)."""
        if self.role != PRIMARY:
            raise self.refusal()

    def protect(self, session: LiveSession) -> None:
        session.guard = self.guard

    def newer_than_me(self, epoch: int, node: str) -> bool:
        return (int(epoch), str(node)) > (self.epoch, self.node_id)

    def add_peer(self, url: str | None) -> None:
        if url and url not in self.peers:
            self.peers = [*self.peers[-7:], url]
            self.save()

    # -- life cycle -----------------------------------------------------------------------------------
    async def start(self) -> bool:
        """At start-up, before any decoder is opened: True when this machine is the primary.

        A primary first asks its peers whether a newer primary took over meanwhile (it then steps
        down); a standby starts following and listening to the decoders."""

        for s in self.mgr.sessions.values():
            self.protect(s)
        if self.role == PRIMARY and self.peers:
            await self._ask_peers(STARTUP_ASK_S)
        if self.role == STANDBY:
            if self.follower is None:  # (stepping down before a peer's newer epoch started it already)
                self._follow()
        else:
            for s in self.mgr.sessions.values():  # a promotion cut short by a crash: its held reads
                commit_leftovers(s)
        self._watch = asyncio.create_task(self._watch_peers(), name="standby peers")
        return self.role == PRIMARY

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await self.stop_following()

    def _follow(self) -> None:
        assert self.primary is not None
        self.listening = Listening(self)
        for s in self.mgr.sessions.values():
            self.listening.sync(s)
        self.follower = Follower(self, self.primary)
        self.follower.start()

    async def stop_following(self) -> None:
        if self.follower is not None:
            await self.follower.stop()
            self.follower = None
        if self.listening is not None:
            await self.listening.stop_all()
            self.listening = None

    def step_down(self, epoch: int, node: str, primary: str) -> bool:
        """A newer primary exists: stop writing (decoder links first), follow it.
        False when it is not newer."""
        if self.role == PRIMARY and not self.newer_than_me(epoch, node):
            return False
        if self.role == STANDBY and epoch <= self.epoch:
            return False
        was, primary = self.role, normal_url(primary)
        for s in self.mgr.sessions.values():
            if was == PRIMARY:  # synchronous: no read can reach a session after this
                for link in s.decoders:
                    if link.source is not None:
                        link.source.stop()
                    if link.task is not None:
                        link.task.cancel()
                s.decoders = []
            self.protect(s)
        self.role, self.epoch, self.primary = STANDBY, int(epoch), primary
        if was == PRIMARY:
            self.stepped_down = {"epoch": int(epoch), "node": node, "at_ms": time.time_ns() // 1_000_000}
        self.save()
        log.warning(
            "a newer primary (epoch %d, %s) took over: this machine refuses writes and follows it",
            epoch,
            primary,
        )
        if was == PRIMARY:
            self.notify(self.on_standby)
            self._follow()
        elif self.follower is not None and self.follower.url != self.primary:
            asyncio.get_running_loop().create_task(self._refollow())
        return True

    async def _refollow(self) -> None:
        await self.stop_following()
        self._follow()

    @staticmethod
    def notify(hooks: list[Callable[[], Any]]) -> None:
        """Call each hook (one that returns a coroutine runs as a task)."""
        for hook in hooks:
            got = hook()
            if inspect.isawaitable(got):
                asyncio.ensure_future(got)

    # -- peers ----------------------------------------------------------------------------------------
    async def _ask_peers(self, timeout: float) -> None:
        """Ask every peer for its role and epoch: step down before a newer primary, fence an older one."""
        answers = await asyncio.gather(*(call(f"{p}/api/standby", timeout=timeout) for p in self.peers))
        for peer, got in zip(list(self.peers), answers, strict=True):
            if got is None or got[0] != 200 or not isinstance(got[1], dict) or self.role != PRIMARY:
                continue
            info = got[1]
            if info.get("role") != PRIMARY or info.get("node") == self.node_id:
                continue
            if self.newer_than_me(int(info.get("epoch") or 0), str(info.get("node"))):
                self.step_down(int(info["epoch"]), str(info["node"]), peer)
            else:
                await self.fence(peer)

    async def fence(self, peer: str) -> bool:
        """Tell an older primary to step down (it answers its final heads); False when it cannot be told."""
        got = await call(
            f"{peer}/api/standby/fence",
            "POST",
            {"epoch": self.epoch, "node": self.node_id, "primary": self.my_url(peer)},
            self.token,
        )
        if got is not None and got[0] == 200:
            log.warning("the older primary at %s stepped down", peer)
            return True
        return False

    async def _watch_peers(self) -> None:
        while True:
            await asyncio.sleep(PEER_EVERY_S)
            if self.role == PRIMARY and self.peers:
                try:
                    await self._ask_peers(PEER_EVERY_S)
                except Exception:  # noqa: BLE001 - the watch must outlive any answer
                    log.exception("asking the peers failed")

    def my_url(self, peer: str | None = None) -> str:
        """This machine's address as `peer` reaches it
        (a wildcard host: its local address toward the peer)."""
        adv = self.advertise or ""
        if "*" in adv and peer:
            u = urlsplit(peer)
            with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sk:
                sk.connect((u.hostname or "127.0.0.1", u.port or 80))
                return adv.replace("*", sk.getsockname()[0])
        return adv

    # -- what the pages show --------------------------------------------------------------------------
    def status(self, full: bool = True) -> dict[str, Any]:
        """What the pages show. `full` (the admin): also the machines' addresses and link errors."""
        out: dict[str, Any] = {
            "role": self.role,
            "epoch": self.epoch,
            "node": self.node_id,
            "stepped_down": self.stepped_down,
            "writable": self.writable,
        }
        if self.role == STANDBY:
            out["primary"] = self.primary
            out["follow"] = self.follower.status() if self.follower is not None else None
            out["held"] = self.listening.held_summary() if self.listening is not None else {"reads": 0}
        else:
            out["followers"] = [self._follower_view(f) for f in self.followers.values()]
        if not full:
            out.pop("primary", None)
            for f in [out.get("follow"), *out.get("followers", [])]:
                for key in ("url", "error", "node"):
                    if f:
                        f.pop(key, None)
            if out.get("held"):
                out["held"] = {"reads": out["held"]["reads"]}
            if out.get("stepped_down"):
                out["stepped_down"] = {"epoch": out["stepped_down"]["epoch"]}
        return out

    def _follower_view(self, f: dict[str, Any]) -> dict[str, Any]:
        """A follower as the primary sees it; one cut off is as far behind as this log has grown since."""
        now = time.time()
        out = {k: v for k, v in f.items() if k != "heads"}
        out["seconds_since"] = round(now - f["last_s"], 1)
        if not f["connected"] and f.get("heads") is not None:
            acked = f["heads"]
            out["lines_behind"] = sum(
                max(
                    0,
                    int(s.store.db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])
                    - acked.get(sid, 0),
                )
                for sid, s in self.mgr.sessions.items()
            )
            out["seconds_behind"] = out["seconds_since"]
        return out
