"""P3 decode throughput: frames/s of the stream decoder on real 2019 frames (median of 5 runs).

Two streams built from `shared/spec/p3-captures/amb-short.hex`: the capture as recorded
(mostly STATUS) repeated, and its PASSING frames only, each fed in 64 KiB reads as a socket
would deliver them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from decoders.p3.codec import P3StreamDecoder, PassingRecord  # noqa: E402

CAPTURE = ROOT.parent / "shared" / "spec" / "p3-captures" / "amb-short.hex"
CHUNK = 1 << 16


def build(frames: list[bytes], target: int) -> tuple[bytes, int]:
    reps = max(1, target // len(frames))
    return b"".join(frames) * reps, len(frames) * reps


def run_once(stream: bytes, expected: int) -> float:
    dec = P3StreamDecoder()
    count = 0
    t0 = time.perf_counter()
    for i in range(0, len(stream), CHUNK):
        count += len(dec.feed(stream[i:i + CHUNK]))
    elapsed = time.perf_counter() - t0
    if count != expected or any(dec.rejected.values()):
        raise SystemExit(f"decoded {count} of {expected} frames, rejected {dec.rejected}")
    return elapsed


def measure(name: str, stream: bytes, n: int, runs: int) -> float:
    times = [run_once(stream, n) for _ in range(runs)]
    median = statistics.median(times)
    rate = n / median
    print(f"{name:<14} {n:>8} frames {len(stream) / 1e6:6.1f} MB  median {median * 1e3:7.1f} ms  "
          f"{rate:>10,.0f} frames/s  ({len(stream) / median / 1e6:.1f} MB/s)")
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200_000, help="frames per stream (default 200000)")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    frames = [bytes.fromhex(line) for line in CAPTURE.read_text().split()]
    dec = P3StreamDecoder()
    passings = [f for f in frames if isinstance(dec.feed(f)[0], PassingRecord)]
    print(f"P3 stream decoder, Python {sys.version.split()[0]}, {args.runs} runs, {CHUNK} B reads")
    measure("capture mix", *build(frames, args.frames), args.runs)
    measure("passings only", *build(passings, args.frames), args.runs)


if __name__ == "__main__":
    main()
