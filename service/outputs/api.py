"""HTTP routes of the outputs: result files (PDF, spreadsheet CSVs), passings import, RMonitor status.

Files are public like the results they print; the import changes a session, so it needs a
timing-crew (or admin) token. `start_rmonitor` is how the app turns the scoreboard feed on.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import Response

from service import auth, limits
from service.auth import ADMIN, TIMING
from service.i18n import pick_lang
from service.outputs import files, passings_import
from service.outputs.rmonitor_server import RMonitorServer, parse_address

log = logging.getLogger(__name__)
TC = frozenset({ADMIN, TIMING})


async def start_rmonitor(app: FastAPI, mgr: Any, spec: str, session_id: str | None) -> RMonitorServer:
    host, port = parse_address(spec)
    server = RMonitorServer(mgr, host, port, session_id)
    await server.start()
    app.state.rmonitor = server
    return server


def _lang(request: Request, lang: str | None) -> str:
    """French by default; an unknown `lang` is a ValueError, which the app answers with a 400."""
    return pick_lang(lang, request.headers.get("accept-language"), default="fr", strict=True)


def _attachment(body: bytes | str, media: str, name: str) -> Response:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _loops(spec: str | None) -> dict[str, str]:
    """`loops=1:finish,2:pit_in` maps the file's loop names or ids to Boucle's loops."""
    out = {}
    for part in filter(None, (spec or "").split(",")):
        name, _, loop = part.rpartition(":")
        if not name or loop not in passings_import.LOOPS:
            raise HTTPException(400, f"loops: {part!r} is not NAME:LOOP with LOOP one of {', '.join(passings_import.LOOPS)}")
        out[name] = loop
    return out


def build_outputs_router(app: FastAPI, mgr: Any) -> APIRouter:
    api = APIRouter(prefix="/api")

    @api.get("/sessions/{sid}/results.pdf")
    async def results_pdf(sid: str, request: Request, lang: str | None = None) -> Response:
        s = mgr.get(sid)
        lg = _lang(request, lang)
        head = s.header()
        pdf = files.results_pdf(s.results(), s.name, f"{head['preset']} - {head['kind']}", lg)
        return _attachment(pdf, "application/pdf", f"{sid}-{lg}.pdf")

    @api.get("/sessions/{sid}/results.csv")
    async def results_csv(sid: str, request: Request, lang: str | None = None, decimal: str = "comma",
                          sep: str = "semicolon") -> Response:  # fmt: skip
        s = mgr.get(sid)
        body = files.results_csv(s.results(), _lang(request, lang), decimal, sep)  # bad option: 400
        return _attachment(body, "text/csv; charset=utf-8", f"{sid}-results.csv")

    @api.get("/sessions/{sid}/laps.csv")
    async def laps_csv(sid: str, request: Request, lang: str | None = None, decimal: str = "comma",
                       sep: str = "semicolon") -> Response:  # fmt: skip
        s = mgr.get(sid)
        body = files.laps_csv(files.lap_rows(s.engine, s.lap_chart()), _lang(request, lang), decimal, sep)
        return _attachment(body, "text/csv; charset=utf-8", f"{sid}-laps.csv")

    @api.post("/sessions/{sid}/passings/import")
    async def import_passings(sid: str, request: Request, offset_s: float = 0.0, loop: str = "finish",
                              loops: str | None = None, tolerance_s: float = 1.0) -> dict[str, Any]:  # fmt: skip
        s = mgr.get(sid)
        auth.need(request, mgr, s, TC)
        if loop not in passings_import.LOOPS:
            raise HTTPException(400, f"loop must be one of {', '.join(passings_import.LOOPS)}")
        if not math.isfinite(offset_s) or abs(offset_s) > 86400:
            raise HTTPException(400, "offset_s must be a number of seconds within one day")
        if not 0 <= tolerance_s <= 60:
            raise HTTPException(400, "tolerance_s must be between 0 and 60")
        raw = await _upload(request)
        origin = datetime.fromtimestamp(s.origin_us / 1e6)
        try:
            reads = passings_import.parse(raw, origin, s.rate, offset_s, loop, _loops(loops))
        except passings_import.ImportProblem as exc:
            s.counters["rejected"] += 1
            log.warning("session %s: passings import rejected: %s", sid, exc)
            raise HTTPException(400, str(exc)) from exc
        return {"ok": True, **(await passings_import.import_reads(s, reads, tolerance_s))}

    @api.get("/rmonitor")
    async def rmonitor_status() -> dict[str, Any]:
        server = getattr(app.state, "rmonitor", None)
        return {"enabled": server is not None, **(server.describe() if server is not None else {})}

    return api


async def _upload(request: Request) -> str:
    """The file: a multipart `file` field, or the raw body (text/csv)."""
    data = await limits.read_upload(request)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")  # Windows exports
