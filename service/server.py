"""`boucle serve`: the live service under uvicorn."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys

import uvicorn

from service.app import create_app
from service.outputs.rmonitor_server import parse_address

log = logging.getLogger("boucle")


def run_server(args: argparse.Namespace) -> int:
    from service.standby.client import TOKEN_ENV, admin_token

    try:
        token = admin_token(args.admin_token_file, args.admin_token) or secrets.token_urlsafe(18)
    except (OSError, ValueError) as exc:
        print(f"boucle serve: {exc}", file=sys.stderr)
        return 2
    if args.standby_of and args.decoder:
        print("boucle serve: a standby opens the decoders its primary stores; --decoder goes to the primary",
              file=sys.stderr)  # fmt: skip
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
        app = create_app(args.data, token, decoders=args.decoder, decoder_session=args.session, rmonitor=rmonitor,
                         publish=args.publish, publish_ws=args.publish_ws, standby_of=args.standby_of,
                         advertise=advertise)  # fmt: skip
    except ValueError as exc:
        print(f"boucle serve: {exc}", file=sys.stderr)
        return 2
    print(f"Boucle live timing: http://{args.host}:{args.port}/", flush=True)
    if rmonitor:
        print(f"RMonitor scoreboard feed: tcp://{host}:{port} ({args.rmonitor_encoding})", flush=True)
    if args.standby_of:
        print(f"Hot standby of {args.standby_of}: read-only until promoted (boucle promote)", flush=True)
    if args.admin_token or not (args.admin_token_file or os.environ.get(TOKEN_ENV)):  # a secret kept secret
        print(f"Admin token (race control / timing crew login): {token}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", ws="websockets-sansio")
    return 0
