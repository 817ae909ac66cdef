"""Issue 12 in the browser: French and English pages, the session picker and follow mode, a staff
page moving to the session it created, phone layouts (no card hidden, no sideways scroll on the
board), favourites, class gaps and the paged TV mode. Screenshots go to test-output/."""

from __future__ import annotations

import json

import pytest

from tests.web_helpers import (
    ADMIN,
    OUT,
    LiveServer,
    browser,
    load_lemans,
    new_context,
    open_page,
    server,
    table_rows,
)

__all__ = ["browser", "server"]  # fixtures
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def lemans(server: LiveServer) -> dict:
    """lemans-mini, finished: 1. #7 (Sport), 2. #8 (Sport, -1 LM-MIN-PIT, -10 LM-STOPS), 3. #9 (Amateur)."""
    return load_lemans(server)


def context(browser, locale="en-GB", viewport=(1280, 900), token=None, mobile=False):
    return new_context(browser, viewport, token, mobile, locale=locale)


def assert_nothing_cut(page) -> None:
    """No text of the board's visible cells is clipped or ellipsised: numbers, gaps, times, states,
    penalties (a long team or driver name may end in an ellipsis)."""
    cut = page.evaluate("""() => [...document.querySelectorAll('#classification tbody td')]
        .filter(td => td.offsetParent !== null)
        .flatMap(td => td.classList.contains('name') ? [...td.querySelectorAll('.sub2')]
                                                      : [td, ...td.querySelectorAll('.main, .sub, .sub2')])
        .filter(e => getComputedStyle(e).display !== 'none' && e.getClientRects().length)
        .filter(e => { const s = getComputedStyle(e); return s.display !== 'inline' \
&& e.scrollWidth > e.clientWidth + 1; })
        .map(e => (e.closest('td').className + ': ' + e.textContent))""")
    assert cut == [], cut


def headers(page) -> list[str]:
    return page.eval_on_selector_all("#classification thead th", "ths => ths.map(t => t.textContent)")


def test_french_browser_gets_french_and_can_switch(server, browser, lemans):
    ctx = context(browser, "fr-FR")
    page, errors = open_page(ctx, f"{server.base}/?session={lemans['id']}")
    assert page.get_attribute("html", "lang") == "fr"
    assert {"Tours", "Écart", "Meilleur", "Arr.", "Pénalités"} <= set(headers(page))
    assert page.inner_text("#flag").strip().upper() == "DRAPEAU À DAMIER"
    rows = table_rows(page)
    assert "-10 tours LM-STOPS" in rows[1]["pen"] and "-1 tour LM-MIN-PIT" in rows[1]["pen"]
    assert all(r["state"] == "ARR" for r in rows)
    assert page.inner_text("tr[data-key='8'] td.gap .main") == "+8 tours"
    for cell in page.query_selector_all(
        "#classification thead th, tr[data-key='9'] td.gap .main"
    ):  # nothing cut
        assert cell.evaluate("e => e.scrollWidth <= e.clientWidth"), cell.inner_text()
    assert page.inner_text("#who .who") == "Spectateur (lecture seule)"
    assert page.inner_text("#lang-switch") == "English"
    page.screenshot(path=str(OUT / "i18n-spectator-fr.png"), full_page=True)
    phone = context(browser, "fr-FR", viewport=(390, 844), mobile=True)
    small, _ = open_page(phone, f"{server.base}/?session={lemans['id']}")
    # a car in the pits, in French
    small.evaluate("""() => { const r = window.boucle.store.rows.get('9');
        window.boucle.store.putRow({...r, in_pit: true, finished: false}); }""")
    small.wait_for_function("document.querySelector(\"tr[data-key='9'] td.no .sub\").textContent === 'STAND'")
    assert small.inner_text("tr[data-key='9'] td.gap .main") == "+11 T"  # short on a phone
    assert_nothing_cut(small)
    small.screenshot(path=str(OUT / "i18n-spectator-fr-phone.png"), full_page=True)
    phone.close()

    page.click("#lang-switch")  # remembered for the next pages of this browser
    page.wait_for_function("document.documentElement.lang === 'en'")
    page.wait_for_function("window.boucle && window.boucle.store.feed.state === 'open'")
    assert "Laps" in headers(page) and page.inner_text("#lang-switch") == "Français"
    other, _ = open_page(ctx, f"{server.base}/print.html?session={lemans['id']}", ready="#results tbody tr")
    assert other.get_attribute("html", "lang") == "en" and "official classification" in other.inner_text(
        "#title"
    )
    page.evaluate("localStorage.removeItem('boucle.lang')")

    printed, _ = open_page(ctx, f"{server.base}/print.html?session={lemans['id']}", ready="#results tbody tr")
    assert printed.get_attribute("html", "lang") == "fr"
    assert "classement officiel" in printed.inner_text("#title")
    assert "Tours" in printed.inner_text("#results thead") and "Commissaires sportifs" in printed.inner_text(
        ".sign"
    )
    printed.screenshot(path=str(OUT / "i18n-print-fr.png"), full_page=True)
    login, _ = open_page(ctx, f"{server.base}/login.html", ready="#login-form")
    assert (
        login.inner_text("#login-form h2") == "Connexion des officiels"
        and login.title() == "Boucle · Connexion officiels"
    )
    assert errors == []
    ctx.close()

    staff = context(browser, "fr-FR", token=lemans["tokens"]["race_control"])
    rc, errors = open_page(staff, f"{server.base}/race-control.html?session={lemans['id']}")
    assert rc.get_attribute("html", "lang") == "fr"
    assert (
        rc.inner_text("#h-pen").startswith("Pénalités à décider")
        and rc.inner_text("#who .who") == "Directeur de course"
    )
    assert (
        "Drapeaux et départ" in rc.inner_text("#h-flags")
        and rc.inner_text("button[data-signal=red]") == "Rouge"
    )
    rc.wait_for_selector("#penalties tbody tr")
    queue = rc.inner_text("#penalties tbody").lower()
    assert "appliquée" in queue and "arrêts obligatoires" in queue  # states and rule names in French
    assert "2 arrêt(s) avec changement de pilote sur 3 requis" in queue  # the evidence too
    rc.screenshot(path=str(OUT / "i18n-race-control-fr.png"), full_page=True)
    assert errors == []
    staff.close()


def following(page, sid: str) -> None:
    """Ask the page to check now (its own 10 s check may reload it first: both are fine), until it
    shows `sid`; bounded, a reload in the middle is retried."""
    from playwright.sync_api import Error

    for _ in range(20):
        try:
            page.evaluate(
                "window.boucle && window.boucle.followCheck && "
                "setTimeout(() => window.boucle.followCheck(), 0)"
            )
            page.wait_for_function(
                "window.boucle && window.boucle.store && "
                f"window.boucle.store.sessionId === {json.dumps(sid)}",
                timeout=3000,
            )
            return
        except Error:  # reloaded meanwhile (context destroyed) or not yet: check again
            page.wait_for_load_state()
    raise AssertionError(f"the page never followed to {sid}")


def test_picker_follow_and_staff_switch(browser, tmp_path):
    srv = LiveServer(tmp_path).start()
    try:
        entries = [{"number": str(n), "name": f"Pilote {n}", "transponder": f"X{n}"} for n in range(701, 707)]
        m = srv.post("/api/meetings", {"name": "Saint-Igny", "division": "Maxi Sprint", "entries": entries})
        p1 = srv.post(f"/api/meetings/{m['id']}/stages/practice1/start", token=m["tokens"]["timing"])[0][
            "session_id"
        ]
        done = srv.create_session("Old kart race", {"preset": "generic-timed", "kind": "race"})["id"]
        srv.post(f"/api/sessions/{done}/signal", {"signal": "finish_session"})
        other = srv.create_session("Kart 2H", {"preset": "generic-timed", "kind": "race"})["id"]

        ctx = context(browser)
        page, errors = open_page(ctx, f"{srv.base}/?meeting={m['id']}")
        assert page.evaluate("window.boucle.store.sessionId") == p1  # the meeting's session, not the newest
        groups = page.eval_on_selector_all(
            "#session-picker optgroup", "gs => gs.map(g => [g.label, [...g.children].map(o => o.value)])"
        )
        assert groups == [["Saint-Igny", [p1]], ["Other sessions", [other, done]]]  # upcoming before finished
        page.screenshot(path=str(OUT / "picker.png"))

        # The meeting moves on: practice 1 ends, practice 2 opens; the page follows by itself.
        srv.post(f"/api/sessions/{p1}/signal", {"signal": "finish_session"})
        p2 = srv.post(f"/api/meetings/{m['id']}/stages/practice2/start", token=m["tokens"]["timing"])[0][
            "session_id"
        ]
        following(page, p2)
        assert page.url.endswith(f"?meeting={m['id']}")  # still following

        # Picking a session pins it.
        page.select_option("#session-picker", done)
        page.wait_for_url(f"**session={done}")
        page.wait_for_function(
            "document.querySelector('#session-name')?.textContent === 'Old kart race'"
        )  # null while the picked page is still loading
        assert errors == []
        ctx.close()

        # The timing crew creates a session: the page now works on it (imports, start go there).
        ctx = context(browser, token=ADMIN)
        tp, errors = open_page(ctx, f"{srv.base}/timing.html?session={other}")
        tp.fill("#new-name", "Course 3")
        tp.click("#create-form button[type=submit]")
        tp.wait_for_function(
            "document.querySelector('#session-name') && "
            "document.querySelector('#session-name').textContent === 'Course 3'"
        )
        new_id = tp.evaluate("window.boucle.store.sessionId")
        assert new_id not in (other, done, p1, p2) and f"session={new_id}" in tp.url
        tp.fill("#entries-csv", "number,name,transponder,category,drivers\n5,Nouvelle,5005,Sport,")
        tp.click("#entries-form button[type=submit]")
        tp.wait_for_selector("#entries tbody tr[data-key='5']")
        assert [
            r["number"] for r in srv.http.get(f"/api/sessions/{new_id}/results").json()["classification"]
        ] == ["5"]
        assert srv.http.get(f"/api/sessions/{other}/results").json()["classification"] == []
        assert errors == []
        ctx.close()
    finally:
        srv.stop()


def test_phone_layouts(server, browser, lemans):
    ctx = context(browser, viewport=(390, 844), mobile=True)
    page, errors = open_page(ctx, f"{server.base}/?session={lemans['id']}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the board scrolls sideways"
    eight = "tr[data-key='8']"
    # position, number, name, laps, gap, last; best lap, pit count, interval and penalties under them
    for sel, text in (
        ("td.pos", "2"),
        ("td.no .main", "8"),
        ("td.laps .main", "89"),
        ("td.laps .sub", "2 pits"),
        ("td.gap .main", "+8 L"),
        ("td.last .sub", "51.500"),
        ("td.name .sub2", "\u201111 laps"),
    ):
        assert page.is_visible(f"{eight} {sel}"), sel
        assert text in page.inner_text(f"{eight} {sel}"), sel
        box = page.eval_on_selector(f"{eight} {sel}", "e => [e.scrollWidth, e.clientWidth]")
        assert box[0] <= box[1] + 1, f"{sel} is cut: {box}"
    assert_nothing_cut(page)
    page.click(f"{eight} td.name")  # tap a row for the rest
    page.wait_for_selector("#charts:not([hidden])")
    assert "-10 laps LM-STOPS" in page.inner_text("#charts-info") and "2 pit stops" in page.inner_text(
        "#charts-info"
    )
    page.screenshot(path=str(OUT / "phone-spectator.png"), full_page=True)
    assert errors == []
    ctx.close()

    for width, height, name in ((390, 844, "phone"), (820, 1180, "tablet")):
        ctx = context(browser, viewport=(width, height), token=ADMIN, mobile=width < 500)
        for path in ("race-control.html", "timing.html"):
            page, errors = open_page(ctx, f"{server.base}/{path}?session={lemans['id']}")
            cards = page.eval_on_selector_all(
                # a card with nothing to show (set-aside lines) stays hidden
                "main section.card:not([hidden])",
                """cs => cs.map(c => {
                const b = c.getBoundingClientRect();
                return [c.querySelector('h2').textContent.trim(), getComputedStyle(c).display, \
b.width, b.left, b.right];
            })""",
            )
            assert len(cards) >= 6
            for title, display, w, left, right in cards:
                assert display != "none" and w > 200, f"{path}: card {title!r} hidden on a {width} px screen"
                assert left >= 0 and right <= width + 0.5, f"{path}: card {title!r} wider than the screen"
            assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{path} scrolls sideways"
            page.screenshot(path=str(OUT / f"{name}-{path.replace('.html', '')}.png"), full_page=True)
            assert errors == []
            page.close()
        ctx.close()


def test_class_gaps_and_favourites(server, browser, lemans):
    ctx = context(browser)
    page, errors = open_page(ctx, f"{server.base}/?session={lemans['id']}")
    assert page.inner_text("tr[data-key='9'] td.gap .main") == "+11 laps"  # to the overall leader
    page.click("#filters button[data-filter='cat:Amateur']")
    page.wait_for_function("document.querySelectorAll('#classification tbody tr').length === 1")
    assert page.inner_text("tr[data-key='9'] td.gap").strip() == ""  # leads its class
    page.click("#filters button[data-filter='all']")
    page.wait_for_function("document.querySelectorAll('#classification tbody tr').length === 3")

    page.click("tr[data-key='9'] td.name")
    page.click("#fav-toggle")
    page.wait_for_function("document.querySelector('#classification tbody tr').dataset.key === '9'")
    assert [r["number"] for r in table_rows(page)] == ["9", "7", "8"] and "fav" in table_rows(page)[0]["cls"]
    assert table_rows(page)[0]["pos"] == "3"  # pinned, still shown at its place in the race
    page.reload()
    page.wait_for_function(
        "window.boucle && window.boucle.store.feed.state === 'open' && window.boucle.store.rows.size === 3"
    )
    page.wait_for_function("document.querySelector('#classification tbody tr').dataset.key === '9'")
    page.screenshot(path=str(OUT / "favourite-pinned.png"))
    page.evaluate("localStorage.removeItem('boucle.favourites')")
    assert errors == []
    ctx.close()


def test_tv_pages_through_the_whole_field(server, browser):
    s = server.create_session("Endurance 30 karts", {"preset": "generic-timed", "kind": "race"})
    server.post(
        f"/api/sessions/{s['id']}/entries",
        [{"number": str(n), "name": f"Team {n}", "transponder": str(9000 + n)} for n in range(1, 31)],
    )
    ctx = context(browser, viewport=(1920, 1080))
    page, errors = open_page(ctx, f"{server.base}/?session={s['id']}&tv=1")
    page.wait_for_function("window.boucle.tv.perPage > 0")
    per, pages = page.evaluate("[window.boucle.tv.perPage, window.boucle.tv.pages]")
    assert 10 <= per < 30 and pages == -(-30 // per)
    seen = []
    for k in range(pages):
        shown = [r["number"] for r in table_rows(page)]
        assert len(shown) == min(per, 30 - k * per)
        assert page.inner_text("#tv-page") == f"Page {k + 1}/{pages}"
        last = page.eval_on_selector(
            "#classification tbody tr:last-child", "e => e.getBoundingClientRect().bottom"
        )
        assert last <= 1080, "a row of the page is off the screen"
        assert page.is_visible("#race-clock") and page.is_visible("#flag")  # the header stays
        assert page.evaluate("document.documentElement.scrollWidth") <= 1920
        page.screenshot(path=str(OUT / f"tv-page{k + 1}.png"))
        seen += shown
        page.evaluate("window.boucle.tvNext()")
        page.wait_for_function(f"window.boucle.tv.page === {(k + 1) % pages}")
    assert sorted(seen, key=int) == [str(n) for n in range(1, 31)]  # every car, once
    assert errors == []
    ctx.close()
