"""HTTP routes of the outputs: result files (PDF, spreadsheet CSVs), passings import, RMonitor status.

Files are public like the results they print; the import changes a session, so it needs a
timing-crew (or admin) token. The work is `service/outputs/`'s; these routes only translate HTTP.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service import auth, limits
from service.api import attachment, doc_lang, session_publication
from service.auth import ADMIN, TIMING
from service.documents import Documents, version_of
from service.outputs import files, passings_import

if TYPE_CHECKING:
    from service.sessions.manager import Manager

TC = frozenset({ADMIN, TIMING})


def build_outputs_router(mgr: Manager, docs: Documents) -> APIRouter:
    """The output routes over the manager's sessions; `docs`: the app's document workers and cache."""
    api = APIRouter(prefix="/api")

    @api.get("/sessions/{sid}/results.pdf")
    async def results_pdf(sid: str, request: Request) -> Response:
        """The classification to print, in the caller's language (`?lang=`, else Accept-Language)."""
        s = mgr.get(sid)
        lg = doc_lang(request)
        pub = session_publication(mgr, sid)

        def prepare() -> tuple:
            return (
                s.results(detail=True),
                files.title(lg, s.name, pub),
                files.subtitle(lg, s.header()),
                lg,
                None,
                pub,
            )

        # drawn in a worker process, once per session version and publication state (service/documents.py)
        key = ("results.pdf", sid, version_of(s), lg, json.dumps(pub, sort_keys=True, default=str))
        pdf = await docs.get(key, prepare, files.results_pdf, process=True)
        return attachment(pdf, "application/pdf", f"{sid}-{lg}.pdf")

    @api.get("/sessions/{sid}/results.csv")
    async def results_csv(
        sid: str, request: Request, decimal: str | None = None, sep: str | None = None
    ) -> Response:
        """The classification for spreadsheets: the caller's language decides the separator and the
        decimal mark (French `;` and `,`), which `sep` and `decimal` may override."""
        s = mgr.get(sid)
        lg = doc_lang(request)
        files.check_options(decimal, sep)  # bad option: 400
        body = await docs.get(
            ("results.csv", sid, version_of(s), lg, decimal, sep),
            lambda: (s.results(), lg, decimal, sep),
            files.results_csv,
        )
        return attachment(body, "text/csv; charset=utf-8", f"{sid}-results.csv")

    @api.get("/sessions/{sid}/laps.csv")
    async def laps_csv(
        sid: str, request: Request, decimal: str | None = None, sep: str | None = None
    ) -> Response:
        s = mgr.get(sid)
        lg = doc_lang(request)
        files.check_options(decimal, sep)
        body = await docs.get(
            ("laps.csv", sid, version_of(s), lg, decimal, sep),
            lambda: (files.lap_rows(s.engine, s.lap_chart()), lg, decimal, sep),
            files.laps_csv,
        )
        return attachment(body, "text/csv; charset=utf-8", f"{sid}-laps.csv")

    @api.post("/sessions/{sid}/passings/import")
    async def import_passings(
        sid: str,
        request: Request,
        offset_s: float = 0.0,
        loop: str = "finish",
        loops: str | None = None,
        tolerance_s: float = 1.0,
    ) -> dict[str, Any]:
        s = mgr.get(sid)
        auth.need(request, mgr, s, TC)
        data = await limits.read_upload(request)
        return {
            "ok": True,
            **(await passings_import.import_file(s, data, offset_s, loop, loops, tolerance_s)),
        }

    @api.get("/rmonitor")
    async def rmonitor_status(request: Request) -> dict[str, Any]:
        server = getattr(request.app.state, "rmonitor", None)  # started with the app (rmonitor_server.py)
        return {"enabled": server is not None, **(server.describe() if server is not None else {})}

    return api
