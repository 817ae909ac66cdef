"""Decoder links reach only decoders, and secrets stay secret (issue 21), against a real
`boucle serve` process (tests/service_proc.py) over HTTP and WebSocket:

- a timing token cannot link a file, a console, the loopback, a link-local or metadata address;
  only the service's configuration (`--allow-decoder`) allows them, and a stored link the
  configuration no longer allows is not reopened;
- tokens only in the Authorization header or a WebSocket subprotocol, never in a URL; an MQTT
  URL's password never in an answer, a stream or the log; the admin token in a 0600 file, not on
  stdout.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from decoders.reach import DecoderReach, ReachRefused, mask_url
from tests.service_proc import TOKEN, ServiceProcess, bearer, until, ws_token

FORBIDDEN = [
    ("serial:///etc/passwd", "decoder.reach_device"),
    ("serial:///dev/tty", "decoder.reach_device"),  # the controlling terminal
    ("serial:///dev/tty1", "decoder.reach_device"),  # a console
    ("serial:///dev/ttyS0/../../etc/passwd", "decoder.reach_device"),
    ("serial:///dev/pts/0", "decoder.reach_device"),  # someone's terminal session
    ("p3tcp://169.254.169.254:80", "decoder.reach_address"),  # cloud metadata
    ("p3tcp://[fd00:ec2::254]:80", "decoder.reach_address"),
    ("p3tcp://127.0.0.1:5403", "decoder.reach_address"),
    ("p3tcp://127.8.9.10:5403", "decoder.reach_address"),
    ("p3tcp://[::1]:5403", "decoder.reach_address"),
    ("p3tcp://[::ffff:127.0.0.1]:5403", "decoder.reach_address"),
    ("p3tcp://localhost:5403", "decoder.reach_address"),
    ("p3tcp://0.0.0.0:5403", "decoder.reach_address"),
    ("p3tcp://[fe80::1]:5403", "decoder.reach_address"),
    ("mqtt://timing:s3cret@127.0.0.1:1883/track", "decoder.reach_address"),
]


def new_session(http: httpx.Client) -> dict:
    r = http.post("/api/sessions", json={"name": "reach", "preset": "generic-timed", "kind": "race"})
    assert r.status_code == 201, r.text
    return r.json()


def test_a_timing_token_links_decoders_only(tmp_path):
    with (
        ServiceProcess(tmp_path / "data", local_decoders=False) as svc,
        httpx.Client(base_url=svc.url, headers=bearer(TOKEN), timeout=10) as http,
    ):
        s = new_session(http)
        timing = bearer(s["tokens"]["timing"])
        url = f"/api/sessions/{s['id']}/decoders"
        for target, code in FORBIDDEN:
            r = http.post(url, json={"url": target}, headers={**timing, "Accept-Language": "fr"})
            assert r.status_code == 403 and r.json()["code"] == code, (target, r.text)
            assert "s3cret" not in r.text
        assert http.get(url, headers=timing).json() == []
        # decoders on the track's LAN are what links are for (this one does not answer: fine)
        r = http.post(
            url, json={"url": "p3tcp://192.0.2.10:5403?retry_min=5", "loop": "finish"}, headers=timing
        )
        assert r.status_code == 201, r.text
        r = http.post(
            url, json={"url": "serial:///dev/ttyUSB7"}, headers=timing
        )  # not plugged in yet: allowed
        assert r.status_code == 201, r.text
    out = svc.proc.stdout.read().decode() if svc.proc and svc.proc.stdout else ""
    assert "s3cret" not in out


def test_only_the_configuration_allows_local_decoders_and_a_stored_link_follows_it(tmp_path):
    listener = socket.create_server(("127.0.0.1", 0))  # stands for a decoder emulator on this laptop
    port = listener.getsockname()[1]
    try:
        allowed = ServiceProcess(
            tmp_path / "data", local_decoders=False, extra=["--allow-decoder", "127.0.0.1"]
        ).start()
        try:
            with httpx.Client(base_url=allowed.url, headers=bearer(TOKEN), timeout=10) as http:
                s = new_session(http)
                r = http.post(
                    f"/api/sessions/{s['id']}/decoders", json={"url": f"p3tcp://localhost:{port}?retry_min=5"}
                )
                assert r.status_code == 201, r.text
        finally:
            allowed.stop()
        # the same data without the allowance: the stored link stays listed, refused, not opened
        with (
            ServiceProcess(tmp_path / "data", local_decoders=False) as svc,
            httpx.Client(base_url=svc.url, headers=bearer(TOKEN), timeout=10) as http,
        ):
            (link,) = http.get(f"/api/sessions/{s['id']}/decoders").json()
            assert link["state"] == "error" and "127.0.0.1" in link["last_error"], link
    finally:
        listener.close()


def test_a_name_is_checked_again_before_each_connection():
    """A host name may point elsewhere later: the source asks the policy before connecting."""
    reach = DecoderReach()
    guard = reach.guard("p3tcp://localhost:5403")
    with pytest.raises(PermissionError):
        asyncio.run(guard())
    with pytest.raises(ReachRefused):
        asyncio.run(reach.check("mqtt://u:p@localhost/x"))
    asyncio.run(DecoderReach(["localhost"]).guard("p3tcp://localhost:1")())  # allowed by name: passes
    assert (
        mask_url("mqtt://timing:s3cret@broker:1883/track?client_id=x")
        == "mqtt://timing:***@broker:1883/track?client_id=x"
    )
    assert (
        mask_url("mqtt://:s3cret@broker/x") == "mqtt://:***@broker/x"
        and mask_url("p3tcp://h:1") == "p3tcp://h:1"
    )


def test_passwords_never_leave_the_service(tmp_path):
    dead = socket.create_server(("127.0.0.1", 0))  # a broker that accepts and never speaks MQTT
    port = dead.getsockname()[1]
    dead.close()  # now nothing listens there: every connection attempt fails and is logged
    svc = ServiceProcess(tmp_path / "data").start()
    try:
        with httpx.Client(base_url=svc.url, headers=bearer(TOKEN), timeout=10) as http:
            s = new_session(http)
            url = f"/api/sessions/{s['id']}/decoders"
            r = http.post(
                url, json={"url": f"mqtt://timing:s3cret@127.0.0.1:{port}/track?retry_min=0.05&retry_max=0.1"}
            )
            assert r.status_code == 201 and "s3cret" not in r.text and "timing:***@" in r.json()["url"]

            async def stream() -> str:
                ws_url = svc.url.replace("http", "ws") + f"/ws/sessions/{s['id']}?stream=live"
                async with websockets.connect(ws_url, additional_headers=bearer(TOKEN)) as ws:
                    return await asyncio.wait_for(ws.recv(), 10)

            async def failed() -> bool:
                return any(d.get("last_error") for d in http.get(url).json())

            asyncio.run(until(failed, what="a logged connection error"))
            assert "s3cret" not in http.get(url).text and "s3cret" not in asyncio.run(stream())
    finally:
        svc.stop()
    out = svc.proc.stdout.read().decode() if svc.proc and svc.proc.stdout else ""
    assert "timing:***@127.0.0.1" in out and "s3cret" not in out


def test_tokens_travel_in_headers_only(tmp_path):
    async def main(svc: ServiceProcess, sid: str, rc: str) -> None:
        base = svc.url.replace("http", "ws") + f"/ws/sessions/{sid}"
        with pytest.raises(ConnectionClosed) as closed:  # in the URL: refused, even the right one
            async with websockets.connect(f"{base}?stream=live&token={rc}") as ws:
                await ws.recv()
        assert closed.value.rcvd.code == 4400
        async with websockets.connect(
            f"{base}?stream=live", subprotocols=ws_token(rc)
        ) as ws:  # a browser's way
            assert ws.subprotocol == "boucle" and json.loads(await ws.recv())["type"] == "snapshot"
        with pytest.raises(ConnectionClosed) as closed:
            async with websockets.connect(f"{base}?stream=live", subprotocols=ws_token("not-" + rc)) as ws:
                await ws.recv()
        assert closed.value.rcvd.code == 4401

    with ServiceProcess(tmp_path / "data") as svc, httpx.Client(base_url=svc.url, timeout=10) as http:
        s = http.post("/api/sessions", json={"name": "t"}, headers=bearer(TOKEN)).json()
        r = http.post(f"/api/sessions/{s['id']}/signal", params={"token": TOKEN}, json={"signal": "yellow"})
        assert r.status_code == 400 and r.json()["code"] == "auth.token_in_url"
        asyncio.run(main(svc, s["id"], s["tokens"]["race_control"]))


def test_the_admin_token_is_in_a_private_file_not_on_stdout(tmp_path):
    svc = ServiceProcess(tmp_path / "data", admin_token=None).start()
    try:
        path = tmp_path / "data" / "admin-token"
        token = path.read_text().strip()
        assert len(token) >= 20 and stat.S_IMODE(os.stat(path).st_mode) == 0o600
        with httpx.Client(base_url=svc.url, timeout=10) as http:
            assert http.post("/api/sessions", json={"name": "x"}, headers=bearer(token)).status_code == 201
    finally:
        svc.stop()
    out = svc.proc.stdout.read().decode() if svc.proc and svc.proc.stdout else ""
    assert str(path) in out and token not in out
    os.chmod(path, 0o644)  # someone widened it: the next start narrows it again and keeps the token
    with ServiceProcess(tmp_path / "data", admin_token=None, port=svc.port) as again:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and path.read_text().strip() == token
        assert (
            httpx.get(f"{again.url}/api/whoami", headers=bearer(token), timeout=10).json()["role"] == "admin"
        )
