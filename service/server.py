"""`boucle serve`: the live service under uvicorn."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
from pathlib import Path

import uvicorn

from service import ratelimit
from service.app import create_app
from service.connections import ConnectionLimits, uvicorn_config
from service.outputs.rmonitor_server import parse_address

log = logging.getLogger("boucle")


def admin_token_file(path: Path) -> str:
    """The admin token kept in `path`, readable by this user only (0600): read when it is there,
    else made and written. Never printed: whoever may read the file is the admin."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        token = ""
    if token:
        os.chmod(path, 0o600)
        return token
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(18)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")
    os.chmod(path, 0o600)  # O_CREAT's mode does not apply to a file that was already there
    return token


def run_server(args: argparse.Namespace) -> int:
    from service.standby.client import TOKEN_ENV, read_token_file

    token_file = Path(args.admin_token_file or Path(args.data) / "admin-token")
    try:  # an operator's own file must be private already; the one this service made is kept private
        if args.admin_token_file and token_file.exists():
            token = read_token_file(token_file)
        else:
            token = args.admin_token or os.environ.get(TOKEN_ENV) or admin_token_file(token_file)
    except (OSError, ValueError) as exc:
        print(f"boucle serve: {exc}", file=sys.stderr)
        return 2
    if args.standby_of and args.decoder:
        print(
            "boucle serve: a standby opens the decoders its primary stores; --decoder goes to the primary",
            file=sys.stderr,
        )
        return 2
    wildcard = args.host in ("0.0.0.0", "::", "")
    advertise = args.advertise or f"http://{'*' if wildcard else args.host}:{args.port}"
    rmonitor = None
    if args.rmonitor:
        try:  # `--rmonitor PORT` listens on the service's own --host
            host, port = parse_address(args.rmonitor, args.host)
            rmonitor = f"{host}:{port}?encoding={args.rmonitor_encoding}"
        except ValueError as exc:
            print(f"boucle serve: {exc}", file=sys.stderr)
            return 2
    try:
        spec = args.rate_limits or f"{ratelimit.DOCUMENTS},{ratelimit.READS}"
        rates = None if spec == "off" else tuple(spec.split(",", 1))
        if rates is not None:
            ratelimit.check(rates)
        app = create_app(
            args.data,
            token,
            args.synchronous,
            decoders=args.decoder,
            decoder_session=args.session,
            rmonitor=rmonitor,
            publish=args.publish,
            publish_ws=args.publish_ws,
            allow_decoders=args.allow_decoder,
            rate_limits=rates,
            standby_of=args.standby_of,
            advertise=advertise,
        )
    except ValueError as exc:
        print(f"boucle serve: {exc}", file=sys.stderr)
        return 2
    print(f"Boucle live timing: http://{args.host}:{args.port}/", flush=True)
    if rmonitor:
        print(f"RMonitor scoreboard feed: tcp://{host}:{port} ({args.rmonitor_encoding})", flush=True)
    if args.standby_of:
        print(f"Hot standby of {args.standby_of}: read-only until promoted (boucle promote)", flush=True)
    if not (args.admin_token or os.environ.get(TOKEN_ENV)):
        print(
            f"Admin token (log in on the staff pages): in {token_file} (readable by this user only)",
            flush=True,
        )
    limits = ConnectionLimits(
        per_client=args.max_connections_per_client,
        total=args.max_connections,
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
    )
    uvicorn.Server(uvicorn_config(app, args.host, args.port, limits)).run()
    return 0
