"""Issue 22 in the browser: a French club sets its meeting up from the pages (no terminal), every
page fits a phone, a tablet, a laptop and a TV in French and English, spectators never see a
staff control, the meeting page follows changes made on another device, and the timing crew
enters missed passings with a number pad and times of day.

One server and one browser for the module; screenshots go to test-output/ (setup-*.png).
"""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.web_helpers import (
    ADMIN,
    OUT,
    SPEC,
    LiveServer,
    browser,
    load_lemans,
    new_context,
    open_page,
    server,
)

__all__ = ["browser", "server"]  # fixtures
pytestmark = pytest.mark.browser

SIZES = {"phone": (390, 844), "tablet": (768, 1024), "laptop": (1366, 768), "tv": (1920, 1080)}
PNG = bytes.fromhex(  # a 1x1 PNG: a club's logo
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201"
    "c3a3c5e70000000049454e44ae426082"
)
# Common English words of a user interface: none may show in a French page (visible text,
# placeholders, titles). Matched as whole words, lower case or capitalised, so rule IDs such as
# LM-STOPS and the example scenario's own data ("Steady Team", "Driver 2") are not taken for them.
ENGLISH = """the and of with not yet none yes save cancel delete edit add remove close back loading
error entries entry live timing race control penalty penalties decoder decoders unknown passing
passings heat heats practice final standings season finish flag print sign signed draft recorded
waiting laps lap stops stop logout login open opened new create session sessions time from by for in
at this that your here there is are was were has have will should must cannot please click tap show
hide no""".split()
# a word, not a piece of an identifier (lemans-270-2h, generic-laps, D1=finish, pit_in)
ENGLISH_RE = re.compile(
    r"(?<![\w=-])(" + "|".join(w for x in ENGLISH for w in (x, x.capitalize())) + r")(?![\w=-])"
)

# What a page shows, checked in the browser: sideways scroll, clipped cells and controls, columns
# narrower than a word (a word wider than its cell), controls outside the screen.
LAYOUT_JS = """(allowScroll) => {
  const out = [];
  const de = document.documentElement;
  if (de.scrollWidth > de.clientWidth + 1) \
out.push(`page scrolls sideways: ${de.scrollWidth} > ${de.clientWidth}`);
  const ctx = document.createElement('canvas').getContext('2d');
  const visible = (e) => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden' \
&& !e.closest('[hidden], dialog:not([open])');
  const scrolled = (e) => allowScroll.some((s) => e.closest(s));
  const name = (e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}\
.${[...e.classList].join('.')} "${e.textContent.trim().slice(0, 40)}"`;
  for (const e of document.querySelectorAll('main td, main th, button, a, \
input, select, .tag, label, h1, h2, h3')) {
    if (!visible(e)) continue;
    const s = getComputedStyle(e), r = e.getBoundingClientRect();
    if (r.width === 0) continue;
    if (s.overflowX !== 'visible' && s.display !== 'inline' && e.scrollWidth > e.clientWidth + 1 \
&& !(e.tagName === 'SELECT' || e.tagName === 'INPUT'))
      out.push(`cut: ${name(e)} ${e.scrollWidth} > ${e.clientWidth}`);
    if (!scrolled(e) && (r.right > innerWidth + 1 || r.left < -1)) \
out.push(`off screen: ${name(e)} ${Math.round(r.left)}..${Math.round(r.right)}`);
    if ((e.tagName === 'TD' || e.tagName === 'TH') && !e.closest('#classification')) {
      let widest = 0; // each text in its own font; a line may break at spaces and after a hyphen
      const walk = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
      for (let n = walk.nextNode(); n; n = walk.nextNode()) {
        const ps = getComputedStyle(n.parentElement);
        if (!n.parentElement.getClientRects().length) continue;
        ctx.font = `${ps.fontWeight} ${ps.fontSize} ${ps.fontFamily}`;
        for (const w of n.data.split(/\\s+|(?<=-)/)) if (w) \
widest = Math.max(widest, ctx.measureText(w).width);
      }
      const room = e.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
      if (widest > room + 2) out.push(\
`column narrower than a word: ${name(e)} ${Math.round(widest)} > ${Math.round(room)}`);
    }
  }
  for (const tr of [...document.querySelectorAll('#classification tr')].slice(0, 6)) { \
// board cells side by side
    const cells = [...tr.children].filter(visible).map((c) => [c, c.getBoundingClientRect()])\
.filter(([, r]) => r.width > 0)
      .sort((a, b) => a[1].left - b[1].left);
    for (let i = 1; i < cells.length; i++) {
      if (cells[i][1].left < cells[i - 1][1].right - 1) \
out.push(`overlap: ${name(cells[i - 1][0])} and ${name(cells[i][0])}`);
    }
  }
  for (const e of document.querySelectorAll('main .scroll, main .table-wrap')) {
    if (visible(e) && !scrolled(e) && e.scrollWidth > e.clientWidth + 1) \
out.push(`scrolls sideways: ${name(e)}`);
  }
  return out.slice(0, 20);
}"""

VISIBLE_TEXT_JS = """() => {
  const bits = [document.body.innerText];
  for (const e of document.querySelectorAll('[placeholder], [aria-label]')) {
    if (!e.getClientRects().length || e.closest('[hidden]')) continue;
    bits.push(e.getAttribute('placeholder') || '', e.getAttribute('aria-label') || '');
  }
  return bits.join('\\n');
}"""

# A spectator's page has no staff control: nothing that changes anything, no staff link shown.
STAFF_CONTROLS_JS = """() => [...document.querySelectorAll(
    'main button[data-act], main form, #m-admin, #m-decisions-card, #m-entries-card, #season-admin, \
.staff-only, #m-add-session')]
  .filter((e) => e.getClientRects().length && !e.closest('[hidden]'))\
.map((e) => e.id || e.outerHTML.slice(0, 80))"""


# Car 9 into the pits (its board's fitted widths cleared before, so that they are set again after).
IN_PIT_JS = """() => { const s = window.boucle.store, r = s.rows.get('9');
  s.putRow({...r, in_pit: true, finished: false}); s.mark('rows', '9'); }"""


def english_words(text: str) -> list[str]:
    return sorted({m.group(0) for m in ENGLISH_RE.finditer(text)})


def manual(srv: LiveServer, sid: str) -> dict[str, float]:
    """Car -> session time of its manual passing (the corrections the server logged)."""
    c = srv.http.get(f"/api/sessions/{sid}/corrections", headers={"Authorization": f"Bearer {ADMIN}"}).json()
    return {x["line"]["number"]: x["t"] for x in c if x["type"] == "manual_passing"}


@pytest.fixture(scope="module")
def lemans(server: LiveServer) -> dict:
    return load_lemans(server)


def ready(page, selector: str) -> None:
    """The page shows its data: `selector` is there, the board's columns are fitted, a frame is drawn."""
    page.wait_for_selector(selector, state="attached")
    if selector.startswith("#classification"):
        page.wait_for_function(
            "matchMedia('(max-width: 700px)').matches"
            " || document.querySelector('#classification').style.getPropertyValue('--k-state') !== ''"
        )
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


@pytest.fixture(scope="module")
def pages(server: LiveServer, lemans) -> list[tuple]:
    """The pages of the matrix, over a finished Le Mans session, an auto-cross meeting with its
    practice open and a season: (name, path, ready selector, staff?, scrolling tables on a phone)."""
    sid = lemans["id"]
    entries = [
        {"number": str(n), "name": f"Pilote {n}", "transponder": f"M{n}", "category": "Maxi Sprint"}
        for n in range(701, 713)
    ]
    m = server.post(
        "/api/meetings",
        {
            "name": "Saint-Igny",
            "division": "Maxi Sprint",
            "entries": entries,
            "date": "2026-05-17",
            "place": "Circuit des Grands Prés",
            "organiser": "ASA Bourgogne",
        },
    )
    mid = m["id"]
    server.post(f"/api/meetings/{mid}/stages/practice1/start")
    season = {
        "championship": "lemans-270",
        "name": "Le Mans 270 2026",
        "events": [{"name": "2H Mars", "race": sid}],
    }
    server.post("/api/championships", season)
    return [
        ("spectator", f"/?session={sid}", "#classification tbody tr", False, ()),
        ("tv", f"/?session={sid}&tv=1", "#classification tbody tr", False, ()),
        ("race-control", f"/race-control.html?session={sid}", "#penalties tbody tr", True, ()),
        ("timing", f"/timing.html?session={sid}", "#entries tbody tr", True, ()),
        ("meeting", f"/meeting.html?meeting={mid}", "body[data-ready]", True, ()),
        ("meeting-public", f"/meeting.html?meeting={mid}", "body[data-ready]", False, ()),
        ("admin", "/admin.html", "body[data-ready]", True, ()),
        ("standings", "/standings.html", "#standings tbody tr", False, ()),
        ("print", f"/print.html?session={sid}", "#results tbody tr", False, ("#results", "#penalties")),
        ("login", "/login.html", "#login-form", False, ()),
    ]


FRAMES_JS = "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
UNFIT_JS = """() => { const table = document.querySelector('#classification');
  for (const k of ['--k-state', '--k-pen', '--k-cat']) table.style.removeProperty(k); }"""
FITTED_JS = """() => matchMedia('(max-width: 700px)').matches
  || document.querySelector('#classification').style.getPropertyValue('--k-state') !== ''"""

# French at the four sizes; English (shorter or longer words) at the two extremes. The tablet, the
# laptop and the TV are one context (no mobile emulation, scale 1): each page is loaded once and
# the window resized to each of them; a phone is a context of its own (touch, scale 2). The pages'
# layout is CSS; the board alone measures in JS and fits its columns and TV pages again on a
# resize, which each check waits for (its fitted widths cleared before, set again after).
MATRIX = [
    ("fr-FR", ("phone",)),
    ("fr-FR", ("tablet", "laptop", "tv")),
    ("en-GB", ("phone",)),
    ("en-GB", ("tv",)),
]


@pytest.mark.parametrize(("locale", "sizes"), MATRIX, ids=[f"{lo[:2]}-{'-'.join(si)}" for lo, si in MATRIX])
def test_pages_fit_the_screen(
    server: LiveServer, browser, pages, locale: str, sizes: tuple[str, ...]
) -> None:
    """Every page at each size: nothing scrolls sideways, nothing is cut, no column is narrower than
    a word, no control off screen; no English word in French; no staff control for a spectator."""
    problems: list[str] = []
    # one context (its cache shared): a staff tab holding the token, then a spectator's tab without it
    ctx = new_context(browser, SIZES[sizes[0]], mobile=sizes[0] == "phone", locale=locale)
    for staff in (True, False):
        page = ctx.new_page()
        if staff:
            page.add_init_script(f"sessionStorage.setItem('boucle.token', {json.dumps(ADMIN)})")
        page.set_default_timeout(15000)
        errors: list[str] = []
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        for name, path, sel, needs_staff, scroll in pages:
            if needs_staff != staff:
                continue
            board = name in ("spectator", "tv")
            for k, size in enumerate(sizes):
                if k == 0:
                    if page.viewport_size != {"width": SIZES[size][0], "height": SIZES[size][1]}:
                        page.set_viewport_size({"width": SIZES[size][0], "height": SIZES[size][1]})
                    page.goto(server.base + path)
                    ready(page, sel)
                    if board:  # a car in the pits: its badge is never cut
                        page.evaluate(UNFIT_JS)
                        page.evaluate(IN_PIT_JS)
                        page.wait_for_selector("#classification tr[data-key='9'].in-pit", state="attached")
                else:
                    if board:
                        page.evaluate(UNFIT_JS)
                    page.set_viewport_size({"width": SIZES[size][0], "height": SIZES[size][1]})
                if board:  # the columns fitted (again) for this screen and this car
                    page.wait_for_function(FITTED_JS)
                page.evaluate(FRAMES_JS)
                problems += check_page(page, name, staff, locale, size, scroll)
        assert errors == [], errors
        page.close()
    ctx.close()
    assert problems == [], "\n".join(problems)


def check_page(page, name: str, staff: bool, locale: str, size: str, scroll: tuple[str, ...]) -> list[str]:
    """What is wrong with the page as shown now (and its screenshot taken)."""
    where = f"{name} {locale} {size}"
    assert page.evaluate("[innerWidth, innerHeight]") == list(SIZES[size]), where
    problems = [f"{where}: {p}" for p in page.evaluate(LAYOUT_JS, list(scroll if size == "phone" else ()))]
    if name == "admin":  # the set-up form, open
        page.click("#new-meeting")
        page.wait_for_selector("dialog[open] [name=name]")
        problems += [f"{where} form: {p}" for p in page.evaluate(LAYOUT_JS, [])]
        page.keyboard.press("Escape")
        page.wait_for_selector("dialog[open]", state="detached")
    if locale == "fr-FR":
        assert page.get_attribute("html", "lang") == "fr", where
        words = english_words(page.evaluate(VISIBLE_TEXT_JS))
        if words:
            problems.append(f"{where}: English words {words}")
    if not staff and name != "login":
        shown = page.evaluate(STAFF_CONTROLS_JS)
        if shown:
            problems.append(f"{where}: staff controls shown to a spectator: {shown}")
    if locale == "fr-FR" or size == "tv":
        page.screenshot(path=str(OUT / f"setup-{name}-{locale[:2]}-{size}.png"), full_page=size == "phone")
    return problems


def test_admin_creates_a_meeting_and_its_entries_and_a_spectator_follows(server: LiveServer, browser) -> None:
    """A French volunteer (admin) creates an auto-cross meeting with its date, place, organiser and
    logo and types its entry list; a spectator's meeting page shows no control, makes no request
    answered 409, and shows the practice opened from another device within seconds; a result is
    typed in for a session without timing."""
    ctx = new_context(browser, SIZES["laptop"], ADMIN, locale="fr-FR")
    page, errors = open_page(ctx, f"{server.base}/admin.html", ready="body[data-ready]")
    page.on("dialog", lambda d: d.accept())
    page.click("#new-meeting")
    dlg = page.locator("dialog[open]")
    assert dlg.locator("h2").inner_text() == "Nouveau meeting"
    dlg.locator("[name=preset]").select_option("autocross")
    dlg.locator("[name=name]").fill("Auto-cross de Saint-Igny")
    dlg.locator("[name=date]").fill("2026-05-17")
    dlg.locator("[name=place]").fill("Circuit des Grands Prés")
    dlg.locator("[name=organiser]").fill("ASA Bourgogne")
    dlg.locator("[name=division]").fill("Maxi Sprint")
    assert dlg.locator("[data-field=track_length_m]").is_hidden()  # karting only
    dlg.locator("[name=logo]").set_input_files(
        files=[{"name": "logo.png", "mimeType": "image/png", "buffer": PNG}]
    )
    dlg.locator("button[data-act=save]").click()
    page.wait_for_url("**/meeting.html?meeting=*")
    page.wait_for_selector("body[data-ready]")
    mid = page.url.split("meeting=")[1]
    facts = page.inner_text("#m-facts")
    assert "dimanche 17 mai 2026" in facts and "Circuit des Grands Prés" in facts and "ASA Bourgogne" in facts
    page.wait_for_function(
        "document.querySelector('#m-logo').complete && document.querySelector('#m-logo').naturalWidth === 1"
    )

    # the entry list: part from a file, the rest one entry at a time (a French decimal comma)
    csv = b"number,name,transponder,category\n705,Pilote 705,T705,\n706,Pilote 706,T706,\n"
    page.set_input_files(
        "#m-entries-card input[type=file]",
        files=[{"name": "engages.csv", "mimeType": "text/csv", "buffer": csv}],
    )
    page.wait_for_selector("#entries tr[data-key='706']")
    for n in range(701, 705):
        page.click("#m-entries-card button[data-act=add-entry]")
        d = page.locator("dialog[open]")
        d.locator("[name=number]").fill(str(n))
        d.locator("[name=transponder]").fill(f"T{n}")
        d.locator("[name=driver_name]").fill(f"Élodie Pilote{n}")
        d.locator("[name=driver_kg]").fill("68,5")
        d.locator("button[data-act=save]").click()
        page.wait_for_selector(f"#entries tr[data-key='{n}']")
    assert page.inner_text("#entries tr[data-key='703'] td.name") == "Élodie Pilote703"
    assert "Élodie Pilote701 (68,5 kg)" in page.inner_text("#entries tr[data-key='701']")
    page.click("#entries tr[data-key='706'] button[data-act=remove-entry]")
    page.wait_for_selector("#entries tr[data-key='706']", state="detached")
    page.click("#entries tr[data-key='702'] button[data-act=edit-entry]")
    d = page.locator("dialog[open]")
    d.locator("[name=name]").fill("Écurie des Prés")
    d.locator("[name=team]").fill("ASA Bourgogne")
    d.locator("button[data-act=save]").click()
    page.wait_for_function(
        "document.querySelector(\"#entries tr[data-key='702'] td.name\")"
        ".textContent.startsWith('Écurie des Prés')"
    )
    page.click(
        "#m-entries-card button[data-act=add-entry]"
    )  # a refusal is said in French, the dialog stays open
    d = page.locator("dialog[open]")
    d.locator("[name=number]").fill("799")
    d.locator("[name=transponder]").fill("T701")
    d.locator("button[data-act=save]").click()
    d.locator(".error", has_text="le transpondeur T701 compte déjà pour la voiture n°701").wait_for()
    d.locator("button[data-act=cancel]").click()
    page.screenshot(path=str(OUT / "setup-meeting-entries-fr.png"), full_page=True)

    # a spectator follows the meeting page; it must not ask for what does not exist yet (no 409)
    public = new_context(browser, SIZES["phone"], mobile=True, locale="fr-FR")
    statuses: list[int] = []
    spec, spec_errors = open_page(
        public, f"{server.base}/meeting.html?meeting={mid}", ready="body[data-ready]"
    )
    spec.on("response", lambda r: statuses.append(r.status))
    spec.reload()
    spec.wait_for_selector("body[data-ready]")
    assert statuses.count(409) == 0 and statuses.count(404) == 0, statuses
    assert spec.evaluate(STAFF_CONTROLS_JS) == []
    assert spec.locator(".stage[data-stage='practice1'] .plan .tag.now").count() == 0

    # the timing crew opens the practice from its own device: the spectator sees it within seconds
    page.click(".stage[data-stage='practice1'] button[data-act=start]")
    page.wait_for_selector(".plan[data-key='practice1.1'] button[data-act=finish]")
    assert page.locator("#m-entries-card").is_hidden()  # the list is fixed once a session opens
    t0 = time.monotonic()
    spec.wait_for_selector(".plan[data-key='practice1.1'] .tag.now", timeout=8000)
    follow_s = time.monotonic() - t0
    assert follow_s < 8
    assert spec.locator(".plan[data-key='practice1.1'] button").count() == 0
    spec.screenshot(path=str(OUT / "setup-meeting-public-phone-fr.png"), full_page=True)
    assert spec_errors == []
    public.close()

    # a result typed in (no timing for that session): one line per car, a French decimal comma
    page.click(".plan[data-key='practice2.1'] button[data-act=type-result]")
    d = page.locator("dialog[open]")
    assert d.locator(".result-row").count() == 5
    d.locator(".result-row[data-number='701'] [name=time]").fill("2:31,5")
    d.locator("button[data-act=save]").click()
    page.wait_for_selector(".plan[data-key='practice2.1'] .tag.done")
    assert "practice2.1" in server.http.get(f"/api/meetings/{mid}").json()["recorded"]
    assert errors == []
    ctx.close()


def test_timing_crew_edits_entries_and_types_missed_passings(server: LiveServer, browser) -> None:
    """The timing page: a late entry added and removed, a car's transponder changed once it has
    reads (an undoable correction, no removal), missed passings by the number pad ("passing now"),
    a time of day with a decimal comma and a race time, each reaching the server to the millisecond."""
    s = server.create_session("Essais 1", {"preset": "generic-timed", "kind": "practice", "duration_s": 1200})
    sid = s["id"]
    server.post(
        f"/api/sessions/{sid}/entries",
        [{"number": str(n), "name": f"Élodie Pilote{n}", "transponder": f"T{n}"} for n in range(701, 706)],
    )
    ctx = new_context(browser, SIZES["laptop"], s["tokens"]["timing"], locale="fr-FR")
    page, errors = open_page(
        ctx, f"{server.base}/timing.html?session={sid}", ready="#entries tr[data-key='705']"
    )
    page.on("dialog", lambda d: d.accept())
    page.click("#entries-card button[data-act=add-entry]")
    d = page.locator("dialog[open]")
    d.locator("[name=number]").fill("712")
    d.locator("[name=name]").fill("Retardataire")
    d.locator("[name=transponder]").fill("T712")
    d.locator("[name=category]").fill("Maxi Sprint")
    d.locator("button[data-act=save]").click()
    page.wait_for_selector("#cars tr[data-key='712']")
    page.click("#entries tr[data-key='712'] button[data-act=remove-entry]")
    page.wait_for_selector("#cars tr[data-key='712']", state="detached")
    server.post(f"/api/sessions/{sid}/signal", {"signal": "green"})
    # the number pad, then "passing now"
    for digit in "703":
        page.click(f"#numpad button[data-key='{digit}']")
    assert page.input_value("#man-car") == "703" and "Élodie Pilote703" in page.inner_text("#man-car-name")
    before = server.http.get(f"/api/sessions/{sid}").json()["clock"]["now_s"]
    page.click("#man-now")
    page.wait_for_function(
        "document.querySelector(\"#cars tr[data-key='703'] td:nth-child(4)\").textContent === '1'"
    )
    assert before - 1 <= manual(server, sid)["703"] <= before + 30
    # a time of day typed, with a comma: the server gets the session time to the millisecond
    head = server.http.get(f"/api/sessions/{sid}").json()
    want_t = round((head["clock"]["green_s"] + head["clock"]["now_s"]) / 2, 3)  # after the green, before now
    clock = page.evaluate(
        "([t, o]) => { const d = new Date(o + t * 1000); const p = (n, w = 2) => String(n).padStart(w, '0');"
        " return `${p(d.getHours())}:${p(d.getMinutes())}:"
        "${p(d.getSeconds())},${p(d.getMilliseconds(), 3)}`; }",
        [want_t, head["origin_ms"]],
    )
    page.fill("#man-car", "704")
    page.fill("#man-t", clock)
    assert "de course" in page.inner_text("#man-t-check")
    page.click("#man-submit")
    page.wait_for_function(
        "document.querySelector(\"#cars tr[data-key='704'] td:nth-child(4)\").textContent === '1'"
    )
    assert abs(manual(server, sid)["704"] - want_t) < 0.0015
    # a race time, and a time that is not one
    page.check("#man-mode input[value=race]")
    page.fill("#man-car", "705")
    page.fill("#man-t", "abc")
    assert page.inner_text("#man-t-check") == "Tapez un temps de course comme 1:02:05.1"
    page.fill("#man-t", "0:01,5")
    page.click("#man-submit")
    page.wait_for_function(
        "document.querySelector(\"#cars tr[data-key='705'] td:nth-child(4)\").textContent === '1'"
    )
    green = server.http.get(f"/api/sessions/{sid}").json()["clock"]["green_s"]
    assert abs(manual(server, sid)["705"] - (green + 1.5)) < 0.0015
    # a car with reads keeps its history: no removal; its transponder changed is an undoable correction
    assert page.locator("#entries tr[data-key='703'] button[data-act=remove-entry]").count() == 0
    page.click("#entries tr[data-key='703'] button[data-act=edit-entry]")
    d = page.locator("dialog[open]")
    d.locator("[name=transponder]").fill("T703B")
    d.locator("button[data-act=save]").click()
    page.wait_for_selector("#corrections tbody tr:has-text('T703B')")
    page.screenshot(path=str(OUT / "setup-timing-entries-fr.png"), full_page=True)
    assert errors == []
    ctx.close()


def test_sessions_by_hand_a_season_the_calendar_and_a_deletion(server: LiveServer, browser, lemans) -> None:
    """A free meeting gets a session by hand (added, edited, deleted); a season counts a finished
    session chosen from a list; the regional calendar gives a meeting its date, place and
    organiser; a meeting is deleted from its page."""
    ctx = new_context(browser, SIZES["laptop"], ADMIN, locale="fr-FR")
    page, errors = open_page(ctx, f"{server.base}/admin.html", ready="body[data-ready]")
    page.on("dialog", lambda d: d.accept())

    # the regional calendar: imported from its file, a timed event becomes the club's meeting
    seed = next(iter(sorted((SPEC.parent.parent / "seeds").glob("000_*.txt"))), None)
    if seed is not None:
        page.goto(f"{server.base}/admin.html")
        page.wait_for_selector("body[data-ready]")
        page.set_input_files("#cal-file", str(seed))
        page.click("#cal-import")
        page.wait_for_selector("#cal-events tbody tr")
        assert "chronométrées" in page.inner_text("#cal-status")
        ev = server.http.get("/api/meetings/calendar", params={"timed": "true"}).json()[0]
        page.select_option("#cal-region", ev["region"])
        page.wait_for_selector(f"#cal-events tr[data-key='{ev['index']}']")
        page.click(f"#cal-events tr[data-key='{ev['index']}'] button[data-act=from-calendar]")
        page.locator("dialog[open] [name=division]").fill("Maxi Sprint")
        page.locator("dialog[open] button[data-act=save]").click()
        page.wait_for_url("**/meeting.html?meeting=*")
        page.wait_for_selector("body[data-ready]")
        assert ev["venue"] in page.inner_text("#m-facts") and ev["club"] in page.inner_text("#m-facts")

    # a meeting of sessions by hand: one added, edited, deleted
    page.goto(f"{server.base}/admin.html")
    page.wait_for_selector("body[data-ready]")
    page.click("#new-meeting")
    d = page.locator("dialog[open]")
    d.locator("[name=preset]").select_option("free")
    d.locator("[name=name]").fill("Journée club")
    d.locator("[name=date]").fill("2026-06-07")
    d.locator("button[data-act=save]").click()
    page.wait_for_selector("body[data-ready]")
    free = page.url.split("meeting=")[1]
    assert page.locator("#m-stages-card").is_hidden()
    page.click("#m-add-session")
    d = page.locator("dialog[open]")
    d.locator("[name=name]").fill("Essais libres")
    d.locator("[name=preset]").select_option("generic-timed")
    d.locator("[name=kind]").select_option("practice")
    d.locator("[name=duration_min]").fill("20")
    d.locator("button[data-act=save]").click()
    page.wait_for_selector("#m-sessions .session-line:has-text('Essais libres')")
    page.click("#m-sessions button[data-act=edit-session]")
    d = page.locator("dialog[open]")
    assert d.locator("[name=duration_min]").input_value() == "20"
    d.locator("[name=name]").fill("Essais libres 1")
    d.locator("[name=duration_min]").fill("25")
    d.locator("button[data-act=save]").click()
    page.wait_for_selector("#m-sessions .session-line:has-text('Essais libres 1')")
    key = server.http.get(f"/api/meetings/{free}").json()["sessions"]["s1"]
    assert server.http.get(f"/api/sessions/{key}").json()["clock"]["duration_s"] == 1500
    page.click("#m-sessions button[data-act=edit-session]")
    page.locator("dialog[open] button[data-act=delete]").click()
    page.wait_for_selector("#m-no-sessions", state="visible")
    assert server.http.get(f"/api/sessions/{key}").status_code == 404

    # a season: which session counts, chosen from the list
    page.goto(f"{server.base}/standings.html")
    page.wait_for_selector("body[data-ready]")
    page.click("#season-new")
    d = page.locator("dialog[open]")
    d.locator("[name=name]").fill("Challenge 2026")
    d.locator("[name=championship]").select_option("lemans-270")
    d.locator("[name=ev_name]").fill("2H Mars")
    d.locator("[name=doc_race]").select_option(lemans["id"])
    d.locator("button[data-act=save]").click()
    page.wait_for_function("document.querySelector('#title').textContent.includes('Challenge 2026')")
    page.wait_for_selector("#standings tbody tr")
    page.screenshot(path=str(OUT / "setup-season-fr.png"), full_page=True)

    # the meeting deleted from its page: what was run stays as sessions of their own
    page.goto(f"{server.base}/meeting.html?meeting={free}")
    page.wait_for_selector("body[data-ready]")
    page.click("#m-delete")
    page.wait_for_url("**/meeting.html")
    assert server.http.get(f"/api/meetings/{free}").status_code == 404
    assert errors == []
    ctx.close()
