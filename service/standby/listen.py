"""The standby's listen-only decoder links, and the raw reads they hold without committing them.

A standby opens the decoder links each copied session stores, listen-only: a P3 decoder serves
several TCP clients at once, so the standby reads the same pushed passings and asks nothing
(`resend=0&get_time=0`: no RESEND, no probe, no clock question); an MQTT link subscribes without
the primary's `client_id` (the broker's persistent session is the primary's). Serial lines and the
Protime, Race Result and Wiclax links serve one client or acknowledge what they send: the standby
leaves them alone, and at promotion they recover by their own means (docs/decoders.md).

A read heard here that the copied log does not have is **held**: in memory and in the session's
SQLite file (table `held`, never the log). It is dropped when its line comes from the primary (or
the primary kept it aside). At promotion (promote.py) the held reads go through the session's
intake like any read from a decoder's memory: timed by the copied clock maps, dropped when the log
already has that decoder, epoch and passing number, kept aside when the session is finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from decoders import Passing
from decoders.sources import open_source
from service.sessions.intake import aside_key
from service.sessions.live import DecoderLink, LiveSession

if TYPE_CHECKING:
    from service.standby.peer import NodeView

log = logging.getLogger("boucle.standby.listen")

HELD_SCHEMA = """CREATE TABLE IF NOT EXISTS held (
    read_key TEXT PRIMARY KEY, link TEXT NOT NULL, read TEXT NOT NULL, received_at REAL NOT NULL)"""
UNNUMBERED_KEEP_S = 120.0  # an unnumbered read cannot be matched to its line: held that long while following


def listen_url(url: str) -> str | None:
    """The listen-only form of a decoder URL, or None for a link only one computer may hold."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    if parts.scheme == "p3tcp":
        query = [(k, v) for k, v in query if k not in ("resend", "probe", "get_time")]
        query += [("resend", "0"), ("get_time", "0")]
    elif parts.scheme == "mqtt":
        query = [(k, v) for k, v in query if k != "client_id"]
    else:
        return None
    return urlunsplit(parts._replace(query=urlencode(query)))


def held_key(p: Passing) -> str:
    key = aside_key(p.decoder_id, p.epoch, p.passing_number)
    return key if key is not None else f"u|{p.decoder_id}|{p.transponder}|{p.rtc_time_us}"


def read_of(p: Passing) -> dict[str, Any]:
    return {
        "decoder": p.decoder_id,
        "transponder": p.transponder,
        "rtc_time_us": p.rtc_time_us,
        "passing_number": p.passing_number,
        "epoch": p.epoch,
        "strength": p.strength,
        "hits": p.hits,
        "loop": p.loop,
    }


def passing_of(read: dict[str, Any], link: str) -> Passing:
    """A held read as a read from the decoder's memory (`live=False`: its arrival time says nothing now)."""
    return Passing(
        decoder_id=str(read["decoder"]),
        transponder=str(read["transponder"]),
        rtc_time_us=int(read["rtc_time_us"]),
        passing_number=read.get("passing_number"),
        strength=read.get("strength"),
        hits=read.get("hits"),
        loop=read.get("loop"),
        source=link,
        live=False,
        epoch=int(read.get("epoch") or 1),
    )


def held_rows(session: LiveSession) -> list[tuple[str, str, dict[str, Any]]]:
    """(key, link URL, read) of every read held in a session's file, oldest decoder time first."""
    session.store.db.execute(HELD_SCHEMA)
    rows = session.store.db.execute("SELECT read_key, link, read FROM held").fetchall()
    out = [(key, link, json.loads(read)) for key, link, read in rows]
    return sorted(out, key=lambda r: (r[2]["decoder"], r[2].get("epoch") or 1, r[2]["rtc_time_us"]))


def forget_held(session: LiveSession, keys: list[str]) -> None:
    with session.store.transaction():
        session.store.db.executemany("DELETE FROM held WHERE read_key = ?", [(k,) for k in keys])


def commit_leftovers(session: LiveSession) -> None:
    """A primary that still holds reads (a promotion cut short by a crash) commits them now."""
    if session.store.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'held'").fetchone() is None:
        return
    if held_rows(session):
        commit_held(session, {link.url: link for link in session.stored_decoders()})


def commit_held(s: LiveSession, links: dict[str, DecoderLink]) -> dict[str, int]:
    """Each held read through the session's intake, as a read from its decoder's memory: dropped
    when the log has its decoder, epoch and number, else timed by the copied clock map and logged
    (or kept aside, or waiting for its clock); returns where they went (promotion, promote.py)."""
    rows = held_rows(s)
    counts = {"held": len(rows), "logged": 0, "already": 0, "aside": 0, "waiting": 0, "unstored": 0}
    if not rows:
        return counts
    unnumbered = {
        (ev.line.decoder, ev.line.transponder, round(ev.t / 1000))
        for ev in s.engine.events
        if ev.type == "passing" and ev.line.passing_id is None
    }
    done: list[str] = []
    (sync,) = s.store.db.execute("PRAGMA synchronous").fetchone()
    s.store.db.execute("PRAGMA synchronous=NORMAL")  # one durable write at the end, not one per read:
    try:  # until then every read is still held on disk, and logging one twice is impossible
        for key, url, read in rows:
            link = links.setdefault(url, DecoderLink(url=url))
            p = passing_of(read, url)
            if p.passing_number is None:
                clock = s.intake.clock(link, p.decoder_id, p.epoch)
                if (
                    clock.ready
                    and (p.decoder_id, p.transponder, round(clock.to_session_us(p.rtc_time_us) / 1000))
                    in unnumbered
                ):
                    counts["already"] += 1
                    done.append(key)
                    continue
            c = link.counts
            before = (c["logged"], c["duplicates"], len(link.waiting))
            if not s.intake.passing(link, p):
                counts["unstored"] += 1
                continue
            done.append(key)
            if c["logged"] > before[0]:
                counts["logged"] += 1
            elif c["duplicates"] > before[1]:
                counts["already"] += 1
            elif len(link.waiting) > before[2]:
                counts["waiting"] += 1
            else:
                counts["aside"] += 1
    finally:
        s.store.db.execute(f"PRAGMA synchronous={int(sync)}")
    forget_held(s, done)  # durable (synchronous again): the logged reads with it
    return counts


class Listening:
    """Every copied session's listen-only links and held reads (see the module doc)."""

    def __init__(self, node: NodeView) -> None:
        self.node = node
        self.links: dict[str, dict[str, DecoderLink]] = {}  # session id -> stored URL -> listening link
        self.held: dict[str, dict[str, float]] = {}  # session id -> held read key -> when heard
        self.unshared: dict[str, list[str]] = {}  # session id -> links only the primary may hold

    def sync(self, s: LiveSession) -> None:
        """Open, update or close this session's listening links to match what it stores."""
        if s.id not in self.held:
            s.store.db.execute(HELD_SCHEMA)
            rows = s.store.db.execute("SELECT read_key, received_at FROM held").fetchall()
            self.held[s.id] = dict(rows)
        wanted = {d.url: d for d in s.stored_decoders()}
        mine = self.links.setdefault(s.id, {})
        for url in [u for u in mine if u not in wanted]:
            self._close(s, mine.pop(url))
        self.unshared[s.id] = [u for u in wanted if listen_url(u) is None]
        for url, stored in wanted.items():
            link = mine.get(url)
            if link is None:
                heard = listen_url(url)
                if heard is None:
                    continue
                link = mine[url] = stored
                try:
                    link.source = open_source(heard)
                except ValueError as exc:
                    link.error = str(exc)
                    continue
                link.source.resume_from(s.intake.logged)  # the decoders' numbering epochs, from the copy
                link.task = asyncio.get_running_loop().create_task(
                    link.source.run(lambda p, s=s, link=link: self.heard(s, link, p)), name=f"listen {url}"
                )
                s.decoders.append(link)
            else:  # the primary's newest loops and clock maps (promotion times held reads with them)
                link.loop, link.loops, link.rtc_zero_us = stored.loop, stored.loops, stored.rtc_zero_us
                link.kept_clocks = stored.kept_clocks

    def heard(self, s: LiveSession, link: DecoderLink, p: Passing) -> bool:
        """A read from a listening link: held unless the copied log (or its kept-aside reads) has it."""
        key = held_key(p)
        held = self.held.setdefault(s.id, {})
        if key in held:
            return True
        if p.passing_number is not None and (
            s.engine.has_read(p.decoder_id, str(p.passing_number), p.epoch) or s.store.aside_has(key)
        ):
            return True
        now = time.time()
        s.store.db.execute(
            "INSERT OR IGNORE INTO held (read_key, link, read, received_at) VALUES (?, ?, ?, ?)",
            (key, link.url, json.dumps(read_of(p)), now),
        )
        held[key] = now
        return True

    def copied(self, s: LiveSession, texts: list[str]) -> None:
        """Lines copied from the primary: the reads they log are no longer held."""
        held = self.held.get(s.id)
        if not held:
            return
        done = []
        for text in texts:
            if '"passing"' not in text or '"passing_id"' not in text:
                continue
            line = json.loads(text)
            key = aside_key(
                str(line.get("decoder") or ""), int(line.get("epoch") or 1), line.get("passing_id")
            )
            if key in held:
                done.append(key)
        follower = self.node.follower
        if follower is not None and follower.connected and follower.lines_behind() == 0:
            old = time.time() - UNNUMBERED_KEEP_S
            done += [k for k, at in held.items() if k.startswith("u|") and at < old]
        self._forget(s, done)

    def copied_aside(self, s: LiveSession, keys: list[str | None]) -> None:
        held = self.held.get(s.id) or {}
        self._forget(s, [k for k in keys if k in held])

    def _forget(self, s: LiveSession, keys: list[str]) -> None:
        if keys:
            forget_held(s, keys)
            for k in keys:
                self.held[s.id].pop(k, None)

    def _close(self, s: LiveSession, link: DecoderLink) -> None:
        if link.source is not None:
            link.source.stop()
        if link.task is not None:
            link.task.cancel()
        if link in s.decoders:
            s.decoders.remove(link)

    def drop(self, s: LiveSession) -> None:
        """Stop listening for this session (promotion, or a copy started again)."""
        for link in self.links.pop(s.id, {}).values():
            self._close(s, link)
        self.held.pop(s.id, None)

    async def stop_all(self) -> None:
        tasks = []
        for sid in list(self.links):
            s = self.node.mgr.sessions.get(sid)
            for link in self.links.pop(sid).values():
                if link.task is not None:
                    tasks.append(link.task)
                if s is not None:
                    self._close(s, link)
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t

    def held_summary(self) -> dict[str, Any]:
        """What the standby holds that the primary has not logged: the crew's view before promoting."""
        now = time.time()
        per = {sid: len(h) for sid, h in self.held.items() if h}
        oldest = min((at for h in self.held.values() for at in h.values()), default=None)
        links = {
            sid: sum(
                1 for ln in links.values() if ln.source is not None and ln.source.status.state == "connected"
            )
            for sid, links in self.links.items()
        }
        return {
            "reads": sum(per.values()),
            "sessions": per,
            "oldest_s": None if oldest is None else round(now - oldest, 1),
            "links_connected": links,
            "unshared": {sid: u for sid, u in self.unshared.items() if u},
        }
