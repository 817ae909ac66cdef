"""Fan-out latency: passing in -> every WebSocket client has the update.

A real `boucle serve` process, N spectator (or race-control) clients in a separate process, and a
feeder posting passings at 20 per second. Latency = time a client receives the delta that shows
the car's new lap count - time the feeder sent that passing (same machine, same clock).
Prints p50 / p99 / max per client count and stream. Target: p99 <= 50 ms with 1,000 clients.

    python bench/latency.py                      # 100 and 1000 clients, both streams
    python bench/latency.py --clients 1000 --stream spectator --seconds 10
    python bench/latency.py --clients 1000 --runs 3   # medians of 3 (the machine is shared: check `uptime`)
    TMPDIR=/dev/shm python bench/latency.py ...       # the event log on tmpfs: no disk fsync per passing

The event log is written (and fsynced, synchronous=FULL) before the engine sees a passing, so the
disk's fsync time is part of every figure; on tmpfs the rest shows.
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
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from tests.service_proc import ONE_ADDRESS, TOKEN, ServiceProcess  # noqa: E402

sys.path.insert(0, str(REPO / "bench"))
from wsclient import BareClient  # noqa: E402

CARS = 60
RATE = 20.0  # passings per second


# -- client processes ------------------------------------------------------------------------------
# Each client is a bare WebSocket over an asyncio Protocol: it reads frame headers and keeps each
# complete message's arrival time and payload (identical payloads are stored once). Decoding and
# JSON parsing happen after the run, so the client side costs a few microseconds per message and
# the figures are the server's, not the bench's. Clients offer permessage-deflate like browsers
# (with server_no_context_takeover, so every message decodes on its own); --no-deflate turns it off.
_DEFLATE = (
    "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_max_window_bits\r\n"
)


class _WsClient(BareClient):
    def __init__(self, host: str, path: str, deflate: bool, memo: dict, ready, token: str = "") -> None:
        auth = f"Authorization: Bearer {token}\r\n" if token else ""  # never in the URL
        super().__init__(host, path, (_DEFLATE if deflate else "") + auth)
        self.deflate, self.memo, self.ready = deflate, memo, ready
        self.got: list[tuple[float, int]] = []  # (arrival time, payload id)
        self.done: asyncio.Future = asyncio.get_running_loop().create_future()

    def received(self, now: float, frames: list[tuple[int, bytes]]) -> None:
        for b0, payload in frames:
            if b0 & 0x0F == 1:  # text (the server never fragments)
                key = (b0 & 0x40, payload)
                idx = self.memo.get(key)
                if idx is None:
                    idx = self.memo[key] = len(self.memo)
                if not self.got and self.ready is not None:
                    self.ready(self)
                self.got.append((now, idx))

    def connection_lost(self, exc) -> None:
        if not self.done.done():
            self.done.set_result(None)


QUIET_S = 2.0  # after the feed: stop listening once nothing arrived for this long
LINGER_MAX_S = 60.0


async def _linger(conns: list, seconds: float) -> None:
    """Listen for the feed's duration, then until the messages stop (a lagging side catches up:
    what arrives late counts as late, not as missing), at most LINGER_MAX_S more."""
    await asyncio.sleep(seconds)
    end = time.monotonic() + LINGER_MAX_S
    last = -1
    while time.monotonic() < end:
        total = sum(len(c.got) for c in conns)
        if total == last:
            return
        last = total
        await asyncio.sleep(QUIET_S)


async def open_clients(
    make, host: str | list[tuple[str, int]], port: int | None, n: int, ready_timeout: float = 600.0
) -> list:
    """n client connections, 50 at a time (`make(i, ready)` builds one); says "ready" to the driver
    once every one is subscribed or has its snapshot. `host` may be a list of (host, port): client i
    connects to the i-th modulo its length (clients spread over a cluster's nodes). A connection the
    server closes before it is ready is opened again (a broker busy with thousands of connects may
    refuse some, as real clients see and retry); bounded by `ready_timeout`."""
    loop = asyncio.get_running_loop()
    ready: set[int] = set()
    addrs = host if isinstance(host, list) else [(host, port)]

    async def connect(i: int):
        h, p = addrs[i % len(addrs)]
        _, proto = await loop.create_connection(lambda: make(i, lambda c: ready.add(id(c))), h, p)
        return proto

    conns = []
    for i in range(n):
        conns.append(await connect(i))
        if i % 50 == 49:
            await asyncio.sleep(0.05)  # don't SYN-flood the accept queue
    deadline = time.monotonic() + ready_timeout
    while len(ready) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{n - len(ready)} of {n} clients not ready after {ready_timeout:g} s")
        for i, c in enumerate(conns):
            if id(c) not in ready and c.transport.is_closing():
                conns[i] = await connect(i)
        await asyncio.sleep(0.1)
    print("ready", flush=True)
    return conns


def lap_keys(msg: dict) -> list[str]:
    """ "car:laps" of every row patch that carries a lap count (lean deltas: only rows whose laps changed)."""
    return [f"{r['number']}:{r['laps']}" for r in msg.get("rows", []) if r.get("laps") is not None]


def first_seen(got: list[tuple[float, int]], keys_of: dict[int, list[str]]) -> dict[str, float]:
    first: dict[str, float] = {}
    for at, idx in got:
        for key in keys_of[idx]:
            first.setdefault(key, at)
    return first


async def clients_main(
    url: str, n: int, out: str, seconds: float, deflate: bool, token: str = "", hold=None
) -> None:
    """`hold`: awaited after listening, before the connections close (the driver reads CPU figures then)."""
    from urllib.parse import urlsplit

    u = urlsplit(url)
    path = u.path + ("?" + u.query if u.query else "")
    memo: dict[tuple[int, bytes], int] = {}
    conns = await open_clients(
        lambda i, ready: _WsClient(u.netloc, path, deflate, memo, ready, token), u.hostname, u.port, n
    )
    await _linger(conns, seconds)
    if hold is not None:
        await hold()
    for c in conns:
        c.transport.close()
    # decode after the run: each distinct payload once
    keys_of: dict[int, list[str]] = {}
    for (rsv1, payload), idx in memo.items():
        data = zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff") if rsv1 else payload
        keys_of[idx] = lap_keys(json.loads(data))
    Path(out).write_text(json.dumps([first_seen(c.got[1:], keys_of) for c in conns]))  # [0]: the snapshot


# -- driver ----------------------------------------------------------------------------------------
H = {"Authorization": f"Bearer {TOKEN}"}


def bench_session(url: str) -> dict:
    """A timed session with CARS entries and the green flag given; returns the created session."""
    s = httpx.post(
        f"{url}/api/sessions",
        headers=H,
        json={"name": "bench", "preset": "generic-timed", "duration_s": 36000, "min_lap_s": 5},
    ).json()
    entries = [
        {"number": str(i), "name": f"Car {i}", "transponder": str(5000 + i), "category": "Sport"}
        for i in range(1, CARS + 1)
    ]
    httpx.post(f"{url}/api/sessions/{s['id']}/entries", json=entries, headers=H)
    httpx.post(f"{url}/api/sessions/{s['id']}/signal", json={"signal": "green", "t": 0}, headers=H)
    return s


def share(n_clients: int, procs_n: int) -> list[int]:
    """Clients per client process (2 cores: the server needs one), empty processes left out."""
    return [k for j in range(procs_n) if (k := n_clients // procs_n + (j < n_clients % procs_n))]


def wait_ready(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"clients failed to start: {line!r}")


def feed(url: str, sid: str, n_pass: int) -> dict[str, float]:
    """Post n_pass finish passings at RATE, round the cars; returns "car:lap" -> wall time posted."""
    sent: dict[str, float] = {}
    laps = dict.fromkeys(range(1, CARS + 1), 0)
    with httpx.Client(base_url=url, headers=H) as http:
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
    return sent


def run_case(n_clients: int, stream: str, seconds: float, procs_n: int = 2, deflate: bool = True) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        svc = ServiceProcess(Path(tmp) / "data", extra=ONE_ADDRESS).start()
        try:
            s = bench_session(svc.url)
            sid = s["id"]
            token = s["tokens"]["race_control"]
            ws_url = svc.url.replace("http", "ws") + f"/ws/sessions/{sid}?stream={stream}"
            n_pass = int(seconds * RATE)
            client_seconds = seconds + 3
            outs, procs = [], []
            for j, k in enumerate(share(n_clients, procs_n)):
                outs.append(Path(tmp) / f"seen{j}.json")
                procs.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            __file__,
                            "--client",
                            ws_url,
                            "--clients",
                            str(k),
                            "--token",
                            token,
                            "--out",
                            str(outs[-1]),
                            "--seconds",
                            str(client_seconds),
                            *([] if deflate else ["--no-deflate"]),
                        ],
                        stdout=subprocess.PIPE,
                        text=True,
                    )
                )
            wait_ready(procs)
            sent = feed(svc.url, sid, n_pass)
            for proc in procs:
                proc.wait(timeout=client_seconds + LINGER_MAX_S + 120)
            seen = [first for out in outs for first in json.loads(out.read_text())]
        finally:
            svc.stop()
    lat = [(at - sent[key]) * 1000 for first in seen for key, at in first.items() if key in sent]
    missing = n_pass * n_clients - len(lat)
    lat.sort()
    return {
        "clients": n_clients,
        "stream": stream,
        "passings": n_pass,
        "samples": len(lat),
        "missing": missing,
        "p50_ms": statistics.median(lat),
        "p99_ms": lat[int(len(lat) * 0.99) - 1],
        "max_ms": lat[-1],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--client", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--token", default="", help=argparse.SUPPRESS)
    ap.add_argument("--clients", type=int, action="append")
    ap.add_argument("--stream", action="append", choices=["spectator", "live"])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--procs", type=int, default=2, help="client processes (default 2)")
    ap.add_argument("--no-deflate", action="store_true", help="clients don't offer permessage-deflate")
    ap.add_argument("--runs", type=int, default=1, help="repeat each case; print every run and the medians")
    args = ap.parse_args()
    if args.client:
        asyncio.run(
            clients_main(
                args.client, args.clients[0], args.out, args.seconds, not args.no_deflate, args.token
            )
        )
        return
    print(f"bench/latency.py: {RATE:g} passings/s for {args.seconds:g} s, {CARS} cars")
    print(
        f"  client side: {args.procs} processes, "
        f"{'no compression' if args.no_deflate else 'permessage-deflate'}"
    )
    for stream in args.stream or ["live", "spectator"]:
        for n in args.clients or [100, 1000]:
            runs = []
            for _ in range(args.runs):
                r = run_case(n, stream, args.seconds, args.procs, not args.no_deflate)
                runs.append(r)
                print(
                    f"  {r['stream']:>9} stream, {r['clients']:>5} clients: p50 {r['p50_ms']:6.1f} ms  "
                    f"p99 {r['p99_ms']:6.1f} ms  max {r['max_ms']:6.1f} ms  ({r['samples']} samples, "
                    f"{r['missing']} missing)",
                    flush=True,
                )
            if len(runs) > 1:
                med = {
                    k: statistics.median(r[k] for r in runs)
                    for k in ("p50_ms", "p99_ms", "max_ms", "missing")
                }
                print(
                    f"  {stream:>9} stream, {n:>5} clients: MEDIAN of {len(runs)}: "
                    f"p50 {med['p50_ms']:6.1f} ms  "
                    f"p99 {med['p99_ms']:6.1f} ms  max {med['max_ms']:6.1f} ms  ({med['missing']:g} missing)",
                    flush=True,
                )


if __name__ == "__main__":
    main()
