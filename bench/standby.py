"""Hot standby: how far behind the standby is at 20 passings/s, and how long a promotion takes.

Each run starts two real `boucle serve` processes on 127.0.0.1 (the event log at synchronous=FULL,
as at the track): a primary, and a standby following it. A simulated P3 decoder pushes 20 passings
a second to both (30 karts) for DURATION seconds. The copy delay of each line is its commit time
on the standby minus its commit time on the primary (both SQLite files, one clock: same machine).
Then the primary is SIGKILLed; the decoder goes on for HELD_S seconds (the standby holds those
reads, as while the crew decides) and the standby is promoted: the time from the promotion request
to the first write the new primary accepts (a race-control line), and the promotion's own figure
(it logs the held reads first).
Prints the medians of RUNS runs, and the machine's load average (other work skews the figures).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from simulator.emit.base import Feed, SimPassing  # noqa: E402
from simulator.emit.p3tcp import P3TcpTarget  # noqa: E402

RUNS = 3
RATE = 20.0  # passings per second
DURATION = 30.0  # seconds of passings per run
KARTS = 30
HELD_S = 5.0  # seconds between the kill and the promotion (the decoder goes on)
TOKEN = "bench-standby-token"
RTC0 = 1_767_225_600_000_000
H = {"Authorization": f"Bearer {TOKEN}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(data: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--data", str(data), *extra],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "BOUCLE_ADMIN_TOKEN": TOKEN},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/presets", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("boucle serve did not come up")


async def until(cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(cond):
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)


def copy_delays(primary: Path, standby: Path, sid: str) -> list[float]:
    """Per line: committed on the standby minus committed on the primary (ms)."""
    at = {}
    for folder in (primary, standby):
        db = sqlite3.connect(f"file:{folder / (sid + '.sqlite')}?mode=ro", uri=True)
        at[folder] = dict(db.execute("SELECT seq, received_at FROM events"))
        db.close()
    return [(at[standby][q] - t) * 1000 for q, t in at[primary].items() if q in at[standby] and q > KARTS + 2]


async def push(target: P3TcpTarget, feed: Feed, t0: float) -> None:
    """RATE passings a second, numbered from 1, until cancelled."""
    n = 0
    while True:
        elapsed = time.monotonic() - t0
        while n < elapsed * RATE:
            n += 1
            p = SimPassing(n, str(1000 + n % KARTS), RTC0 + round(elapsed * 1e6), 120, 30, elapsed)
            feed.read(p)
            await target.passing(feed, p)
        await asyncio.sleep(0.01)


async def one_run(tmp: Path) -> tuple[list[float], float, float, int]:
    primary, p_url = serve(tmp / "p")
    standby, s_url = serve(tmp / "s", "--standby-of", p_url)
    feed = Feed("finish", "01b00400", "finish", RTC0, [], [])
    target = P3TcpTarget("p3tcp://127.0.0.1:0")
    (info,) = await target.start([feed])
    feed.started = True
    pushing: asyncio.Task | None = None
    http = httpx.Client(headers=H, timeout=30)
    try:
        sid = http.post(
            f"{p_url}/api/sessions", json={"name": "bench", "preset": "generic-timed", "kind": "race"}
        ).json()["id"]
        http.post(
            f"{p_url}/api/sessions/{sid}/entries",
            json=[{"type": "entry", "number": str(k), "transponder": str(1000 + k)} for k in range(KARTS)],
        )
        http.post(f"{p_url}/api/sessions/{sid}/decoders", json={"url": info["url"], "rtc_zero_us": RTC0})
        await until(lambda: target.clients(feed) >= 2, 60, "both machines on the decoder")
        t0 = time.monotonic()
        pushing = asyncio.create_task(push(target, feed, t0))
        await asyncio.sleep(DURATION)
        await until(
            lambda: http.get(f"{s_url}/api/standby").json()["follow"]["lines_behind"] <= 1, 30, "the copy"
        )
        delays = copy_delays(tmp / "p", tmp / "s", sid)
        primary.send_signal(signal.SIGKILL)
        primary.wait(10)
        await asyncio.sleep(HELD_S)
        held = http.get(f"{s_url}/api/standby").json()["held"]["reads"]
        t1 = time.perf_counter()
        done = http.post(f"{s_url}/api/promote", json={})
        assert done.status_code == 200, done.text
        while http.post(f"{s_url}/api/sessions/{sid}/signal", json={"signal": "yellow"}).status_code != 200:
            time.sleep(0.001)
        first_write = (time.perf_counter() - t1) * 1000
        return delays, first_write, float(done.json()["took_ms"]), held
    finally:
        if pushing is not None:
            pushing.cancel()
        http.close()
        await target.stop()
        for proc in (primary, standby):
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


def main() -> None:
    p50s, p99s, writes, promotions, held = [], [], [], [], []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as tmp:
            delays, first_write, took, n = asyncio.run(one_run(Path(tmp)))
        held.append(n)
        s = sorted(delays)
        p50s.append(s[len(s) // 2])
        p99s.append(s[min(len(s) - 1, int(0.99 * len(s)))])
        writes.append(first_write)
        promotions.append(took)
    print(
        f"hot standby, {RATE:g} passings/s for {DURATION:g} s, {RUNS} runs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"  copy delay (primary commit -> standby commit): p50 {statistics.median(p50s):.1f} ms, "
        f"p99 {statistics.median(p99s):.1f} ms  (per run p99: {', '.join(f'{x:.0f}' for x in p99s)})"
    )
    print(
        f"  promotion {HELD_S:g} s after a kill -9, holding {statistics.median(held):.0f} reads: first write "
        f"accepted {statistics.median(writes):.0f} ms after the request (promotion itself "
        f"{statistics.median(promotions):.0f} ms)"
    )


if __name__ == "__main__":
    main()
