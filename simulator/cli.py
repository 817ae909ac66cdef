"""`boucle simulate ...`: write a scenario file at once, or play a race through real protocols."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator import model


class _Presets:
    """The simulator's presets as argparse `choices`, looked up only when `boucle simulate` is parsed:
    every other command (`boucle serve` above all) starts without the race model and numpy."""

    def __contains__(self, name: object) -> bool:
        from simulator import model

        return name in model.PRESETS

    def __iter__(self) -> Iterator[str]:
        from simulator import model

        return iter(model.PRESETS)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the simulator subcommands to the `boucle` CLI."""
    p = sub.add_parser(
        "simulate",
        help="simulate a race: write a scenario file, or play it as P3/MQTT decoders",
        description="Simulate a race reproducibly from a seed. Without --play the scenario is written "
        "at once (to --out, or stdout); with --play the passings are played in real time.",
    )
    add_arguments(p)
    p.set_defaults(func=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--preset",
        default="lemans-270-2h",
        choices=_Presets(),
        metavar="PRESET",
        help="the race model's preset (a wrong name lists them)",
    )
    p.add_argument("--cars", type=int, default=20)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--kind", help="session kind (race, qualifying, heat, semi, final...)")
    p.add_argument("--duration", type=float, help="override the race duration (seconds)")
    p.add_argument("--laps", type=int, help="override the lap count (lap races and heats)")
    p.add_argument(
        "--realistic",
        action="store_true",
        help="start from modest rates of rule infringements and decoder faults",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a model rate, e.g. --set short_stop=0.2 --set missed_read=0.01 (repeatable)",
    )
    p.add_argument("--out", help="scenario file to write ('-' for stdout)")
    p.add_argument("--summary", action="store_true", help="print a JSON summary of the race on stderr")
    p.add_argument(
        "--play",
        action="append",
        default=[],
        metavar="TARGET",
        help="play in real time: p3tcp://HOST:PORT (one port per decoder from PORT), "
        "serial (a pty per decoder), mqtt://HOST:PORT/PREFIX, protime (pty), protime+udp://HOST:PORT, "
        "rrs://HOST:PORT, wiclax://HOST:PORT (repeatable; the last four take ?corrupt=P&seed=S)",
    )
    p.add_argument("--speed", type=float, default=1.0, help="playback speed factor (10 = ten times faster)")
    p.add_argument(
        "--rtc-base-us",
        type=int,
        default=1_767_225_600_000_000,
        help="decoder clock at session t=0, microseconds (default 2026-01-01T00:00:00Z)",
    )
    p.add_argument("--from-t", type=float, default=None, help="start playback at this session time")
    p.add_argument(
        "--wait-clients",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before the green flag, wait up to this long for a client on every decoder",
    )
    p.add_argument(
        "--reboot-at",
        action="append",
        default=[],
        metavar="[DECODER=]T",
        help="that decoder (finish by default; a loop name or decoder id) reboots at session time T: "
        "its stored passings are gone and it numbers again from 1 (repeatable)",
    )
    p.add_argument(
        "--linger",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="keep the decoders up this long after the last passing (for late RESENDs)",
    )


def build(args: argparse.Namespace) -> model.Race:
    from simulator import model

    params = model.Params.realistic() if args.realistic else model.Params()
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set expects NAME=VALUE, got {item!r}")
        try:
            params.set(name.strip(), value.strip())
        except ValueError as e:
            raise SystemExit(str(e)) from None
    try:
        return model.generate(
            args.preset,
            args.cars,
            args.seed,
            params,
            kind=args.kind,
            duration_s=args.duration,
            laps=args.laps,
        )
    except ValueError as e:
        raise SystemExit(str(e)) from None


def run(args: argparse.Namespace) -> int:
    from simulator import model, scenario

    race = build(args)
    if args.play:  # what the played protocols can say (ms, 6-digit Protime transponders), in the file too
        from simulator.emit.faults import fit_race

        fit_race(race, args.play)
    if args.summary:
        print(json.dumps(model.describe(race), ensure_ascii=False), file=sys.stderr)
    if args.out == "-" or (not args.out and not args.play):
        sys.stdout.writelines(line + "\n" for line in scenario.lines(race))
        sys.stdout.flush()
    elif args.out:
        n = scenario.write(race, args.out)
        print(
            f"wrote {args.out}: {n} lines, {len(race.reads)} passings, {len(race.cars)} entries",
            file=sys.stderr,
        )
    if args.play:
        from simulator.emit import play  # deferred: only playback needs the codec and asyncio

        if args.speed <= 0:
            raise SystemExit("--speed must be positive")
        try:
            asyncio.run(
                play(
                    race,
                    args.play,
                    speed=args.speed,
                    rtc_base_us=args.rtc_base_us,
                    from_t=args.from_t,
                    announce=_announce,
                    wait_clients_s=args.wait_clients,
                    linger_s=args.linger,
                    reboot_at=[reboot_spec(x) for x in args.reboot_at],
                )
            )
        except KeyboardInterrupt:
            return 130
        except ValueError as e:
            raise SystemExit(str(e)) from None
    return 0


def reboot_spec(text: str) -> tuple[str, float]:
    """`--reboot-at [DECODER=]T` -> (decoder key or id, session time)."""
    who, sep, at = text.rpartition("=")
    try:
        return (who.strip() if sep else "finish"), float(at)
    except ValueError:
        raise SystemExit(f"--reboot-at expects [DECODER=]SECONDS, got {text!r}") from None


def _announce(info: dict) -> None:
    """Tell the operator (or a test) where each simulated decoder can be reached."""
    print(json.dumps(info, ensure_ascii=False), flush=True)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (`python -m simulator ...`), same options as `boucle simulate`."""
    parser = argparse.ArgumentParser(prog="python -m simulator")
    add_arguments(parser)
    return run(parser.parse_args(argv))
