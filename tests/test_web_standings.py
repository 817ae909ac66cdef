"""The spectator standings page (web/standings.html) in headless Chromium, against a real service."""

from __future__ import annotations

import pytest

from tests.season_helpers import results
from tests.web_helpers import OUT, LiveServer, browser, new_context, open_page, server

__all__ = ["browser", "server"]  # fixtures
pytestmark = pytest.mark.browser


def rows(page) -> list[list[str]]:
    return page.eval_on_selector_all(
        "#standings tbody tr",
        "trs => trs.map(tr => [...tr.querySelectorAll('td')].map(td => td.textContent))",
    )


def test_standings_page_shows_categories_and_follows_new_results(browser, server: LiveServer) -> None:
    def race(preset, rows_):
        return results(preset, "race", [(n, name, cat, "classified", best) for n, name, cat, best in rows_])

    e1 = race(
        "lemans-270-2h",
        [
            ("1", "Les Rapides", "Sport", 50.0),
            ("2", "Kart'Attack", "Sport", 51.0),
            ("3", "Les Escargots", "Amateur", 53.0),
        ],
    )
    season = {
        "championship": "lemans-270",
        "name": "Le Mans 270 2026",
        "events": [{"name": "2H Mars", "race": e1}],
    }
    cid = server.post("/api/championships", season)["id"]
    ctx = new_context(browser, locale="fr-FR")
    page, errors = open_page(ctx, f"{server.base}/standings.html", ready="#standings tbody tr")
    # Sport: Les Rapides 24 + fastest lap 2 = 26; Kart'Attack 20
    assert rows(page) == [
        ["1", "1", "Les Rapides", "26", "26 F", "1", "non", ""],
        ["2", "2", "Kart'Attack", "20", "20", "1", "non", ""],
    ]
    assert page.text_content("#title") == "Classement du championnat · Le Mans 270 2026"
    assert page.get_attribute("#sheet", "href") == f"api/championships/{cid}/standings.html?lang=fr"
    page.click("#cats button:has-text('Amateur')")
    assert rows(page)[0][:4] == ["1", "3", "Les Escargots", "26"]
    page.click("#lang-switch")  # the same switch as every page, remembered
    page.wait_for_function("document.documentElement.lang === 'en'")
    page.wait_for_selector("#standings tbody tr")
    assert page.text_content("#title").startswith("Championship standings")

    # the next event is added: the page shows it on its next refresh
    e2 = race("lemans-270-3h", [("2", "Kart'Attack", "Sport", 50.0), ("1", "Les Rapides", "Sport", 51.0)])
    server.post(f"/api/championships/{cid}/events", {"name": "3H Avril", "race": e2})
    page.click("#cats button:has-text('Sport')")
    page.evaluate("window.boucleStandings.reload()")
    page.wait_for_function("document.querySelectorAll('#standings thead th').length === 9")
    # Kart'Attack 20 + 26 = 46, Les Rapides 26 + 20 = 46: one win each, one 2nd each; the most
    # recent event decides (Kart'Attack won the 3H)
    assert [r[:6] for r in rows(page)] == [
        ["1", "2", "Kart'Attack", "46", "20", "26 F"],
        ["2", "1", "Les Rapides", "46", "26 F", "20"],
    ]
    sheet = server.http.get(f"/api/championships/{cid}/standings.html").text
    assert "Kart&#x27;Attack" in sheet
    OUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUT / "standings.png"))
    assert errors == []
    ctx.close()


def test_race_control_page_sends_cc_line_offences(browser, server: LiveServer) -> None:
    """CC-LINE from the race-control form: course tape twice -> a warning, then 1 lap."""
    created = server.create_session("cc", {"preset": "ffm-cc", "kind": "race"})
    sid = created["id"]
    server.post(
        f"/api/sessions/{sid}/entries",
        [{"number": "5", "name": "Alex", "transponder": "T5", "category": "N1"}],
    )
    server.post(f"/api/sessions/{sid}/signal", {"signal": "green"})
    ctx = new_context(browser, token=created["tokens"]["race_control"])
    page, errors = open_page(ctx, f"{server.base}/race-control.html?session={sid}")
    for i in (1, 2):
        page.select_option("#pen-car", "5")
        page.fill("#pen-rule", "CC-LINE")
        page.select_option("#pen-offence", "tape")
        page.click("#penalty-form button[type=submit]")
        page.wait_for_function(f"document.querySelectorAll('#penalties tbody tr').length >= {i}")
    pens = server.http.get(f"/api/sessions/{sid}/penalties").json()
    assert [(p["rule"], p["laps"], p["evidence"]) for p in pens] == [
        ("CC-LINE", 0, "CC-LINE: course tape broken, warning 1"),
        ("CC-LINE", 1, "CC-LINE: course tape broken again (2)"),
    ]
    assert errors == []
    ctx.close()
