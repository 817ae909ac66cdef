"""Spectator page reading the live stream from mosquitto's WebSocket listener (web/js/mqtt-feed.js).

A real broker with a websockets listener, the service publishing to it (service/broadcast.py),
headless Chromium with the vendored MQTT.js: the page must take the broker from /api/config, never
open the service's WebSocket, follow every passing, repair a row patch it cannot apply, and fall
back to the service's WebSocket when the broker cannot be reached.
"""

from __future__ import annotations

import pytest

from tests.mqtt_broker import running_mosquitto
from tests.web_helpers import LiveServer, browser, open_page, table_rows

__all__ = ["browser"]  # fixture
pytestmark = pytest.mark.browser

CARS = 6


def _race(server: LiveServer) -> str:
    s = server.create_session(
        "Broker", {"preset": "generic-timed", "kind": "race", "duration_s": 3600, "min_lap_s": 1}
    )
    sid = s["id"]
    server.post(
        f"/api/sessions/{sid}/entries",
        [
            {"number": str(n), "name": f"Team {n}", "transponder": f"7{n:03d}", "category": "Sport"}
            for n in range(1, CARS + 1)
        ],
    )
    server.post(f"/api/sessions/{sid}/signal", {"signal": "green", "t": 0.0})
    return sid


def _lap(server: LiveServer, sid: str, lap: int, order: list[int]) -> None:
    for i, n in enumerate(order):
        server.post(
            f"/api/sessions/{sid}/events",
            {"type": "passing", "t": 60.0 * lap + i, "transponder": f"7{n:03d}", "loop": "finish"},
        )


@pytest.fixture(scope="module")
def broker():
    with running_mosquitto(websockets=True) as b:
        yield b


def test_page_reads_the_broker_and_repairs(broker, browser, tmp_path):
    prefix = "boucle/web"
    server = LiveServer(tmp_path, publish=f"{broker.url}/{prefix}", publish_ws=broker.ws_url).start()
    try:
        sid = _race(server)
        ctx = browser.new_context(viewport={"width": 1280, "height": 800})
        sockets: list[str] = []
        ctx.on("page", lambda p: p.on("websocket", lambda ws: sockets.append(ws.url)))
        page, errors = open_page(ctx, f"{server.base}/?session={sid}")
        assert page.evaluate("window.boucle.store.feed.kind") == "mqtt"
        _lap(server, sid, 1, [3, 1, 2, 6, 5, 4])
        _lap(server, sid, 2, [1, 3, 2, 6, 4, 5])
        page.wait_for_function(
            "window.boucle.store.rows.size === 6 "
            "&& [...window.boucle.store.rows.values()].every(r => r.laps === 2)"
        )
        page.wait_for_function("window.boucle.store.pending === null")
        shown = [(r["number"], r["laps"]) for r in table_rows(page)]
        assert shown == [("1", "2"), ("3", "2"), ("2", "2"), ("6", "2"), ("4", "2"), ("5", "2")]
        assert all(broker.ws_url.split("//")[1] in u for u in sockets) and sockets, (
            sockets
        )  # never /ws/sessions
        # times that move with the clock are not sent; the store derives them from absolute ones
        row = page.evaluate(
            "(({stint_s, stint_start_s}) => ({stint_s, stint_start_s}))(window.boucle.store.rows.get('1'))"
        )
        assert row["stint_start_s"] is not None and row["stint_s"] >= 0
        derive_js = """(() => { const r = {rules: {X: {text_until: 'pit lane opens in {}', until_s: 1265.5}}};
            window.boucle.store.derive(r, 1200); return r.rules.X.text; })()"""
        text = page.evaluate(derive_js)
        assert text == "pit lane opens in 1:05"
        # a patch that does not follow the row's version: the store asks the broker's snapshot again
        before = page.evaluate("window.boucle.store.stats.snapshots")
        page.evaluate(
            "window.boucle.store.delta({type: 'delta', seq: 0, rows: [{number: '1', v: 999, laps: 99}]})"
        )
        # (the retained snapshot, refreshed by the service within SNAPSHOT_EVERY seconds)
        page.wait_for_function(
            f"window.boucle.store.stats.snapshots > {before} && window.boucle.store.rows.get('1').laps === 2"
        )
        assert page.evaluate("window.boucle.store.stats.repairs") == 1
        assert errors == []
    finally:
        server.stop()


def test_page_falls_back_to_the_service_websocket(browser, tmp_path):
    # the service names a broker nobody listens on (port taken by nothing): the page must still work
    from tests.mqtt_broker import free_port

    server = LiveServer(
        tmp_path, publish=f"mqtt://127.0.0.1:{free_port()}/x", publish_ws=f"ws://127.0.0.1:{free_port()}"
    ).start()
    try:
        sid = _race(server)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(20000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{server.base}/?session={sid}")
        page.wait_for_function(
            "window.boucle && window.boucle.store.feed.kind === undefined "
            "&& window.boucle.store.feed.state === 'open'"
        )
        _lap(server, sid, 1, [2, 1, 3, 4, 5, 6])
        page.wait_for_function("[...window.boucle.store.rows.values()].every(r => r.laps === 1)")
        assert errors == []
    finally:
        server.stop()
