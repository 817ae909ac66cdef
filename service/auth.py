"""Who may change what: spectators read; race control and the timing crew need a token.

Tokens: one service-wide admin token, and per session a race-control and a timing-crew token
(kept in the session's log metadata, so they survive a restart). Compared in constant time.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import HTTPException, Request

SPECTATOR, ADMIN, RACE_CONTROL, TIMING = "spectator", "admin", "race_control", "timing"

# Which role may submit which kind of scenario line through the generic events endpoint.
EVENT_ROLES: dict[str, frozenset[str]] = {
    **{k: frozenset({ADMIN, RACE_CONTROL}) for k in (
        "signal", "penalty", "waive", "mechanical", "refuel", "driver_change", "weight_check",
        "ballast_check", "grid_move", "approve", "confirm")},
    **{k: frozenset({ADMIN, TIMING}) for k in ("passing", "manual_passing", "invalidate", "entry", "assign")},
    "revert": frozenset({ADMIN, RACE_CONTROL, TIMING}),  # and the role of the correction it undoes
    "session": frozenset({ADMIN}),  # preset, duration and rules are the organiser's, not the crew's
}  # fmt: skip


def token_from(request_headers: Any, query: Any) -> str | None:
    auth = request_headers.get("authorization") or ""
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return query.get("token") or None


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


def require(
    request: Request, admin_token: str, session_tokens: dict[str, str] | None, allowed: frozenset[str],
    needs: str | None = None,
) -> str:  # fmt: skip
    """The caller's role, or a clear 401 (no/invalid token) / 403 (wrong role). `needs`: the roles
    the 403 names when not all of `allowed` (a meeting's routes name the meeting roles only)."""
    role = role_of(token_from(request.headers, request.query_params), admin_token, session_tokens)
    if role == SPECTATOR:
        raise HTTPException(401, "authentication required: send 'Authorization: Bearer <token>'",
                            headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
    if role == "invalid":
        raise HTTPException(401, "invalid token", headers={"WWW-Authenticate": "Bearer"})
    if role not in allowed:
        raise HTTPException(403, f"role {role!r} may not do this (needs {needs or ' or '.join(sorted(allowed))})")
    return role
