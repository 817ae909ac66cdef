"""Security headers on every answer: pages, assets, the API, refusals.

- Content-Security-Policy: scripts, styles, images and connections from this service only; no
  inline script, no inline style attribute (the pages load theirs from web/js and web/css), no
  plugin, no framing (`frame-ancestors 'none'`: a timing page cannot be clicked through inside
  someone else's frame). The printed meeting pages and standings sheets carry one `<style>` (their
  shared CSS, service/meetings/html.py): allowed by its hash, nothing else inline. Spectator pages
  may read an MQTT broker's WebSocket listener (`--publish-ws`): its origin is in `connect-src`.
- X-Content-Type-Options: nosniff; X-Frame-Options: DENY (older browsers' frame-ancestors);
  Referrer-Policy: no-referrer (no session id or page address leaks to a link's target);
  Cross-Origin-Opener-Policy: same-origin.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit


def _style_hash(css: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode() + "'"


def policy(connect: Iterable[str] = (), styles: Iterable[str] = ()) -> str:
    """The Content-Security-Policy: `connect` extra origins (a broker's ws://host:port), `styles`
    the texts of the inline `<style>` elements the service's own documents carry."""
    connect_src = " ".join(["'self'", *connect])
    style_src = " ".join(["'self'", *(_style_hash(s) for s in styles)])
    return (
        f"default-src 'self'; script-src 'self'; style-src {style_src}; img-src 'self' data: blob:; "
        f"connect-src {connect_src}; font-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


def origin_of(url: str) -> str | None:
    """`ws://host:9001/mqtt` -> `ws://host:9001` (what connect-src names), None when not a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


class SecurityHeadersMiddleware:
    """ASGI middleware adding the headers above to every HTTP answer."""

    def __init__(self, app: Any, connect: Iterable[str] = (), styles: Iterable[str] = ()) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", policy(connect, styles).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        self.names = {name for name, _ in self.headers}

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers") or () if k.lower() not in self.names]
                message = {**message, "headers": kept + self.headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
