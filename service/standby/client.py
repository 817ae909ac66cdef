"""Talking to the other machine of the pair over HTTP (stdlib only: the service has no HTTP client
dependency), and `boucle promote URL`.

The admin token never goes on a command line where `ps` shows it: it comes from
`--admin-token-file` (a 0600 file) or the environment (`BOUCLE_ADMIN_TOKEN`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import stat
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from service.errors import Invalid

TOKEN_ENV = "BOUCLE_ADMIN_TOKEN"


def normal_url(url: str) -> str:
    """`http(s)://HOST[:PORT]` of a Boucle service, without a trailing slash; ValueError otherwise."""
    parts = urlsplit(url.strip())
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
    ):
        raise Invalid("standby.bad_url", url=url)
    return f"{parts.scheme}://{parts.netloc}"


def read_token_file(path: str | Path) -> str:
    """The admin token kept in a file readable by its owner only (refused when others may read it)."""
    p = Path(path)
    mode = p.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise Invalid("admin.token_file_open", path=str(p))
    token = p.read_text(encoding="utf-8").strip()
    if not token:
        raise Invalid("admin.token_file_empty", path=str(p))
    return token


def admin_token(token_file: str | None, token: str | None = None) -> str | None:
    """The admin token: from `--admin-token-file`, else `--admin-token`, else $BOUCLE_ADMIN_TOKEN."""
    if token_file:
        return read_token_file(token_file)
    return token or os.environ.get(TOKEN_ENV) or None


def request_json(
    url: str, method: str = "GET", body: Any = None, token: str | None = None, timeout: float = 3.0
) -> tuple[int, Any]:
    """(status, decoded JSON body) of one request; OSError when the service cannot be reached."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:  # noqa: S310 - http(s) only (normal_url)
            status, raw = res.status, res.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, {"detail": raw[:200].decode(errors="replace")}


async def call(
    url: str, method: str = "GET", body: Any = None, token: str | None = None, timeout: float = 3.0
) -> tuple[int, Any] | None:
    """`request_json` off the event loop; None when the other machine does not answer."""
    try:
        return await asyncio.to_thread(request_json, url, method, body, token, timeout)
    except (OSError, ValueError):
        return None


def promote_command(args: argparse.Namespace) -> int:
    """`boucle promote URL`: make the standby at URL the primary; prints what it did."""
    try:
        base = normal_url(args.url)
        token = admin_token(args.admin_token_file)
    except (OSError, ValueError) as exc:
        print(f"boucle promote: {exc}", file=sys.stderr)
        return 2
    if not token:
        print(
            f"boucle promote: give the admin token with --admin-token-file FILE or ${TOKEN_ENV}",
            file=sys.stderr,
        )
        return 2
    try:
        status, got = request_json(f"{base}/api/promote?lang={args.lang}", "POST", {}, token, timeout=120)
    except OSError as exc:
        print(f"boucle promote: {base} does not answer: {exc}", file=sys.stderr)
        return 1
    if status != 200:
        detail = got.get("detail") if isinstance(got, dict) else got
        print(f"boucle promote: {base}: {status} {detail}", file=sys.stderr)
        return 1
    print(json.dumps(got, indent=1, ensure_ascii=False))
    return 0
