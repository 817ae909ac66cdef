"""Fan-out latency: passing in -> every WebSocket client has the update.

A real `boucle serve` process, N spectator (or race-control) clients in a separate process, and a
feeder posting passings at 20 per second. Latency = time a client receives the delta that shows
the car's new lap count - time the feeder sent that passing (same machine, same clock).
Prints p50 / p99 / max per client count and stream. Target: p99 <= 50 ms with 1,000 clients.

    python bench/latency.py                      # 100 and 1000 clients, both streams
    python bench/latency.py --clients 1000 --stream spectator --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from tests.service_proc import TOKEN, ServiceProcess  # noqa: E402

CARS = 60
RATE = 20.0  # passings per second


# -- client process --------------------------------------------------------------------------------
async def clients_main(url: str, n: int, out: str, seconds: float) -> None:
    import websockets

    received: list[list[tuple[float, str]]] = [[] for _ in range(n)]

    async def one(i: int) -> None:
        async with websockets.connect(url, max_queue=None, open_timeout=60) as ws:
            await ws.recv()  # snapshot
            ready.append(i)
            while True:
                text = await ws.recv()
                received[i].append((time.time(), text))

    ready: list[int] = []
    tasks = []
    for i in range(n):
        tasks.append(asyncio.create_task(one(i)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)  # don't SYN-flood the accept queue
    while len(ready) < n:
        await asyncio.sleep(0.05)
    print("ready", flush=True)
    await asyncio.sleep(seconds)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    # parse after the run, so parsing never delays a receive
    seen: list[dict] = []
    for msgs in received:
        first: dict[str, float] = {}
        for at, text in msgs:
            m = json.loads(text)
            for r in m.get("rows", []):
                key = f"{r['number']}:{r['laps']}"
                first.setdefault(key, at)
        seen.append(first)
    Path(out).write_text(json.dumps(seen))


# -- driver ----------------------------------------------------------------------------------------
def run_case(n_clients: int, stream: str, seconds: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        svc = ServiceProcess(Path(tmp) / "data").start()
        try:
            h = {"Authorization": f"Bearer {TOKEN}"}
            s = httpx.post(f"{svc.url}/api/sessions", headers=h,
                           json={"name": "bench", "preset": "generic-timed", "duration_s": 36000, "min_lap_s": 5}).json()  # fmt: skip
            sid = s["id"]
            entries = [{"number": str(i), "name": f"Car {i}", "transponder": str(5000 + i), "category": "Sport"}
                       for i in range(1, CARS + 1)]  # fmt: skip
            httpx.post(f"{svc.url}/api/sessions/{sid}/entries", json=entries, headers=h)
            httpx.post(f"{svc.url}/api/sessions/{sid}/signal", json={"signal": "green", "t": 0}, headers=h)
            token = s["tokens"]["race_control"]
            ws_url = svc.url.replace("http", "ws") + f"/ws/sessions/{sid}?stream={stream}&token={token}"
            out = Path(tmp) / "seen.json"
            n_pass = int(seconds * RATE)
            client_seconds = seconds + 3
            proc = subprocess.Popen([sys.executable, __file__, "--client", ws_url, "--clients", str(n_clients),
                                     "--out", str(out), "--seconds", str(client_seconds)],
                                    stdout=subprocess.PIPE, text=True)  # fmt: skip
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if line.strip() != "ready":
                raise RuntimeError(f"clients failed to start: {line!r}")
            sent: dict[str, float] = {}
            laps = dict.fromkeys(range(1, CARS + 1), 0)
            with httpx.Client(base_url=svc.url, headers=h) as http:
                t0 = time.perf_counter()
                for k in range(n_pass):
                    car = k % CARS + 1
                    laps[car] += 1
                    target = t0 + k / RATE
                    while (d := target - time.perf_counter()) > 0:
                        time.sleep(min(d, 0.01))
                    line = {"type": "passing", "t": 10.0 + k * 0.5, "transponder": str(5000 + car), "loop": "finish"}
                    sent[f"{car}:{laps[car]}"] = time.time()
                    http.post(f"/api/sessions/{sid}/events", json=line)
            proc.wait(timeout=client_seconds + 120)
            seen = json.loads(out.read_text())
        finally:
            svc.stop()
    lat = [(at - sent[key]) * 1000 for first in seen for key, at in first.items() if key in sent]
    missing = n_pass * n_clients - len(lat)
    lat.sort()
    return {
        "clients": n_clients, "stream": stream, "passings": n_pass, "samples": len(lat), "missing": missing,
        "p50_ms": statistics.median(lat), "p99_ms": lat[int(len(lat) * 0.99) - 1], "max_ms": lat[-1],
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--client", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--clients", type=int, action="append")
    ap.add_argument("--stream", action="append", choices=["spectator", "live"])
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    if args.client:
        asyncio.run(clients_main(args.client, args.clients[0], args.out, args.seconds))
        return
    print(f"bench/latency.py: {RATE:g} passings/s for {args.seconds:g} s, {CARS} cars")
    for stream in args.stream or ["live", "spectator"]:
        for n in args.clients or [100, 1000]:
            r = run_case(n, stream, args.seconds)
            print(f"  {r['stream']:>9} stream, {r['clients']:>5} clients: p50 {r['p50_ms']:6.1f} ms  "
                  f"p99 {r['p99_ms']:6.1f} ms  max {r['max_ms']:6.1f} ms  ({r['samples']} samples, {r['missing']} missing)",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
