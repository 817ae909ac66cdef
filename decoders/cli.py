"""`boucle p3 ...` subcommands: inspect P3 captures without running the service."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import fields
from datetime import datetime, timedelta
from typing import IO

from decoders.p3.codec import REJECT_REASONS, P3StreamDecoder, Record, tor_name, tor_of


def register(sub: argparse._SubParsersAction) -> None:
    """Add the decoder subcommands to the `boucle` CLI."""
    p3 = sub.add_parser("p3", help="AMB/MyLaps P3 protocol tools")
    p3_sub = p3.add_subparsers(dest="p3_command", required=True)
    dec = p3_sub.add_parser(
        "decode",
        help="decode a P3 capture to one JSON object per record",
        description="Decode a raw P3 byte stream (or, with --hex, one hex frame per line) and print one "
        "JSON object per valid record in stream order; a last stderr line counts records and rejects.",
    )
    dec.add_argument("file", metavar="FILE", help="capture file, '-' for stdin")
    dec.add_argument("--hex", action="store_true", help="FILE holds one frame per line as hex")
    dec.set_defaults(func=cmd_decode)


ENVELOPE = ("decoder_id", "controller_id", "request_id", "version", "extra", "requested")
TIMES = ("rtc_time_us", "utc_time_us")  # also printed as a date-time (UTC if the clock was set to UTC)


def record_json(record: Record) -> dict:
    """Every field the codec decoded, by name: `tor` first, the record's own fields, the envelope
    (decoder id, controller id, request id, version, unknown tags as hex, requested tags); times
    in µs also as `rtc_time`/`utc_time` (ISO 8601). Absent fields are null."""
    out: dict = {"tor": tor_name(tor_of(record))}
    names = [f.name for f in fields(record)]
    for name in [n for n in names if n not in ENVELOPE] + [n for n in ENVELOPE if n in names]:
        value = getattr(record, name)
        if name == "extra" or name == "fields":
            value = [[f"0x{tag:02X}", raw.hex()] for tag, raw in value]
        elif name == "requested":
            value = [f"0x{tag:02X}" for tag in value]
        elif name == "tor":
            continue
        out[name] = value
        if name in TIMES:
            out[name[:-3]] = _iso(value) if isinstance(value, int) else None
    return out


def _iso(us: int) -> str | None:
    try:
        return (datetime(1970, 1, 1) + timedelta(microseconds=us)).isoformat(timespec="microseconds")
    except OverflowError:  # a clock beyond year 9999: its number above says it all
        return None


def _hex_chunks(lines: Iterable[str], decoder: P3StreamDecoder) -> Iterator[bytes]:
    for line in lines:
        text = "".join(line.split())
        if not text or text.startswith("#"):
            continue
        try:
            yield bytes.fromhex(text)
        except ValueError:
            decoder.rejected["framing"] += 1  # not hex at all: count it like line noise


def _raw_chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(1 << 16):
        yield chunk


def decode_stream(chunks: Iterable[bytes], decoder: P3StreamDecoder, out: IO[str]) -> Counter:
    """Feed chunks, write JSON lines to `out`; returns record counts by TOR name."""
    counts: Counter = Counter()
    for chunk in chunks:
        for record in decoder.feed(chunk):
            counts[tor_name(tor_of(record))] += 1
            out.write(json.dumps(record_json(record)) + "\n")
    decoder.close()
    return counts


def summary_line(counts: Counter, rejected: dict[str, int]) -> str:
    by_tor = " ".join(f"{name}={n}" for name, n in sorted(counts.items()))
    rej = " ".join(f"{reason}={rejected.get(reason, 0)}" for reason in REJECT_REASONS)
    return f"records={sum(counts.values())} {by_tor} rejected: {rej}".replace("  ", " ")


def cmd_decode(args: argparse.Namespace) -> int:
    decoder = P3StreamDecoder()
    try:
        if args.hex:
            stream = sys.stdin if args.file == "-" else open(args.file, encoding="ascii", errors="replace")
            with stream:
                counts = decode_stream(_hex_chunks(stream, decoder), decoder, sys.stdout)
        else:
            stream_b = sys.stdin.buffer if args.file == "-" else open(args.file, "rb")
            with stream_b:
                counts = decode_stream(_raw_chunks(stream_b), decoder, sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:  # `| head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        print(f"boucle p3 decode: {exc}", file=sys.stderr)
        return 2
    print(summary_line(counts, decoder.rejected), file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (`python -m decoders.cli p3 decode ...`) for use before the service CLI exists."""
    parser = argparse.ArgumentParser(prog="boucle")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
