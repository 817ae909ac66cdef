"""Spectator fan-out: the service's own WebSocket hub vs mosquitto's WebSocket listener, side by side.

Part 1, bytes (no network, deterministic): a simulated 60-car Le Mans kart race (lemans-270-2h)
goes through a real LiveSession + SessionHub; the spectator stream is flushed once per coalescing
window (100 ms of wall time: 0.1 s of race at 1x, 3 s at 30x). Printed: bytes per client per
minute of lean deltas (row patches) against whole changed rows as sent before, raw JSON and
deflated as the hub frames them.

Part 2, latency at 1,000 / 5,000 / 10,000 spectator clients: a real `boucle serve --publish`
process and an embedded mosquitto (MQTT + websockets listener). For each client count, two runs:
(a) N clients on the service's WebSocket (bench/latency.py's bare client), (b) N MQTT-over-
WebSocket clients subscribed to the session's delta topic on mosquitto. Client processes are
spread over the cores. A feeder posts RATE passings/s; latency = a client has the delta showing a
car's new lap count - the feeder posted it (same clock). Missed = (car, lap) a client never saw.
CPU = user+system seconds of the service and of mosquitto during the run; RSS = peak (VmHWM).

    python bench/fanout.py                         # bytes, then 1000 5000 10000 clients
    python bench/fanout.py --clients 1000 --seconds 10
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
    from service.session import LiveSession
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
                            old = json.dumps({"type": "delta", "rows": changed, "seq": stream.seq}, separators=(",", ":"))
                            whole += len(old.encode())
                            c = zlib.compressobj(6, zlib.DEFLATED, -15)
                            whole_z += len(c.compress(old.encode()) + c.flush(zlib.Z_SYNC_FLUSH)) - 4
                    edge += window
            if session.submit(line).changed:
                stream.dirty = True
        session.close()
    wall_min = race_minutes / speed
    return {"speed": speed, "race_min": race_minutes, "messages": msgs,
            "lean": lean / wall_min, "lean_z": lean_z / wall_min, "whole": whole / wall_min,
            "whole_z": whole_z / wall_min, "lean_msg": lean / max(1, msgs), "whole_msg": whole / max(1, msgs)}  # fmt: skip


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


async def mqtt_clients_main(url: str, topic: str, n: int, out: str, seconds: float) -> None:
    from urllib.parse import urlsplit

    u = urlsplit(url)
    memo: dict[bytes, int] = {}
    conns = await open_clients(
        lambda i, ready: _MqttWsClient(u.netloc, u.path or "/", topic, f"b{os.getpid()}-{i}", memo, ready),
        u.hostname, u.port, n)  # fmt: skip
    await _linger(conns, seconds)
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
def run_case(mode: str, n_clients: int, seconds: float, procs_n: int) -> dict:
    from service.embedded_broker import MosquittoBroker

    with tempfile.TemporaryDirectory() as tmp:
        broker = MosquittoBroker(websockets=True)
        broker.start()
        svc = ServiceProcess(Path(tmp) / "data", extra=["--publish", f"{broker.url}/{PREFIX}", *ONE_ADDRESS]).start()
        try:
            sid = bench_session(svc.url)["id"]
            n_pass = int(seconds * RATE)
            client_seconds = seconds + 3  # the clients then linger until the messages stop
            outs, procs = [], []
            for j, k in enumerate(share(n_clients, procs_n)):
                outs.append(Path(tmp) / f"seen{j}.json")
                if mode == "hub":
                    target = ["--ws-client", svc.url.replace("http", "ws") + f"/ws/sessions/{sid}?stream=spectator"]
                else:
                    target = ["--mqtt-client", broker.ws_url + "/", "--topic", f"{PREFIX}/sessions/{sid}/delta"]
                procs.append(subprocess.Popen([sys.executable, __file__, *target, "--clients", str(k),
                                               "--out", str(outs[-1]), "--seconds", str(client_seconds)],
                                              stdout=subprocess.PIPE, text=True))  # fmt: skip
            wait_ready(procs)
            assert svc.proc is not None and broker.proc is not None
            cpu0 = (cpu_s(svc.proc.pid), cpu_s(broker.proc.pid))
            sent = feed(svc.url, sid, n_pass)
            for proc in procs:
                proc.wait(timeout=client_seconds + LINGER_MAX_S + 300)
            cpu1 = (cpu_s(svc.proc.pid), cpu_s(broker.proc.pid))
            rss = (peak_rss_mb(svc.proc.pid), peak_rss_mb(broker.proc.pid))
            seen = [first for out in outs for first in json.loads(out.read_text())]
        finally:
            svc.stop()
            broker.close()
    lat = sorted((at - sent[key]) * 1000 for first in seen for key, at in first.items() if key in sent)
    if not lat:
        lat = [float("nan")]
    return {
        "mode": mode, "clients": n_clients, "connected": len(seen), "passings": n_pass,
        "missed": n_pass * n_clients - sum(1 for first in seen for key in first if key in sent),
        "p50_ms": statistics.median(lat), "p99_ms": lat[max(0, int(len(lat) * 0.99) - 1)], "max_ms": lat[-1],
        "svc_cpu_s": cpu1[0] - cpu0[0], "broker_cpu_s": cpu1[1] - cpu0[1], "svc_rss_mb": rss[0], "broker_rss_mb": rss[1],
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ws-client", help=argparse.SUPPRESS)
    ap.add_argument("--mqtt-client", help=argparse.SUPPRESS)
    ap.add_argument("--topic", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--clients", type=int, action="append", help="spectator clients (repeatable)")
    ap.add_argument("--seconds", type=float, default=10.0, help="feeding time per run")
    ap.add_argument("--procs", type=int, default=os.cpu_count() or 2, help="client processes (default: cores)")
    ap.add_argument("--mode", action="append", choices=["hub", "mqtt"], help="default: both")
    ap.add_argument("--race-minutes", type=float, default=30.0, help="race time replayed for the byte figures")
    ap.add_argument("--bytes-only", action="store_true")
    ap.add_argument("--no-bytes", action="store_true")
    args = ap.parse_args()
    if args.ws_client:
        asyncio.run(clients_main(args.ws_client, args.clients[0], args.out, args.seconds, True))  # deflate offered, as browsers
        return
    if args.mqtt_client:
        asyncio.run(mqtt_clients_main(args.mqtt_client, args.topic, args.clients[0], args.out, args.seconds))
        return
    if not args.no_bytes:
        print(f"bench/fanout.py part 1: spectator deltas, simulated {CARS}-car lemans-270-2h, first "
              f"{args.race_minutes:g} min of race, 100 ms coalescing (bytes per client per minute of wall time)")
        print(f"  {'speed':>5} {'msgs':>6} {'lean B/min':>11} {'deflated':>9} {'whole rows B/min':>17} {'deflated':>9} "
              f"{'B/msg lean':>10} {'whole':>7} {'ratio':>6}")  # fmt: skip
        for speed in (1.0, 30.0):
            r = delta_bytes(speed, args.race_minutes)
            print(f"  {speed:>4g}x {r['messages']:>6} {r['lean']:>11,.0f} {r['lean_z']:>9,.0f} {r['whole']:>17,.0f} "
                  f"{r['whole_z']:>9,.0f} {r['lean_msg']:>10,.0f} {r['whole_msg']:>7,.0f} "
                  f"{r['whole'] / max(1, r['lean']):>5.1f}x", flush=True)  # fmt: skip
    if args.bytes_only:
        return
    print(f"\nbench/fanout.py part 2: {RATE:g} passings/s for {args.seconds:g} s, {CARS} cars, spectator stream; "
          f"{os.cpu_count()} cores, clients in {args.procs} processes on the same machine (load {os.getloadavg()[0]:.1f})")
    print(f"  {'path':<26} {'clients':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'missed':>7} "
          f"{'svc CPU s':>9} {'svc RSS':>8} {'mosq CPU s':>10} {'mosq RSS':>8}")  # fmt: skip
    for n in args.clients or [1000, 5000, 10000]:
        for mode in args.mode or ["hub", "mqtt"]:
            try:
                r = run_case(mode, n, args.seconds, args.procs)
            except Exception as exc:  # noqa: BLE001 - one size failing (fds, memory) must not hide the others
                print(f"  {mode:<26} {n:>7} failed: {exc}", flush=True)
                continue
            name = "service WebSocket hub" if mode == "hub" else "mosquitto WebSocket (MQTT)"
            print(f"  {name:<26} {r['clients']:>7} {r['p50_ms']:7.1f} {r['p99_ms']:7.1f} {r['max_ms']:7.1f} "
                  f"{r['missed']:>7} {r['svc_cpu_s']:9.1f} {r['svc_rss_mb']:6.0f}MB {r['broker_cpu_s']:10.1f} "
                  f"{r['broker_rss_mb']:6.0f}MB", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
