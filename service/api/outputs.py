"""HTTP routes of the outputs: result files (PDF, spreadsheet CSVs), passings import, RMonitor status.

Files are public like the results they print; the import changes a session, so it needs a
timing-crew (or admin) token. The work is `service/outputs/`'s; these routes only translate HTTP.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from service import auth, limits
from service.api import attachment, doc_lang, session_publication
from service.auth import ADMIN, TIMING
from service.outputs import files, passings_import

TC = frozenset({ADMIN, TIMING})


def build_outputs_router(app: FastAPI, mgr: Any) -> APIRouter:
    api = APIRouter(prefix="/api")

    @api.get("/sessions/{sid}/results.pdf")
    async def results_pdf(sid: str, request: Request) -> Response:
        """The classification to print, in the caller's language (`?lang=`, else Accept-Language)."""
        s = mgr.get(sid)
        lg = doc_lang(request)
        pub = session_publication(mgr, sid)
        pdf = files.results_pdf(s.results(detail=True), files.title(lg, s.name, pub), files.subtitle(lg, s.header()),
                                lg, publication=pub)  # fmt: skip
        return attachment(pdf, "application/pdf", f"{sid}-{lg}.pdf")

    @api.get("/sessions/{sid}/results.csv")
    async def results_csv(sid: str, request: Request, decimal: str | None = None, sep: str | None = None) -> Response:
        """The classification for spreadsheets: the caller's language decides the separator and the
        decimal mark (French `;` and `,`), which `sep` and `decimal` may override."""
        s = mgr.get(sid)
        body = files.results_csv(s.results(), doc_lang(request), decimal, sep)  # bad option: 400
        return attachment(body, "text/csv; charset=utf-8", f"{sid}-results.csv")

    @api.get("/sessions/{sid}/laps.csv")
    async def laps_csv(sid: str, request: Request, decimal: str | None = None, sep: str | None = None) -> Response:
        s = mgr.get(sid)
        body = files.laps_csv(files.lap_rows(s.engine, s.lap_chart()), doc_lang(request), decimal, sep)
        return attachment(body, "text/csv; charset=utf-8", f"{sid}-laps.csv")

    @api.post("/sessions/{sid}/passings/import")
    async def import_passings(sid: str, request: Request, offset_s: float = 0.0, loop: str = "finish",
                              loops: str | None = None, tolerance_s: float = 1.0) -> dict[str, Any]:  # fmt: skip
        s = mgr.get(sid)
        auth.need(request, mgr, s, TC)
        data = await limits.read_upload(request)
        return {"ok": True, **(await passings_import.import_file(s, data, offset_s, loop, loops, tolerance_s))}

    @api.get("/rmonitor")
    async def rmonitor_status() -> dict[str, Any]:
        server = getattr(app.state, "rmonitor", None)
        return {"enabled": server is not None, **(server.describe() if server is not None else {})}

    return api
