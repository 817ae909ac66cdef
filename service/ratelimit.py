"""Public reads rate-limited per client address, where a flood would cost.

Spectators read without credentials, so a script can ask for `/results` hundreds of times a second
or for PDFs in a loop. Documents are drawn off the event loop and kept per session version
(service/documents.py), but a live race makes a new version at every read, and each request still
costs the loop its parsing and routing. So anonymous GETs of the API are counted per client
address (moving window, the `limits` library: counting and expiry done right, in memory, swappable
for a shared store if the service is ever scaled out):

- documents (`.pdf`, `.csv`, `.html`, `.jsonl` under /api): DOCUMENTS per address;
- other API reads: READS per address.

Over the limit: 429 with `Retry-After`, a coded refusal. Staff (a valid token) are not counted;
pages and scripts (static files, served from memory) and WebSockets (bounded by
service/connections.py) are not either. At a track behind one NAT, many spectators share an
address: the limits leave room for that (`create_app(rate_limits=...)` to change them).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from typing import Any

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request

from service import http_errors
from service.errors import BoucleError

DOCUMENTS = "60/minute"
READS = "20/second"
_DOCUMENT = re.compile(r"^/api/.+\.(pdf|csv|html|jsonl)$")


def check(rates: tuple[str, ...]) -> None:
    """Two limits in the `limits` notation (`60/minute`), or a ValueError saying which is not one."""
    if len(rates) != 2:
        raise ValueError("--rate-limits takes DOCS,READS (e.g. 60/minute,50/second) or off")
    for rate in rates:
        try:
            parse(rate)
        except ValueError:
            raise ValueError(f"{rate!r} is not a rate such as 60/minute") from None


class RateLimited(BoucleError):
    """Too many requests from one address (answered 429, with Retry-After, by the middleware below)."""


class RateLimitMiddleware:
    """ASGI middleware: counts anonymous GETs under /api per client address; `is_staff(token)`
    says whether a bearer token is one of the service's."""

    def __init__(
        self, app: Any, is_staff: Callable[[str], bool], documents: str = DOCUMENTS, reads: str = READS
    ) -> None:
        self.app, self.is_staff = app, is_staff
        self.rules: list[tuple[str, re.Pattern | None, RateLimitItem]] = [
            ("documents", _DOCUMENT, parse(documents)),
            ("reads", None, parse(reads)),
        ]
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.refused = 0

    def _rule(self, path: str) -> tuple[str, RateLimitItem] | None:
        if not path.startswith("/api/"):
            return None
        for name, pattern, item in self.rules:
            if pattern is None or pattern.match(path):
                return name, item
        return None

    def _token(self, scope: dict) -> str | None:
        for name, value in scope.get("headers") or ():
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                return value[7:].strip().decode("utf-8", "replace") or None
        return None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        rule = self._rule(scope.get("path", ""))
        token = self._token(scope) if rule else None
        if rule is None or (token and self.is_staff(token)):
            await self.app(scope, receive, send)
            return
        name, item = rule
        client = (scope.get("client") or ("?",))[0]
        if self.limiter.hit(item, name, client):
            await self.app(scope, receive, send)
            return
        self.refused += 1
        reset = self.limiter.get_window_stats(item, name, client).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        request = Request(scope)
        refusal = RateLimited("rate.limited", limit=str(item), seconds=wait)
        response = http_errors.answer(request, refusal, 429)
        response.headers["Retry-After"] = str(wait)
        await response(scope, receive, send)
