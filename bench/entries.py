"""Entry lists: 10,000 entries in one request to a real `boucle serve`, and how long the service
stalls meanwhile (issue 10: a 200,000-entry list used to block the service for 57 s).

Each run creates a session, posts 10,000 entries (JSON, two drivers each) and, during the post,
polls `/api/presets` from a second thread to find the longest time the event loop did not answer.
Prints medians of RUNS runs.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.service_proc import TOKEN, ServiceProcess  # noqa: E402

RUNS = 5
N = 10_000
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


def one_run(url: str) -> tuple[float, float]:
    sid = httpx.post(f"{url}/api/sessions", json={"name": "entries", "preset": "lemans-270-2h", "kind": "race"},
                     headers=ADMIN).json()["id"]  # fmt: skip
    entries = [{"number": str(i), "name": f"Team {i}", "transponder": str(100000 + i), "category": "Sport",
                "drivers": [{"id": "a", "name": "Ann", "weight_kg": 80}, {"id": "b", "name": "Bob", "weight_kg": 82}]}
               for i in range(1, N + 1)]  # fmt: skip
    stalls: list[float] = []
    done = threading.Event()

    def probe() -> None:
        with httpx.Client(timeout=60) as c:
            while not done.is_set():
                t0 = time.perf_counter()
                c.get(f"{url}/api/presets")
                stalls.append(time.perf_counter() - t0)

    th = threading.Thread(target=probe)
    th.start()
    body = json.dumps(entries).encode()  # encoded before the clock starts: the figure is the service's
    t0 = time.perf_counter()
    r = httpx.post(f"{url}/api/sessions/{sid}/entries", content=body, timeout=120,
                   headers={**ADMIN, "content-type": "application/json"})  # fmt: skip
    took = time.perf_counter() - t0
    done.set()
    th.join()
    assert r.status_code == 200 and r.json()["entries"] == N, r.text
    return took, max(stalls, default=0.0)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        svc = ServiceProcess(Path(tmp) / "data").start()
        try:
            runs = [one_run(svc.url) for _ in range(RUNS)]
        finally:
            svc.stop()
    took = statistics.median(r[0] for r in runs)
    stall = statistics.median(r[1] for r in runs)
    print(f"bench/entries.py: {N:,} entries in one POST to boucle serve, median of {RUNS} runs")
    print(f"  request (validate + one transaction + apply): {took * 1000:.0f} ms   runs "
          f"{', '.join(f'{r[0] * 1000:.0f}' for r in runs)}")
    print(f"  longest unanswered probe meanwhile: {stall * 1000:.0f} ms")


if __name__ == "__main__":
    main()
