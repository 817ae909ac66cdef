"""The French and English catalogues (web/i18n/*.json): same keys, every key the pages use exists,
and the printed meeting documents come out in the language asked for."""

from __future__ import annotations

import json
import re

from service.i18n import pick_lang, print_text
from service.meetings.grids import grid_rows
from service.meetings.html import race_table, startlist_html
from service.meetings.model import RaceRow
from service.meetings.publish import doc_status
from service.rules import RULES
from tests.web_helpers import REPO

WEB = REPO / "web"
CATS = {
    lang: json.loads((WEB / "i18n" / f"{lang}.json").read_text(encoding="utf-8")) for lang in ("en", "fr")
}
# t("key"), data-i18n="key" (and -title/-placeholder/-aria-label), data-confirm="key", data-i18n-page="key"
USES = re.compile(
    r'''\bt\(\s*["']([a-z_]+\.[a-z_0-9.]+)["']|data-(?:i18n(?:-[a-z-]+)?|confirm)="([a-z_]+\.[a-z_0-9.]+)"'''
)


def test_same_keys_in_both_languages():
    assert set(CATS["en"]) == set(CATS["fr"])
    assert set(CATS["en"]["_print"]) == set(CATS["fr"]["_print"])


def test_every_key_used_by_the_pages_exists():
    used = set()
    for path in [*WEB.glob("*.html"), *WEB.glob("js/*.js")]:
        for a, b in USES.findall(path.read_text(encoding="utf-8")):
            used.add(a or b)
    assert len(used) > 300
    missing = sorted(k for k in used if k not in CATS["en"])
    assert missing == []


def test_every_rule_the_service_implements_has_a_label_and_no_other():
    """The race-control page labels rule IDs `rule.<ID>`: one per rule of the registry, in both
    languages. AX-RED is a meeting decision (service/meeting/redflag.py), not a rule a penalty cites."""
    for cat in CATS.values():
        assert {k.removeprefix("rule.") for k in cat if k.startswith("rule.")} == set(RULES)
    assert "AX-RED" not in RULES


def test_french_uses_the_officials_words():
    fr = CATS["fr"]
    assert fr["col.laps"] == "Tours" and fr["col.gap"] == "Écart" and fr["col.best"] == "Meilleur"
    assert fr["page.race_control"] == "Direction de course" and fr["role.stewards"] == "Commissaires sportifs"
    assert (
        fr["print.provisional"] == "classement provisoire" and fr["print.official"] == "classement officiel"
    )
    assert fr["rc.driver_stint"] == "Pilote / relais" and fr["col.pen"] == "Pénalités"
    # plurals are objects picked by Intl.PluralRules in the browser
    assert fr["gap.laps"] == {"one": "+{n} tour", "other": "+{n} tours"}


def test_no_user_visible_english_left_in_page_scripts():
    """Strings shown to people come from the catalogues: no capitalised English phrase in a
    toast(), confirm(), prompt() or textContent assignment of the page scripts."""
    bad = re.compile(r"""(?:toast|confirm|prompt)\(\s*["'`][A-Z][a-z]+ |textContent = ["'`][A-Z][a-z]+ """)
    for path in WEB.glob("js/*.js"):
        assert not bad.findall(path.read_text(encoding="utf-8")), path.name


def test_pick_lang():
    assert pick_lang("fr", None) == "fr"
    assert pick_lang(None, "fr-FR,fr;q=0.9,en;q=0.8") == "fr"
    assert pick_lang(None, "en-GB,en;q=0.9") == "en"
    assert pick_lang("de", "fr") == "fr"  # unknown language asked: the browser's
    assert pick_lang(None, None) == "en"


def test_printed_meeting_documents_in_french_and_english():
    rows = grid_rows(["12", "7", "3", "5"])
    entries = {"12": {"name": "Ann"}, "7": {"name": "Bob"}, "3": {"name": "Cy"}, "5": {"name": "Dee"}}
    fr = startlist_html("Auto-cross", "D1 heat1", rows, entries, 5, doc_status("grid:heat1", []), lang="fr")
    en = startlist_html("Auto-cross", "D1 heat1", rows, entries, 5, doc_status("grid:heat1", []), lang="en")
    assert '<html lang="fr">' in fr and "grille de départ, 5 tours" in fr and "<th>Pilote</th>" in fr
    assert "Commissaires sportifs" in fr and "brouillon" in fr and "intérieur (côté pole)" in fr
    assert (
        '<html lang="en">' in en
        and "start list, 5 laps" in en
        and "<th>Driver</th>" in en
        and "Stewards" in en
    )
    race = [
        RaceRow("12", 1, 5, "classified", 300_000_000),
        RaceRow("7", 2, 4, "classified", 310_000_000),
        RaceRow("3", 3, 0, "dns", None),
    ]
    t_fr = race_table(race, entries, lang="fr")
    assert "+1 tour" in t_fr and "<td>NP</td>" in t_fr and "<th>Écart</th>" in t_fr
    assert "+1 lap" in race_table(race, entries) and print_text("en", "Driver") == "Driver"


def test_engine_evidence_reads_as_french():
    """Every penalty the engine writes for the shared Le Mans example and for simulated Le Mans,
    auto-cross and cross-country races carries its code: said in French, no English phrase is left,
    and the English text is the one the results JSON keeps."""
    from dataclasses import replace

    from service.i18n import Said, say, text
    from service.results import replay_file, replay_lines
    from simulator import model, scenario
    from tests.web_helpers import SPEC

    engines = [replay_file(SPEC / "lemans-mini.jsonl")]
    for preset, kind in (("lemans-270-2h", None), ("autocross", "heat"), ("ffm-cc", None)):
        params = replace(model.Params.realistic(), short_stop=0.3, missed_read=0.02)
        engines.append(replay_lines(scenario.lines(model.generate(preset, 20, 1, params, kind=kind))))
    pens = [p for e in engines for p in e.penalties.all()]
    assert {p.rule for p in pens} >= {"LM-MIN-PIT", "LM-STOPS", "CC-PIT"}
    english = re.compile(
        r"\b(driver|stops?|of|missing|before|after|window|refuel|green|lap|laps|at|pit|in|the|read)\b"
    )
    for p in pens:
        assert isinstance(p.evidence, Said), p.evidence
        fr = say("fr", p.evidence)
        assert fr != p.evidence and not english.search(fr.replace("pit_in", "").replace("pit_out", "")), (
            p.evidence,
            fr,
        )
        assert say("en", p.evidence) == p.evidence
    assert (
        text(
            "fr",
            "ev.lm_min_pit",
            {"pit_in": "1447.672", "pit_out": "1557.672", "duration": "110.000", "min": "120"},
        )
        == "entrée stand 1447.672 -> sortie stand 1557.672 = 110.000 s < 120 s"
    )
