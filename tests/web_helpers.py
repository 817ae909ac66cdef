"""Helpers for the browser tests: a real service on 127.0.0.1 in a thread, fed scenarios over HTTP.

Everything here is bounded: the server thread is told to exit and joined with a timeout, and
every HTTP call has a timeout.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from service.app import create_app
from service.connections import ConnectionLimits, uvicorn_config
from service.embedded_broker import free_port
from tests.service_proc import LOCAL

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ADMIN = "admin-test-token"
REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "test-output"
SPEC = REPO.parent / "shared" / "spec" / "examples"  # read at test time, never copied into the repo


class LiveServer:
    """uvicorn running `create_app` in a daemon thread."""

    def __init__(self, data_dir: Path, limits: ConnectionLimits | None = None, **app_options: Any) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        app_options.setdefault("allow_decoders", LOCAL)  # the tests' decoders are local
        self.app = create_app(data_dir, ADMIN, synchronous="OFF", **app_options)
        config = uvicorn_config(
            self.app, "127.0.0.1", self.port, limits
        )  # the service's own bounded protocols
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="boucle-test-server", daemon=True)
        # a connection per request: a kept-alive one the server closes as idle (uvicorn's 5 s) while the
        # browser works can be reused just as it closes, and the request dies unanswered
        self.http = httpx.Client(
            base_url=self.base, timeout=10, limits=httpx.Limits(max_keepalive_connections=0)
        )

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.http.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)

    # -- API helpers -----------------------------------------------------------------------------
    def post(self, path: str, body: Any = None, token: str = ADMIN, ok: tuple[int, ...] = ()) -> Any:
        r = self.http.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code < 300 or r.status_code in ok, f"POST {path}: {r.status_code} {r.text}"
        return r.json()

    def create_session(self, name: str, session_line: dict[str, Any]) -> dict[str, Any]:
        line = {k: v for k, v in session_line.items() if k != "type"}
        return self.post("/api/sessions", {"name": name, **line})

    def load_scenario(self, name: str, lines: list[dict[str, Any]], **overrides: Any) -> dict[str, Any]:
        """Create a session from a scenario's lines and post the rest as events; returns the session."""
        head = next(ln for ln in lines if ln.get("type") == "session")
        created = self.create_session(name, {**head, **overrides})
        sid = created["id"]
        entries = [ln for ln in lines if ln.get("type") == "entry"]
        if entries:
            self.post(f"/api/sessions/{sid}/entries", entries)
        for ln in lines:
            if ln.get("type") not in ("session", "entry"):
                # A read of an unknown transponder is logged but answered 400 (told to the lead).
                self.post(f"/api/sessions/{sid}/events", ln, ok=(400,) if ln.get("type") == "passing" else ())
        return created


def load_lemans(server: LiveServer, name: str = "Le Mans mini 2H", **overrides: Any) -> dict[str, Any]:
    """lemans-mini.jsonl as a finished session (1. #7, 2. #8 with -1 LM-MIN-PIT and -10 LM-STOPS, 3. #9)."""
    s = server.load_scenario(name, read_scenario(SPEC / "lemans-mini.jsonl"), **overrides)
    # t given: the scenario's events are in the past of the session's wall clock.
    server.post(f"/api/sessions/{s['id']}/signal", {"signal": "finish_session", "t": 5500})
    return s


def read_scenario(path: Path) -> list[dict[str, Any]]:
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        raw = raw.strip()
        if raw and not raw.startswith("#"):
            out.append(json.loads(raw))
    return out


def table_rows(page) -> list[dict[str, str]]:
    """The classification table as the browser shows it (visible rows, in order)."""
    return page.eval_on_selector_all(
        "#classification tbody tr",
        """trs => trs.map(tr => {
            const c = tr.querySelectorAll('td');
            const txt = (i) => c[i].querySelector('.main') ? c[i].querySelector('.main').textContent \
: c[i].textContent;
            return {number: tr.dataset.key, pos: txt(0), laps: txt(5),
                    name: txt(3), state: c[11].textContent, pen: c[12].textContent, cls: tr.className};
        })""",
    )


# -- fixtures (imported by the test_web_* modules; tests/conftest.py belongs to the lead) ----------
@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = LiveServer(tmp_path_factory.mktemp("web")).start()
    OUT.mkdir(exist_ok=True)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("no /usr/bin/chromium (make system-deps installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30000)
        yield TestBrowser(b)
        b.close()


class TestBrowser:
    """The Browser, whose contexts and pages bypass the service's Content-Security-Policy: tests
    evaluate strings (`wait_for_function("...")`), which the CSP rightly forbids pages to do.
    tests/test_security_headers.py loads every page under the real CSP."""

    def __init__(self, browser) -> None:
        self.browser = browser

    def new_context(self, **options: Any):
        return self.browser.new_context(**{"bypass_csp": True, **options})

    def new_page(self, **options: Any):
        return self.browser.new_page(**{"bypass_csp": True, **options})

    def __getattr__(self, name: str) -> Any:
        return getattr(self.browser, name)


def new_context(
    browser,
    viewport: tuple[int, int] = (1400, 1000),
    token: str | None = None,
    mobile: bool = False,
    **options: Any,
):
    """A browser context; with `token`, its pages already hold it in sessionStorage (as after logging in)."""
    ctx = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]},
        is_mobile=mobile,
        device_scale_factor=2 if mobile else 1,
        **options,
    )
    if token:
        ctx.add_init_script(f"sessionStorage.setItem('boucle.token', {json.dumps(token)})")
    return ctx


def open_page(target, url: str, viewport: tuple[int, int] = (1280, 800), ready: str | None = "feed"):
    """A new page at `url`, once its live feed is open; returns (page, list of JS errors)."""
    if hasattr(target, "new_context"):  # a Browser: own context per page
        page = target.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    else:
        page = target.new_page()
    page.set_default_timeout(10000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    if ready == "feed":
        page.wait_for_function("window.boucle && window.boucle.store.feed.state === 'open'")
        page.wait_for_function("window.boucle.store.pending === null")
        page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    elif ready:
        page.wait_for_selector(ready)
    return page, errors
