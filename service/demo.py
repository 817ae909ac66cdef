"""`boucle demo`: the service plus a simulated Le Mans race played through real P3 TCP decoders.

The simulator listens like real decoders (finish, pit in, pit out) on 127.0.0.1; the service
connects to them exactly as it would at a track. What loops cannot see (driver changes, refuels,
mechanical declarations, the green flag) is entered as race control would, at its time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
import time
from pathlib import Path

import uvicorn

from service.app import create_app
from service.connections import uvicorn_config
from service.outputs.rmonitor_server import parse_address
from service.server import admin_token_file
from service.sessions.live import DecoderLink, LiveSession
from service.sessions.views import wall_us
from simulator import model, scenario
from simulator.emit import play

log = logging.getLogger("boucle.demo")
PRESET = "lemans-270-2h"


def _race(args: argparse.Namespace) -> model.Race:
    params = model.Params.realistic()
    params.disconnects = 1  # one decoder drop-out, recovered by RESEND
    return model.generate(PRESET, args.cars, args.seed, params)


async def _marshal(session: LiveSession, lines: list[dict], speed: float) -> None:
    """Enter what no loop sees (flags, driver changes, refuels...) at its session time."""
    for line in lines:
        delay = session.origin_us / 1e6 + line["t"] / speed - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        session.submit(line)


def _rmonitor_spec(args: argparse.Namespace) -> str | None:
    """The RMonitor feed at --rmonitor (50000 by default), if that port is free: the demo runs anyway."""
    if not args.rmonitor or args.rmonitor == "off":
        return None
    host, port = parse_address(args.rmonitor, args.host)
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            print(f"RMonitor feed not started: {host}:{port} is not free ({exc.strerror})", flush=True)
            return None
    return f"{host}:{port}"


async def _run(args: argparse.Namespace) -> None:
    data = Path(args.data) / time.strftime("%Y%m%d-%H%M%S")
    token = admin_token_file(data / "admin-token")  # 0600, never printed: the demo says where it is
    broker = None
    options = {}
    if getattr(args, "cluster", False):  # spectators through a 3-node NATS cluster (docs/scaling.md)
        from service.nats_cluster import NatsCluster

        print("starting a 3-node NATS cluster (JetStream elects its leaders: a few seconds)...", flush=True)
        try:
            broker = NatsCluster(3, host=args.host).start()
        except FileNotFoundError as exc:  # the `cluster` extra is not installed
            print(f"boucle demo --cluster: {exc}", flush=True)
            return
        options = {"publish": broker.publish_url("boucle"), "publish_ws": ",".join(broker.ws_urls)}
    elif args.publish:  # spectators through an embedded mosquitto (docs/scaling.md)
        from service.embedded_broker import MosquittoBroker

        broker = MosquittoBroker(websockets=True, host=args.host)
        broker.start()
        options = {"publish": f"{broker.url}/boucle", "publish_ws": broker.ws_url}
    try:
        await _serve_demo(args, data, token, options, broker)
    finally:
        if broker is not None:
            broker.close()


async def _serve_demo(args: argparse.Namespace, data: Path, token: str, options: dict, broker) -> None:
    # the simulated decoders listen on this machine's loopback: allowed here, as an admin would
    app = create_app(data, token, rmonitor=_rmonitor_spec(args), allow_decoders=["127.0.0.1"], **options)
    mgr = app.state.manager
    race = _race(args)
    parsed = [json.loads(ln) for ln in scenario.lines(race) if ln.startswith("{")]
    head = [ln for ln in parsed if ln["type"] in ("session", "entry")]
    marshal = [ln for ln in parsed if ln["type"] not in ("session", "entry", "passing")]
    session = mgr.create(f"Demo - Le Mans Open Kart 2H ({len(race.cars)} karts, x{args.speed:g})", head[0])
    for entry in head[1:]:
        session.submit(entry)

    server = uvicorn.Server(uvicorn_config(app, args.host, args.port))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()  # raises: port taken...
            return
        await asyncio.sleep(0.05)
    url = f"http://{args.host}:{args.port}/"
    print(f"\nBoucle demo running: open {url}  (spectator live timing)", flush=True)
    print(f"  race control: {url}race-control.html   timing crew: {url}timing.html", flush=True)
    feed = getattr(app.state, "rmonitor", None)
    if feed is not None:
        print(f"  RMonitor scoreboard feed: tcp://{feed.host}:{feed.port}", flush=True)
    print(
        f"  login token: in {data / 'admin-token'}  (cat it, paste it on the log-in page; Ctrl-C to stop)",
        flush=True,
    )
    if broker is not None:
        print(
            f"  spectator streams published to {options['publish']} (browsers: {options['publish_ws']})",
            flush=True,
        )
    print(flush=True)

    links: list[DecoderLink] = []

    def announce(info: dict) -> None:
        link = DecoderLink(url=info["url"], loop=info["loop"], rtc_zero_us=info["rtc_base_us"])
        links.append(link)
        asyncio.get_running_loop().create_task(mgr.start_decoder(session, link))

    async def anchor_clock() -> None:
        # the simulator starts its clock once every decoder has a client: start ours with it
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if links and all(ln.source is not None and ln.source.status.state == "connected" for ln in links):
                break
            await asyncio.sleep(0.01)
        session.set_clock(wall_us(), args.speed)
        await _marshal(session, marshal, args.speed)

    marshal_task = asyncio.create_task(anchor_clock())
    try:
        await play(
            race,
            [f"p3tcp://127.0.0.1:{args.decoder_port}"],
            speed=args.speed,
            announce=announce,
            wait_clients_s=10,
            linger_s=3,
        )
        await marshal_task
        session.submit({"type": "signal", "signal": "finish_session"})
        print("Demo race finished: the classification stays on screen (Ctrl-C to stop).", flush=True)
        await serving
    finally:
        marshal_task.cancel()
        server.should_exit = True
        await asyncio.gather(serving, return_exceptions=True)


def run_demo(args: argparse.Namespace) -> int:
    logging.getLogger("boucle.simulator").setLevel(logging.WARNING)
    try:
        asyncio.run(_run(args))
    except KeyboardInterrupt:
        pass
    return 0
