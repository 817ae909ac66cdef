"""Decoder reads into a session: what the intake (clock map, kept-aside check, first-number
bookkeeping; service/sessions/intake.py) costs per read, against submitting the same passing lines directly.

Each run makes a session (SQLite synchronous=OFF, so the figure is the CPU cost, not the disk's),
30 entries, then 5,000 numbered reads of one decoder: once as ready lines through
`LiveSession.submit`, once as live `Passing` objects (stamped with a decoder clock five months off
as they are made) through `LiveSession.on_passing`, the clock learnt from their arrivals. Prints the
median reads per second of RUNS runs and the ratio.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from decoders import Passing  # noqa: E402
from service.sessions.live import DecoderLink, LiveSession  # noqa: E402
from service.store import EventStore  # noqa: E402

RUNS = 5
N = 5_000
RTC0 = 1_551_542_808_933_000


def session(tmp: Path) -> LiveSession:
    s = LiveSession.create(tmp, "bench", {"preset": "generic-timed"}, synchronous="OFF")
    s.submit_many(
        [
            {"type": "entry", "number": str(k), "name": f"car {k}", "transponder": str(1000 + k)}
            for k in range(30)
        ]
    )
    s.submit({"type": "signal", "signal": "green", "t": 0})
    return s


def direct(tmp: Path) -> float:
    s = session(tmp)
    lines = [
        {
            "type": "passing",
            "t": 1 + i * 0.5,
            "transponder": str(1000 + i % 30),
            "loop": "finish",
            "decoder": "d1",
            "passing_id": i + 1,
        }
        for i in range(N)
    ]
    t0 = time.perf_counter()
    for line in lines:
        s.submit(line)
    return N / (time.perf_counter() - t0)


def intake(tmp: Path) -> float:
    s = session(tmp)
    link = DecoderLink(url="bench://d1", loop="finish")
    link.origin_us = s.origin_us
    s.decoders.append(link)
    off = RTC0 - time.time_ns() // 1000
    t0 = time.perf_counter()
    for i in range(N):
        p = Passing("d1", str(1000 + i % 30), time.time_ns() // 1000 + off, passing_number=i + 1)
        assert s.on_passing(link, p)
    rate = N / (time.perf_counter() - t0)
    assert EventStore.count(s.store) == N + 32 and not s.intake.aside()["reads"]
    return rate


def main() -> None:
    a, b = [], []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as d:
            a.append(direct(Path(d) / "a"))
            b.append(intake(Path(d) / "b"))
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"submit(line)        {ma:9.0f} reads/s (median of {RUNS})")
    print(f"on_passing(Passing) {mb:9.0f} reads/s (median of {RUNS}), {mb / ma:.2f}x of direct")


if __name__ == "__main__":
    main()
