"""The one place where domain errors become HTTP answers, and are said in the caller's language.

Answer: `{"detail": text, "code": code, "params": {...}}` with a status. The text is the catalogue's
for the code (service.i18n.error_text) in the caller's language: `?lang=`, else Accept-Language,
else English. Routers translate HTTP to commands and back; they do not catch domain errors
themselves. Each class of refusal has its status (`STATUS`: the engine's `UnknownTarget` is a
`NotFound`, its `NoEffect` a `Conflict`, any other `LineError` an `Invalid`); other `ValueError`s
from pure code are a 400; a log that cannot be written is a 503 (`log.unwritable`).
"""

from __future__ import annotations

import logging
import sqlite3

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from decoders.reach import ReachRefused
from service import errors
from service.i18n import Coded, error_text, is_coded, json_params, pick_lang

log = logging.getLogger("boucle.http")

STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (ReachRefused, 403),  # a decoder URL that is not a decoder's (decoders/ cannot import service.errors)
    (errors.TooLarge, 413),
    (errors.Unauthorized, 401),
    (errors.NotFound, 404),
    (errors.Forbidden, 403),
    (errors.Conflict, 409),
    (errors.Invalid, 400),
    (ValueError, 400),
)


def status_of(exc: BaseException) -> int:
    """The HTTP status of a refusal (the most specific class listed first wins)."""
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def caller_lang(request: Request) -> str:
    """The language a caller reads: `?lang=` when we have it, else its Accept-Language, else English."""
    return pick_lang(request.query_params.get("lang"), request.headers.get("accept-language"))


def answer(request: Request, exc: BaseException | Coded, status: int) -> JSONResponse:
    """The JSON answer for a refusal: its code, params and text in the caller's language."""
    if is_coded(exc):
        body = {
            "detail": error_text(caller_lang(request), exc.code, exc.params),
            "code": exc.code,
            "params": json_params(exc.params),
        }
    else:  # a text from third-party code
        body = {"detail": str(exc), "code": "error.text", "params": {"text": str(exc)}}
    headers = getattr(exc, "headers", None)
    return JSONResponse(body, status_code=status, headers=headers if isinstance(headers, dict) else None)


PYDANTIC_TYPES = {
    "float_parsing": "float",
    "int_parsing": "int",
    "bool_parsing": "bool",
    "int_from_float": "int",
    "finite_number": "float",
    "string_type": "str",
}


def bad_params(exc: RequestValidationError) -> errors.Invalid:
    """FastAPI's check of a query or path parameter (`?offset_s=abc`), said like every refusal."""
    first = (exc.errors() or [{}])[0]
    field = str((first.get("loc") or ("", "?"))[-1])
    kind = PYDANTIC_TYPES.get(str(first.get("type")))
    if first.get("type") == "missing":
        return errors.Invalid("request.param_missing", field=field)
    if kind is not None:
        return errors.Invalid("request.param_type", field=field, kind=kind)
    return errors.Invalid("request.param", field=field, error=str(first.get("msg", "")))


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""

    async def invalid_params(request: Request, exc: RequestValidationError) -> JSONResponse:
        return answer(request, bad_params(exc), 422)

    async def refused(request: Request, exc: Exception) -> JSONResponse:
        return answer(request, exc, status_of(exc))

    async def log_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("event log write failed: %s", exc)
        return answer(request, Coded("log.unwritable", {"error": str(exc)}), 503)

    app.add_exception_handler(errors.BoucleError, refused)
    app.add_exception_handler(ValueError, refused)
    app.add_exception_handler(sqlite3.Error, log_error)
    app.add_exception_handler(RequestValidationError, invalid_params)
