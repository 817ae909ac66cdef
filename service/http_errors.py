"""The one place where domain errors become HTTP answers ({"detail": message}, a status).

Routers translate HTTP to commands and back; they do not catch domain errors themselves. A
`LineError` carries the status its check chose (400 invalid, 404 unknown target, 409 conflict);
other `ValueError`s from pure code are a 400; a log that cannot be written is a 503.
"""

from __future__ import annotations

import logging
import sqlite3

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from service import errors

log = logging.getLogger("boucle.http")

STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (errors.TooLarge, 413),
    (errors.NotFound, 404),
    (errors.Forbidden, 403),
    (errors.Conflict, 409),
    (errors.Unavailable, 503),
    (errors.Invalid, 400),
    (ValueError, 400),
)


def status_of(exc: BaseException) -> int:
    """The HTTP status of a refusal (the most specific class listed first wins)."""
    explicit = getattr(exc, "status", None)
    if isinstance(explicit, int):
        return explicit
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""

    async def refused(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status_of(exc))

    async def log_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("event log write failed: %s", exc)
        return JSONResponse({"detail": f"the event log cannot be written ({exc}); nothing was recorded"},
                            status_code=503)  # fmt: skip

    app.add_exception_handler(errors.BoucleError, refused)
    app.add_exception_handler(ValueError, refused)
    app.add_exception_handler(sqlite3.Error, log_error)
