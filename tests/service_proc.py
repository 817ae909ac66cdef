"""Start a real `boucle serve` process on 127.0.0.1 for integration tests (and kill it)."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from decoders.reach import DecoderReach
from service.embedded_broker import free_port
from service.sessions.manager import Manager

REPO = Path(__file__).resolve().parents[1]
TOKEN = "test-admin-token"
# the tests' decoders (fake P3 decoders, the simulator, mosquitto) live on this machine: allowed as an
# admin would
LOCAL = ["127.0.0.1", "/dev/pts/"]  # the tests' decoders are local: what an admin allows here
LOCAL_DECODERS = [arg for item in LOCAL for arg in ("--allow-decoder", item)]
# benches open thousands of clients from 127.0.0.1: no cap per address, the file limit as the total
ONE_ADDRESS = ["--max-connections-per-client", "0", "--max-connections", "0"]


class ServiceProcess:
    def __init__(
        self,
        data: Path,
        port: int | None = None,
        extra: list[str] | None = None,
        admin_token: str | None = TOKEN,
        local_decoders: bool = True,
    ) -> None:
        self.data, self.port, self.extra = data, port or free_port(), extra or []
        self.admin_token, self.local_decoders = admin_token, local_decoders
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> ServiceProcess:  # generous: imports take 10-20 s on a busy CI
        cmd = [
            sys.executable,
            "-m",
            "service.cli",
            "serve",
            "--port",
            str(self.port),
            "--data",
            str(self.data),
            *(["--admin-token", self.admin_token] if self.admin_token else []),
            *(LOCAL_DECODERS if self.local_decoders else []),
            # a killed process loses no commit with NORMAL (only a power cut would): the kill tests
            # keep their meaning without an fsync per read, which a busy CI disk makes slow
            *(["--synchronous", "NORMAL"] if "--synchronous" not in self.extra else []),
            *self.extra,
        ]
        self.proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + timeout
        # one client for all the polls: `httpx.get` builds a client (and its TLS context) each time, ~0.1 s
        # of CPU per poll, more than the service itself spends starting
        with httpx.Client(timeout=1) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    out = self.proc.stdout.read().decode() if self.proc.stdout else ""
                    raise RuntimeError(f"boucle serve exited: {out}")
                try:
                    if http.get(self.url + "/api/presets").status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("boucle serve did not come up")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flush: what a crash or a pulled plug does."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


async def until(cond, timeout: float = 20.0, what: str = "condition"):
    """Wait for `cond()` (sync or async) to be truthy: bounded by a generous timeout,
    never a timed assertion."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                got = cond()
                if asyncio.iscoroutine(got):
                    got = await got
                if got:
                    return got
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"gave up waiting for {what}") from None


def bearer(token: str) -> dict[str, str]:
    """The header a staff client sends its token in (never `?token=`: refused)."""
    return {"Authorization": f"Bearer {token}"}


def ws_token(token: str) -> list[str]:
    """The WebSocket subprotocols a browser offers its token with (web/js/auth.js `wsProtocols`)."""
    b64 = base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")
    return ["boucle", f"boucle.bearer.{b64}"]


def local_manager(data: Path, admin: str = "admin") -> Manager:
    """A session manager whose decoder links may reach the tests' local decoders (127.0.0.1, ptys)."""
    return Manager(data, admin, "NORMAL", reach=DecoderReach(LOCAL))


def wait(cond, timeout: float = 30.0, what: str = "condition"):
    """Poll `cond()` until truthy and return it (bounded; a timeout is a failure, never a timed assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")
