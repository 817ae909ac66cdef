"""Shared by the hot-standby tests: a TCP proxy that can be cut (the cable between the two laptops),
and small readers of a service's log and node status over HTTP."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from service.app import create_app
from service.connections import uvicorn_config
from service.embedded_broker import free_port
from tests.cut_proxy import CutProxy  # noqa: F401  (the standby tests' cable)
from tests.service_proc import LOCAL, TOKEN, wait  # noqa: F401  (the standby tests' wait)
from tests.web_helpers import LiveServer


async def log_lines(http: httpx.AsyncClient, base: str, sid: str) -> list[dict] | None:
    """The session's log as its export (None while the service does not answer)."""
    try:
        r = await http.get(f"{base}/api/sessions/{sid}/export.jsonl", timeout=10)
    except httpx.TransportError:
        return None
    if r.status_code != 200:
        return None
    return [json.loads(x) for x in r.text.splitlines() if x.strip()]


async def node_status(http: httpx.AsyncClient, base: str) -> dict | None:
    try:
        r = await http.get(f"{base}/api/standby", timeout=5)
    except httpx.TransportError:
        return None
    return r.json() if r.status_code == 200 else None


def reads_of(lines: list[dict]) -> list[tuple[str, int, int]]:
    """(decoder, epoch, passing number) of every logged read."""
    return [(x["decoder"], x.get("epoch", 1), x["passing_id"]) for x in lines if x["type"] == "passing"]


class PairServer(LiveServer):
    """`create_app` under uvicorn in a thread (web_helpers.LiveServer), on a port it keeps across
    restarts (peers find it again), for the quicker standby tests; the failover test runs processes."""

    def __init__(self, data: Path, port: int | None = None, token: str = TOKEN, **options: Any) -> None:
        self.data, self.port, self.token, self.options = data, port or free_port(), token, options
        self.base = self.url
        self.server: uvicorn.Server | None = None
        self.http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=20,
            limits=httpx.Limits(max_keepalive_connections=0),  # see tests/web_helpers.LiveServer
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> PairServer:
        self.app = create_app(
            self.data,
            self.token,
            synchronous="NORMAL",
            advertise=self.url,
            allow_decoders=LOCAL,
            **self.options,
        )
        self.server = uvicorn.Server(uvicorn_config(self.app, "127.0.0.1", self.port, None))
        self.thread = threading.Thread(target=self.server.run, name=f"boucle {self.port}", daemon=True)
        super().start()
        return self

    def stop(self) -> None:
        """Stop serving (the data stays; `start` again serves it on the same port)."""
        if self.server is not None:
            self.server.should_exit = True
            self.thread.join(timeout=15)
            self.server = None

    def status(self) -> dict:
        return self.http.get("/api/standby").json()

    def reads(self, sid: str) -> list[tuple[str, int, int]]:
        r = self.http.get(f"/api/sessions/{sid}/export.jsonl")
        assert r.status_code == 200, r.text
        return reads_of([json.loads(x) for x in r.text.splitlines() if x.strip()])

    def export(self, sid: str) -> str:
        return self.http.get(f"/api/sessions/{sid}/export.jsonl").text
