"""RMonitor feed cost: board build + diff per passing (pure), and passing-to-$J latency over TCP.

Prints medians of several runs. `python bench/rmonitor.py [--cars 60] [--clients 20] [--laps 30]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.outputs import rmonitor  # noqa: E402
from service.outputs.rmonitor_server import RMonitorServer  # noqa: E402
from service.sessions.manager import Manager  # noqa: E402


def make_session(mgr: Manager, cars: int):
    s = mgr.create("bench", {"preset": "generic-timed", "kind": "race", "duration_s": 86400})
    for n in range(1, cars + 1):
        s.submit(
            {
                "type": "entry",
                "number": str(n),
                "name": f"Pilote {n}",
                "transponder": str(1000 + n),
                "category": "AB"[n % 2],
            }
        )
    s.submit({"type": "signal", "signal": "green", "t": 0})
    return s


def pure(cars: int, laps: int) -> float:
    """Microseconds per passing for board + diff + encode
    (the rows are the hub's, computed once per change)."""
    with tempfile.TemporaryDirectory() as d:
        mgr = Manager(Path(d), "x", "OFF")
        s = make_session(mgr, cars)
        board = rmonitor.build_board(s.engine, s.rows(), s.name, 1)
        spent = 0.0
        for lap in range(1, laps + 1):
            for n in range(1, cars + 1):
                s.submit(
                    {
                        "type": "passing",
                        "t": lap * 60.0 + n * 0.5 + (n * lap % 7) * 0.1,
                        "transponder": str(1000 + n),
                        "loop": "finish",
                    }
                )
                rows = s.rows()
                t0 = time.perf_counter()
                new = rmonitor.build_board(s.engine, rows, s.name, 1)
                rmonitor.encode(rmonitor.changes(board, new))
                spent += time.perf_counter() - t0
                board = new
        s.close()
        return spent / (cars * laps) * 1e6


async def wire(cars: int, clients: int, laps: int) -> tuple[float, float]:
    """Median and p95 milliseconds from submit to the $J line read by the last of `clients` scoreboards."""
    with tempfile.TemporaryDirectory() as d:
        mgr = Manager(Path(d), "x", "OFF")
        s = make_session(mgr, cars)
        server = RMonitorServer(mgr, "127.0.0.1", 0)
        await server.start()
        conns = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(clients)]

        async def wait_j(reader: asyncio.StreamReader, reg: str) -> None:
            want = f'$J,"{reg}",'.encode()
            while not (await reader.readuntil(b"\n")).startswith(want):
                pass

        lat = []
        for lap in range(1, laps + 1):
            for n in range(1, cars + 1):
                t0 = time.perf_counter()
                s.submit(
                    {
                        "type": "passing",
                        "t": lap * 60.0 + n * 0.5,
                        "transponder": str(1000 + n),
                        "loop": "finish",
                    }
                )
                await asyncio.gather(*(wait_j(r, str(n)) for r, _ in conns))
                lat.append((time.perf_counter() - t0) * 1e3)
        for _, w in conns:
            w.close()
        await server.stop()
        s.close()
        lat.sort()
        return statistics.median(lat), lat[int(len(lat) * 0.95)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cars", type=int, default=60)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--laps", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    us = statistics.median(pure(a.cars, a.laps) for _ in range(a.runs))
    print(f"rmonitor board+diff+encode: {us:.0f} us per passing ({a.cars} cars, median of {a.runs} runs)")
    runs = [asyncio.run(wire(a.cars, a.clients, a.laps // 2 or 1)) for _ in range(a.runs)]
    print(
        f"rmonitor passing -> $J at all {a.clients} clients: "
        f"median {statistics.median(r[0] for r in runs):.2f} ms, "
        f"p95 {statistics.median(r[1] for r in runs):.2f} ms ({a.cars} cars, loopback TCP)"
    )


if __name__ == "__main__":
    main()
