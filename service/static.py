"""The web pages and their assets: gzip-compressed, cached forever under a versioned path.

Every file of web/ is read once at start. The version is a hash of the whole folder; pages are
served `no-cache` with their `css/`, `js/` and icon references rewritten to `s/VERSION/...`, and
everything under `s/VERSION/` is `immutable` for a year. Module imports inside the JS are
relative, so they resolve under the same versioned prefix with no build step. A new release
(any changed file) gives a new version, so browsers never mix old and new modules.
Compressed bodies are made once (gzip -9) and sent to clients that accept gzip.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
COMPRESSIBLE = (".html", ".js", ".css", ".json", ".svg", ".txt", ".map")
# href="css/..." src="js/..." href="favicon.svg" in pages (relative, so a mount prefix still works)
ASSET_REF = re.compile(r'(\b(?:href|src)=")((?:css|js|i18n)/[^"]+|favicon\.svg)"')
MIME = {
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gz: bytes | None
    media_type: str
    etag: str


def _asset(path: str, body: bytes) -> Asset:
    suffix = Path(path).suffix
    media = MIME.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"
    gz = gzip.compress(body, 9, mtime=0) if suffix in COMPRESSIBLE and len(body) > 256 else None
    if gz is not None and len(gz) >= len(body):
        gz = None
    return Asset(body, gz, media, '"' + hashlib.sha256(body).hexdigest()[:20] + '"')


class WebAssets:
    """ASGI app for `/`: pages, `s/VERSION/...` assets, unversioned assets, /favicon.ico."""

    def __init__(self, folder: Path) -> None:
        files = {
            p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
        }
        h = hashlib.sha256()
        for name, body in files.items():
            h.update(name.encode() + b"\0" + body)
        self.version = h.hexdigest()[:12]
        prefix = f"s/{self.version}/"
        self.assets: dict[str, Asset] = {}
        self.pages: dict[str, Asset] = {}
        for name, body in files.items():
            self.assets[name] = _asset(name, body)
            if name.endswith(".html"):
                text = ASSET_REF.sub(lambda m: f'{m.group(1)}{prefix}{m.group(2)}"', body.decode("utf-8"))
                self.pages[name] = _asset(name, text.encode("utf-8"))
        if "favicon.svg" in self.assets:
            self.assets["favicon.ico"] = self.assets["favicon.svg"]

    def lookup(self, path: str) -> tuple[Asset | None, str]:
        """(asset, cache-control) for a request path relative to the mount."""
        path = path.lstrip("/")
        if not path or path.endswith("/"):
            path += "index.html"
        if path in self.pages:
            return self.pages[path], REVALIDATE
        if path.startswith("s/"):
            parts = path.split("/", 2)
            ver, rest = parts[1], parts[2] if len(parts) > 2 else ""
            asset = self.assets.get(rest)
            # an old version's URL still gets today's file, but not cached forever
            return asset, IMMUTABLE if ver == self.version else REVALIDATE
        return self.assets.get(path), REVALIDATE

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        method = scope.get("method", "GET")
        path = scope.get("path", "/")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        asset, cache = self.lookup(path)
        if method not in ("GET", "HEAD"):
            resp = Response(
                "method not allowed", 405, media_type="text/plain", headers={"Allow": "GET, HEAD"}
            )
        elif asset is None:
            resp = Response("not found", 404, media_type="text/plain")
        else:
            headers = {"Cache-Control": cache, "ETag": asset.etag, "Vary": "Accept-Encoding"}
            req = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            if req.get("if-none-match") == asset.etag:
                resp = Response(status_code=304, headers=headers)
            elif asset.gz is not None and "gzip" in req.get("accept-encoding", ""):
                resp = Response(
                    asset.gz if method == "GET" else b"",
                    media_type=asset.media_type,
                    headers={**headers, "Content-Encoding": "gzip"},
                )
                resp.headers["Content-Length"] = str(len(asset.gz))
            else:
                resp = Response(
                    asset.body if method == "GET" else b"", media_type=asset.media_type, headers=headers
                )
                resp.headers["Content-Length"] = str(len(asset.body))
        await resp(scope, receive, send)
