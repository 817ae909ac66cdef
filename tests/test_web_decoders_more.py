"""The timing page's decoder row shows what a Protime decoder reports: its id and firmware, noise
and levels per channel, triggers, and a transponder whose battery is low (headless Chromium,
a Protime decoder answering over UDP on 127.0.0.1)."""

from __future__ import annotations

import socket
import threading

import pytest

from decoders.daytime import local_now_us
from decoders.protime import codec
from tests.web_helpers import OUT, browser, new_context, open_page, server

__all__ = ["browser", "server"]  # fixtures
pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]


class UdpProtime(threading.Thread):
    """Answers the configuration and status requests; sends its reads one at a time, on ACK."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.done = threading.Event()
        tod = local_now_us() % 86_400_000_000
        self.queue = [
            codec.passing_message("STA", 123457, tod, status=3),
            codec.passing_message("MAN", 0, tod + 1000),
        ]

    def run(self) -> None:
        while not self.done.is_set():
            try:
                data, peer = self.sock.recvfrom(256)
            except TimeoutError:
                continue
            for i in range(0, len(data) - 1, 2):
                cmd = data[i + 1]
                if cmd == 0x10:
                    self.sock.sendto(codec.config_message("0412", 23, (12, 14)), peer)
                elif cmd == 0x05:
                    self.sock.sendto(
                        codec.status_message(local_now_us() % 86_400_000_000, (41, 36), (12, 14)), peer
                    )
                elif cmd == 0x11 and self.queue:
                    self.queue.pop(0)
                if cmd in (0x10, 0x11, 0x12) and self.queue:
                    self.sock.sendto(self.queue[0], peer)

    def stop(self) -> None:
        self.done.set()
        self.join(5)
        self.sock.close()


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_protime_status_on_the_decoder_row(server, browser, lang):
    s = server.create_session(f"Protime {lang}", {"preset": "generic-timed", "kind": "race"})
    dec = UdpProtime()
    dec.start()
    try:
        server.post(
            f"/api/sessions/{s['id']}/decoders",
            {"url": f"protime+udp://127.0.0.1:{dec.port}?listen=0&status_every=0.3", "loop": "finish"},
        )
        ctx = new_context(browser, (1400, 1000), s["tokens"]["timing"], locale=lang)
        page, errors = open_page(ctx, f"{server.base}/timing.html?session={s['id']}&lang={lang}")
        page.wait_for_function(
            "document.querySelector('#decoders tbody tr')?.innerText.includes('123457')", timeout=20000
        )
        row = page.inner_text("#decoders tbody tr")
        words = {
            "fr": (
                "micrologiciel 23",
                "niveaux STA 12 · BOX 14",
                "1 déclenchement",
                "batterie faible : 123457",
            ),
            "en": ("firmware 23", "levels STA 12 · BOX 14", "1 trigger", "low battery: 123457"),
        }[lang]
        assert "0412" in row and "STA 41 · BOX 36" in row and all(w in row for w in words), row
        assert errors == []
        page.locator("#decoders").screenshot(path=str(OUT / f"timing-decoder-protime-{lang}.png"))
        ctx.close()
    finally:
        dec.stop()
