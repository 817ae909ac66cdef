"""`boucle p3 ...` subcommands: inspect P3 captures without running the service."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import IO

from decoders.p3.codec import (
    REJECT_REASONS,
    P3StreamDecoder,
    PassingRecord,
    Record,
    StatusRecord,
    tor_name,
    tor_of,
)


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


def record_json(record: Record) -> dict:
    """The JSON shape of `boucle p3 decode` (issue 3): stable keys, absent fields as null."""
    if isinstance(record, PassingRecord):
        return {
            "tor": "PASSING",
            "passing_number": record.passing_number,
            "transponder": record.transponder,
            "tran_code": record.tran_code,
            "rtc_time_us": record.rtc_time_us,
            "strength": record.strength,
            "hits": record.hits,
            "flags": record.flags,
            "decoder_id": record.decoder_id,
        }
    if isinstance(record, StatusRecord):
        return {
            "tor": "STATUS",
            "noise": record.noise,
            "gps": record.gps,
            "temperature": record.temperature,
            "decoder_id": record.decoder_id,
        }
    return {"tor": f"0x{tor_of(record):04X}", "decoder_id": record.decoder_id}


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
