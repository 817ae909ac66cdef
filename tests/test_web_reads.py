"""The timing page shows what became of decoder reads (Chromium): each decoder's clock (where it
comes from, how far from this computer), the reads kept aside with why in the crew's language, the
fix (a clock offset typed on the row) and the admission, and the log's condition while it cannot
be written."""

from __future__ import annotations

import pytest

from decoders import Passing
from service.sessions.live import DecoderLink, LiveSession
from tests.service_proc import wait
from tests.web_helpers import ADMIN, OUT, LiveServer, browser, open_page  # noqa: F401 - fixtures

RTC0 = 1_551_542_808_933_000  # the decoder's clock at the green flag
DEAD = "p3tcp://127.0.0.1:9?retry_min=5&retry_max=5"  # a decoder that is not there today


@pytest.fixture
def server(tmp_path):
    s = LiveSession.create(tmp_path, "Course", {"preset": "generic-timed", "kind": "race", "duration_s": 600})
    s.submit({"type": "entry", "number": "7", "name": "Ann", "transponder": "101"})
    s.submit({"type": "signal", "t": 0, "signal": "green"})
    link = DecoderLink(url=DEAD, loop="finish", rtc_zero_us=RTC0 - 40 * 86_400_000_000)  # typed 40 days off
    link.origin_us = s.origin_us
    s.decoders.append(link)
    s.save_decoders()
    assert s.on_passing(link, Passing("13180400", "101", RTC0 + 61_500_000, passing_number=4))  # kept aside
    s.close()
    srv = LiveServer(tmp_path).start()
    OUT.mkdir(exist_ok=True)
    yield srv, s.id
    srv.stop()


def test_timing_page_shows_a_refused_read_its_reason_and_admits_it_after_the_clock_fix(server, browser):  # noqa: F811
    srv, sid = server
    page, errors = open_page(
        browser, f"{srv.base}/timing.html?session={sid}&lang=fr#token={ADMIN}", ready=None
    )
    page.wait_for_selector("#aside tr[data-key]")
    row = page.inner_text("#aside tr[data-key]")
    assert "refusée" in row and "heure hors de la séance" in row and "13180400 · 4" in row
    assert "Lectures mises de côté" in page.inner_text("#h-aside")
    page.wait_for_selector("#decoders tbody tr")
    dec = page.inner_text("#decoders tbody tr")
    assert "décalage saisi" in dec and "1 refusées" in dec
    page.screenshot(path=str(OUT / "timing-aside-fr.png"), full_page=True)

    # the crew types the right clock on the decoder row, then admits the read
    page.once("dialog", lambda d: d.accept(str(RTC0)))
    page.click("#decoders button[data-act=clock]")
    wait(
        lambda: (
            srv.http.get(
                f"/api/sessions/{sid}/decoders", headers={"Authorization": f"Bearer {ADMIN}"}
            ).json()[0]["rtc_zero_us"]
            == RTC0
        ),
        what="the typed clock stored",
    )
    page.once("dialog", lambda d: d.accept())
    page.click("#aside-admit")
    page.wait_for_selector("#aside tr[data-key]:not(.alert)")
    assert "admise" in page.inner_text("#aside tr[data-key]")
    res = srv.http.get(f"/api/sessions/{sid}/results").json()
    assert res["classification"][0]["laps"] == 1 and res["classification"][0]["total_time_s"] == 61.5

    # the log cannot be written: the page says so while it lasts
    session = srv.app.state.manager.get(sid)
    session.intake.unwritable = {"since_ms": 1_796_000_000_000, "error": "database or disk is full"}
    session.intake.log_errors = 3
    page.wait_for_selector("#log-banner:not([hidden])")
    banner = page.inner_text("#log-banner")
    assert (
        "ne peut plus être écrit" in banner
        and "database or disk is full" in banner
        and "3 lectures" in banner
    )
    session.intake.unwritable = None
    page.wait_for_selector("#log-banner", state="hidden")
    assert errors == []
    page.close()


def test_the_decoder_clock_column_in_english(server, browser):  # noqa: F811
    srv, sid = server
    page, errors = open_page(
        browser, f"{srv.base}/timing.html?session={sid}&lang=en#token={ADMIN}", ready=None
    )
    page.wait_for_selector("#decoders tbody tr")
    page.wait_for_function("document.querySelector('#decoders tbody tr').innerText.includes('typed offset')")
    dec = page.inner_text("#decoders tbody tr")
    assert " days " in dec and "behind this computer" in dec and "1 refused" in dec
    assert "time outside the session" in page.inner_text("#aside")
    assert errors == []
    page.close()
