"""HTTP routes of the outputs: result files (PDF, spreadsheet CSVs), passings import, RMonitor status.

Files are public like the results they print; the import changes a session, so it needs a
timing-crew (or admin) token. The work is `service/outputs/`'s; these routes only translate HTTP.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from service import auth, limits
from service.api import attachment
from service.auth import ADMIN, TIMING
from service.i18n import pick_lang
from service.outputs import files, passings_import

TC = frozenset({ADMIN, TIMING})


def _lang(request: Request, lang: str | None) -> str:
    """French by default; an unknown `lang` is a ValueError, which the app answers with a 400."""
    return pick_lang(lang, request.headers.get("accept-language"), default="fr", strict=True)


def build_outputs_router(app: FastAPI, mgr: Any) -> APIRouter:
    api = APIRouter(prefix="/api")

    @api.get("/sessions/{sid}/results.pdf")
    async def results_pdf(sid: str, request: Request, lang: str | None = None) -> Response:
        s = mgr.get(sid)
        lg = _lang(request, lang)
        head = s.header()
        pdf = files.results_pdf(s.results(), s.name, f"{head['preset']} - {head['kind']}", lg)
        return attachment(pdf, "application/pdf", f"{sid}-{lg}.pdf")

    @api.get("/sessions/{sid}/results.csv")
    async def results_csv(sid: str, request: Request, lang: str | None = None, decimal: str = "comma",
                          sep: str = "semicolon") -> Response:  # fmt: skip
        s = mgr.get(sid)
        body = files.results_csv(s.results(), _lang(request, lang), decimal, sep)  # bad option: 400
        return attachment(body, "text/csv; charset=utf-8", f"{sid}-results.csv")

    @api.get("/sessions/{sid}/laps.csv")
    async def laps_csv(sid: str, request: Request, lang: str | None = None, decimal: str = "comma",
                       sep: str = "semicolon") -> Response:  # fmt: skip
        s = mgr.get(sid)
        body = files.laps_csv(files.lap_rows(s.engine, s.lap_chart()), _lang(request, lang), decimal, sep)
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
