"""Request limits of the HTTP API: body size, JSON strictness and nesting, entries per request.

A request over a limit gets a clear 4xx before any of it reaches a session: a 413 for a body
too large (checked on the declared length and again while the body streams in), a 400 for JSON
that is malformed, uses NaN/Infinity, numbers no field can hold, repeats a key in one object
(which value would win is a guess: refused, never "last one wins"), or nests deeper than any
scenario line does. Refusals carry catalogue codes (service/errors.py).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import msgspec
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from service import http_errors
from service.errors import Invalid, TooLarge

MAX_BODY = 4 * 1024 * 1024  # bytes: a 10,000-entry list with drivers fits in about 2 MB
MAX_DEPTH = 12  # a scenario line nests 4 deep at most (session -> rules -> rule -> list)
MAX_ENTRIES = 20_000
MAX_INT = 2**63  # integers are 64-bit wherever they are stored (SQLite, msgspec structs)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # a UTF-16 surrogate written as an escape


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


class _Refused(ValueError):
    """Raised inside the JSON parser's hooks; becomes an `Invalid` with the same code."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code, self.params = code, params


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        key = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise _Refused("request.json_duplicate_key", key=key[:100])
    return obj


def _int(text: str) -> int:
    value = int(text)
    if not -MAX_INT <= value < MAX_INT:
        raise _Refused("request.json_number", number=text[:40])
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused("request.json_number", number=text[:40])
    return value


def _constant(text: str) -> Any:
    raise _Refused("request.json_invalid", error=f"{text} is not JSON")


def parse_json(raw: bytes) -> Any:
    """Strict JSON of a request body, or a 400 that says what is wrong with it: no NaN/Infinity,
    numbers within 64 bits / finite, no key twice in one object, no lone surrogate, bounded nesting."""
    try:
        text = raw.decode("utf-8")
        value = json.loads(
            text, object_pairs_hook=_object, parse_int=_int, parse_float=_float, parse_constant=_constant
        )
        if _SURROGATE_ESCAPE.search(text):  # rare: let msgspec say whether every escape pairs up
            msgspec.json.decode(raw)
    except RecursionError:
        raise Invalid("request.json_nested", max=MAX_DEPTH) from None
    except _Refused as exc:
        raise Invalid(exc.code, **exc.params) from None
    except (ValueError, msgspec.DecodeError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise Invalid("request.json_invalid", error=str(exc)[:200]) from None
    if not depth_ok(value):
        raise Invalid("request.json_nested", max=MAX_DEPTH)
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
        raise Invalid("request.json_not_object")
    return body


async def read_upload(request: Request) -> bytes:
    """A file sent as a multipart `file` field or as the raw body (bounded like any body)."""
    if "multipart/form-data" in request.headers.get("content-type", ""):
        upload = (await request.form()).get("file")
        if upload is None or isinstance(upload, str):
            raise Invalid("request.upload_file_field")
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
            await http_errors.answer(Request(scope), TooLarge("request.too_large", max=self.limit), 413)(
                scope, receive, send
            )
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
        return http_errors.answer(request, TooLarge("request.too_large", max=MAX_BODY), 413)
