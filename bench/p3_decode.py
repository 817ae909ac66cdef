"""P3 decode throughput: frames/s of the stream decoder on real 2019 frames (median of 5 runs).

Two streams built from `shared/spec/p3-captures/amb-short.hex`: the capture as recorded
(mostly STATUS) repeated, and its PASSING frames only, each fed in 64 KiB reads as a socket
would deliver them. The same streams go through `reference_decode`, a straightforward
per-frame decoder written here (byte-by-byte frame split, unescape and table CRC, a TLV loop
into a dict), and the ratio is printed: what decoders/p3/codec.py gains by splitting on bytes,
`binascii.crc_hqx` and precompiled `struct` layouts while still checking every CRC. Runs of the
two alternate, so a busy machine slows both alike.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from decoders.p3.codec import _TABLE, P3StreamDecoder, PassingRecord  # noqa: E402

CAPTURE = ROOT.parent / "shared" / "spec" / "p3-captures" / "amb-short.hex"
CHUNK = 1 << 16


def build(frames: list[bytes], target: int) -> tuple[bytes, int]:
    reps = max(1, target // len(frames))
    return b"".join(frames) * reps, len(frames) * reps


REF_FIELDS = {  # tor -> tag -> (name, kind): the fields the reference decoder reads
    1: {
        0x01: ("passing_number", "u"),
        0x03: ("transponder", "u"),
        0x04: ("rtc_time_us", "u"),
        0x05: ("strength", "u"),
        0x06: ("hits", "u"),
        0x08: ("flags", "u"),
        0x0A: ("tran_code", "s"),
        0x10: ("utc_time_us", "u"),
        0x81: ("decoder_id", "x"),
    },
    2: {
        0x01: ("noise", "u"),
        0x06: ("gps", "u"),
        0x07: ("temperature", "u"),
        0x0A: ("satellites", "u"),
        0x0C: ("input_voltage", "u"),
        0x81: ("decoder_id", "x"),
    },
}


class ReferenceDecoder:
    """The straightforward decoder: one byte at a time, as the protocol description reads."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.bad = 0

    def feed(self, chunk: bytes) -> list[dict]:
        out = []
        for b in chunk:
            if b == 0x8E:
                self.buf = bytearray([b])
            elif self.buf:
                self.buf.append(b)
                if b == 0x8F:
                    rec = self.frame(bytes(self.buf))
                    self.buf = bytearray()
                    if rec is None:
                        self.bad += 1
                    else:
                        out.append(rec)
        return out

    @staticmethod
    def frame(raw: bytes) -> dict | None:
        frame = bytearray()
        i = 0
        while i < len(raw):
            if raw[i] == 0x8D:
                frame.append((raw[i + 1] - 0x20) & 0xFF)
                i += 2
            else:
                frame.append(raw[i])
                i += 1
        if len(frame) < 11 or frame[2] | (frame[3] << 8) != len(frame):
            return None
        crc = 0xFFFF  # the per-byte loop a straightforward decoder runs (the yardstick since issue 3)
        for k, byte in enumerate(frame):
            if k in (4, 5):
                byte = 0
            crc = _TABLE[crc >> 8] ^ ((crc << 8) & 0xFFFF) ^ byte
        if crc != frame[4] | (frame[5] << 8):
            return None
        tor = frame[8] | (frame[9] << 8)
        names = REF_FIELDS.get(tor, {})
        rec: dict = {"tor": tor}
        i = 10
        while i < len(frame) - 1:
            tag, size = frame[i], frame[i + 1]
            value = bytes(frame[i + 2 : i + 2 + size])
            name, kind = names.get(tag, (f"tag_{tag:02x}", "x"))
            rec[name] = (
                int.from_bytes(value, "little")
                if kind == "u"
                else value.hex()
                if kind == "x"
                else value.decode("latin-1")
            )
            i += 2 + size
        return rec


def run_once(dec, stream: bytes, expected: int) -> float:
    """Seconds to feed `stream` through `dec` in socket-sized reads; exits if a frame went missing."""
    count = 0
    t0 = time.perf_counter()
    for i in range(0, len(stream), CHUNK):
        count += len(dec.feed(stream[i : i + CHUNK]))
    elapsed = time.perf_counter() - t0
    bad = dec.bad if isinstance(dec, ReferenceDecoder) else sum(dec.rejected.values())
    if count != expected or bad:
        raise SystemExit(f"{type(dec).__name__} decoded {count} of {expected} frames, {bad} bad")
    return elapsed


def measure(name: str, stream: bytes, n: int, runs: int, ref_frames: int) -> float:
    """Both decoders, alternating; the reference on the first `ref_frames` frames (it is slow)."""
    ref_stream = stream[: len(stream) * ref_frames // n] if ref_frames < n else stream
    ref_n = len(ReferenceDecoder().feed(ref_stream))
    times, ref_times = [], []
    for _ in range(runs):
        times.append(run_once(P3StreamDecoder(), stream, n))
        ref_times.append(run_once(ReferenceDecoder(), ref_stream, ref_n))
    median = statistics.median(times)
    rate = n / median
    ref_rate = ref_n / statistics.median(ref_times)
    print(
        f"{name:<14} {n:>8} frames {len(stream) / 1e6:6.1f} MB  median {median * 1e3:7.1f} ms  "
        f"{rate:>10,.0f} frames/s  ({len(stream) / median / 1e6:.1f} MB/s)  "
        f"reference {ref_rate:>8,.0f} frames/s"
        f"  ratio {rate / ref_rate:5.1f}x"
    )
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200_000, help="frames per stream (default 200000)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--ref-frames", type=int, default=20_000, help="frames through the reference decoder")
    args = ap.parse_args()
    frames = [bytes.fromhex(line) for line in CAPTURE.read_text().split()]
    dec = P3StreamDecoder()
    passings = [f for f in frames if isinstance(dec.feed(f)[0], PassingRecord)]
    print(f"P3 stream decoder, Python {sys.version.split()[0]}, {args.runs} runs, {CHUNK} B reads")
    measure("capture mix", *build(frames, args.frames), args.runs, args.ref_frames)
    measure("passings only", *build(passings, args.frames), args.runs, args.ref_frames)


if __name__ == "__main__":
    main()
