"""Hot standby in the browser: every page's header says which machine it is and how far behind the
standby is; the standby's admin page shows what it holds and promotes it (issue 26)."""

from __future__ import annotations

import pytest

from tests.service_proc import TOKEN
from tests.standby_helpers import PairServer, wait
from tests.web_helpers import browser, new_context, open_page

__all__ = ["browser"]  # fixture
pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def test_the_badge_on_both_machines_and_promotion_from_the_admin_page(tmp_path, browser):
    primary = PairServer(tmp_path / "p").start()
    standby = PairServer(tmp_path / "s", standby_of=primary.url).start()
    try:
        r = primary.http.post(
            "/api/sessions", json={"name": "heat", "preset": "generic-laps", "kind": "race"}
        )
        sid = r.json()["id"]
        primary.http.post(f"/api/sessions/{sid}/events", json={"type": "signal", "signal": "green", "t": 1.0})
        wait(
            lambda: (
                standby.status()["follow"]["copied"] >= 2 and standby.status()["follow"]["lines_behind"] == 0
            ),
            what="the copy",
        )
        fr = new_context(browser, (1280, 900), locale="fr-FR")
        on_standby, errors = open_page(fr, f"{standby.url}/?session={sid}")
        on_standby.wait_for_function(
            "document.querySelector('#node-badge')?.textContent === 'Secours · à jour'"
        )
        assert on_standby.get_attribute("#node-badge", "class") == "node-badge node-standby"
        on_primary, errors2 = open_page(fr, f"{primary.url}/?session={sid}")
        on_primary.wait_for_function(
            "document.querySelector('#node-badge')?.textContent === 'Principale · à jour'"
        )
        # timing page of the standby: the same badge (every page's header)
        timing, errors3 = open_page(
            new_context(browser, (1280, 900), TOKEN, locale="en-GB"),
            f"{standby.url}/timing.html?session={sid}",
            ready="#node-badge:not([hidden])",
        )
        timing.wait_for_function(
            "document.querySelector('#node-badge').textContent === 'Standby · up to date'"
        )

        admin_ctx = new_context(browser, (1280, 1000), TOKEN, locale="en-GB")
        admin, errors4 = open_page(
            admin_ctx, f"{standby.url}/admin.html", ready="#standby-panel[data-role=standby] #promote"
        )
        panel = admin.text_content("#standby-panel")
        assert "hot standby of " + primary.url in panel and "null" not in panel and "undefined" not in panel
        assert (
            admin.text_content("#standby-held")
            == "0 reads heard from the decoders are not in the primary's log yet."
        )
        admin.once("dialog", lambda d: d.accept())
        admin.click("#promote")
        admin.wait_for_selector("#standby-panel[data-role=primary]")
        wait(lambda: primary.status()["role"] == "standby", what="the old primary to step down")
        on_primary.wait_for_function(
            "document.querySelector('#node-badge').textContent.startsWith('Retirée ·')", timeout=15000
        )
        assert on_primary.get_attribute("#node-badge", "class") in (
            "node-badge node-standby",
            "node-badge node-alert",
        )
        on_standby.wait_for_function(
            "document.querySelector('#node-badge').textContent.startsWith('Principale ·')", timeout=15000
        )
        assert errors == errors2 == errors3 == errors4 == []
    finally:
        standby.stop()
        primary.stop()
