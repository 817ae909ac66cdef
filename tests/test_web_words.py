"""Server texts in a French browser (issue 22): penalty evidence and rule statuses said from their
codes on the race-control page, a decoder's connection error and an unknown read's reasons on the
timing page, the print page's penalties with one sign and the right plural."""

from __future__ import annotations

import re
import socket

import pytest

from tests.web_helpers import LiveServer, browser, load_lemans, new_context, open_page, server

__all__ = ["browser", "server"]  # fixtures
pytestmark = pytest.mark.browser
ENGLISH = re.compile(
    r"\b(driver|stops?|of|missing|before|after|window|refuel|green|lap|laps|at|pit|the|read|"
    r"required|applied|waived|refused|connection|nothing)\b"
)


def _staff(browser, server: LiveServer, path: str, token: str, locale: str = "fr-FR"):
    ctx = new_context(browser, (1400, 1000), token, locale=locale)
    page, errors = open_page(ctx, f"{server.base}/{path}")
    return ctx, page, errors


def test_race_control_says_evidence_in_french(server, browser):
    s = load_lemans(server, "Le Mans mots")
    ctx, page, errors = _staff(
        browser, server, f"race-control.html?session={s['id']}", s["tokens"]["race_control"]
    )
    page.wait_for_selector("#penalties td.evidence")
    evidence = page.eval_on_selector_all("#penalties td.evidence", "tds => tds.map(t => t.textContent)")
    assert any("entrée stand" in e and "sortie stand" in e for e in evidence), evidence
    assert any("arrêt(s) avec changement de pilote" in e for e in evidence), evidence
    for e in evidence:
        assert not ENGLISH.search(e.replace("pit_in", "")), e
    assert errors == []
    ctx.close()


def test_print_page_penalties_have_one_sign(server, browser):
    s = load_lemans(server, "Le Mans impression")
    ctx = new_context(browser, (1280, 900), locale="fr-FR")
    page, errors = open_page(ctx, f"{server.base}/print.html?session={s['id']}", ready="#results tbody tr")
    cells = page.eval_on_selector_all("#results tbody td", "tds => tds.map(t => t.textContent)")
    assert "-11 tours" in cells and not any("--" in c for c in cells), cells
    states = page.eval_on_selector_all(
        "#penalties tbody td:nth-child(6)", "tds => tds.map(t => t.textContent)"
    )
    assert set(states) <= {"appliquée", "levée", "proposée", "annulée"} and states
    assert errors == []
    ctx.close()


def test_timing_page_says_decoder_errors_and_noise_in_french(server, browser):
    created = server.create_session("mots décodeur", {"preset": "generic-timed", "kind": "race"})
    sid, timing = created["id"], created["tokens"]["timing"]
    with socket.socket() as probe:  # a port nothing listens on: the link is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server.post(
        f"/api/sessions/{sid}/decoders",
        {"url": f"p3tcp://127.0.0.1:{port}?retry_min=0.2&retry_max=0.5", "loop": "finish"},
        token=timing,
    )
    server.post(
        f"/api/sessions/{sid}/events",
        {"type": "passing", "t": 5.0, "transponder": "999", "loop": "pit_in", "strength": 20, "hits": 1},
        token=timing,
    )
    ctx, page, errors = _staff(browser, server, f"timing.html?session={sid}", timing)
    page.wait_for_function(
        "[...document.querySelectorAll('#decoders td')]"
        ".some(t => t.textContent.includes('connexion refusée'))",
        timeout=15000,
    )
    text = page.inner_text("#decoders")
    assert "ConnectionRefusedError" not in text and "Errno" not in text
    page.wait_for_selector("#unknown tbody tr")
    unknown = page.inner_text("#unknown")
    assert (
        "une seule lecture" in unknown
        and "jamais sur la boucle de ligne" in unknown
        and "single read" not in unknown
    )
    assert errors == []
    ctx.close()
