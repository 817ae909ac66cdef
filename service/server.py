"""`boucle serve`: the live service under uvicorn."""

from __future__ import annotations

import argparse
import logging
import secrets
import sys

import uvicorn

from service.app import create_app
from service.outputs.rmonitor_server import parse_address

log = logging.getLogger("boucle")


def run_server(args: argparse.Namespace) -> int:
    token = args.admin_token or secrets.token_urlsafe(18)
    rmonitor = None
    if args.rmonitor:
        try:  # `--rmonitor PORT` listens on the service's own --host
            host, port = parse_address(args.rmonitor, args.host)
            rmonitor = f"{host}:{port}"
        except ValueError as exc:
            print(f"boucle serve: {exc}", file=sys.stderr)
            return 2
    try:
        app = create_app(args.data, token, decoders=args.decoder, decoder_session=args.session, rmonitor=rmonitor,
                         publish=args.publish, publish_ws=args.publish_ws, allow_decoders=args.allow_decoder)  # fmt: skip
    except ValueError as exc:
        print(f"boucle serve: {exc}", file=sys.stderr)
        return 2
    print(f"Boucle live timing: http://{args.host}:{args.port}/", flush=True)
    if rmonitor:
        print(f"RMonitor scoreboard feed: tcp://{rmonitor}", flush=True)
    print(f"Admin token (race control / timing crew login): {token}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", ws="websockets-sansio")
    return 0
