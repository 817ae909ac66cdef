"""LM-POINTS season standings, hand-computed from RULES.md section 1 and its decisions.

A 270cc season of 7 races (one 2H, 3H, 4H, four 6H, the bursary minimum). Sport: A wins the title;
B misses the 4H (dns, not started) so is not eligible for the bursary; C is disqualified at the 3H
(a dsq started: still eligible) and changes number (7 -> 77) and spelling ("Team Éclair" ->
"TEAM  ECLAIR") after it; Z is not classified (no points, no fastest lap although it was faster).
Amateur: three teams tie at 44 points; countback puts E (two 2nd places, no win) last, and F
ahead of D (one 1st and one 3rd each) by the better place at the most recent event.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from service.seasons.loader import load_season_file
from service.seasons.model import SeasonError
from service.seasons.standings import standings
from tests.conftest import REPO
from tests.season_helpers import results, write_season

A, B, C, C2, Z = (
    ("1", "Les Fous du Volant"),
    ("2", "Kart'Attack"),
    ("7", "Team Éclair"),
    ("77", "TEAM  ECLAIR"),
    ("9", "Zébulon"),
)
D, E, F = ("21", "Les Escargots"), ("22", "Turbo Mamies"), ("23", "Gazelles")
S, AM, OK = "Sport", "Amateur", "classified"


def sp(team, status=OK, best=51.9):
    return (*team, S, status, best)


def am(team, status=OK, best=53.9):
    return (*team, AM, status, best)


def lm_season() -> list[dict]:
    q, r = "qualifying", "race"
    h2, h3, h4, h6 = "lemans-270-2h", "lemans-270-3h", "lemans-270-4h", "lemans-270-6h"
    return [
        # E1 2H. Race: A 24 + pole 2 = 26; B 20 + fastest lap 2 = 22 (Z's 50.1 does not count: not
        # classified); C 18; D 24; E 20 + pole 2 = 22 (F's dns quali row is skipped); F 18 + FL 2 = 20.
        {
            "name": "2H Mars",
            q: results(
                h2,
                q,
                [
                    sp(A, best=50.0),
                    sp(B, best=50.2),
                    sp(C),
                    sp(Z),
                    am(F, "dns", None),
                    am(E, best=52.0),
                    am(D, best=52.1),
                ],
            ),
            r: results(
                h2,
                r,
                [
                    sp(A, best=51.0),
                    am(D, best=53.0),
                    sp(B, best=50.8),
                    am(E, best=53.5),
                    sp(C, best=51.5),
                    am(F, best=52.9),
                    sp(Z, "not_classified", 50.1),
                ],
            ),
        },
        # E2 3H. B 24 + pole 2 = 26; A 20 + FL 2 = 22 (C's 50.0 is a dsq's lap); C dsq 0.
        # F 24; E 20 + FL 2 = 22; D 18 + pole 2 = 20.  Amateur totals: D 44, E 44, F 44.
        {
            "name": "3H Avril",
            q: results(h3, q, [sp(B, best=50.0), sp(A), sp(C), am(D, best=52.0), am(E), am(F)]),
            r: results(
                h3,
                r,
                [
                    sp(B, best=51.0),
                    am(F, best=52.5),
                    sp(A, best=50.5),
                    am(E, best=52.0),
                    am(D, best=52.7),
                    sp(C, "dsq", 50.0),
                ],
            ),
        },
        # E3 4H. A 24; C (now 77) 20 + pole 2 + FL 2 = 24; B dns 0 (not started).
        {
            "name": "4H Mai",
            q: results(h4, q, [sp(C2, best=50.0), sp(A), sp(B)]),
            r: results(h4, r, [sp(A, best=51.0), sp(C2, best=50.4), sp(B, "dns", None)]),
        },
        # E4 6H, place points x2: A 48 + pole 2 = 50; B 40 + FL 2 = 42; C 36.
        {
            "name": "6H Juin",
            q: results(h6, q, [sp(A, best=50.0), sp(B), sp(C2)]),
            r: results(h6, r, [sp(A, best=51.0), sp(B, best=50.9), sp(C2, best=51.2)]),
        },
        # E5 6H: B 48 + 2 = 50; A 40; C 36 + FL 2 = 38.
        {
            "name": "6H Juillet",
            q: results(h6, q, [sp(B, best=50.0), sp(A), sp(C2)]),
            r: results(h6, r, [sp(B, best=51.0), sp(A, best=51.1), sp(C2, best=50.7)]),
        },
        # E6 6H, no qualifying document: A 48 + FL 2 = 50; C 40; B 36.
        {"name": "6H Août", r: results(h6, r, [sp(A, best=50.5), sp(C2, best=51.0), sp(B, best=51.1)])},
        # E7 6H: C 48 + pole 2 + FL 2 = 52; A 40; B 36.
        {
            "name": "6H Septembre",
            q: results(h6, q, [sp(C2, best=50.0), sp(A), sp(B)]),
            r: results(h6, r, [sp(C2, best=50.6), sp(A, best=51.0), sp(B, best=51.2)]),
        },
    ]


def summary(rows):
    return [
        (r["position"], r["team"], r["number"], r["points"], r["events"], r["eligible"], r["bursary_eur"])
        for r in rows
    ]


def test_lemans_270_season_hand_computed(tmp_path):
    path = write_season(tmp_path, "lemans-270", lm_season(), "Le Mans 270 2026")
    res = standings(*load_season_file(path))
    assert res["championship"] == "lemans-270" and res["rule"] == "LM-POINTS"
    assert list(res["categories"]) == ["Sport", "Amateur"]
    # A 26+22+24+50+40+50+40 = 252; B 22+26+0+42+50+36+36 = 212; C 18+0+24+36+38+40+52 = 208
    # bursary = points x 0.5 EUR for the top 8 meeting the minimum (A 126, C 104; B ran no 4H)
    assert summary(res["categories"]["Sport"]) == [
        (1, "Les Fous du Volant", "1", 252, 7, True, 126),
        (2, "Kart'Attack", "2", 212, 6, False, 0),
        (3, "TEAM  ECLAIR", "77", 208, 7, True, 104),
        (4, "Zébulon", "9", 0, 1, False, 0),
    ]
    assert summary(res["categories"]["Amateur"]) == [
        (1, "Gazelles", "23", 44, 2, False, 0),
        (2, "Les Escargots", "21", 44, 2, False, 0),
        (3, "Turbo Mamies", "22", 44, 2, False, 0),
    ]
    c = res["categories"]["Sport"][2]["per_event"]
    assert c[0] == {
        "event": "2H Mars",
        "number": "7",
        "status": "classified",
        "place": 3,
        "points": 18,
        "place_points": 18,
    }
    assert c[1] == {"event": "3H Avril", "number": "7", "status": "dsq", "place": None, "points": 0}
    assert c[2]["points"] == 24 and c[2]["pole"] == 2 and c[2]["fastest_lap"] == 2
    b = res["categories"]["Sport"][1]["per_event"]
    assert b[2]["status"] == "dns" and b[2]["points"] == 0
    assert b[3] == {
        "event": "6H Juin",
        "number": "2",
        "status": "classified",
        "place": 2,
        "points": 42,
        "place_points": 40,
        "fastest_lap": 2,
    }  # x2 on places only, not on the bonus
    assert res["categories"]["Amateur"][0]["per_event"][2] is None  # absent


def test_cli_prints_the_same_standings(tmp_path):
    path = write_season(tmp_path, "lemans-270", lm_season())
    cmd = [sys.executable, "-m", "service.cli", "standings", str(path)]
    js = subprocess.run([*cmd, "--json"], cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(js.stdout) == standings(*load_season_file(path))
    txt = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=60, check=True).stdout
    assert "Les Fous du Volant" in txt and "126,00" in txt and "Amateur" in txt  # French: a decimal comma
    csv = subprocess.run(
        [*cmd, "--csv"], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert csv.startswith("\ufeffCatégorie;Pos;") and csv.splitlines()[1].startswith(
        "Sport;1;Les Fous du Volant;1;252;7;oui;126"
    )
    en = subprocess.run(
        [*cmd, "--csv", "--lang", "en"], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert en.splitlines()[1].startswith("Sport,1,Les Fous du Volant,1,252,7,yes,126")


def test_lmks_doubles_6h_places_and_refuses_a_270_race(tmp_path):
    r, h6 = "race", "lemans-390-6h"
    ok = write_season(
        tmp_path, "lmks", [{"name": "6H", r: results(h6, r, [sp(A, best=50.0), sp(B), am(D, "dnf")])}]
    )
    res = standings(*load_season_file(ok))
    # A 24 x 2 + fastest lap 2 = 50; B 20 x 2 = 40; D (dnf) keeps its category place: 48 + its FL 2
    assert summary(res["categories"]["Sport"]) == [
        (1, A[1], "1", 50, 1, False, 0),
        (2, B[1], "2", 40, 1, False, 0),
    ]
    assert res["categories"]["Amateur"][0]["points"] == 50
    bad = write_season(tmp_path, "lmks", [{"name": "2H", r: results("lemans-270-2h", r, [sp(A)])}])
    with pytest.raises(SeasonError, match="'lemans-270-2h' does not count for lmks"):
        standings(*load_season_file(bad))
    proc = subprocess.run(
        [sys.executable, "-m", "service.cli", "standings", str(bad)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "does not count for lmks" in proc.stderr


@pytest.mark.parametrize(
    "season, message",
    [
        ({"championship": "nope", "events": []}, "unknown championship 'nope'"),
        ({"championship": "lmks", "events": [{"race": "x.json"}]}, "event 1: needs a 'name'"),
        ({"championship": "lmks", "events": [{"name": "a"}]}, "lmks needs race"),
        (
            {"championship": "lmks", "events": [{"name": "a", "race": "x.json", "sprint": "y"}]},
            "unknown field",
        ),
        ({"championship": "lmks", "events": [{"name": "a", "race": "missing.json"}]}, "cannot read"),
        (
            {
                "championship": "lmks",
                "events": [
                    {
                        "name": "a",
                        "race": {
                            "session": {"preset": "lemans-390-4h"},
                            "classification": [
                                {"number": "1", "status": "classified", "category_position": "x"}
                            ],
                        },
                    }
                ],
            },
            "malformed results",
        ),
        (
            {
                "championship": "ffm-cc",
                "events": [{"name": "a", "stopped_at_s": "late", "race": results("ffm-cc", "race", [])}],
            },
            "'stopped_at_s' and the race 'duration_s' must be numbers",
        ),
    ],
)
def test_bad_seasons_say_why(tmp_path, season, message):
    path = tmp_path / "season.json"
    path.write_text(json.dumps(season), encoding="utf-8")
    with pytest.raises(SeasonError, match=message):
        standings(*load_season_file(path))
