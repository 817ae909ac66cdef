"""`boucle p3 decode` through the real argparse wiring, on real captures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.p3_captures import CAPTURES, hex_frames

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "decoders.cli", "p3", "decode", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def test_decode_hex_capture():
    proc = _run("--hex", str(CAPTURES / "amb-short.hex"))
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(lines) == 371
    assert lines[0] == {"tor": "STATUS", "noise": 40, "gps": 0, "temperature": 22, "decoder_id": "13180400"}
    assert lines[2] == {
        "tor": "PASSING", "passing_number": 157777, "transponder": 5691251, "tran_code": None,
        "rtc_time_us": 1551542808933000, "strength": 178, "hits": 52, "flags": 0, "decoder_id": "13180400",
    }
    last = proc.stderr.strip().splitlines()[-1]
    assert "records=371" in last and "PASSING=83" in last and "STATUS=288" in last
    assert "crc=0 length=0 framing=0 truncated_tlv=0" in last


def test_decode_raw_stream_with_noise_and_other_tors(tmp_path):
    from decoders.p3.codec import ResendRecord, encode

    frames = hex_frames("amb-short.hex")
    broken = bytearray(frames[2])
    broken[-3] ^= 0xFF
    data = b"\x01\x02" + frames[2] + bytes(broken) + encode(ResendRecord(from_number=1, until_number=2)) + frames[0]
    data += frames[2][:10]  # capture cut inside a frame
    path = tmp_path / "cap.bin"
    path.write_bytes(data)
    proc = _run(str(path))
    assert proc.returncode == 0
    tors = [json.loads(line)["tor"] for line in proc.stdout.splitlines()]
    assert tors == ["PASSING", "0x0004", "STATUS"]
    assert json.loads(proc.stdout.splitlines()[1]) == {"tor": "0x0004", "decoder_id": None}
    last = proc.stderr.strip().splitlines()[-1]
    assert "records=3" in last and "crc=1" in last and "framing=2" in last


def test_register_adds_p3_decode_to_a_parser():
    import argparse

    from decoders.cli import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["p3", "decode", "--hex", "x.hex"])
    assert args.hex and args.file == "x.hex" and callable(args.func)


def test_missing_file_is_a_clear_error():
    proc = _run("/nonexistent/capture.bin")
    assert proc.returncode == 2 and "nonexistent" in proc.stderr


def test_installed_boucle_command():
    boucle = Path(sys.executable).parent / "boucle"
    if not boucle.exists():
        import pytest

        pytest.skip("boucle entry point not installed in this environment")
    proc = subprocess.run([str(boucle), "p3", "decode", "--hex", str(CAPTURES / "amb-long.hex")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 1388
    assert proc.stderr.strip().splitlines()[-1].startswith("records=1388 PASSING=84 STATUS=1304")
