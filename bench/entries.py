"""Entry lists: 10,000 entries in one request to a real `boucle serve`, and how long the service
stalls meanwhile (issue 10: a 200,000-entry list used to block the service for 57 s).

Each run creates a session, posts 10,000 entries and, during the post, polls `/api/presets` from a
second thread to find the longest time the event loop did not answer. Three bodies: JSON (two
drivers each), a club's CSV (Windows-1252, `;`, decimal commas, Nom/Prénom) and the same as an
.xlsx workbook (issue 22). Prints medians of RUNS runs per body; `--only csv` runs one.
"""

from __future__ import annotations

import argparse
import io
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


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CLUB_HEADER = ["N°", "Nom", "Prénom", "Catégorie", "Transpondeur", "Poids", "Club"]


def club_rows() -> list[list]:
    return [
        [i, f"LEFÈVRE{i}", "Éloïse", "Maxi Tourisme", 100000 + i, 68.5, "ASA Haute-Marne"]
        for i in range(1, N + 1)
    ]


def body_of(kind: str) -> tuple[bytes, str]:
    """The request body and its media type, built before the clock starts: the figure is the service's."""
    if kind == "json":
        entries = [
            {
                "number": str(i),
                "name": f"Team {i}",
                "transponder": str(100000 + i),
                "category": "Sport",
                "drivers": [
                    {"id": "a", "name": "Ann", "weight_kg": 80},
                    {"id": "b", "name": "Bob", "weight_kg": 82},
                ],
            }
            for i in range(1, N + 1)
        ]
        return json.dumps(entries).encode(), "application/json"
    if kind == "csv":
        lines = [";".join(CLUB_HEADER)] + [";".join(str(c).replace(".", ",") for c in r) for r in club_rows()]
        return "\r\n".join(lines).encode("cp1252"), "text/csv"
    import openpyxl

    book = openpyxl.Workbook()
    for r in [CLUB_HEADER, *club_rows()]:
        book.active.append(r)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue(), XLSX


def one_run(url: str, body: bytes, ctype: str) -> tuple[float, float]:
    sid = httpx.post(
        f"{url}/api/sessions",
        json={"name": "entries", "preset": "lemans-270-2h", "kind": "race"},
        headers=ADMIN,
    ).json()["id"]
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
    t0 = time.perf_counter()
    r = httpx.post(
        f"{url}/api/sessions/{sid}/entries",
        content=body,
        timeout=300,
        headers={**ADMIN, "content-type": ctype},
    )
    took = time.perf_counter() - t0
    done.set()
    th.join()
    assert r.status_code == 200 and r.json()["entries"] == N, r.text
    return took, max(stalls, default=0.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["json", "csv", "xlsx"])
    kinds = [ap.parse_args().only] if ap.parse_args().only else ["json", "csv", "xlsx"]
    print(f"bench/entries.py: {N:,} entries in one POST to boucle serve, median of {RUNS} runs")
    with tempfile.TemporaryDirectory() as tmp:
        svc = ServiceProcess(Path(tmp) / "data").start()
        try:
            for kind in kinds:
                body, ctype = body_of(kind)
                runs = [one_run(svc.url, body, ctype) for _ in range(RUNS)]
                took = statistics.median(r[0] for r in runs)
                stall = statistics.median(r[1] for r in runs)
                print(
                    f"  {kind:4} ({len(body) / 1e6:.1f} MB) request "
                    "(read + validate + one transaction + apply): "
                    f"{took * 1000:.0f} ms   runs {', '.join(f'{r[0] * 1000:.0f}' for r in runs)}"
                )
                print(f"       longest unanswered probe meanwhile: {stall * 1000:.0f} ms")
        finally:
            svc.stop()


if __name__ == "__main__":
    main()
