"""The FastAPI application and the one composition root: `create_app` builds every service (the
session `Manager`, the `MeetingBook` and `MeetingService`, the `SeasonBook` and `SeasonService`,
outputs, the standby node) and hands each to its router builder (sessions/api.py, meetings/api.py,
seasons/api.py, outputs/api.py, ...); no router wires anything, so the order they are mounted in
does not matter. Also here: the WebSocket streams, request limits, the one error mapping
(service/http_errors.py) and the pages.

All writes go through `LiveSession` commands (log first, then engine). Every route that changes
data checks a token (service/auth.py); reads are public so spectators need nothing.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from decoders.reach import DecoderReach
from decoders.sources import split_decoder_spec
from service import auth, headers, http_errors, limits, openapi, ratelimit, standby
from service.api.links import build_links_router
from service.documents import Documents
from service.documents import close as close_document_workers
from service.fanout import RawSendMiddleware, raw_socket
from service.meetings import access
from service.meetings.api import build_meeting_router
from service.meetings.html import CSS as DOCUMENT_CSS
from service.meetings.service import MeetingService
from service.meetings.store import MeetingBook
from service.outputs.api import build_outputs_router
from service.outputs.rmonitor_server import start_rmonitor
from service.seasons.api import build_season_router
from service.seasons.service import SeasonService
from service.seasons.store import SeasonBook
from service.sessions.api import ANY_STAFF, build_router
from service.sessions.live import DecoderLink
from service.sessions.manager import Manager
from service.sessions.reads_api import build_reads_router
from service.static import WebAssets

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


def create_app(
    data_dir: str | Path = "data",
    admin_token: str | None = None,
    synchronous: str = "FULL",
    decoders: list[str] | None = None,
    decoder_session: str | None = None,
    rmonitor: str | None = None,
    publish: str | None = None,
    publish_ws: str | None = None,
    allow_decoders: Iterable[str] = (),
    rate_limits: tuple[str, str] | None = (ratelimit.DOCUMENTS, ratelimit.READS),
    standby_of: str | None = None,
    advertise: str | None = None,
) -> FastAPI:
    """The service. `decoders`: `URL[=LOOP]` sources started for `decoder_session` (default newest).

    `allow_decoders`: hosts, networks or device paths decoder links may reach beyond decoders'
    own (decoders/reach.py: e.g. `127.0.0.1` for an emulator on this machine); the `decoders`
    named here are allowed too (the admin named them).
    `rate_limits`: anonymous document and API reads per client address (service/ratelimit.py), or None.

    `rmonitor`: `[HOST:]PORT` of the RMonitor scoreboard feed (service/outputs/), off when None.
    `publish`: `mqtt://HOST[:PORT][,HOST[:PORT]...]/PREFIX`, the broker node(s) the spectator
    streams are published to (service/broadcast.py); `publish_ws`: the brokers' WebSocket URLs as
    browsers reach them, comma-separated.
    `standby_of`: the primary this service follows as a hot standby (service/standby/); `advertise`:
    how the other machine reaches this one.
    """
    from service.broadcast import BrokerPublisher, parse_publish_url, parse_ws_urls

    broker = parse_publish_url(publish) if publish else None  # a bad URL fails before serving
    ws_urls = parse_ws_urls(publish_ws)
    reach = DecoderReach(allow_decoders)
    for spec in decoders or ():
        reach.allow_url(split_decoder_spec(spec)[0])
    data = Path(data_dir)
    meetings = MeetingBook(data / "meetings")  # its tokens also act on its sessions (meetings/access.py)
    seasons = SeasonBook(data / "championships")
    mgr = Manager(data, admin_token or secrets.token_urlsafe(18), synchronous, reach, meetings)
    mgr.load_all()
    meeting_service = MeetingService(meetings, mgr)
    season_service = SeasonService(seasons, mgr.sessions, meetings.meetings.get)
    publisher: BrokerPublisher | None = None

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        primary = await node.start()  # a standby (or a primary a newer one replaced) opens no decoder
        if primary:
            await mgr.restore_decoders()
        if decoders and primary:
            target = mgr.sessions.get(decoder_session or "") or mgr.newest()
            if target is None:
                target = mgr.create("track", {"preset": "generic-timed", "kind": "race"})
            for spec in decoders:
                url, loop = split_decoder_spec(spec)
                known = next((ln for ln in target.decoders if ln.url == url), None)
                if known is None:
                    await mgr.start_decoder(target, DecoderLink(url=url, loop=loop))
                elif loop is not None and known.loop != loop:  # the command line says where it sits now
                    known.loop = loop
                    target.save_decoders()
        feed = await start_rmonitor(app, mgr, rmonitor, decoder_session) if rmonitor else None
        if publisher is not None:  # the primary publishes the spectator streams, never a standby
            node.on_primary.append(publisher.start)
            node.on_standby.append(publisher.stop)
            if primary:
                publisher.start()
        yield
        if publisher is not None:
            await publisher.stop()
        if feed is not None:
            await feed.stop()
        await node.stop()
        await mgr.shutdown()
        close_document_workers()

    app = FastAPI(title="Boucle", version="0.1.0", lifespan=lifespan)
    app.state.manager = mgr
    node = standby.install(app, mgr, standby_of, advertise)
    documents = app.state.documents = Documents()  # PDFs, CSVs, printable pages: off the loop (documents.py)
    if broker is not None:
        publisher = BrokerPublisher(mgr, broker, ws_urls)
    app.state.publisher = publisher
    app.add_middleware(RawSendMiddleware)  # the WebSocket hub writes frames to the server's sockets
    app.include_router(build_router(mgr, seasons))  # each router gets its services: any order works
    app.include_router(build_meeting_router(mgr, meeting_service, seasons))
    app.include_router(build_season_router(mgr, season_service))
    app.include_router(build_outputs_router(mgr, documents))
    app.include_router(build_links_router(mgr))
    app.include_router(build_reads_router(mgr))
    limits.install(app)
    openapi.install(app)
    http_errors.install(app)

    def is_staff(token: str) -> bool:
        """A token this service issued (admin, a session's or a meeting's): not rate-limited."""
        return (
            auth.same_token(token, mgr.admin_token)
            or any(
                auth.role_of(token, mgr.admin_token, s.meta.get("tokens")) != "invalid"
                for s in mgr.sessions.values()
            )
            or access.find_token(meetings, token) is not None
        )

    if rate_limits is not None:
        app.add_middleware(
            ratelimit.RateLimitMiddleware, is_staff=is_staff, documents=rate_limits[0], reads=rate_limits[1]
        )
    broker_origins = [headers.origin_of(u) for u in publisher.ws_urls] if publisher is not None else []
    app.add_middleware(
        headers.SecurityHeadersMiddleware, connect=[o for o in broker_origins if o], styles=[DOCUMENT_CSS]
    )  # outermost: refusals and 429s get them too

    @app.get("/api/config")
    async def config() -> dict[str, Any]:
        """What pages need to know about this deployment: the MQTT brokers browsers may read from."""
        if publisher is None or not publisher.ws_urls:
            return {"broker": None}
        return {"broker": {"urls": publisher.ws_urls, "prefix": publisher.target.prefix}}

    @app.websocket("/ws/sessions/{sid}")
    async def ws(websocket: WebSocket, sid: str) -> None:
        session = mgr.sessions.get(sid)
        token, subprotocol = auth.ws_token(websocket.headers)
        if session is None:  # accept then close: browsers only see close codes, not HTTP statuses
            await websocket.accept(subprotocol)
            await websocket.close(code=4404, reason=f"no session {sid}")
            return
        if "token" in websocket.query_params:  # a token in a URL is logged everywhere: never read
            await websocket.accept(subprotocol)
            await websocket.close(
                code=4400, reason="send the token as a subprotocol or header, not in the URL"
            )
            return
        name = websocket.query_params.get("stream", "spectator")
        if name == "live":
            role = auth.role_of(token, mgr.admin_token, mgr.tokens_for(session, token))
            if role not in ANY_STAFF:
                await websocket.accept(subprotocol)
                await websocket.close(
                    code=4401, reason="the live stream needs a race-control or timing token"
                )
                return
        await websocket.accept(subprotocol)
        since_raw = websocket.query_params.get("since")
        since = int(since_raw) if since_raw and since_raw.lstrip("-").isdigit() else None

        async def receive() -> str | None:
            try:
                return await websocket.receive_text()
            except (WebSocketDisconnect, RuntimeError):
                return None

        raw = raw_socket(websocket.scope.get("boucle.send"))  # None: not a server we write frames for
        try:
            await mgr.hubs[sid].serve(mgr.hubs[sid].stream(name), websocket.send_text, receive, since, raw)
        except (WebSocketDisconnect, RuntimeError):
            pass

    if WEB_DIR.is_dir():
        app.mount("/", WebAssets(WEB_DIR), name="web")
    return app
