"""Issue 11 in headless Chromium: assign with confirmation, estimated manual passing, undo, approve
with an amount. Expected values are computed by hand in the comments."""

from __future__ import annotations

import httpx
import pytest

from tests.web_helpers import ADMIN, OUT, LiveServer, browser, new_context, open_page, server

__all__ = ["browser", "server"]  # fixtures
pytestmark = pytest.mark.browser


def staff(browser, server: LiveServer, path: str, token: str):
    """A staff page already logged in; every confirm() is answered by `answers` (default yes) and recorded."""
    ctx = new_context(browser, token=token)
    page, errors = open_page(ctx, f"{server.base}/{path}")
    asked: list[str] = []
    answers: list[bool] = []

    def on_dialog(d):
        asked.append(d.message)
        if answers and not answers.pop(0):
            d.dismiss()
        else:
            d.accept()

    page.on("dialog", on_dialog)
    return ctx, page, errors, asked, answers


def get(server: LiveServer, path: str):
    return httpx.get(server.base + path, headers={"Authorization": f"Bearer {ADMIN}"}).json()


def generic(server: LiveServer, name: str) -> dict:
    s = server.create_session(
        name, {"preset": "generic-timed", "kind": "race", "duration_s": 3600, "min_lap_s": 20}
    )
    sid = s["id"]
    server.post(
        f"/api/sessions/{sid}/entries",
        [
            {"number": "1", "name": "Alpha", "transponder": "101"},
            {"number": "2", "name": "Bravo", "transponder": "102"},
        ],
    )
    server.post(f"/api/sessions/{sid}/signal", {"signal": "green", "t": 0})
    for lap in (1, 2, 3):  # car 1: 60 s laps; car 2: 62 s laps
        server.post(
            f"/api/sessions/{sid}/events",
            {"type": "passing", "t": 60.0 * lap, "transponder": "101", "loop": "finish"},
        )
        server.post(
            f"/api/sessions/{sid}/events",
            {"type": "passing", "t": 62.0 * lap, "transponder": "102", "loop": "finish"},
        )
    return s


def laps_cell(page, number: str) -> str:
    return page.inner_text(f"#cars tr[data-key='{number}'] td:nth-child(4)")


def test_assign_warns_about_noise_and_confirms_a_replace(server, browser):
    s = generic(server, "Assign")
    sid = s["id"]
    server.post(
        f"/api/sessions/{sid}/events",
        {"type": "passing", "t": 150.0, "transponder": "901", "loop": "pit_in", "strength": 40, "hits": 1},
    )
    ctx, page, errors, asked, answers = staff(
        browser, server, f"timing.html?session={sid}", s["tokens"]["timing"]
    )
    row = page.wait_for_selector("#unknown tbody tr[data-key='901']")
    text = row.inner_text()
    assert "pit in 1" in text and "40 / 1" in text and "looks like noise" in text
    page.select_option("#unknown select[data-transponder='901']", "1")
    page.check("#unknown input[data-replace='901']")
    # first the noise warning: the crew says no, nothing is assigned
    answers.extend([False])
    page.click("#unknown button[data-act=assign]")
    page.wait_for_function("document.querySelector('#unknown tbody tr[data-key=\"901\"]') !== null")
    assert (
        len(asked) == 1
        and "looks like noise" in asked[0]
        and "a single read" in asked[0]
        and "strength 40" in asked[0]
    )
    assert get(server, f"/api/sessions/{sid}/transponders")["1"] == ["101"]
    # again: yes to the noise warning, then the replace confirmation names what stops counting
    answers.extend([True, True])
    page.click("#unknown button[data-act=assign]")
    page.wait_for_selector("#no-unknown", state="visible")
    assert "101 of #1 will stop counting" in asked[2] and "only 901 will count" in asked[2]
    assert get(server, f"/api/sessions/{sid}/transponders")["1"] == ["901"]
    page.wait_for_selector("#corrections tbody tr[data-key='c1']")
    assert "901 → #1 (replaces)" in page.inner_text("#corrections tbody tr[data-key='c1']")
    page.screenshot(path=str(OUT / "timing-assign-replace.png"), full_page=True)
    assert errors == []
    ctx.close()


def test_manual_passing_estimate_then_undo(server, browser):
    s = generic(server, "Manual")
    sid = s["id"]
    ctx, page, errors, asked, _ = staff(browser, server, f"timing.html?session={sid}", s["tokens"]["timing"])
    page.wait_for_function(
        "document.querySelector(\"#cars tr[data-key='2'] td:nth-child(4)\")?.textContent === '3'"
    )
    page.fill("#man-car", "2")
    page.check("#man-mode input[value=race]")  # times as race time (the green was at t = 0)
    page.click("#man-submit")  # no time: Boucle estimates it from car 2's pace
    # laps 62, 62, 62: median 62 -> 186 + 62 = 248
    page.wait_for_function("document.querySelector('#man-t').value === '4:08.000'")
    assert "last crossing 3:06.000" in page.inner_text("#man-estimate") or "186" in page.inner_text(
        "#man-estimate"
    )
    assert page.inner_text("#man-submit") == "Save estimated passing"
    page.click("#man-submit")
    page.wait_for_function(
        "document.querySelector(\"#cars tr[data-key='2'] td:nth-child(4)\").textContent === '4'"
    )
    assert "estimated" in page.inner_text("#cars tr[data-key='2'] td:nth-child(5)")
    res = get(server, f"/api/sessions/{sid}/results")
    row = next(r for r in res["classification"] if r["number"] == "2")
    assert row["lap_flags"] == {"4": "estimated"} and row["best_lap_no"] == 1  # never the best lap
    # undo it from the corrections card
    page.wait_for_selector("#corrections tbody tr[data-key='c1'] button[data-act=undo]")
    assert "manual passing" in page.inner_text("#corrections tbody tr[data-key='c1']")
    page.click("#corrections tbody tr[data-key='c1'] button[data-act=undo]")
    page.wait_for_function(
        "document.querySelector(\"#cars tr[data-key='2'] td:nth-child(4)\").textContent === '3'"
    )
    assert any("Undo c1" in a for a in asked)
    page.wait_for_function(
        "document.querySelector(\"#corrections tbody tr[data-key='c1']\")"
        ".textContent.includes('undone by c2')"
    )
    page.screenshot(path=str(OUT / "timing-manual-undo.png"), full_page=True)
    assert errors == []
    ctx.close()


def test_approve_asks_for_the_amount_and_shows_the_decision(server, browser):
    # Le Mans race, penalties proposed: car 7 fails its ballast check at 125 s and returns for 30 s with
    # a driver change -> LM-BALLAST proposed (no amount in the regulation).
    s = server.create_session(
        "Ballast", {"preset": "lemans-270-2h", "kind": "race", "penalty_policy": "proposed"}
    )
    sid = s["id"]
    drivers = [{"id": "a", "name": "Ann", "weight_kg": 80}, {"id": "b", "name": "Bob", "weight_kg": 82}]
    server.post(
        f"/api/sessions/{sid}/entries",
        [{"number": "7", "name": "Heavy", "transponder": "4007", "category": "Sport", "drivers": drivers}],
    )
    server.post(f"/api/sessions/{sid}/signal", {"signal": "green", "t": 0})
    for ln in (
        {"type": "passing", "t": 60.0, "transponder": "4007", "loop": "finish"},
        {"type": "passing", "t": 120.0, "transponder": "4007", "loop": "finish"},
        {"type": "ballast_check", "t": 125.0, "number": "7", "ok": False},
        {"type": "passing", "t": 130.0, "transponder": "4007", "loop": "pit_in"},
        {"type": "driver_change", "t": 140.0, "number": "7", "driver": "b"},
        {"type": "passing", "t": 160.0, "transponder": "4007", "loop": "pit_out"},
    ):
        server.post(f"/api/sessions/{sid}/events", ln)
    pid = next(p["id"] for p in get(server, f"/api/sessions/{sid}/penalties") if p["rule"] == "LM-BALLAST")
    ctx, page, errors, asked, _ = staff(
        browser, server, f"race-control.html?session={sid}", s["tokens"]["race_control"]
    )
    row = page.wait_for_selector(f"#penalties tbody tr[data-key='{pid}']")
    assert "proposed" in row.inner_text().lower()
    page.click(f"#penalties tbody tr[data-key='{pid}'] button[data-act=approve]")
    page.wait_for_selector("#approve-dialog[open]")
    assert page.input_value("#appr-amount") == ""  # nothing to prefill: LM-BALLAST has no amount
    page.click("#appr-ok")
    assert "Choose the amount" in page.inner_text(".toast")
    page.select_option("#appr-unit", "laps")
    page.fill("#appr-amount", "2")
    page.fill("#appr-note", "ballast not refitted")
    page.click("#appr-ok")
    page.wait_for_selector(f"#penalties tbody tr.pen-applied[data-key='{pid}']")
    page.wait_for_function(
        f"document.querySelector(\"#penalties tr[data-key='{pid}']\")"
        ".textContent.includes('approved by Race director')"
    )
    text = page.inner_text(f"#penalties tbody tr[data-key='{pid}']")
    assert "-2 laps" in text and "ballast not refitted" in text and "ballast_check failed" in text
    p = next(p for p in get(server, f"/api/sessions/{sid}/penalties") if p["id"] == pid)
    assert (p["state"], p["laps"], p["decision"]["note"]) == ("applied", 2, "ballast not refitted")
    # 60, 120, 160 (pit lane) = 3 laps - 2
    res = get(server, f"/api/sessions/{sid}/results")
    assert res["classification"][0]["laps"] == 1
    page.screenshot(path=str(OUT / "race-control-approve.png"), full_page=True)
    # undo the approval: proposed again
    page.click(f"#penalties tbody tr[data-key='{pid}'] button[data-act=undo]")
    page.wait_for_selector(f"#penalties tbody tr.pen-proposed[data-key='{pid}']")
    assert get(server, f"/api/sessions/{sid}/results")["classification"][0]["laps"] == 3
    # a rule outside the session's set needs "other" and a note
    page.select_option("#pen-car", "7")
    page.fill("#pen-rule", "AX-JUMP")
    page.fill("#pen-amount", "1")
    page.click("#penalty-form button[type=submit]")
    assert "not a rule of this session" in page.inner_text(".toast")
    page.check("#pen-other")
    page.fill("#pen-note", "art. 12 of the supplementary regulations")
    page.click("#penalty-form button[type=submit]")
    page.wait_for_selector("#penalties tbody tr:has-text('art. 12')")
    assert errors == []
    ctx.close()


def test_fill_a_missed_read_inside_a_too_long_lap(server, browser):
    s = generic(server, "Interpolate")
    sid = s["id"]
    # car 1: 60, 120, 180, then 420: lap 4 = 240 s = 400 % of its 60 s pace -> a warning; 4 laps' worth
    server.post(
        f"/api/sessions/{sid}/events", {"type": "passing", "t": 420.0, "transponder": "101", "loop": "finish"}
    )
    ctx, page, errors, _, _ = staff(browser, server, f"timing.html?session={sid}", s["tokens"]["timing"])
    item = page.wait_for_selector("#lap-warnings li[data-car='1'][data-lap='4']")
    assert "400 % of the car's median lap (60.000 s)" in item.inner_text()
    page.click("#lap-warnings li[data-car='1'][data-lap='4'] button[data-act=fill]")
    # the first of 3 missing crossings: 180 + 240 / 4 = 240
    page.check("#man-mode input[value=race]")  # shown again as race time (the green was at t = 0)
    page.wait_for_function("document.querySelector('#man-t').value === '4:00.000'")
    assert (
        "Lap 4 looks like 4 laps" in page.inner_text("#man-estimate") and page.input_value("#man-car") == "1"
    )
    page.click("#man-submit")
    page.wait_for_function(
        "document.querySelector(\"#cars tr[data-key='1'] td:nth-child(4)\").textContent === '5'"
    )
    row = next(r for r in get(server, f"/api/sessions/{sid}/results")["classification"] if r["number"] == "1")
    assert row["lap_flags"] == {"4": "interpolated", "5": "interpolated"} and row["best_lap_no"] == 1
    assert "interpolated" in page.inner_text("#cars tr[data-key='1'] td:nth-child(5)")
    page.screenshot(path=str(OUT / "timing-interpolated.png"), full_page=True)
    assert errors == []
    ctx.close()
