"""The timing crew's routes for decoder reads kept out of the log, and for fixing a link's clock.

    GET   /api/sessions/{sid}/aside               kept-aside reads (refused, late, clock), newest first
    POST  /api/sessions/{sid}/aside/admit         {"ids": [...]}: log them as passings (re-timed)
    PATCH /api/sessions/{sid}/decoders/{index}    {"rtc_zero_us": N | null, "loop", "loops"}: fix a link

Staff read them; the timing crew (or the admin) admits and fixes. See service/sessions/intake.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request

from service import auth, limits
from service.auth import ADMIN, RACE_CONTROL, TIMING
from service.errors import Invalid, NotFound

if TYPE_CHECKING:
    from service.sessions.manager import Manager

TC = frozenset({ADMIN, TIMING})
STAFF = frozenset({ADMIN, RACE_CONTROL, TIMING})
MAX_ADMIT = 5000  # ids in one admission


def build_reads_router(mgr: Manager) -> APIRouter:
    api = APIRouter(prefix="/api")

    @api.get("/sessions/{sid}/aside")
    async def aside(sid: str, request: Request, limit: int = 200) -> dict[str, Any]:
        s = mgr.get(sid)
        auth.need(request, mgr, s, STAFF)
        return s.intake.aside(max(1, min(limit, 2000)))

    @api.post("/sessions/{sid}/aside/admit")
    async def admit(sid: str, request: Request) -> dict[str, Any]:
        s = mgr.get(sid)
        auth.need(request, mgr, s, TC)
        ids = (await limits.object_body(request)).get("ids")
        if (
            not isinstance(ids, list)
            or not ids
            or len(ids) > MAX_ADMIT
            or not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < 1 << 62 for i in ids)
        ):
            raise Invalid("reads.admit_ids", max=MAX_ADMIT)
        done, refused = s.intake.admit(list(dict.fromkeys(ids)))
        return {"admitted": done, "refused": refused}

    @api.patch("/sessions/{sid}/decoders/{index}")
    async def fix_link(sid: str, index: int, request: Request) -> dict[str, Any]:
        s = mgr.get(sid)
        auth.need(request, mgr, s, TC)
        if not 0 <= index < len(s.decoders):
            raise NotFound("reads.no_decoder", index=index)
        body = await limits.object_body(request)
        unknown = sorted(set(body) - {"rtc_zero_us", "loop", "loops"})
        if unknown:
            raise Invalid("reads.link_field", field=unknown[0])
        link = s.decoders[index]
        link.update(body)
        s.save_decoders()
        return link.describe()

    return api
