"""What the HTTP routers share, and the admin's staff links (links.py). The routers sit with their
feature (sessions/api.py, sessions/reads_api.py, meetings/api.py, seasons/api.py, outputs/api.py):
they translate requests into commands of the front doors (`LiveSession`, the meeting service,
seasons) and domain objects back into JSON, are handed their services by `create_app`, check who
the caller is (service/auth.py) and never catch domain errors: service/http_errors.py answers those.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from service.i18n import pick_lang
from service.meetings.publish import DocStatus, doc_status


def doc_lang(request: Request) -> str:
    """The language of every printed or exported document: `?lang=` (one we have, else a 400), else
    the browser's (Accept-Language), else English."""
    return pick_lang(request.query_params.get("lang"), request.headers.get("accept-language"), strict=True)


async def draw(request: Request, render: Any, *args: Any) -> str:
    """A printable document's HTML, drawn in a worker thread (service/documents.py), not on the loop."""
    docs = getattr(request.app.state, "documents", None)
    return await (docs.run(render, *args) if docs is not None else asyncio.to_thread(render, *args))


def publication(st: DocStatus) -> dict[str, Any]:
    """A document's AX-PUBLISH status for the pages: provisional / final, when it was posted, when it
    becomes (or became) final, and who signed when."""
    return {
        "status": st.status,
        "posted_at": st.posted_at,
        "final_at": st.final_at,
        "signatures": {role: {"by": s.get("by"), "at": s.get("at")} for role, s in st.signatures.items()},
    }


def session_publication(mgr: Any, sid: str) -> dict[str, Any] | None:
    """A live session a meeting opened: the meeting (id, key, date, place, organiser) and the
    AX-PUBLISH status of its results; None for a session of no meeting."""
    book = getattr(mgr, "meetings", None)
    found = book.session_doc(sid) if book is not None else None
    if found is None:
        return None
    mid, key = found
    m = book.get(mid)
    return {
        "meeting": {"id": mid, "name": m.name, "division": m.division, "key": key, **book.info(mid)},
        **publication(doc_status(key, m.signoffs)),
    }


def attachment(body: bytes | str, media: str, name: str) -> Response:
    """A file to download, saved as `name` (text is sent as UTF-8)."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})
