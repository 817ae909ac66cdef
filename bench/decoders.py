"""Decoder codec throughput: messages per second, bytes in to `Passing` out (median of 5 runs).

For each protocol a stream of 50,000 messages as a busy decoder sends them (passings, one status
or heartbeat line in 20), fed in 64 KiB reads as a socket delivers them; every passing is turned
into a `decoders.Passing` (the work a source does before the service sees it). P3 (real 2019
frames from shared/spec/p3-captures) is printed alongside as the yardstick. A 24-hour race of
60 karts at 45 s laps is about 115,000 passings per loop: any of these rates is far beyond what
one decoder sends, so a link is never limited by its codec.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from decoders.daytime import civil_us  # noqa: E402
from decoders.p3.codec import P3StreamDecoder, PassingRecord  # noqa: E402
from decoders.passing import Passing  # noqa: E402
from decoders.protime import codec as protime  # noqa: E402
from decoders.rrs import codec as rrs  # noqa: E402
from decoders.wiclax import codec as wiclax  # noqa: E402

CHUNK = 1 << 16
T0 = civil_us(2026, 12, 4, 14, 0, 0)
CAPTURE = ROOT.parent / "shared" / "spec" / "p3-captures" / "amb-short.hex"


def streams(n: int) -> dict[str, tuple[bytes, Callable]]:
    """protocol -> (wire bytes of n messages, a codec run over them: (messages read, Passings made))."""

    def at(i: int) -> int:
        return T0 + i * 37_000

    pro = b"".join(
        protime.status_message(at(i) % 86_400_000_000, (40, 35), (10, 12))
        if i % 20 == 0
        else protime.passing_message("STA" if i % 3 else "BOX", 100_000 + i % 60, at(i) % 86_400_000_000)
        for i in range(n)
    )
    rr = b"".join(
        rrs.status_line(at(i)) if i % 20 == 0 else rrs.passing_line(i, f"KD{i % 60:04d}", at(i))
        for i in range(n)
    )
    wic = b"".join(
        b"*\r" if i % 20 == 0 else wiclax.passing_line(f"{i % 60:05d}", at(i), "0A", i // 60, 80)
        for i in range(n)
    )

    def runner(make, kind, convert) -> Callable[[bytes], tuple[int, int]]:
        def run(data: bytes) -> tuple[int, int]:
            dec, records, made = make(), 0, 0
            for i in range(0, len(data), CHUNK):
                for r in dec.feed(data[i : i + CHUNK]):
                    records += 1
                    if isinstance(r, kind):
                        made += isinstance(convert(r), Passing | PassingRecord)
            return records, made

        return run

    out = {
        "protime": (
            pro,
            runner(
                protime.ProtimeDecoder,
                protime.ProtimePassing,
                lambda r: protime.to_passing(r, decoder_id="0412", ref_us=T0),
            ),
        ),
        "rrs": (
            rr,
            runner(rrs.RrsDecoder, rrs.RrsPassing, lambda r: rrs.to_passing(r, decoder_id="B/1", ref_us=T0)),
        ),
        "wiclax": (
            wic,
            runner(
                wiclax.WiclaxDecoder, wiclax.WiclaxPassing, lambda r: wiclax.to_passing(r, decoder_id="0A")
            ),
        ),
    }
    if CAPTURE.exists():
        frames = [bytes.fromhex("".join(x.split())) for x in CAPTURE.read_text().splitlines() if x.strip()]
        p3 = b"".join(frames) * max(1, n // len(frames))
        out["p3 (yardstick)"] = (p3, runner(P3StreamDecoder, PassingRecord, lambda r: r))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=50_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    print(f"decoder codecs: {args.messages:,} messages per stream, 64 KiB reads, median of {args.runs} runs")
    for name, (data, run) in streams(args.messages).items():
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            records, made = run(data)
            times.append(time.perf_counter() - t)
        med = statistics.median(times)
        print(
            f"  {name:16s} {records / med:>10,.0f} messages/s  {made / med:>10,.0f} passings/s  "
            f"{len(data) / med / 1e6:5.1f} MB/s  ({records:,} messages, {made:,} passings)"
        )


if __name__ == "__main__":
    main()
