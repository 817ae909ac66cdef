"""HTTP routers live here; they only translate HTTP: request -> a command of a service
(`MeetingService`, `LiveSession`...), its domain objects -> JSON or HTML, with the status codes
of `service/http_errors.py`.

Routers do not catch domain errors. `DomainRoute` (a router's `route_class`) hands a domain error
raised under a route to `http_errors.status_of`, the one mapping, so a router answers the same
whether or not the app that mounts it installed the handlers (tests mount a router alone).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute

from service.errors import BoucleError
from service.http_errors import status_of


class DomainRoute(APIRoute):
    """A route whose domain errors become HTTP answers by `http_errors.status_of`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except BoucleError as exc:
                raise HTTPException(status_of(exc), str(exc)) from exc

        return route
