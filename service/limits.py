"""Request limits of the HTTP API: body size, JSON strictness and nesting, entries per request.

A request over a limit gets a clear 4xx before any of it reaches a session: a 413 for a body
too large (checked on the declared length and again while the body streams in), a 400 for JSON
that is malformed, uses NaN/Infinity or nests deeper than any scenario line does.
"""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from service.errors import Invalid, TooLarge
from service.http_errors import answer

MAX_BODY = 4 * 1024 * 1024  # bytes: a 10,000-entry list with drivers fits in about 2 MB
MAX_DEPTH = 12  # a scenario line nests 4 deep at most (session -> rules -> rule -> list)
MAX_ENTRIES = 20_000


class BodyTooLarge(Exception):
    pass


def depth_ok(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True when `value` nests at most `limit` lists/objects deep (iterative: no recursion)."""
    if not isinstance(value, dict | list):
        return True
    stack = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if d > limit:
            return False
        for x in v.values() if isinstance(v, dict) else v:
            if isinstance(x, dict | list):
                stack.append((x, d + 1))
    return True


def parse_json(raw: bytes) -> Any:
    """Strict JSON of a request body, or a 400 that says what is wrong with it."""
    try:
        value = msgspec.json.decode(raw)
    except RecursionError:
        raise Invalid("body.too_deep", depth=MAX_DEPTH) from None
    except msgspec.DecodeError as exc:
        raise Invalid("body.not_json", error=str(exc)) from None
    if not depth_ok(value):
        raise Invalid("body.too_deep", depth=MAX_DEPTH)
    return value


async def json_body(request: Request, empty_ok: bool = False) -> Any:
    """The body as JSON: strict (no NaN/Infinity), nesting bounded, size bounded (BodyLimitMiddleware).
    `empty_ok`: a body of nothing (or blanks) is `{}`."""
    raw = await request.body()
    if empty_ok and not raw.strip():
        return {}
    return parse_json(raw)


async def object_body(request: Request, empty_ok: bool = False) -> dict[str, Any]:
    """A body that must be a JSON object (or nothing at all, where `empty_ok`)."""
    body = await json_body(request, empty_ok)
    if not isinstance(body, dict):
        raise Invalid("body.not_object")
    return body


async def read_upload(request: Request) -> bytes:
    """A file sent as a multipart `file` field or as the raw body (bounded like any body)."""
    if "multipart/form-data" in request.headers.get("content-type", ""):
        upload = (await request.form()).get("file")
        if upload is None or isinstance(upload, str):
            raise Invalid("body.upload_file")
        return await upload.read()
    return await request.body()


class BodyLimitMiddleware:
    """Refuse bodies over MAX_BODY: by Content-Length at once, or as soon as the stream passes it."""

    def __init__(self, app: Any, limit: int = MAX_BODY) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await answer(Request(scope), TooLarge("body.too_large", limit=self.limit), 413)(scope, receive, send)
            return
        seen = 0

        async def counted() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise BodyTooLarge
            return message

        await self.app(scope, counted, send)


def install(app: FastAPI) -> None:
    app.add_middleware(BodyLimitMiddleware)

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
        return answer(request, TooLarge("body.too_large", limit=MAX_BODY), 413)
