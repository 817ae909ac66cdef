"""An embedded mosquitto broker (Debian's `mosquitto`), for `boucle demo --publish` and the tests.

One process on 127.0.0.1 (or a given host) with an MQTT listener and, optionally, a websockets
listener for browsers; its config and log live in a temporary folder; it can be stopped and
restarted on the same ports (clients reconnect). For a real deployment, run a broker of your own
(docs/scaling.md) and point `boucle serve --publish` at it.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

MOSQUITTO = "/usr/sbin/mosquitto"


def mosquitto_path() -> str | None:
    if Path(MOSQUITTO).exists():
        return MOSQUITTO
    return shutil.which("mosquitto")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MosquittoBroker:
    """One mosquitto process at a time on a fixed port, so clients can reconnect after a restart."""

    def __init__(
        self,
        port: int | None = None,
        start_timeout: float = 10.0,
        websockets: bool = False,
        ws_port: int | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        exe = mosquitto_path()
        if exe is None:
            raise FileNotFoundError("mosquitto is not installed (apt-get install mosquitto)")
        self.exe = exe
        self.host = host
        self.port = port or free_port()
        self.start_timeout = start_timeout
        self._dir = tempfile.TemporaryDirectory(prefix="boucle-mosquitto-")
        self.config = Path(self._dir.name) / "mosquitto.conf"
        conf = f"listener {self.port} {host}\nallow_anonymous true\npersistence false\n"
        # browsers speak MQTT over WebSocket: a second listener, as `make demo PUBLISH=1` runs it
        self.ws_port = (ws_port or free_port()) if websockets else None
        if self.ws_port:
            conf += f"listener {self.ws_port} {host}\nprotocol websockets\n"
        self.config.write_text(conf)
        self.log = Path(self._dir.name) / "mosquitto.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str | None:
        return f"ws://{self.host}:{self.ws_port}" if self.ws_port else None

    def start(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [self.exe, "-c", str(self.config)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"mosquitto exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}"
                )
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=0.2):
                return
            time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"mosquitto did not accept connections on port {self.port}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()
