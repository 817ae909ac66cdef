"""The entry-import wizard of the timing page in headless Chromium, in French on a 768 px tablet:
a club's Windows-1252 file, a column the crew maps by hand, a bad line named then left out, the
import, and the cars on the page."""

from __future__ import annotations

import json

import pytest

from tests.web_helpers import ADMIN, OUT, browser, new_context, open_page, server

__all__ = ["browser", "server"]  # fixtures
pytestmark = pytest.mark.browser

CLUB_FILE = (
    "Engagés auto-cross de Chaumont\r\n"
    "\r\n"
    "Kart;Nom;Prénom;Catégorie;Transpondeur;Poids (kg);Observations\r\n"
    "12;LEFÈVRE;Éloïse;Maxi Tourisme;4012;68,5;\r\n"
    "7;DUPONT-MARTIN;Noël;Buggy 1600;4007;soixante;à vérifier\r\n"
    "103;BÉRANGER;Gaëlle;Junior Sprint;4103;51,25;\r\n"
).encode("cp1252")


def test_the_wizard_imports_a_club_file_in_french_on_a_tablet(server, browser):
    s = server.post("/api/sessions", {"name": "Auto-cross", "preset": "generic-timed", "kind": "race"})
    ctx = new_context(browser, (768, 1024), s["tokens"]["timing"], locale="fr-FR")
    try:
        page, errors = open_page(ctx, f"{server.base}/timing.html?session={s['id']}")
        page.click("#import-wizard-open")
        assert page.inner_text("#imp-title") == "Importer une liste d'engagés"
        page.set_input_files(
            "#imp-file", files=[{"name": "engages.csv", "mimeType": "text/csv", "buffer": CLUB_FILE}]
        )

        # detected: Windows-1252, semicolons, the header under the title; "Kart" is not a known header
        page.wait_for_selector("#imp-columns")
        assert page.input_value("#imp-encoding") == "windows-1252"
        assert page.input_value("#imp-separator") == ";"
        assert "En-tête ligne 3" in page.inner_text(".imp-detected")
        fields = page.eval_on_selector_all("#imp-columns select", "ss => ss.map(s => s.value)")
        assert fields == ["", "last_name", "first_name", "category", "transponder", "weight_kg", ""]
        assert "aucune colonne ne donne le numéro" in page.inner_text(".imp-errors")
        assert page.is_disabled("#imp-go")

        # the crew says the "Kart" column is the number: the preview reads the rows
        page.select_option("#imp-columns select[data-column='1']", "number")
        page.wait_for_selector("#imp-rows tbody tr[data-number='12']")
        assert page.inner_text("#imp-rows tbody tr[data-number='12']").split("\t")[:3] == [
            "4",
            "12",
            "Éloïse LEFÈVRE",
        ]
        assert "68,5 kg" in page.inner_text("#imp-rows tbody tr[data-number='12']")
        assert page.inner_text(".imp-errors") == (
            "ligne 5 : le poids « soixante » (Poids (kg)) n'est pas un poids en kg comme 68,5 ou 68.5"
        )
        assert page.inner_text("#imp-go") == "1 ligne en erreur" and page.is_disabled("#imp-go")
        assert "Colonne du fichier" in page.inner_text("#imp-columns thead")
        no_overflow = (
            "document.documentElement.scrollWidth <= innerWidth && "
            "[...document.querySelectorAll('#import-wizard, #import-wizard select, #import-wizard button')]"
            ".every(e => e.getBoundingClientRect().right <= innerWidth + 0.5)"
        )
        assert page.evaluate(no_overflow)
        OUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUT / "import-wizard-fr-768.png"))

        # the bad line is left out; nothing was logged until the import, then all at once
        page.click("#imp-skip")
        page.wait_for_function("document.querySelector('#imp-go').textContent === 'Importer 2 engagés'")
        assert "Reprendre les lignes ignorées (5)" in page.inner_text("#imp-unskip")
        assert logged_entries(server, s["id"]) == {}
        page.click("#imp-go")
        page.wait_for_selector("#import-wizard", state="hidden")
        page.wait_for_selector("#cars tr[data-key='103']")
        assert "Gaëlle BÉRANGER" in page.inner_text("#cars tr[data-key='103']")
        assert errors == []
    finally:
        ctx.close()
    got = logged_entries(server, s["id"])
    assert {n: e["name"] for n, e in got.items()} == {"12": "Éloïse LEFÈVRE", "103": "Gaëlle BÉRANGER"}
    assert got["103"]["drivers"] == [{"id": "d1", "name": "Gaëlle BÉRANGER", "weight_kg": 51.25}]


def logged_entries(server, sid: str) -> dict[str, dict]:
    r = server.http.get(f"/api/sessions/{sid}/export.jsonl", headers={"Authorization": f"Bearer {ADMIN}"})
    return {ln["number"]: ln for ln in map(json.loads, r.text.splitlines()) if ln.get("type") == "entry"}
