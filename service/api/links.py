"""QR codes of the staff links, for the admin page: scan at the track, the page opens logged in.

The token rides in the URL fragment (`#token=...`), which browsers never send to a server or
put in access logs; the page moves it to sessionStorage and drops it from the address bar
(web/js/auth.js). Only the admin may ask for these; the spectator link's code is public.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING
from urllib.parse import quote

import segno
from fastapi import APIRouter, Request, Response

from service import auth
from service.errors import NotFound

if TYPE_CHECKING:
    from service.sessions.manager import Manager

SESSION_PAGES = {"race_control": "race-control.html", "timing": "timing.html"}
MEETING_PAGES = {role: "meeting.html" for role in ("timing", "race_director", "stewards")}


def qr_svg(text: str) -> Response:
    buf = io.BytesIO()
    segno.make(text, error="m").save(buf, kind="svg", scale=4, border=2, xmldecl=False)
    return Response(buf.getvalue(), media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


def build_links_router(mgr: Manager) -> APIRouter:
    api = APIRouter(prefix="/api")

    def admin_only(request: Request) -> None:
        auth.need(request, mgr, None, frozenset({auth.ADMIN}))

    def tokens_of(mid: str) -> dict[str, str]:
        """A meeting's staff tokens; NotFound when there is no such meeting."""
        if mgr.meetings is None:
            raise NotFound("meeting.not_found", meeting=mid)
        mgr.meetings.get(mid)
        return mgr.meetings.tokens(mid)

    def link_qr(
        request: Request,
        query: str,
        role: str,
        pages: dict[str, str],
        tokens: dict[str, str],
        meeting: bool = False,
    ) -> Response:
        """The spectator link for anyone; a staff page with its token in the fragment for the admin."""
        base = str(request.base_url)
        if role == "spectator":
            return qr_svg(f"{base}?{query}")
        if role not in pages:
            raise NotFound(
                "link.no_meeting_role" if meeting else "link.no_staff_page",
                role=role,
                known=", ".join(["spectator", *pages]),
            )
        admin_only(request)
        return qr_svg(f"{base}{pages[role]}?{query}#token={quote(tokens[role])}")

    @api.get("/sessions/{sid}/qr/{role}.svg")
    async def session_qr(sid: str, role: str, request: Request) -> Response:
        tokens = mgr.get(sid).meta["tokens"]
        return link_qr(request, f"session={quote(sid)}", role, SESSION_PAGES, tokens)

    @api.get("/meetings/{mid}/qr/{role}.svg")
    async def meeting_qr(mid: str, role: str, request: Request) -> Response:
        tokens = tokens_of(mid)
        return link_qr(request, f"meeting={quote(mid)}", role, MEETING_PAGES, tokens, meeting=True)

    @api.get("/meetings/{mid}/tokens")
    async def meeting_tokens(mid: str, request: Request) -> dict[str, str]:
        admin_only(request)
        return tokens_of(mid)

    return api
