"""Who may change what: spectators read; race control and the timing crew need a token. The one
place every router (sessions, meetings, seasons, outputs, staff links) asks who the caller is.

Tokens: one service-wide admin token, and per session a race-control and a timing-crew token
(kept in the session's log metadata, so they survive a restart). Compared in constant time.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Sequence
from typing import Any, Protocol

from fastapi import Request

from service.engine.events import BY_TAG
from service.errors import Forbidden, Invalid, Unauthorized

SPECTATOR, ADMIN, RACE_CONTROL, TIMING = "spectator", "admin", "race_control", "timing"

# Which role may submit which kind of scenario line through the generic events endpoint: from
# each line type's `staff` (service/engine/events.py, the one table of event types).
_STAFF_ROLES = {
    "admin": frozenset({ADMIN}),
    "race_control": frozenset({ADMIN, RACE_CONTROL}),
    "timing": frozenset({ADMIN, TIMING}),
    "staff": frozenset({ADMIN, RACE_CONTROL, TIMING}),  # revert: and the role of the correction it undoes
}
EVENT_ROLES: dict[str, frozenset[str]] = {tag: _STAFF_ROLES[cls.staff] for tag, cls in BY_TAG.items()}


WS_PROTOCOL = "boucle"  # the WebSocket subprotocol of the streams (echoed when a client offers it)
WS_BEARER = "boucle.bearer."  # + the token in base64url: how a browser WebSocket sends its token


def token_from(request_headers: Any, query: Any = None) -> str | None:
    """The caller's token, from `Authorization: Bearer` only. A token in the URL (`?token=`) ends up
    in access logs, browser history and proxies: refused (400), never read."""
    if query is not None and "token" in query:
        raise Invalid("auth.token_in_url")
    auth = request_headers.get("authorization") or ""
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return None


def ws_token(request_headers: Any) -> tuple[str | None, str | None]:
    """A WebSocket's token and the subprotocol to answer with. Browsers cannot set headers on a
    WebSocket: they offer `boucle` and `boucle.bearer.<base64url(token)>` as subprotocols (only the
    first is echoed back); other clients may send `Authorization: Bearer` instead."""
    offered = [
        p.strip() for p in (request_headers.get("sec-websocket-protocol") or "").split(",") if p.strip()
    ]
    chosen = WS_PROTOCOL if WS_PROTOCOL in offered else None
    for p in offered:
        if p.startswith(WS_BEARER):
            raw = p[len(WS_BEARER) :]
            try:
                return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("utf-8") or None, chosen
            except (ValueError, UnicodeDecodeError):
                return "\x00invalid", chosen  # a token nobody issued: refused like any wrong token
    return token_from(request_headers), chosen


def same_token(a: str, b: str) -> bool:
    """Constant-time comparison as bytes: any text (non-ASCII included) compares, never raises."""
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), str(b).encode("utf-8", "surrogatepass"))


def role_of(token: str | None, admin_token: str, session_tokens: dict[str, str] | None) -> str:
    if not token:
        return SPECTATOR
    if same_token(token, admin_token):
        return ADMIN
    for role, tok in (session_tokens or {}).items():
        if same_token(token, tok):
            return role
    return "invalid"


def invalid_token() -> Unauthorized:
    """The answer to a token nobody issued."""
    return Unauthorized("auth.invalid_token")


def require(
    request: Request,
    admin_token: str,
    session_tokens: dict[str, str] | None,
    allowed: frozenset[str],
    needs: Sequence[str] | None = None,
) -> str:
    """The caller's role, or a clear 401 (no/invalid token) / 403 (wrong role). `needs`: the roles
    the 403 names when not all of `allowed` (a meeting's routes name the meeting roles only)."""
    role = role_of(token_from(request.headers, request.query_params), admin_token, session_tokens)
    if role == SPECTATOR:
        raise Unauthorized("auth.required")
    if role == "invalid":
        raise invalid_token()
    if role not in allowed:
        raise Forbidden("auth.wrong_role", role=role, needs=list(needs or sorted(allowed)))
    return role


class TokenBook(Protocol):
    """Where tokens are kept (service/sessions/manager.py `Manager`): the admin's, and each session's plus its
    meeting's."""

    admin_token: str
    sessions: dict[str, Any]

    def tokens_for(self, session: Any, token: str | None) -> dict[str, str]: ...


def need(request: Request, book: TokenBook, session: Any, allowed: frozenset[str]) -> str:
    """The caller's role on `session` (or on the service when None), or a 401/403.

    On a service-level call a session's token is recognised, just not allowed there (403, not 401).
    """
    token = token_from(request.headers, request.query_params)
    if session is None:
        session = next(
            (
                s
                for s in book.sessions.values()
                if role_of(token, book.admin_token, s.meta.get("tokens")) != "invalid"
            ),
            None,
        )
    return require(request, book.admin_token, book.tokens_for(session, token) if session else None, allowed)
