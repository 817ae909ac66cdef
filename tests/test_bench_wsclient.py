"""bench/wsclient.py, the benches' bare WebSocket client: handshake and frame parsing on real bytes.

The latency figures of bench/latency.py and bench/fanout.py count on it splitting a byte stream
into frames exactly, however the stream is cut into reads.
"""

from __future__ import annotations

import sys

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from wsclient import read_upgrade, take_frames, upgrade_request  # noqa: E402


def frame(first: int, payload: bytes) -> bytes:
    """A server frame (unmasked), with the 7-bit, 16-bit or 64-bit length form its size needs."""
    n = len(payload)
    if n < 126:
        return bytes((first, n)) + payload
    if n < 65536:
        return bytes((first, 126)) + n.to_bytes(2, "big") + payload
    return bytes((first, 127)) + n.to_bytes(8, "big") + payload


def test_upgrade_request_names_host_path_and_extra_headers():
    req = upgrade_request("127.0.0.1:8000", "/ws/s1", "Sec-WebSocket-Protocol: mqtt\r\n").decode()
    assert req.startswith("GET /ws/s1 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n")
    assert "Upgrade: websocket\r\n" in req and "Sec-WebSocket-Version: 13\r\n" in req
    assert req.endswith("Sec-WebSocket-Protocol: mqtt\r\n\r\n")


def test_the_answer_is_read_once_complete_and_only_a_101_opens():
    buf = bytearray(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n")
    assert read_upgrade(buf) is None
    buf += b"\r\n" + frame(0x81, b"hi")
    assert read_upgrade(buf) is True and bytes(buf) == frame(0x81, b"hi")
    assert read_upgrade(bytearray(b"HTTP/1.1 403 Forbidden\r\n\r\n")) is False


def test_frames_of_every_length_form_survive_any_cut_of_the_stream():
    want = [(0x81, b"x" * 5), (0xC1, b"y" * 300), (0x82, b"z" * 70_000), (0x81, b"")]
    stream = b"".join(frame(f, p) for f, p in want)
    for cut in (1, 2, 3, 7, 126, 1000, len(stream)):
        buf, got = bytearray(), []
        for i in range(0, len(stream), cut):
            buf += stream[i : i + cut]
            got += take_frames(buf)
        assert got == want and buf == bytearray()
