"""Spectator fan-out: the service's own WebSocket hub, one mosquitto, a 3-node NATS cluster, side by side.

Part 1, bytes (no network, deterministic): a simulated 60-car Le Mans kart race (lemans-270-2h)
goes through a real LiveSession + SessionHub; the spectator stream is flushed once per coalescing
window (100 ms of wall time: 0.1 s of race at 1x, 3 s at 30x). Printed: bytes per client per
minute of lean deltas (row patches) against whole changed rows as sent before, raw JSON and
deflated as the hub frames them.

Part 2, latency at 1,000 / 5,000 / 10,000 / 20,000 spectator clients, side by side: a real
`boucle serve --publish` process and, for each client count, (a) N clients on the service's own
WebSocket (bench/latency.py's bare client), (b) N MQTT-over-WebSocket clients of one mosquitto
(MQTT + websockets listener), (c) N MQTT-over-WebSocket clients spread evenly over the three nodes
of a NATS cluster (service/nats_cluster.py: JetStream, R3 MQTT streams), the service publishing to
one node. Clients subscribe to the session's delta topic (or stream), in processes spread over the
cores. A feeder posts RATE passings/s; latency = a client has the delta showing a car's new lap
count - the feeder posted it (same clock). Missed = (car, lap) a client never saw. CPU = user+system
seconds of each process while the clients listen (service, broker or each node, the client
processes together; not their connections and disconnections); RSS = peak (VmHWM). The
cores the run had and the load average around each run are printed: on a shared machine, read the
figures with the load.

    python bench/fanout.py                         # bytes, then 1000 5000 10000 20000 clients
    python bench/fanout.py --clients 1000 --seconds 10 --mode cluster
    python bench/fanout.py --bytes-only
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import httpx  # noqa: E402
from latency import (  # noqa: E402
    CARS,
    LINGER_MAX_S,
    RATE,
    _linger,
    bench_session,
    clients_main,
    feed,
    first_seen,
    lap_keys,
    open_clients,
    share,
    wait_ready,
)
from wsclient import BareClient  # noqa: E402

from tests.service_proc import ONE_ADDRESS, ServiceProcess  # noqa: E402

PREFIX = "bench"


# == part 1: bytes per client per minute =============================================================
def delta_bytes(speed: float, race_minutes: float) -> dict:
    from service.engine.events import HEADER_TYPES
    from service.hub import SessionHub
    from service.sessions.live import LiveSession
    from service.store import EventStore
    from simulator import model, scenario

    race = model.generate("lemans-270-2h", CARS, 7, model.Params.realistic())
    lines = [json.loads(ln) for ln in scenario.lines(race) if ln.startswith("{")]
    window = 0.1 * speed  # race seconds per 100 ms coalescing window of wall time
    end_t = race_minutes * 60
    with tempfile.TemporaryDirectory() as tmp:
        store = EventStore(Path(tmp) / "b.sqlite", "OFF")
        meta = {"id": "bench", "origin_us": 0}
        for k, v in meta.items():
            store.set_meta(k, v)
        session = LiveSession(store, meta)
        hub = SessionHub(session)
        stream = hub.spectator
        stream.snapshot_message()
        lean = lean_z = whole = whole_z = msgs = 0
        last_rows = {r["number"]: r for r in hub.rows()}
        edge = None
        for line in lines:
            t = line.get("t")
            if line["type"] not in HEADER_TYPES and t is not None:
                if t > end_t:
                    break
                if edge is None:
                    edge = t + window
                while t >= edge:  # close the windows that ended before this event
                    if stream.dirty:
                        m = stream.build_delta()
                        stream.dirty = False
                        if m is not None:
                            msgs += 1
                            lean += len(m.text.encode())
                            lean_z += len(m.frame(15))
                            rows = hub.rows()
                            changed = [r for r in rows if last_rows.get(r["number"]) != r]
                            last_rows = {r["number"]: r for r in rows}
                            old = json.dumps(
                                {"type": "delta", "rows": changed, "seq": stream.seq}, separators=(",", ":")
                            )
                            whole += len(old.encode())
                            c = zlib.compressobj(6, zlib.DEFLATED, -15)
                            whole_z += len(c.compress(old.encode()) + c.flush(zlib.Z_SYNC_FLUSH)) - 4
                    edge += window
            if session.submit(line).changed:
                stream.dirty = True
        session.close()
    wall_min = race_minutes / speed
    return {
        "speed": speed,
        "race_min": race_minutes,
        "messages": msgs,
        "lean": lean / wall_min,
        "lean_z": lean_z / wall_min,
        "whole": whole / wall_min,
        "whole_z": whole_z / wall_min,
        "lean_msg": lean / max(1, msgs),
        "whole_msg": whole / max(1, msgs),
    }


# == part 2: clients ===================================================================================
class _MqttWsClient(BareClient):
    """MQTT 3.1.1 over WebSocket, the least a subscriber needs: CONNECT, SUBSCRIBE, read PUBLISH."""

    def __init__(self, host: str, path: str, topic: str, cid: str, memo: dict, ready) -> None:
        super().__init__(host, path, "Sec-WebSocket-Protocol: mqtt\r\n")
        self.topic, self.cid, self.memo, self.ready = topic, cid, memo, ready
        self.mbuf = bytearray()  # the MQTT byte stream carried by binary frames
        self.got: list[tuple[float, int]] = []

    def _send(self, packet: bytes) -> None:  # a masked binary frame, mask 0 (payload unchanged)
        n = len(packet)
        head = bytes((0x82, 0x80 | n)) if n < 126 else bytes((0x82, 0x80 | 126)) + n.to_bytes(2, "big")
        self.transport.write(head + b"\x00\x00\x00\x00" + packet)

    @staticmethod
    def _packet(first: int, body: bytes) -> bytes:
        n, rem = len(body), bytearray()
        while True:
            n, d = divmod(n, 128)
            rem.append(d | (0x80 if n else 0))
            if not n:
                return bytes((first,)) + bytes(rem) + body

    def opened(self) -> None:
        cid = self.cid.encode()
        self._send(self._packet(0x10, b"\x00\x04MQTT\x04\x02\x00\x00" + len(cid).to_bytes(2, "big") + cid))
        t = self.topic.encode()
        self._send(self._packet(0x82, b"\x00\x01" + len(t).to_bytes(2, "big") + t + b"\x00"))

    def received(self, now: float, frames: list[tuple[int, bytes]]) -> None:
        for _, payload in frames:
            self.mbuf += payload
        self._mqtt(now)

    def _mqtt(self, now: float) -> None:
        m = self.mbuf
        pos, n = 0, len(m)
        while n - pos >= 2:
            kind = m[pos] >> 4
            length, mult, i = 0, 1, pos + 1
            while True:
                if i >= n:
                    del m[:pos]
                    return
                d = m[i]
                length += (d & 0x7F) * mult
                mult *= 128
                i += 1
                if not d & 0x80:
                    break
            if n - i < length:
                break
            body = bytes(m[i : i + length])
            if kind == 3:  # PUBLISH, QoS 0: topic, then the payload
                tl = int.from_bytes(body[:2], "big")
                payload = body[2 + tl :]
                idx = self.memo.get(payload)
                if idx is None:
                    idx = self.memo[payload] = len(self.memo)
                self.got.append((now, idx))
            elif kind == 9 and self.ready is not None:  # SUBACK: subscribed
                self.ready(self)
            pos = i + length
        del m[:pos]


async def hold() -> None:
    """Tell the driver this process is done listening, and keep the connections open until it says
    so (closes our stdin): its CPU figures then count the fan-out, not the disconnections (a NATS
    node writes to JetStream for every MQTT session that ends)."""
    print("done", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


async def mqtt_clients_main(urls: str, topic: str, n: int, out: str, seconds: float, hold=None) -> None:
    """n MQTT-over-WebSocket subscribers, client i on the i-th (modulo) of the comma-separated urls."""
    from urllib.parse import urlsplit

    us = [urlsplit(u) for u in urls.split(",")]
    memo: dict[bytes, int] = {}
    conns = await open_clients(
        lambda i, ready: _MqttWsClient(
            us[i % len(us)].netloc, us[i % len(us)].path or "/", topic, f"b{os.getpid()}-{i}", memo, ready
        ),
        [(u.hostname, u.port) for u in us],
        None,
        n,
    )
    await _linger(conns, seconds)
    if hold is not None:
        await hold()
    for c in conns:
        c.transport.close()
    keys_of = {idx: lap_keys(json.loads(payload)) for payload, idx in memo.items()}
    Path(out).write_text(json.dumps([first_seen(c.got, keys_of) for c in conns]))


# -- process figures ---------------------------------------------------------------------------------
def cpu_s(pid: int) -> float:
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


# -- driver ----------------------------------------------------------------------------------------
class _Brokers:
    """What the clients read from in one mode: nothing (the hub), one mosquitto, or a NATS cluster."""

    def __init__(self, mode: str) -> None:
        from service.embedded_broker import MosquittoBroker
        from service.nats_cluster import NatsCluster

        self.mode = mode
        self.mosquitto = MosquittoBroker(websockets=True) if mode == "mqtt" else None
        self.cluster = NatsCluster(3) if mode == "cluster" else None

    def __enter__(self) -> _Brokers:
        if self.mosquitto:
            self.mosquitto.start()
        if self.cluster:
            self.cluster.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.mosquitto:
            self.mosquitto.close()
        if self.cluster:
            self.cluster.close()

    def publish(self) -> list[str]:
        if self.mosquitto:
            return ["--publish", f"{self.mosquitto.url}/{PREFIX}"]
        if self.cluster:
            return ["--publish", self.cluster.publish_url(PREFIX)]
        return []

    def ws_urls(self) -> list[str]:
        if self.mosquitto:
            return [self.mosquitto.ws_url + "/mqtt"]
        return self.cluster.ws_urls if self.cluster else []

    def pids(self) -> list[int]:
        procs = (
            [self.mosquitto.proc]
            if self.mosquitto
            else [n.proc for n in self.cluster.nodes]
            if self.cluster
            else []
        )
        return [p.pid for p in procs if p is not None]


def run_case(mode: str, n_clients: int, seconds: float, procs_n: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp, _Brokers(mode) as brokers:
        svc = ServiceProcess(Path(tmp) / "data", extra=[*brokers.publish(), *ONE_ADDRESS]).start()
        try:
            sid = bench_session(svc.url)["id"]
            n_pass = int(seconds * RATE)
            client_seconds = seconds + 3  # the clients then linger until the messages stop
            outs, procs = [], []
            urls = brokers.ws_urls()
            for j, k in enumerate(share(n_clients, procs_n)):
                outs.append(Path(tmp) / f"seen{j}.json")
                if mode == "hub":
                    target = [
                        "--ws-client",
                        svc.url.replace("http", "ws") + f"/ws/sessions/{sid}?stream=spectator",
                    ]
                else:  # each process spreads its clients over every node, starting from its own
                    target = [
                        "--mqtt-client",
                        ",".join(urls[j % len(urls) :] + urls[: j % len(urls)]),
                        "--topic",
                        f"{PREFIX}/sessions/{sid}/delta",
                    ]
                procs.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            __file__,
                            *target,
                            "--clients",
                            str(k),
                            "--hold",
                            "--out",
                            str(outs[-1]),
                            "--seconds",
                            str(client_seconds),
                        ],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        text=True,
                    )
                )
            wait_ready(procs)
            assert svc.proc is not None
            pids = [svc.proc.pid, *brokers.pids(), *(p.pid for p in procs)]
            cpu0 = [cpu_s(p) for p in pids]
            load0 = os.getloadavg()[0]
            seq0 = _seq(svc.url, sid)
            sent = feed(svc.url, sid, n_pass)
            for proc in procs:  # every client has listened: figures before anyone disconnects
                assert proc.stdout is not None
                while (line := proc.stdout.readline()) and line.strip() != "done":
                    pass
            cpu = [cpu_s(p) - c0 for p, c0 in zip(pids, cpu0, strict=True)]
            rss = [peak_rss_mb(p) for p in pids]
            load1 = os.getloadavg()[0]
            deltas = _seq(svc.url, sid) - seq0
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.close()
                proc.wait(timeout=client_seconds + LINGER_MAX_S + 300)
            seen = [first for out in outs for first in json.loads(out.read_text())]
        finally:
            svc.stop()
    lat = sorted((at - sent[key]) * 1000 for first in seen for key, at in first.items() if key in sent)
    if not lat:
        lat = [float("nan")]
    return {
        "mode": mode,
        "clients": n_clients,
        "connected": len(seen),
        "passings": n_pass,
        "missed": n_pass * n_clients - sum(1 for first in seen for key in first if key in sent),
        "p50_ms": statistics.median(lat),
        "p99_ms": lat[max(0, int(len(lat) * 0.99) - 1)],
        "max_ms": lat[-1],
        "svc_cpu_s": cpu[0],
        "svc_rss_mb": rss[0],
        "clients_cpu_s": sum(cpu[-len(procs) :]),
        "broker_cpu_s": cpu[1 : -len(procs)],
        "broker_rss_mb": rss[1 : -len(procs)],
        "load": (load0, load1),
        "deltas": deltas,
    }


def _seq(url: str, sid: str) -> int:
    """The spectator stream's seq: deltas sent so far."""
    return httpx.get(f"{url}/api/sessions/{sid}/classification").json()["seq"]


NAMES = {
    "hub": "service WebSocket hub",
    "mqtt": "one mosquitto (MQTT/WS)",
    "cluster": "NATS cluster, 3 nodes",
}


def _per_node(values: list[float], fmt: str) -> str:
    return "-" if not values else "/".join(format(v, fmt) for v in values)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ws-client", help=argparse.SUPPRESS)
    ap.add_argument("--mqtt-client", help=argparse.SUPPRESS)
    ap.add_argument("--topic", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--hold", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--clients", type=int, action="append", help="spectator clients (repeatable)")
    ap.add_argument("--seconds", type=float, default=10.0, help="feeding time per run")
    ap.add_argument(
        "--procs", type=int, default=os.cpu_count() or 2, help="client processes (default: cores)"
    )
    ap.add_argument("--mode", action="append", choices=["hub", "mqtt", "cluster"], help="default: all three")
    ap.add_argument(
        "--race-minutes", type=float, default=30.0, help="race time replayed for the byte figures"
    )
    ap.add_argument("--bytes-only", action="store_true")
    ap.add_argument("--no-bytes", action="store_true")
    args = ap.parse_args()
    if args.ws_client:
        asyncio.run(
            clients_main(
                args.ws_client,
                args.clients[0],
                args.out,
                args.seconds,
                True,
                "",  # deflate offered, as browsers
                hold if args.hold else None,
            )
        )
        return
    if args.mqtt_client:
        asyncio.run(
            mqtt_clients_main(
                args.mqtt_client,
                args.topic,
                args.clients[0],
                args.out,
                args.seconds,
                hold if args.hold else None,
            )
        )
        return
    if not args.no_bytes:
        print(
            f"bench/fanout.py part 1: spectator deltas, simulated {CARS}-car lemans-270-2h, first "
            f"{args.race_minutes:g} min of race, 100 ms coalescing (bytes per client per minute of wall time)"
        )
        print(
            f"  {'speed':>5} {'msgs':>6} {'lean B/min':>11} {'deflated':>9} "
            f"{'whole rows B/min':>17} {'deflated':>9} "
            f"{'B/msg lean':>10} {'whole':>7} {'ratio':>6}"
        )
        for speed in (1.0, 30.0):
            r = delta_bytes(speed, args.race_minutes)
            print(
                f"  {speed:>4g}x {r['messages']:>6} {r['lean']:>11,.0f} {r['lean_z']:>9,.0f} "
                f"{r['whole']:>17,.0f} "
                f"{r['whole_z']:>9,.0f} {r['lean_msg']:>10,.0f} {r['whole_msg']:>7,.0f} "
                f"{r['whole'] / max(1, r['lean']):>5.1f}x",
                flush=True,
            )
    if args.bytes_only:
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"\nbench/fanout.py part 2: {RATE:g} passings/s for {args.seconds:g} s, "
        f"{CARS} cars, spectator stream; "
        f"{cores} cores for everything (service, brokers, clients in {args.procs} processes), "
        f"load average {os.getloadavg()[0]:.1f} at the start"
    )
    print(
        f"  {'path':<24} {'clients':>7} {'deltas':>6} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7} {'missed':>9} "
        f"{'svc CPU s':>9} {'svc RSS':>8}  {'broker CPU s (per node)':<24} {'broker RSS MB':<14} "
        f"{'clients CPU s':>13} load"
    )
    for n in args.clients or [1000, 5000, 10000, 20000]:
        for mode in args.mode or ["hub", "mqtt", "cluster"]:
            try:
                r = run_case(mode, n, args.seconds, args.procs)
            except Exception as exc:  # noqa: BLE001 - one size failing (fds, memory) must not hide the others
                print(f"  {NAMES[mode]:<24} {n:>7} failed: {type(exc).__name__}: {exc}", flush=True)
                continue
            print(
                f"  {NAMES[mode]:<24} {r['clients']:>7} {r['deltas']:>6} {r['p50_ms']:7.0f} "
                f"{r['p99_ms']:7.0f} {r['max_ms']:7.0f} "
                f"{r['missed']:>9} {r['svc_cpu_s']:9.1f} {r['svc_rss_mb']:6.0f}MB  "
                f"{_per_node(r['broker_cpu_s'], '.1f'):<24} {_per_node(r['broker_rss_mb'], '.0f'):<14} "
                f"{r['clients_cpu_s']:13.1f} {r['load'][0]:.1f}-{r['load'][1]:.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
