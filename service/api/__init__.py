"""HTTP routers: they translate requests into commands of the front doors (`LiveSession`, the
meeting service, seasons) and domain objects back into JSON. They check who the caller is
(service/auth.py) and never catch domain errors: service/http_errors.py answers those.
"""

from __future__ import annotations

from fastapi.responses import Response


def attachment(body: bytes | str, media: str, name: str) -> Response:
    """A file to download, saved as `name` (text is sent as UTF-8)."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})
