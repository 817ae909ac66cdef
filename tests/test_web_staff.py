"""Race-control and timing-crew pages in headless Chromium, and what a spectator cannot reach."""

from __future__ import annotations

import json
import urllib.request

import pytest

import service.rules.autocross  # noqa: F401 - registers AX-JUMP (service/rules/__init__.py does not yet)
from service.rules import RULES
from tests.web_helpers import (
    OUT,
    SPEC,
    LiveServer,
    browser,
    free_port,
    load_lemans,
    new_context,
    open_page,
    read_scenario,
    server,
    table_rows,
)

__all__ = ["browser", "server"]  # fixtures
pytestmark = pytest.mark.browser


def staff_page(browser, server: LiveServer, path: str, token: str, viewport=(1400, 1000)):
    """A page whose sessionStorage already holds `token` (as after logging in)."""
    ctx = new_context(browser, viewport, token)
    page, errors = open_page(ctx, f"{server.base}/{path}")
    page.on("dialog", lambda d: d.accept("checked on video"))  # confirm() / prompt() say yes
    return ctx, page, errors


def spectator_order(page) -> list[str]:
    return [r["number"] for r in table_rows(page)]


@pytest.fixture(scope="module")
def proposed(server: LiveServer) -> dict:
    """lemans-mini, finished, with the rules' penalties only *proposed*: #8 leads until race control acts."""
    return load_lemans(server, "Le Mans mini (proposed)", penalty_policy="proposed")


def test_spectator_cannot_reach_staff_pages_or_apis(server, browser, proposed):
    sid, tokens = proposed["id"], proposed["tokens"]
    for path in ("race-control.html", "timing.html"):
        page, errors = open_page(browser, f"{server.base}/{path}?session={sid}", ready="#login-form")
        assert page.is_visible("#login-form")
        assert page.query_selector("#penalties") is None and page.query_selector("#feed") is None
        assert "Spectator" in page.inner_text("#who")
        if path == "race-control.html":
            page.screenshot(path=str(OUT / "race-control-login.png"))
        page.close()

    page, _ = open_page(browser, f"{server.base}/?session={sid}")
    calls = [
        ("POST", f"api/sessions/{sid}/penalties", {"number": "7", "rule": "LM-UNSPORTING"}),
        ("POST", f"api/sessions/{sid}/penalties/p1/waive", {}),
        ("POST", f"api/sessions/{sid}/penalties/p1/approve", None),
        ("POST", f"api/sessions/{sid}/signal", {"signal": "red"}),
        ("POST", f"api/sessions/{sid}/cars/7/mechanical", {}),
        ("GET", f"api/sessions/{sid}/passings", None),
        ("GET", f"api/sessions/{sid}/unknown", None),
        ("GET", f"api/sessions/{sid}/decoders", None),
        ("POST", f"api/sessions/{sid}/decoders", {"url": "p3tcp://127.0.0.1:9"}),
        ("POST", f"api/sessions/{sid}/manual_passing", {"number": "7"}),
        ("POST", f"api/sessions/{sid}/assign", {"transponder": "1", "number": "7"}),
        ("POST", f"api/sessions/{sid}/entries", []),
        ("GET", f"api/sessions/{sid}/export.jsonl", None),
        ("GET", f"api/sessions/{sid}/tokens", None),
        ("POST", "api/sessions", {"name": "x"}),
    ]
    js = """async ([calls, token]) => Promise.all(calls.map(async ([method, url, body]) => {
        const headers = {"Content-Type": "application/json"};
        if (token) headers.Authorization = "Bearer " + token;
        const r = await fetch(url, {method, headers, body: body === null ? undefined : JSON.stringify(body)});
        return r.status;
    }))"""
    assert page.evaluate(js, [calls, None]) == [401] * len(calls)
    # Wrong role: timing crew on race-control routes and the other way round.
    rc_only = [c for c in calls if "/penalties" in c[1] or "/signal" in c[1] or "/cars/" in c[1]]
    assert set(page.evaluate(js, [rc_only, tokens["timing"]])) == {403}
    timing_only = [
        c
        for c in calls
        if c[1].endswith(("manual_passing", "assign", "entries"))
        or (c[0] == "POST" and c[1].endswith("decoders"))
    ]
    assert set(page.evaluate(js, [timing_only, tokens["race_control"]])) == {403}
    # The live stream (raw passings) is refused without a token.
    code = page.evaluate(
        """(sid) => new Promise((resolve) => {
        const ws = new WebSocket(`ws://${location.host}/ws/sessions/${sid}?stream=live`);
        ws.onclose = (e) => resolve(e.code);
        setTimeout(() => resolve(-1), 5000);
    })""",
        sid,
    )
    assert code == 4401
    page.close()


def test_login_then_approve_and_waive_reorder(server, browser, proposed):
    sid, tokens = proposed["id"], proposed["tokens"]
    spectator, _ = open_page(browser, f"{server.base}/?session={sid}")
    assert spectator_order(spectator) == ["8", "7", "9"]  # 100 laps: its penalties are only proposed
    assert "LM-STOPS under investigation" in table_rows(spectator)[0]["pen"]

    # Log in through the form, as a race director would.
    page, errors = open_page(browser, f"{server.base}/login.html?next=race-control.html", ready="#login-form")
    page.on("dialog", lambda d: d.accept("checked on video"))
    page.fill("#token", tokens["race_control"])
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/race-control.html?session=*")
    page.wait_for_selector("#penalties tbody tr")
    assert page.inner_text("#who .who") == "Race director"
    stops = page.locator("#penalties tbody tr", has_text="LM-STOPS")
    assert "2 driver-change stop(s) of 3 required" in stops.inner_text()
    assert "proposed" in stops.inner_text().lower()
    assert "Hurried Team" in stops.inner_text()  # who it is, not only the number
    page.screenshot(path=str(OUT / "race-control-queue.png"), full_page=True)

    stops.locator("button[data-act=approve]").click()
    page.wait_for_selector("#approve-dialog[open]")  # the amount is asked, prefilled with the proposal's
    assert page.input_value("#appr-amount") == "10" and page.input_value("#appr-unit") == "laps"
    page.click("#appr-ok")
    spectator.wait_for_function("document.querySelector('#classification tbody tr').dataset.key === '7'")
    assert spectator_order(spectator) == ["7", "8", "9"]
    assert "-10 laps LM-STOPS" in table_rows(spectator)[1]["pen"]

    # The approval is an applied race-control penalty: waive it and #8 is back in front.
    page.wait_for_selector("#penalties tbody tr.pen-applied:has-text('LM-STOPS') button[data-act=waive]")
    page.click("#penalties tbody tr.pen-applied:has-text('LM-STOPS') button[data-act=waive]")
    spectator.wait_for_function("document.querySelector('#classification tbody tr').dataset.key === '8'")
    assert spectator_order(spectator) == ["8", "7", "9"]

    # The form's rule list comes from the service: the session's rules, then every other rule it
    # implements, marked "other" (none hard-coded in the page).
    page.wait_for_function("document.querySelectorAll('#rule-ids option').length > 0")
    options = page.eval_on_selector_all("#rule-ids option", "os => os.map(o => [o.value, o.textContent])")
    assert [v for v, _ in options] == sorted(RULES)
    with urllib.request.urlopen(f"{server.base}/api/sessions/{sid}/rules") as r:
        session_rules = set(json.loads(r.read())["rules"])
    assert {v for v, text in options if text == ""} == session_rules and "LM-UNSPORTING" in session_rules
    assert {v for v, text in options if text == "other"} == set(RULES) - session_rules
    assert "CC-LINE" in set(RULES) - session_rules

    # A manual penalty from the form: one lap for #9.
    page.select_option("#pen-car", "9")
    page.fill("#pen-rule", "LM-UNSPORTING")
    page.fill("#pen-amount", "1")
    page.fill("#pen-note", "contact at turn 3")
    page.click("#penalty-form button[type=submit]")
    spectator.wait_for_function(
        "document.querySelector(\"tr[data-key='9'] td.laps .main\").textContent === '85'"
    )
    assert "-1 lap LM-UNSPORTING" in table_rows(spectator)[2]["pen"]
    page.wait_for_selector("#penalties tbody tr:has-text('contact at turn 3')")
    page.screenshot(path=str(OUT / "race-control-after.png"), full_page=True)
    assert errors == []
    page.close()
    spectator.close()


def test_flags_alerts_and_rule_status(server, browser):
    # A short 2H-preset race: at 10 min of 20, a car with none of its 3 stops done raises an alert.
    lines = read_scenario(SPEC / "lemans-mini.jsonl")
    head = [ln for ln in lines if ln["type"] in ("session", "entry")]
    s = server.load_scenario("Sprint endurance", head, duration_s=1200)
    sid = s["id"]
    ctx, page, errors = staff_page(
        browser, server, f"race-control.html?session={sid}", s["tokens"]["race_control"]
    )
    spectator, _ = open_page(browser, f"{server.base}/?session={sid}")
    page.click("button[data-signal=start_procedure]")
    page.click("button[data-signal=green]")
    spectator.wait_for_function("document.querySelector('#flag').dataset.flag === 'green'")
    for i in range(1, 12):
        for n, tr in ((7, "4007"), (8, "4008"), (9, "4009")):
            server.post(
                f"/api/sessions/{sid}/events",
                {"type": "passing", "t": 55.0 * i + n / 10, "transponder": tr, "loop": "finish"},
            )
    page.wait_for_selector("#alerts li")
    alerts = page.inner_text("#alerts")
    assert "#7" in alerts and "LM-STOPS" in alerts and "3 mandatory stops still to do" in alerts
    assert "0 of 3 stops" in page.inner_text("#rules tr[data-key='7']")
    page.click("button[data-signal=sc]")
    spectator.wait_for_function("document.querySelector('#flag').dataset.flag === 'sc'")
    page.wait_for_function("document.querySelector('#flag').dataset.flag === 'sc'")
    page.screenshot(path=str(OUT / "race-control-alerts.png"), full_page=True)
    spectator.screenshot(path=str(OUT / "spectator-safety-car.png"))
    page.click("button[data-signal=red]")  # asks to confirm; the dialog handler says yes
    spectator.wait_for_function("document.querySelector('#flag').dataset.flag === 'red'")
    assert errors == []
    ctx.close()
    spectator.close()


def test_jump_start_margin(server, browser):
    s = server.create_session("Heat 1 · Super Sprint", {"preset": "autocross", "kind": "heat"})
    sid = s["id"]
    server.post(
        f"/api/sessions/{sid}/entries",
        [
            {"number": "301", "name": "Mover", "transponder": "7301", "category": "Super Sprint"},
            {"number": "302", "name": "Patient", "transponder": "7302", "category": "Super Sprint"},
        ],
    )
    for ln in (
        {"type": "signal", "t": 10.0, "signal": "start_procedure"},
        {"type": "grid_move", "t": 12.5, "number": "301"},
        {"type": "signal", "t": 13.2, "signal": "start_lights_green"},
    ):
        server.post(f"/api/sessions/{sid}/events", ln)
    ctx, page, errors = staff_page(
        browser, server, f"race-control.html?session={sid}", s["tokens"]["race_control"]
    )
    page.wait_for_selector("#jumps tbody tr")
    row = page.inner_text("#jumps tbody tr")
    assert "#301" in row and "700 ms" in row and "+10 s" in row
    page.screenshot(path=str(OUT / "race-control-jump-start.png"), full_page=True)
    assert errors == []
    ctx.close()


def test_timing_crew(server, browser, tmp_path):
    lines = read_scenario(SPEC / "tiny-race.jsonl")
    extra = {"type": "entry", "number": "4", "name": "Delta", "transponder": "100004", "category": "Amateur"}
    s = server.load_scenario("Tiny race", lines[:4] + [extra] + lines[4:])
    sid, token = s["id"], s["tokens"]["timing"]

    page, errors = open_page(browser, f"{server.base}/login.html", ready="#login-form")
    page.fill("#token", token)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/timing.html?session=*")
    page.wait_for_selector("#feed tbody tr")
    page.wait_for_selector("#cars tr[data-key='4']")
    page.on("dialog", lambda d: d.accept())
    assert page.inner_text("#who .who") == "Timing crew"
    feed = page.inner_text("#feed")
    assert "999999" in feed and "unknown" in feed and "duplicate" in feed
    assert "no reads" in page.inner_text("#cars tr[data-key='4']")
    page.screenshot(path=str(OUT / "timing-crew.png"), full_page=True)

    # One click: the unknown transponder is car 4's; its read at 77 s becomes its first lap.
    page.wait_for_selector("#unknown tbody tr[data-key='999999']")
    page.select_option("#unknown select[data-transponder='999999']", "4")
    page.click("#unknown button[data-act=assign]")
    page.wait_for_selector("#no-unknown", state="visible")
    page.wait_for_function(
        "document.querySelector(\"#cars tr[data-key='4'] td:nth-child(4)\").textContent === '1'"
    )

    # A missed read added by hand.
    page.fill("#man-car", "4")
    page.check("#man-mode input[value=race]")
    page.fill("#man-t", "2:20")  # race time (the green was at t = 0)
    page.click("#manual-form button[type=submit]")
    page.wait_for_function(
        "document.querySelector(\"#cars tr[data-key='4'] td:nth-child(4)\").textContent === '2'"
    )
    assert "(by hand)" in page.inner_text("#feed tbody tr:first-child")

    # A read marked invalid: car 1's last crossing no longer counts.
    laps1 = page.inner_text("#cars tr[data-key='1'] td:nth-child(4)")
    page.locator("#feed tbody tr", has_text="5:01.500").locator("button[data-act=invalidate]").click()
    page.wait_for_function(
        "document.querySelector(\"#cars tr[data-key='1'] td:nth-child(4)\")"
        f".textContent === '{int(laps1) - 1}'"
    )
    page.locator("#feed tbody tr", has_text="5:01.500").filter(
        has_text="invalidated"
    ).wait_for()  # its row says so

    # Decoders: add one (nothing listens on that port: it keeps retrying), then remove it.
    port = free_port()
    page.fill("#dec-url", f"p3tcp://127.0.0.1:{port}")
    page.select_option("#dec-loop", "finish")
    page.click("#decoder-form button[type=submit]")
    page.wait_for_selector("#decoders tbody tr")
    row = page.inner_text("#decoders tbody tr")
    assert f"127.0.0.1:{port}" in row and "finish" in row
    assert "0 lost" in row and "0 recovered" in row  # missed reads: what RESEND brought back, what is lost
    assert page.inner_text("#decoders tbody tr td:nth-child(3)").strip() != "connected"
    page.screenshot(path=str(OUT / "timing-decoders.png"), full_page=True)
    page.click("#decoders button[data-act=remove]")
    page.wait_for_selector("#no-decoders", state="visible")

    # Entry list import (CSV).
    page.fill("#entries-csv", "number,name,transponder,category,drivers\n5,Echo,100005,Sport,e1:Eve:60\n")
    page.click("#entries-form button[type=submit]")
    page.wait_for_selector("#cars tr[data-key='5']")

    # Exports: CSV (public), scenario JSONL (with the token, as a download), printable page.
    assert page.evaluate("fetch(document.querySelector('#export-csv').href).then(r => r.status)") == 200
    with page.expect_download() as dl:
        page.click("#export-jsonl")
    path = tmp_path / "log.jsonl"
    dl.value.save_as(path)
    types = [json.loads(x)["type"] for x in path.read_text().splitlines() if x.strip()]
    assert types[0] == "session" and "manual_passing" in types and "invalidate" in types
    printable, _ = open_page(browser, f"{server.base}/print.html?session={sid}", ready="#results tbody tr")
    assert printable.inner_text("#results tbody tr:first-child td:nth-child(2)") == "2"  # #1 lost a lap
    printable.screenshot(path=str(OUT / "print-classification.png"), full_page=True)
    printable.close()
    assert errors == []
    page.close()
