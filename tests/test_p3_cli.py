"""`boucle p3 decode` through the real argparse wiring, on real captures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.p3_captures import CAPTURES, hex_frames

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "decoders.cli", "p3", "decode", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_decode_hex_capture():
    proc = _run("--hex", str(CAPTURES / "amb-short.hex"))
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(lines) == 371
    envelope = {
        "decoder_id": "13180400",
        "controller_id": None,
        "request_id": None,
        "version": 2,
        "extra": [],
        "requested": [],
    }
    assert lines[0] == {
        "tor": "STATUS",
        "noise": 40,
        "gps": 0,
        "temperature": 22,
        "satellites": None,
        "loop_triggers": None,
        "input_voltage": 118,
        **envelope,
    }
    assert lines[2] == {
        "tor": "PASSING",
        "passing_number": 157777,
        "transponder": 5691251,
        "rtc_time_us": 1551542808933000,
        "rtc_time": "2019-03-02T16:06:48.933000",
        "strength": 178,
        "hits": 52,
        "flags": 0,
        "tran_code": None,
        "utc_time_us": None,
        "utc_time": None,
        "rtc_id": None,
        "sport": None,
        "voltage": None,
        "temperature": None,
        "user_flag": None,
        "driver_id": None,
        **envelope,
    }  # every field the codec decodes, in the record's order
    last = proc.stderr.strip().splitlines()[-1]
    assert "records=371" in last and "PASSING=83" in last and "STATUS=288" in last
    assert "crc=0 length=0 framing=0 truncated_tlv=0" in last


def test_decode_raw_stream_with_noise_and_other_tors(tmp_path):
    from decoders.p3.codec import ResendRecord, encode

    frames = hex_frames("amb-short.hex")
    broken = bytearray(frames[2])
    broken[-3] ^= 0xFF
    data = (
        b"\x01\x02"
        + frames[2]
        + bytes(broken)
        + encode(ResendRecord(from_number=1, until_number=2))
        + frames[0]
    )
    data += frames[2][:10]  # capture cut inside a frame
    path = tmp_path / "cap.bin"
    path.write_bytes(data)
    proc = _run(str(path))
    assert proc.returncode == 0
    tors = [json.loads(line)["tor"] for line in proc.stdout.splitlines()]
    assert tors == ["PASSING", "RESEND", "STATUS"]
    assert json.loads(proc.stdout.splitlines()[1]) == {
        "tor": "RESEND",
        "from_number": 1,
        "until_number": 2,
        "decoder_id": None,
        "controller_id": None,
        "request_id": None,
        "version": 2,
        "extra": [],
        "requested": [],
    }
    last = proc.stderr.strip().splitlines()[-1]
    assert "records=3" in last and "crc=1" in last and "framing=2" in last


def test_get_time_prints_its_rtc_and_utc_times_and_unknown_records_their_raw_fields(tmp_path):
    from decoders.p3.codec import GetTimeRecord, UnknownRecord, encode, get_time_request

    answer = GetTimeRecord(
        rtc_time_us=2_842_800_000, flags=0, utc_time_us=1_764_864_901_123_456, decoder_id="13180400"
    )
    path = tmp_path / "cap.bin"
    path.write_bytes(
        encode(get_time_request())
        + encode(answer)
        + encode(UnknownRecord(tor=0x45, fields=((7, b"\x01\x02"),)))
    )
    proc = _run(str(path))
    assert proc.returncode == 0, proc.stderr
    request, got, unknown = (json.loads(line) for line in proc.stdout.splitlines())
    assert (request["tor"], request["version"], request["requested"], request["rtc_time"]) == (
        "GET_TIME",
        0,
        ["0x01", "0x04", "0x05"],
        None,
    )
    assert (got["rtc_time_us"], got["rtc_time"]) == (
        2_842_800_000,
        "1970-01-01T00:47:22.800000",
    )  # not Unix time
    assert (got["utc_time_us"], got["utc_time"], got["flags"]) == (
        1_764_864_901_123_456,
        "2025-12-04T16:15:01.123456",
        0,
    )
    assert (unknown["tor"], unknown["fields"]) == ("0x0045", [["0x07", "0102"]])
    assert "GET_TIME=2" in proc.stderr


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
    proc = subprocess.run(
        [str(boucle), "p3", "decode", "--hex", str(CAPTURES / "amb-long.hex")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 1388
    assert proc.stderr.strip().splitlines()[-1].startswith("records=1388 PASSING=84 STATUS=1304")
