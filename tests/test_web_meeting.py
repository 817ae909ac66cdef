"""The meeting page in the browser: a race director's and timing crew's run of an auto-cross
meeting with the meeting's own tokens (opened from the QR link's #token=), stages in order,
opening and finishing sessions, sign-off and the printable documents."""

from __future__ import annotations

import pytest

import service.rules.autocross  # noqa: F401 - registers the AX rules
from tests.web_helpers import ADMIN, OUT, LiveServer, browser, new_context, open_page, server

__all__ = ["browser", "server"]  # fixtures
pytestmark = pytest.mark.browser

NUMBERS = [str(n) for n in range(701, 707)]


def feed_practice(srv: LiveServer, sid: str, token: str) -> None:
    """Three laps for each car, 701 fastest, posted with the meeting's timing token."""
    for i, n in enumerate(NUMBERS):
        t = 10.0 + i
        for _ in range(3):
            t += 50 + i * 0.5
            srv.post(
                f"/api/sessions/{sid}/events",
                {"type": "passing", "t": round(t, 3), "transponder": f"X{n}", "loop": "finish"},
                token=token,
            )


def stages(page) -> list[str]:
    return page.eval_on_selector_all("#m-stages .stage", "ss => ss.map(s => s.dataset.stage)")


def test_meeting_page_flow(server: LiveServer, browser):
    entries = [{"number": n, "name": f"Pilote {n}", "transponder": f"X{n}"} for n in NUMBERS]
    m = server.post("/api/meetings", {"name": "Saint-Igny", "division": "Maxi Sprint", "entries": entries})
    mid, timing = m["id"], m["tokens"]["timing"]

    ctx = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="en-GB")
    # the QR code's link: the token in the fragment, kept for the tab, gone from the address bar
    page, errors = open_page(
        ctx, f"{server.base}/meeting.html?meeting={mid}#token={timing}", ready="body[data-ready]"
    )
    page.on("dialog", lambda d: d.accept())
    assert "#token" not in page.url and page.evaluate("sessionStorage.getItem('boucle.token')") == timing
    assert page.inner_text("#who .who") == "Meeting timing crew"
    assert page.inner_text("#m-title") == "Saint-Igny"
    assert stages(page) == ["practice1", "practice2", "heat1", "heat2", "heat3", "semis", "final"]
    assert "waiting for earlier results" in page.inner_text(".stage[data-stage='heat1']")
    assert page.is_visible(".stage[data-stage='practice1'] button[data-act=start]")
    assert page.inner_text(".plan[data-key='practice1.1'] .grid-mini").startswith("1.701 2.702")
    assert "3 laps" in page.inner_text(".plan[data-key='practice1.1']") and "6 cars" in page.inner_text(
        ".plan[data-key='practice1.1']"
    )
    href = page.get_attribute(".plan[data-key='practice1.1'] a:has-text('Start list')", "href")
    assert href.endswith("startlist/practice1.1.html?lang=en")

    for stage in ("practice1", "practice2"):
        page.click(f".stage[data-stage='{stage}'] button[data-act=start]")
        page.wait_for_selector(f".plan[data-key='{stage}.1'] button[data-act=finish]")
        sid = server.http.get(f"/api/meetings/{mid}").json()["sessions"][f"{stage}.1"]
        link = page.get_attribute(f".plan[data-key='{stage}.1'] a:has-text('Timing crew')", "href")
        assert link == f"timing.html?session={sid}"
        feed_practice(server, sid, timing)  # the meeting's token works on its session
        page.click(f".plan[data-key='{stage}.1'] button[data-act=finish]")
        page.wait_for_selector(f".plan[data-key='{stage}.1'] .tag.done")
    assert "now: Heat 1" in page.inner_text("#m-summary")
    assert page.is_visible(".stage[data-stage='heat1'] button[data-act=start]")
    page.wait_for_function(
        "document.querySelector(\"#m-docs tr[data-doc='practice']\").textContent.includes('draft')"
    )
    practice = page.locator("#m-docs tr[data-doc='practice']")
    practice.locator("button[data-act=sign-doc]").click()
    page.wait_for_function(
        "document.querySelector(\"#m-docs tr[data-doc='practice']\").textContent.includes('signed')"
    )
    printed = server.http.get(f"/api/meetings/{mid}/results/practice.html?lang=fr").text
    assert "Chronométreurs" in printed and "signé" in printed
    page.screenshot(path=str(OUT / "meeting-page.png"), full_page=True)

    # Heat 1 opens; a red flag after the first crossings: AX-RED from the page re-runs the heat.
    page.click(".stage[data-stage='heat1'] button[data-act=start]")
    page.wait_for_selector(".plan[data-key='heat1.1'] button[data-act=red]")
    heat = server.http.get(f"/api/meetings/{mid}").json()["sessions"]["heat1.1"]
    director = m["tokens"]["race_director"]
    for t, sig in ((0.0, "start_procedure"), (4.0, "start_lights_green")):
        server.post(f"/api/sessions/{heat}/signal", {"signal": sig, "t": t}, token=director)
    for i, n in enumerate(NUMBERS):
        server.post(
            f"/api/sessions/{heat}/events",
            {"type": "passing", "t": 10.0 + i, "transponder": f"X{n}", "loop": "finish"},
            token=timing,
        )
    server.post(f"/api/sessions/{heat}/signal", {"signal": "red", "t": 30.0}, token=director)
    page.fill(".plan[data-key='heat1.1'] input[name=causers]", "703")
    page.click(".plan[data-key='heat1.1'] button[data-act=red]")
    page.wait_for_function(
        "[...document.querySelectorAll('.toast')].some(t => t.textContent.includes('AX-RED: re-run'))"
    )
    sessions = server.http.get(f"/api/meetings/{mid}").json()["sessions"]
    assert sessions["heat1.1#1"] == heat and sessions["heat1.1"] != heat  # a new session for the new start
    page.wait_for_function(
        f"document.querySelector(\".plan[data-key='heat1.1'] a[href$='{sessions['heat1.1']}']\") !== null"
    )

    # The race direction's decisions are not the timing crew's: not even shown to it.
    assert page.is_hidden("#m-decisions-card") and page.is_hidden("#d-unable")

    # The same tab on the session's timing page: logged in by the meeting's token.
    page.click(".plan[data-key='practice2.1'] a:has-text('Timing crew')")
    page.wait_for_function(
        "window.boucle && window.boucle.store && window.boucle.store.feed.state === 'open'"
    )
    assert (
        page.inner_text("#who .who") == "Meeting timing crew" and page.query_selector("#login-form") is None
    )
    assert page.evaluate("window.boucle.store.sessionId") == sid
    assert errors == []
    ctx.close()

    phone = new_context(browser, (390, 844), ADMIN, mobile=True)
    page, errors = open_page(phone, f"{server.base}/meeting.html?meeting={mid}", ready="body[data-ready]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for card in page.query_selector_all("main section.card:not([hidden])"):
        box = card.bounding_box()
        assert box and box["width"] > 200 and box["x"] >= 0 and box["x"] + box["width"] <= 390.5
    page.screenshot(path=str(OUT / "meeting-phone.png"), full_page=True)
    assert errors == []
    phone.close()


def test_admin_page_lists_sessions_with_tokens_and_qr(server: LiveServer, browser):
    s = server.create_session("Kart 2H admin", {"preset": "generic-timed", "kind": "race"})
    ctx = new_context(browser, (1280, 1000), ADMIN)
    page, errors = open_page(ctx, f"{server.base}/admin.html", ready="body[data-ready]")
    block = page.locator(f"section[data-session='{s['id']}']")
    assert s["tokens"]["race_control"] in block.inner_text() and s["tokens"]["timing"] in block.inner_text()
    page.wait_for_function(f"""[...document.querySelectorAll("section[data-session='{s["id"]}'] img.qr")]
        .every(i => i.complete && i.naturalWidth > 0)""")
    link = block.locator("a", has_text="open").nth(1).get_attribute("href")
    assert link.endswith(f"race-control.html?session={s['id']}#token={s['tokens']['race_control']}")
    page.screenshot(path=str(OUT / "admin-page.png"), full_page=True)
    assert errors == []
    ctx.close()
    # without the admin token: the log-in form, no token shown
    page, _ = open_page(browser, f"{server.base}/admin.html", ready="#login-form")
    assert s["tokens"]["timing"] not in page.content()
    page.close()


def test_karting_meeting_page(server: LiveServer, browser):
    entries = [{"number": str(n), "name": f"Kart {n}", "transponder": f"K{n}"} for n in range(1, 21)]
    m = server.post(
        "/api/meetings",
        {
            "preset": "ffsa-karting",
            "category": "X30 Junior",
            "track_length_m": 1200,
            "track_capacity": 34,
            "entries": entries,
        },
    )
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    page, errors = open_page(
        ctx,
        f"{server.base}/meeting.html?meeting={m['id']}#token={m['tokens']['timing']}",
        ready="body[data-ready]",
    )
    assert stages(page) == ["qualifying", "heat1", "superheat", "final"]
    assert page.inner_text(".stage[data-stage='qualifying'] h3").startswith("Qualifications")
    assert page.is_hidden("#m-decisions-card")  # AX decisions belong to auto-cross
    docs = page.eval_on_selector_all("#m-docs tbody tr", "trs => trs.map(t => t.dataset.doc)")
    assert docs == ["qualifying", "heats", "finalists", "general"]
    assert page.inner_text("#who .who") == "Chronométreurs du meeting"
    assert page.inner_text("#m-title") == "X30 Junior" and "tour" not in page.inner_text(
        ".plan[data-key='qualifying']"
    )
    page.screenshot(path=str(OUT / "meeting-karting-fr.png"), full_page=True)
    assert errors == []
    ctx.close()
