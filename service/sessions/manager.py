"""Every session of this service: loaded from the data folder at start, created, found, and the
decoder links each one owns (opened, reopened after a restart, stopped).

A session log that cannot be opened is listed in `broken` with why; the others load (a restart
must never lose the sessions that are fine). A damaged log loads what can be read (store.open_log)
and its session reports what is missing. `get` refuses with a domain error (`NotFound`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from decoders.reach import DecoderReach, mask_url
from service.errors import NotFound
from service.hub import SessionHub
from service.i18n import is_coded, said_of
from service.meetings import access
from service.sessions.live import DecoderLink, LiveSession
from service.store import LogError, open_log

if TYPE_CHECKING:
    from service.meetings.store import MeetingBook

log = logging.getLogger(__name__)


class Manager:
    """All sessions of this service, loaded from the data folder at start (crash recovery)."""

    def __init__(
        self,
        data_dir: Path,
        admin_token: str,
        synchronous: str = "FULL",
        reach: DecoderReach | None = None,
        meetings: MeetingBook | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.reach = reach or DecoderReach()  # what decoder links may reach (decoders/reach.py)
        self.admin_token = admin_token
        self.synchronous = synchronous
        self.sessions: dict[str, LiveSession] = {}
        self.hubs: dict[str, SessionHub] = {}
        self.on_new_hub: list[Callable[[str, SessionHub], None]] = []  # e.g. the MQTT publisher's tap
        self.broken: dict[str, str] = {}  # session logs that could not be opened at all: file -> why
        self.meetings = meetings  # a meeting's tokens act on its sessions (service/meetings/access.py)

    def tokens_for(self, session: LiveSession, token: str | None) -> dict[str, str]:
        """The session's tokens, and the presented one when it is a token of the session's meeting."""
        return access.session_tokens(self.meetings, session.id, session.meta.get("tokens"), token)

    def load_all(self) -> None:
        """Open every session log. One that cannot load is listed with its error; the others load."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for path in sorted(self.data_dir.glob("*.sqlite")):
            store = None
            try:
                store = open_log(path, self.synchronous)  # a damaged log is salvaged, its loss reported
                self._add(LiveSession(store, store.get_meta()))
            except LogError as exc:  # a 0-byte file, not a database, no session in it: listed, never hidden
                log.error("session log %s cannot be loaded: %s", path, exc)
                self.broken[path.stem] = str(exc)
            except Exception as exc:  # noqa: BLE001 - any failure of one file must not stop the others
                log.exception("session log %s cannot be loaded", path)
                self.broken[path.stem] = f"{type(exc).__name__}: {exc}"
                if store is not None:
                    store.close()

    def _add(self, session: LiveSession) -> LiveSession:
        self.sessions[session.id] = session
        hub = self.hubs[session.id] = SessionHub(session)
        for listener in self.on_new_hub:
            listener(session.id, hub)
        return session

    def create(self, name: str, session_line: dict[str, Any]) -> LiveSession:
        return self._add(LiveSession.create(self.data_dir, name, session_line, self.synchronous))

    def get(self, sid: str) -> LiveSession:
        s = self.sessions.get(sid)
        if s is None:
            raise NotFound("session.not_found", session=sid)
        return s

    def newest(self) -> LiveSession | None:
        return max(self.sessions.values(), key=lambda s: s.id, default=None)

    async def start_decoder(self, session: LiveSession, link: DecoderLink, save: bool = True) -> None:
        """Open the link (ValueError for a URL no source takes) and keep it in the session's meta."""
        from decoders.sources import open_source

        await self.reach.check(link.url)  # ReachRefused (a 403): not a decoder's address or device
        link.source = open_source(link.url, self.reach)
        link.source.resume_from(session.intake.logged)  # after a restart: ask from the log's last read on
        link.source.on_clock = lambda decoder_id, decoder_us, host_us: session.intake.on_clock(
            link, decoder_id, decoder_us, host_us
        )
        link.origin_us = session.origin_us
        session.intake.attach(link)
        link.task = asyncio.create_task(
            link.source.run(lambda p: session.on_passing(link, p)), name=f"decoder {mask_url(link.url)}"
        )
        session.decoders.append(link)
        if save:
            session.save_decoders()

    async def restore_decoders(self) -> None:
        """Reopen every session's stored decoder links (a restart must not drop a link)."""
        for session in self.sessions.values():
            for link in session.stored_decoders():
                try:
                    await self.start_decoder(session, link, save=False)
                except ValueError as exc:  # stored by an older version: listed with its error, removable
                    link.error = said_of(exc) if is_coded(exc) else str(exc)
                    log.warning(
                        "session %s: cannot reopen decoder %s: %s", session.id, mask_url(link.url), link.error
                    )
                    session.decoders.append(link)

    async def remove_decoder(self, session: LiveSession, index: int) -> DecoderLink:
        if not 0 <= index < len(session.decoders):
            raise NotFound("decoder.not_found", index=index)
        link = session.decoders.pop(index)
        session.save_decoders()
        await self.stop_decoder(link)
        return link

    async def stop_decoder(self, link: DecoderLink) -> None:
        if link.source is not None:
            link.source.stop()
        if link.task is not None:
            link.task.cancel()
            try:
                await link.task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - stopping whatever state it is in
                pass

    async def delete(self, sid: str) -> None:
        """Remove a session and its log files (the caller checked it may go: it never ran)."""
        session = self.get(sid)
        for link in list(session.decoders):
            await self.stop_decoder(link)
        del self.sessions[sid]
        self.hubs.pop(sid, None)
        session.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{session.store.path}{suffix}").unlink(missing_ok=True)

    async def shutdown(self) -> None:
        for s in self.sessions.values():
            for link in list(s.decoders):
                await self.stop_decoder(link)
            s.close()
