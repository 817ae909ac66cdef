"""The timing crew sees log lines set aside at load (issue 10): a line an older version wrote that
this one rejects is listed with why, in French and English, and the rest of the race is there."""

from __future__ import annotations

import json

import pytest

from service.sessions.live import LiveSession
from tests.web_helpers import ADMIN, OUT, LiveServer, browser, open_page  # noqa: F401 - fixtures

BAD = '{"type": "passing", "t": NaN, "transponder": "101", "loop": "finish"}'


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("aside")
    s = LiveSession.create(data, "Course", {"preset": "generic-timed", "kind": "race", "duration_s": 600})
    for line in (
        {"type": "entry", "number": "1", "name": "Ann", "transponder": "101"},
        {"type": "signal", "t": 0, "signal": "green"},
        {"type": "passing", "t": 61.5, "transponder": "101", "loop": "finish"},
    ):
        s.submit(line)
    s.store.append(BAD)  # what an older version let through
    s.close()
    srv = LiveServer(data).start()
    OUT.mkdir(exist_ok=True)
    yield srv, s.id
    srv.stop()


@pytest.mark.parametrize(
    ("lang", "title"), [("fr", "Lignes du journal mises de côté"), ("en", "Log lines set aside")]
)
def test_timing_page_lists_the_lines_set_aside(server, browser, lang, title):  # noqa: F811
    srv, sid = server
    info = srv.http.get(f"/api/sessions/{sid}").json()
    assert [a["seq"] for a in info["set_aside"]] == [5] and "'t'" in info["set_aside"][0]["error"]
    assert srv.http.get(f"/api/sessions/{sid}/results").json()["classification"][0]["laps"] == 1
    page, errors = open_page(
        browser, f"{srv.base}/timing.html?session={sid}&lang={lang}#token={ADMIN}", ready=None
    )
    page.wait_for_selector("#set-aside-card:not([hidden]) #set-aside tr[data-key]")
    assert title in page.inner_text("#h-set-aside")
    row = page.inner_text("#set-aside tr[data-key]")
    assert "5" in row and "NaN" in row  # the reason in the page language, from its code
    assert (
        "« t » doit être un nombre ≥ -864000" if lang == "fr" else "'t': Expected float >= -864000.0"
    ) in row
    page.screenshot(path=str(OUT / f"timing-set-aside-{lang}.png"), full_page=True)
    assert errors == []
    page.close()


def test_no_card_without_lines_set_aside(server, browser):  # noqa: F811
    srv, _ = server
    fresh = srv.post("/api/sessions", {"name": "clean", "preset": "generic-timed"})
    page, _ = open_page(
        browser, f"{srv.base}/timing.html?session={fresh['id']}#token={ADMIN}", ready="#h-dec"
    )
    page.wait_for_function("window.boucle && window.boucle.store.feed.state === 'open'")
    assert page.is_hidden("#set-aside-card")
    assert json.loads(srv.http.get(f"/api/sessions/{fresh['id']}").text)["set_aside"] == []
    page.close()
