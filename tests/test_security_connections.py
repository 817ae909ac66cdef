"""Slow and greedy clients (issue 21), on real sockets against a real uvicorn (tests/web_helpers.py
LiveServer runs the service's own bounded protocols, service/connections.py):

- slowloris: partial headers, a trickle, a partial body, a silent connection: the server closes
  them (asserted: that it closes, never how fast; every wait is bounded);
- a cap on connections per client address and in total: one more is answered 503;
- WebSocket clients that stop reading are dropped once their bounded buffer is full, the others
  keep their stream, and what the dropped ones held is let go;
- anonymous API reads are rate-limited per address (429, Retry-After, a coded refusal), staff not;
- documents are drawn once per session version, also under a flood of the same request.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import websockets.sync.client

from service import hub
from service.connections import ConnectionLimits
from tests.service_proc import wait
from tests.web_helpers import ADMIN, LiveServer

AUTH = {"Authorization": f"Bearer {ADMIN}"}


def closed_by_server(sock: socket.socket, timeout: float = 30.0) -> bool:
    """True once the server closed the connection (EOF or reset); False if it is still open at `timeout`."""
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def connect(port: int, rcvbuf: int | None = None) -> socket.socket:
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", port))
    return s


def session(srv: LiveServer, **line) -> str:
    return srv.post("/api/sessions", {"name": "t", "preset": "generic-timed", "kind": "race", **line})["id"]


def test_slow_requests_are_closed_by_the_server(tmp_path):
    limits = ConnectionLimits(header_timeout=0.5, body_timeout=0.5)
    srv = LiveServer(tmp_path, limits=limits).start()
    socks: list[socket.socket] = []
    try:
        for _ in range(10):  # half a request line and headers, then nothing
            s = connect(srv.port)
            s.sendall(b"GET /api/sessions HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            socks.append(s)
        socks.append(connect(srv.port))  # connected, never a byte
        body = connect(srv.port)  # whole headers, half the body
        body.sendall(
            b"POST /api/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"name":'
        )
        socks.append(body)
        trickle = connect(srv.port)  # one byte at a time: every byte used to restart uvicorn's timer
        socks.append(trickle)

        def drip() -> None:
            for b in b"GET /api/sessions HTTP/1.1\r\nHost: x\r\n":
                try:
                    trickle.send(bytes([b]))
                except OSError:
                    return
                time.sleep(0.1)

        dripper = threading.Thread(target=drip, daemon=True)
        dripper.start()
        assert all(closed_by_server(s) for s in socks)
        dripper.join(10)
        assert limits.timed_out >= len(socks)
        # the service itself is fine, and a slow answer (not a slow request) is not cut
        assert srv.http.get("/api/sessions").status_code == 200
        wait(lambda: limits.connections() <= 1, what="the closed connections to be released")
    finally:
        for s in socks:
            s.close()
        srv.stop()


def test_connections_are_capped_per_address_and_in_total(tmp_path):
    limits = ConnectionLimits(per_client=5, total=0, header_timeout=60)
    srv = LiveServer(tmp_path, limits=limits).start()
    held = []
    try:
        held = [connect(srv.port) for _ in range(5)]  # idle, within their header time
        wait(lambda: limits.connections() == 5, what="five connections counted")
        extra = connect(srv.port)
        extra.sendall(b"GET /api/sessions HTTP/1.1\r\nHost: x\r\n\r\n")
        extra.settimeout(10)
        assert extra.recv(100).startswith(b"HTTP/1.1 503")
        assert closed_by_server(extra)
        assert limits.refused == 1
        held.pop().close()
        wait(lambda: limits.connections() == 4, what="a connection released")
        with httpx.Client(base_url=srv.base, timeout=10) as c:
            assert c.get("/api/sessions").status_code == 200
        # in total, whatever the address
        wait(lambda: limits.connections() == 4, what="the HTTP client's connection released")
        limits.per_client, limits.total = 0, 5
        last = connect(srv.port)
        wait(lambda: limits.connections() == limits.total, what="the last place taken")
        over = connect(srv.port)
        over.settimeout(10)
        assert over.recv(100).startswith(b"HTTP/1.1 503")
        last.close()
        over.close()
    finally:
        for s in held:
            s.close()
        srv.stop()


def test_websocket_clients_that_do_not_read_are_dropped_and_let_go(tmp_path, monkeypatch):
    monkeypatch.setattr(hub, "RAW_HIGH", 16 << 10)
    monkeypatch.setattr(hub, "RAW_LOW", 4 << 10)
    monkeypatch.setattr(hub, "STALL_S", 0.5)
    limits = ConnectionLimits(ws_send_buffer=4096)  # the kernel keeps little for each socket
    srv = LiveServer(tmp_path, limits=limits).start()
    stalled: list[socket.socket] = []
    try:
        sid = session(srv)
        stream = srv.app.state.manager.hubs[sid].live
        for _ in range(3):  # live stream (every change at once), no compression, and never a read
            s = connect(srv.port, rcvbuf=4096)
            s.sendall(
                (
                    f"GET /ws/sessions/{sid}?stream=live HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {ADMIN}\r\n\r\n"
                ).encode()
            )
            stalled.append(s)
        wait(lambda: len(stream.clients) == 3, what="three stalled clients joined")
        got: list[str] = []
        stop = threading.Event()

        def reader() -> None:  # a client that reads keeps its stream
            with websockets.sync.client.connect(
                f"ws://127.0.0.1:{srv.port}/ws/sessions/{sid}?stream=live",
                additional_headers=AUTH,
                compression=None,
            ) as ws:
                while not stop.is_set():
                    try:
                        got.append(ws.recv(timeout=0.2))
                    except TimeoutError:
                        continue

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        wait(lambda: len(stream.clients) == 4, what="the reading client joined")
        n = 0
        while len(stream.clients) > 1 and n < 200:  # big entry lists: every delta is large
            entries = [
                {"number": str(n * 100 + i), "name": "x" * 200, "transponder": f"T{n * 100 + i}"}
                for i in range(50)
            ]
            srv.post(f"/api/sessions/{sid}/entries", entries)
            n += 1
            time.sleep(0.05)
        wait(lambda: len(stream.clients) == 1, what="the stalled clients to be dropped")
        assert all(closed_by_server(s, timeout=30) for s in stalled)
        (kept,) = stream.clients
        assert kept.raw is not None and not kept.raw.closing() and not kept.dropped
        wait(lambda: sum('"type":"delta"' in m for m in got) >= n, what="the reader to get every delta")
        # what the dropped ones held is gone: their sockets, their buffers, their places
        wait(lambda: limits.connections() <= 2, what="their connections released")
        stop.set()
        t.join(10)
    finally:
        for s in stalled:
            s.close()
        srv.stop()


def test_anonymous_reads_are_rate_limited_per_address_staff_are_not(tmp_path):
    srv = LiveServer(tmp_path, rate_limits=("3/minute", "10/minute")).start()
    try:
        sid = session(srv)
        with httpx.Client(base_url=srv.base, timeout=60) as c:  # the first PDF starts the document worker
            codes = [c.get(f"/api/sessions/{sid}/results").status_code for _ in range(15)]
            assert codes[:10] == [200] * 10 and set(codes[10:]) == {429}
            r = c.get(f"/api/sessions/{sid}/results", headers={"Accept-Language": "fr"})
            assert r.json()["code"] == "rate.limited" and "adresse" in r.json()["detail"]
            assert int(r.headers["retry-after"]) >= 1
            docs = [c.get(f"/api/sessions/{sid}/results.pdf").status_code for _ in range(5)]
            assert docs == [200, 200, 200, 429, 429]  # documents have their own, smaller budget
            # staff are not counted; a made-up token is counted like no token
            assert {c.get(f"/api/sessions/{sid}/results", headers=AUTH).status_code for _ in range(20)} == {
                200
            }
            fake = {"Authorization": "Bearer not-a-token"}
            assert c.get(f"/api/sessions/{sid}/results", headers=fake).status_code == 429
            # pages and scripts are not API reads
            assert c.get("/").status_code == 200 and c.get("/js/live.js").status_code == 200
    finally:
        srv.stop()


def test_documents_are_drawn_once_per_session_version_even_in_a_flood(tmp_path):
    srv = LiveServer(tmp_path, rate_limits=None).start()
    try:
        sid = session(srv)
        srv.post(
            f"/api/sessions/{sid}/entries", [{"number": "7", "name": '=HYPERLINK("x")', "transponder": "7"}]
        )
        docs = srv.app.state.documents
        url = f"{srv.base}/api/sessions/{sid}/results.pdf"
        with ThreadPoolExecutor(8) as pool:  # eight at once, as in the flood
            answers = list(pool.map(lambda _: httpx.get(url, timeout=60), range(8)))
        assert {r.status_code for r in answers} == {200} and len({r.content for r in answers}) == 1
        assert answers[0].content.startswith(b"%PDF")
        built = docs.built
        assert built == 1
        assert httpx.get(url, timeout=60).content == answers[0].content and docs.built == built  # kept
        srv.post(
            f"/api/sessions/{sid}/events", {"type": "passing", "t": 60, "transponder": "7", "loop": "finish"}
        )
        assert httpx.get(url, timeout=60).status_code == 200 and docs.built == built + 1  # a new version
        assert httpx.get(url + "?lang=fr", timeout=60).status_code == 200 and docs.built == built + 2
    finally:
        srv.stop()


def test_the_document_workers_are_bounded(tmp_path):
    """However many are asked for, at most `workers` documents are drawn at once."""
    from service.documents import Documents

    async def main() -> int:
        docs = Documents(workers=2)
        running = peak = 0
        lock = threading.Lock()

        def draw(i: int) -> int:
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            time.sleep(0.02)
            with lock:
                running -= 1
            return i

        got = await asyncio.gather(*(docs.get(("doc", i), lambda i=i: (i,), draw) for i in range(10)))
        assert got == list(range(10))
        return peak

    assert asyncio.run(main()) <= 2
