"""Spectator page frame times with 100 cars each updated every second (headless Chromium).

The figures tests/test_web_perf.py used to assert, printed instead: on a shared machine they are
noise for a test, a trend for a benchmark. Three phases of --phase seconds on a phone-sized page:
normal CPU; CPU slowed 4x (Chrome DevTools throttling, roughly a cheap phone); slowed 4x with the
whole order reshuffled every second (every row moves). Frame times come from the browser's own
requestAnimationFrame clock; long tasks from PerformanceObserver. Feeder and probe are the test's.

    python bench/web_frames.py [--phase 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.test_web_perf import CARS, COLLECT, PROBE, Feeder, race_100_cars  # noqa: E402
from tests.web_helpers import CHROMIUM, CHROMIUM_ARGS, LiveServer, open_page  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--phase", type=float, default=5.0, help="seconds per phase")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        server = LiveServer(Path(tmp)).start()
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30000)
        try:
            sid = race_100_cars(server)
            ctx = browser.new_context(
                viewport={"width": 412, "height": 915}, device_scale_factor=2, is_mobile=True, bypass_csp=True
            )  # the bench evaluates strings; the CSP forbids that
            ctx.add_init_script(PROBE)
            page, errors = open_page(ctx, f"{server.base}/?session={sid}&feed=ws")
            feeder = Feeder(server, sid, limit_s=4 * args.phase + 5)
            feeder.start()
            try:
                time.sleep(1.5)  # every car has crossed once: all rows live
                page.evaluate(COLLECT)
                time.sleep(args.phase)
                normal = page.evaluate(COLLECT)
                cdp = ctx.new_cdp_session(page)
                cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
                time.sleep(args.phase)
                slow = page.evaluate(COLLECT)
                feeder.shuffle = True
                time.sleep(1)
                page.evaluate(COLLECT)
                time.sleep(args.phase)
                worst = page.evaluate(COLLECT)
                cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
            finally:
                feeder.stop_flag.set()
                feeder.join(timeout=10)
            print(
                f"bench/web_frames.py: spectator page, {CARS} cars "
                "each updated every second, phone viewport, "
                f"{args.phase:g} s per phase; JS errors: {len(errors)}"
            )
            print(
                f"{'phase':<44} {'frames':>6} {'mean':>6} {'p50':>6} {'p95':>6} {'p99':>6} {'max':>6}  "
                f"{'long tasks':>10} {'rows':>6} {'deltas':>6} {'render ms':>9}"
            )
            for name, m in (
                ("normal CPU", normal),
                ("CPU 4x slower", slow),
                ("CPU 4x slower, order reshuffled every second", worst),
            ):
                print(
                    f"{name:<44} {m['frames']:>6} {m['mean']:6.1f} {m['p50']:6.1f} "
                    f"{m['p95']:6.1f} {m['p99']:6.1f} "
                    f"{m['max']:6.1f}  {m['longtasks']:>4} ({m['longtask_max']:3.0f}) "
                    f"{m['rows']:>6} {m['deltas']:>6} "
                    f"{m['render_mean']:4.2f}/{m['render_max']:4.1f}"
                )
            print("frame times in ms (requestAnimationFrame deltas); render: mean/max ms per store flush")
        finally:
            browser.close()
            server.stop()


if __name__ == "__main__":
    main()
