"""Spectator page in headless Chromium against a real service fed by the shared example scenarios."""

from __future__ import annotations

import pytest

from tests.web_helpers import (
    OUT,
    SPEC,
    LiveServer,
    browser,
    load_lemans,
    open_page,
    read_scenario,
    server,
    table_rows,
)

__all__ = ["browser", "server"]  # fixtures

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def lemans(server: LiveServer) -> dict:
    """lemans-mini.jsonl, finished: 1. #7 97 laps, 2. #8 89 (-1 LM-MIN-PIT, -10 LM-STOPS), 3. #9 86."""
    return load_lemans(server)


def test_classification_matches_results(server, browser, lemans):
    page, errors = open_page(browser, f"{server.base}/?session={lemans['id']}")
    rows = table_rows(page)
    expected = server.http.get(f"/api/sessions/{lemans['id']}/results").json()["classification"]
    assert [r["number"] for r in rows] == [r["number"] for r in expected] == ["7", "8", "9"]
    assert [r["laps"] for r in rows] == [str(r["laps"]) for r in expected] == ["97", "89", "86"]
    assert [r["pos"] for r in rows] == ["1", "2", "3"]
    eight = rows[1]
    assert "-10 laps LM-STOPS" in eight["pen"] and "-1 lap LM-MIN-PIT" in eight["pen"]
    assert all(r["state"] == "FIN" for r in rows)
    assert page.inner_text("#session-name") == "Le Mans mini 2H"
    assert "lemans-270-2h" in page.inner_text("#session-meta")
    assert page.get_attribute("#flag", "data-flag") == "chequered"
    # Overall fastest lap in purple: #8's 51.500.
    assert page.inner_text("tr[data-key='8'] td.time.t-overall") == "51.500"
    assert "Spectator" in page.inner_text("#who")
    page.screenshot(path=str(OUT / "spectator-desktop.png"), full_page=True)

    # Category filter: Amateur shows #9 alone, at category position 1.
    page.click("#filters button[data-filter='cat:Amateur']")
    page.wait_for_function("document.querySelectorAll('#classification tbody tr').length === 1")
    assert [(r["number"], r["pos"]) for r in table_rows(page)] == [("9", "1")]
    page.click("#filters button[data-filter='all']")
    page.wait_for_function("document.querySelectorAll('#classification tbody tr').length === 3")

    # Charts of a selected car: lap chart from /lapchart, lap times from the per-car endpoint.
    page.click("tr[data-key='8'] td.name")
    page.wait_for_function("Number(document.querySelector('#lap-times').dataset.points || 0) >= 99")
    assert int(page.get_attribute("#lap-chart", "data-points")) > 250
    assert page.is_visible("#charts")
    page.screenshot(path=str(OUT / "spectator-charts.png"), full_page=True)
    assert errors == []
    page.close()


def test_phone_and_tv(server, browser, lemans):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    page, errors = open_page(ctx, f"{server.base}/?session={lemans['id']}")
    # Narrow screen: optional columns hidden, the penalty moves under the name.
    assert not page.is_visible("tr[data-key='8'] td.pen")
    assert page.inner_text("tr[data-key='8'] td.name .sub2") == "\u201111 laps"  # -1 LM-MIN-PIT, -10 LM-STOPS
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page scrolls sideways on a phone ({width}px)"
    page.screenshot(path=str(OUT / "spectator-phone.png"), full_page=True)
    ctx.close()

    page, errors = open_page(browser, f"{server.base}/?session={lemans['id']}&tv=1", viewport=(1920, 1080))
    assert page.evaluate("document.body.classList.contains('tv')")
    big = page.evaluate("parseFloat(getComputedStyle(document.querySelector('td.name')).fontSize)")
    assert big >= 24, big
    page.screenshot(path=str(OUT / "spectator-tv.png"))
    assert errors == []
    page.close()


def test_live_updates_resume_and_arrows(server, browser):
    lines = read_scenario(SPEC / "tiny-race.jsonl")
    head = [ln for ln in lines if ln["type"] in ("session", "entry")]
    later = [ln for ln in lines if ln["type"] not in ("session", "entry")]
    s = server.load_scenario("Tiny race", head + later[:6])  # green, first laps
    sid = s["id"]
    page, errors = open_page(browser, f"{server.base}/?session={sid}")
    assert page.get_attribute("#flag", "data-flag") == "green"
    page.wait_for_function("document.querySelector('#race-clock').textContent !== '--:--'")
    start_seq = page.evaluate("window.boucle.store.feed.seq")

    # Drop the socket; passings arrive while it is down; the page resumes with since=<seq>.
    page.evaluate("window.boucle.store.feed.ws.close()")
    for ln in later[6:12]:
        server.post(f"/api/sessions/{sid}/events", ln, ok=(400,))
    page.wait_for_function(
        "window.boucle.store.feed.connects >= 2 && window.boucle.store.feed.state === 'open'"
    )
    assert f"since={start_seq}" in page.evaluate("window.boucle.store.feed.lastUrl")
    page.wait_for_function("document.querySelector(\"tr[data-key='3'] td.laps .main\").textContent === '3'")
    assert page.evaluate("window.boucle.store.stats.snapshots") == 1, "resume should not need a new snapshot"

    # A hole in the sequence (a lost message): the page asks for a fresh snapshot and carries on.
    page.evaluate("""() => { const f = window.boucle.store.feed;
        f.receive(JSON.stringify({type: 'delta', seq: f.seq + 5, rows: []})); }""")
    page.wait_for_function("window.boucle.store.stats.snapshots === 2")
    assert page.evaluate("window.boucle.store.feed.gaps") == 1

    # An overtake: #3 passes #2 and #1 over two laps (made-up crossing times); after each lap its arrow
    # says the places it gained since the previous one (each lap waited for: one update per lap)
    t = later[11]["t"]
    car3 = lambda: next(r for r in table_rows(page) if r["number"] == "3")  # noqa: E731
    before, gained = car3(), 0
    for i in range(2):
        server.post(
            f"/api/sessions/{sid}/events",
            {"type": "passing", "t": t + 25 + i * 22, "transponder": "100003", "loop": "finish"},
        )
        page.wait_for_function(
            "document.querySelector(\"tr[data-key='3'] td.laps .main\")"
            f".textContent === '{int(before['laps']) + 1}'"
        )
        now = car3()
        up = int(before["pos"]) - int(now["pos"])
        assert page.inner_text("tr[data-key='3'] td.chg") == (
            f"▲{up}" if up > 0 else f"▼{-up}" if up < 0 else ""
        )
        before, gained = now, gained + up
    assert table_rows(page)[0]["number"] == "3" and table_rows(page)[0]["pos"] == "1" and gained > 0
    assert errors == []
    page.close()


def test_connection_lost_banner(browser, tmp_path):
    srv = LiveServer(tmp_path).start()
    try:
        s = srv.create_session("Short-lived", {"preset": "generic-timed", "kind": "race"})
        page, errors = open_page(browser, f"{srv.base}/?session={s['id']}")
        assert page.is_hidden("#conn-banner")
    finally:
        srv.stop()
    page.wait_for_selector("#conn-banner:not([hidden])", timeout=15000)
    assert "Connection lost" in page.inner_text("#conn-banner")
    page.screenshot(path=str(OUT / "spectator-connection-lost.png"))
    page.close()
