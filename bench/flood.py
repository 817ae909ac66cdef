"""Floods of public GETs vs. the live stream and staff commands (issue 21).

A real `boucle serve` process with a 60-car timed session fed by a P3 decoder over TCP (an
emulator in this process: 20 passings per second, stamped with the wall clock). Measured, side by
side, with no flood, during a PDF flood and during a results flood:

- live stream: decoder read sent -> the race-control WebSocket has the car's new lap (p50 / p99);
- staff POST: a timing-crew command (`/assign` of a spare transponder) every 0.25 s, its round trip.

The flood runs in another process: `--concurrency` anonymous clients on keep-alive connections,
each asking again as soon as it is answered (`results.pdf?lang=fr|en` or `/results`). By default
the service runs as deployed (rate limits on: a flood from one address mostly gets 429s);
`--rate-limits off` shows what documents off the loop and kept per version do on their own.

    python bench/flood.py                       # one run of each case
    python bench/flood.py --runs 3              # medians of 3 (the machine is shared)
    python bench/flood.py --rate-limits off --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import websockets  # noqa: E402

from decoders.p3.codec import PassingRecord, encode  # noqa: E402
from tests.service_proc import TOKEN, ServiceProcess  # noqa: E402

CARS = 60
RATE = 20.0  # decoder reads per second
H = {"Authorization": f"Bearer {TOKEN}"}
DECODER_ID = "13180401"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


# -- the flood (its own process) ---------------------------------------------------------------------
def flood_main(url: str, kind: str, concurrency: int, seconds: float) -> None:
    stop = time.monotonic() + seconds
    counts: dict[int, int] = {}
    lock = threading.Lock()

    def worker(i: int) -> None:
        path = url + ("/results.pdf?lang=" + ("fr" if i % 2 else "en") if kind == "pdf" else "/results")
        with httpx.Client(timeout=60) as c:
            while time.monotonic() < stop:
                try:
                    code = c.get(path).status_code
                except httpx.HTTPError:
                    code = 0
                with lock:
                    counts[code] = counts.get(code, 0) + 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps(counts), flush=True)


# -- the measured side ---------------------------------------------------------------------------------
class Decoder:
    """A P3 decoder on 127.0.0.1: one passing per 1/RATE s, round the cars, stamped with the wall clock."""

    def __init__(self) -> None:
        self.sent: dict[str, float] = {}
        self.laps = dict.fromkeys(range(1, CARS + 1), 0)  # the session's lap counts grow from case to case
        self.writer: asyncio.StreamWriter | None = None
        self.connected = asyncio.Event()

    async def start(self) -> int:
        server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.server = server
        return server.sockets[0].getsockname()[1]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.connected.set()
        try:
            while await reader.read(4096):  # requests (resend...) are not answered: a live-only decoder
                pass
        except (asyncio.CancelledError, ConnectionError):
            pass

    async def play(self, seconds: float, first_number: int) -> None:
        laps = self.laps
        t0 = time.perf_counter()
        for k in range(int(seconds * RATE)):
            car = k % CARS + 1
            laps[car] += 1
            while (d := t0 + k / RATE - time.perf_counter()) > 0:
                await asyncio.sleep(d)
            now_us = time.time_ns() // 1000
            frame = encode(
                PassingRecord(
                    passing_number=first_number + k,
                    transponder=5000 + car,
                    rtc_time_us=now_us,
                    strength=120,
                    hits=30,
                    flags=0,
                    decoder_id=DECODER_ID,
                )
            )
            self.sent[f"{car}:{laps[car]}"] = time.time()
            assert self.writer is not None
            self.writer.write(frame)


async def measure(
    svc: ServiceProcess, sid: str, decoder: Decoder, seconds: float, first_number: int, assign_from: int
) -> dict:
    seen: dict[str, float] = {}
    posts: list[float] = []
    ws_url = svc.url.replace("http", "ws") + f"/ws/sessions/{sid}?stream=live"
    done = asyncio.Event()

    async def watch() -> None:
        try:
            ws = await websockets.connect(ws_url, additional_headers=H, max_size=None, open_timeout=60)
        except TimeoutError:  # the service did not even open the stream: every read counts as missing
            return
        async with ws:
            while not done.is_set():
                try:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                except TimeoutError:
                    continue
                now = time.time()
                for r in msg.get("rows", []):
                    if r.get("laps") is not None:
                        seen.setdefault(f"{r['number']}:{r['laps']}", now)

    async def staff() -> None:
        async with httpx.AsyncClient(base_url=svc.url, headers=H, timeout=60) as http:
            i = assign_from
            while not done.is_set():
                t = time.perf_counter()
                try:
                    r = await http.post(
                        f"/api/sessions/{sid}/assign",
                        json={"number": str(i % CARS + 1), "transponder": f"S{i}"},
                    )
                    assert r.status_code == 200, r.text
                except httpx.TimeoutException:  # counted at the client's timeout: the service did not answer
                    pass
                posts.append((time.perf_counter() - t) * 1000)
                i += 1
                await asyncio.sleep(0.25)

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.5)
    poster = asyncio.create_task(staff())
    decoder.sent.clear()
    await decoder.play(seconds, first_number)
    await asyncio.sleep(1.5)
    done.set()
    await asyncio.gather(watcher, poster)
    # this run's laps: the cars' lap counts keep growing from run to run
    lat = [(seen[k] - at) * 1000 for k, at in decoder.sent.items() if k in seen]
    return {
        "live_p50": pct(lat, 0.5),
        "live_p99": pct(lat, 0.99),
        "post_p50": pct(posts, 0.5),
        "post_p99": pct(posts, 0.99),
        "reads": len(decoder.sent),
        "missing": len(decoder.sent) - len(lat),
    }


CASES = ("no flood", "PDF flood", "results flood")


def run_once(
    seconds: float, concurrency: int, rate_limits: str | None, cases: tuple[str, ...] = CASES
) -> dict[str, dict]:
    out: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        extra = ["--rate-limits", rate_limits] if rate_limits else []
        svc = ServiceProcess(Path(tmp) / "data", extra=extra).start()
        try:
            http = httpx.Client(base_url=svc.url, headers=H, timeout=30)
            s = http.post(
                "/api/sessions",
                json={"name": "flood", "preset": "generic-timed", "duration_s": 36000, "min_lap_s": 1},
            ).json()
            sid = s["id"]
            http.post(
                f"/api/sessions/{sid}/entries",
                json=[
                    {"number": str(i), "name": f"Car {i}", "transponder": str(5000 + i), "category": "Sport"}
                    for i in range(1, CARS + 1)
                ],
            )
            http.post(f"/api/sessions/{sid}/signal", json={"signal": "green"})

            async def main() -> None:
                decoder = Decoder()
                port = await decoder.start()
                r = await asyncio.to_thread(
                    http.post,
                    f"/api/sessions/{sid}/decoders",
                    json={"url": f"p3tcp://127.0.0.1:{port}?resend=0", "loop": "finish"},
                )
                assert r.status_code == 201, r.text
                await asyncio.wait_for(decoder.connected.wait(), 20)
                number = 1
                for i, case in enumerate(cases):
                    flood = None
                    if case != "no flood":
                        kind = "pdf" if case.startswith("PDF") else "results"
                        flood = subprocess.Popen(
                            [
                                sys.executable,
                                __file__,
                                "--flood",
                                f"{svc.url}/api/sessions/{sid}",
                                "--kind",
                                kind,
                                "--concurrency",
                                str(concurrency),
                                "--seconds",
                                str(seconds + 3),
                            ],
                            stdout=subprocess.PIPE,
                            text=True,
                        )
                        await asyncio.sleep(1.0)  # the flood is on before the measure starts
                    res = await measure(svc, sid, decoder, seconds, number, 1000 * i)
                    number += int(seconds * RATE)
                    if flood is not None:
                        stdout, _ = await asyncio.to_thread(flood.communicate, timeout=seconds + 120)
                        res["flood"] = json.loads(stdout.strip().splitlines()[-1])
                    out[case] = res
                decoder.server.close()

            asyncio.run(main())
            http.close()
        finally:
            svc.stop()
    return out


def show(case: str, r: dict, label: str = "") -> None:
    flood = r.get("flood")
    answers = ""
    if flood:
        total = sum(flood.values())
        answers = f"  flood: {total} requests ({', '.join(f'{k}: {v}' for k, v in sorted(flood.items()))})"
    print(
        f"  {label}{case:>14}: live stream p50 {r['live_p50']:7.1f} ms  p99 {r['live_p99']:7.1f} ms "
        f"| staff POST p50 {r['post_p50']:7.1f} ms  p99 {r['post_p99']:7.1f} ms "
        f"| {r['missing']:g} of {r['reads']:g} reads missing"
        f"{answers}",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--flood", help=argparse.SUPPRESS)
    ap.add_argument("--kind", choices=["pdf", "results"], help=argparse.SUPPRESS)
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds per case")
    ap.add_argument("--concurrency", type=int, default=8, help="flooding clients (the issue's probe used 8)")
    ap.add_argument("--rate-limits", help="passed to boucle serve (e.g. off)")
    ap.add_argument("--runs", type=int, default=1, help="repeat; print every run and the medians")
    ap.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of: {', '.join(CASES)}")
    args = ap.parse_args()
    if args.flood:
        flood_main(args.flood, args.kind, args.concurrency, args.seconds)
        return
    print(
        f"bench/flood.py: {CARS} cars, a P3 decoder at {RATE:g} reads/s, {args.seconds:g} s per case, "
        f"{args.concurrency} flooding clients, rate limits {args.rate_limits or 'as deployed'}"
    )
    runs = []
    for n in range(args.runs):
        r = run_once(
            args.seconds, args.concurrency, args.rate_limits, tuple(c.strip() for c in args.cases.split(","))
        )
        runs.append(r)
        for case, res in r.items():
            show(case, res, f"run {n + 1} ")
    if len(runs) > 1:
        print(f"  MEDIAN of {len(runs)} runs:")
        for case in runs[0]:
            med = {
                k: statistics.median(r[case][k] for r in runs)
                for k in ("live_p50", "live_p99", "post_p50", "post_p99", "missing", "reads")
            }
            show(case, med)


if __name__ == "__main__":
    main()
