"""Security headers (issue 21): every page and API answer carries them, and every page runs under
the Content-Security-Policy in headless Chromium without a single violation (no inline script,
style attribute or eval left in web/), staff pages logged in, documents the service prints too."""

from __future__ import annotations

import json
import time

import pytest

from service.embedded_broker import free_port
from tests.web_helpers import ADMIN, REPO, LiveServer, browser, load_lemans

__all__ = ["browser"]  # fixture: one Chromium for the module (its raw Browser: no CSP bypass here)

pytestmark = pytest.mark.browser
HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "no-referrer"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    broker_ws = f"ws://127.0.0.1:{free_port()}"  # never reached: only named in the CSP
    srv = LiveServer(
        tmp_path_factory.mktemp("csp"), publish=f"mqtt://127.0.0.1:{free_port()}/csp", publish_ws=broker_ws
    ).start()
    try:
        s = load_lemans(srv)
        srv.post(
            f"/api/sessions/{s['id']}/penalties",
            {"number": "7", "rule": "LM-UNSPORTING", "laps": 1, "note": "RC only"},
        )
        entries = [{"number": str(n), "name": f"D{n}", "transponder": str(3000 + n)} for n in range(201, 207)]
        m = srv.post("/api/meetings", {"name": "Saint-Igny", "division": "Maxi", "entries": entries})
        season = {
            "championship": "lemans-270",
            "name": "LM 2026",
            "events": [{"name": "2H", "race": s["id"]}],
        }
        c = srv.post("/api/championships", season)
        yield srv, s, m, c, broker_ws
    finally:
        srv.stop()


def pages(s: dict, m: dict, c: dict) -> list[tuple[str, bool]]:
    """(path, logged in as admin) of every page of web/, and the documents the service draws."""
    sid, mid = s["id"], m["id"]
    found = sorted(p.name for p in (REPO / "web").glob("*.html"))
    query = {
        "index.html": f"?session={sid}",
        "race-control.html": f"?session={sid}",
        "timing.html": f"?session={sid}",
        "print.html": f"?session={sid}",
        "meeting.html": f"?meeting={mid}",
        "standings.html": f"?id={c['id']}",
    }
    out = [
        (f"/{name}{query.get(name, '')}", name not in ("index.html", "login.html", "standings.html"))
        for name in found
    ]
    out += [
        ("/", False),
        (f"/api/meetings/{mid}/startlist/practice1.html", False),
        (f"/api/championships/{c['id']}/standings.html", False),
    ]
    return out


def test_every_answer_carries_the_security_headers(site):
    srv, s, m, c, broker_ws = site
    paths = [p for p, _ in pages(s, m, c)] + [
        "/api/sessions",
        f"/api/sessions/{s['id']}/results",
        f"/api/sessions/{s['id']}/results.csv",
        "/api/nope",
        "/js/live.js",
        "/css/boucle.css",
        f"/api/sessions/{s['id']}/events",
    ]
    for path in paths:
        r = srv.http.get(path)
        assert r.status_code < 500, path
        for name, value in HEADERS.items():
            assert r.headers.get(name) == value, (path, name, r.headers.get(name))
        csp = r.headers["content-security-policy"]
        assert (
            "script-src 'self';" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        ), csp
        assert f"connect-src 'self' {broker_ws}" in csp  # the broker spectator pages may read (--publish-ws)
    # refusals too (a 401 without a token, a 400 for a token in the URL)
    for r in (
        srv.http.post(f"/api/sessions/{s['id']}/signal", json={"signal": "red"}),
        srv.http.get("/api/whoami", params={"token": "x"}),
    ):
        assert r.status_code in (400, 401) and r.headers["x-frame-options"] == "DENY"


CSP_PROBE = """
    window.__csp = [];
    document.addEventListener('securitypolicyviolation',
        (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || '')));
"""
BATCH = 5  # pages loading at once: their idle waits overlap


def test_every_page_runs_under_the_csp_without_a_violation(site, browser):
    """Chromium with the CSP enforced (no bypass): a violation is reported on the console and as a
    `securitypolicyviolation` event; both are collected from the first script on. Each page in a
    context of its own, a few loading at once, each read once its network is idle."""
    srv, s, m, c, _ = site
    problems: list[str] = []
    todo = pages(s, m, c)
    for i in range(0, len(todo), BATCH):
        opened = []
        for path, staff in todo[i : i + BATCH]:
            ctx = browser.browser.new_context(viewport={"width": 1280, "height": 900})  # the CSP enforced
            ctx.add_init_script(CSP_PROBE)
            if staff:
                ctx.add_init_script(f"sessionStorage.setItem('boucle.token', {json.dumps(ADMIN)})")
            page = ctx.new_page()
            console: list[str] = []
            page.on(
                "console",
                lambda msg, out=console: out.append(msg.text) if msg.type in ("error", "warning") else None,
            )
            page.on("pageerror", lambda e, out=console: out.append(f"pageerror: {e}"))
            page.goto(srv.base + path, wait_until="commit")
            opened.append((path, ctx, page, console))
        for path, ctx, page, console in opened:
            page.wait_for_load_state("load", timeout=30000)
            page.wait_for_load_state("networkidle", timeout=30000)
            seen = page.evaluate("() => window.__csp")
            bad = seen + [
                t for t in console if "Content Security Policy" in t or "Content-Security-Policy" in t
            ]
            problems += [f"{path}: {t}" for t in bad]
            ctx.close()
    assert problems == []


def test_a_csp_violation_is_seen_by_this_test(site, browser):
    """The check above can fail: an inline script on a page of ours is reported."""
    srv, *_ = site
    ctx = browser.browser.new_context()  # the CSP enforced
    try:
        page = ctx.new_page()
        console: list[str] = []
        page.on("console", lambda msg: console.append(msg.text))
        page.goto(srv.base + "/login.html")
        page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.x = 1';
                                 document.body.append(s); }""")
        deadline = time.monotonic() + 10  # the report reaches the console soon after; bounded
        while not any("Content Security Policy" in t for t in console) and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        assert any("Content Security Policy" in t for t in console), console
        assert page.evaluate("() => window.x") is None
    finally:
        ctx.close()
