"""The standby's routes and the write fence.

- `GET /api/standby` (public: every page's header shows it): this machine's role and epoch; on a
  standby, the primary it follows, how far behind (lines, seconds, copy delay p50/p99) and the reads
  it holds; on a primary, its followers and how far behind each is.
- `POST /api/promote` (admin): make this standby the primary (promote.py).
- `POST /api/standby/fence` (admin; what a newer primary sends): step down before a newer epoch,
  answering this machine's newest line per session; a coded 409 when the caller's epoch is older.
- `WS /ws/log` (admin): the log stream a standby follows (stream.py).

`WriteFence` refuses every write (any method but GET/HEAD/OPTIONS) on a machine that is not the
primary with a coded 409 (`standby.read_only` / `standby.stepped_down`) naming the primary;
`LiveSession.guard` refuses below it whatever the caller.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request, WebSocket
from starlette.types import ASGIApp, Receive, Scope, Send

from service import auth, http_errors, limits
from service.errors import Conflict, Invalid
from service.sessions.manager import Manager
from service.standby.node import Node
from service.standby.promote import promote
from service.standby.stream import serve_log

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OPEN_ON_STANDBY = frozenset({"/api/promote", "/api/standby/fence"})
ADMIN_ONLY = frozenset({auth.ADMIN})


class WriteFence:
    """ASGI middleware: no write reaches a router on a machine that is not the primary."""

    def __init__(self, app: ASGIApp, node: Node) -> None:
        self.app = app
        self.node = node

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] not in SAFE_METHODS
            and not self.node.writable
            and scope["path"] not in OPEN_ON_STANDBY
        ):
            res = http_errors.answer(Request(scope), self.node.refusal(), 409)
            await res(scope, receive, send)
            return
        await self.app(scope, receive, send)


def heads(mgr: Manager) -> dict[str, int]:
    return {
        sid: int(s.store.db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])
        for sid, s in mgr.sessions.items()
    }


def install(app: FastAPI, mgr: Manager, standby_of: str | None = None, advertise: str | None = None) -> Node:
    """The node of this service (`app.state.node`), its routes and its write fence."""
    node = Node(mgr, mgr.admin_token, standby_of, advertise)
    app.state.node = node
    app.add_middleware(WriteFence, node=node)
    api = APIRouter()

    @api.get("/api/standby")
    async def status(request: Request) -> dict[str, Any]:
        """Role and lag for every page; the machines' addresses and errors for the admin only."""
        token = auth.token_from(request.headers, request.query_params)
        return node.status(full=auth.role_of(token, mgr.admin_token, None) == auth.ADMIN)

    @api.post("/api/promote")
    async def promote_route(request: Request) -> dict[str, Any]:
        auth.require(request, mgr.admin_token, None, ADMIN_ONLY)
        return await promote(node)

    @api.post("/api/standby/fence")
    async def fence(request: Request) -> dict[str, Any]:
        auth.require(request, mgr.admin_token, None, ADMIN_ONLY)
        body = await limits.object_body(request)
        epoch, who, primary = body.get("epoch"), body.get("node"), body.get("primary")
        if (
            not isinstance(epoch, int)
            or isinstance(epoch, bool)
            or not isinstance(who, str)
            or not isinstance(primary, str)
        ):
            raise Invalid("standby.bad_fence")
        async with node.lock:
            if not node.step_down(epoch, who, primary):
                raise Conflict("standby.stale_epoch", epoch=node.epoch)
        return {"role": node.role, "epoch": node.epoch, "heads": heads(mgr)}

    @api.websocket("/ws/log")
    async def log_stream(websocket: WebSocket) -> None:
        await serve_log(node, websocket)

    app.include_router(api)
    return node
