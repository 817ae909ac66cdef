"""The stream decoder under arbitrary chunking, random bytes and mutated real frames."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decoders.p3.codec import P3StreamDecoder, PassingRecord, decode_all, encode
from tests.fuzzing import EXAMPLES
from tests.p3_captures import hex_frames, prochip_frames

FRAMES = hex_frames("amb-short.hex") + prochip_frames()
STREAM = b"".join(FRAMES)
FUZZ = settings(max_examples=EXAMPLES * 2, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _chunked(data: bytes, size: int) -> tuple[list, dict]:
    dec = P3StreamDecoder()
    records = []
    for i in range(0, len(data), size):
        records.extend(dec.feed(data[i : i + size]))
    dec.close()
    return records, dec.rejected


def test_every_chunk_size_1_to_64_gives_the_same_records():
    noisy = b"\x00junk\x8f" + STREAM[:3000] + b"\x8e\x02half" + STREAM[3000:9000] + b"\xff" * 7
    whole = P3StreamDecoder()
    expected = whole.feed(noisy)
    whole.close()
    assert len(expected) > 100
    for size in range(1, 65):
        records, rejected = _chunked(noisy, size)
        assert records == expected, size
        assert rejected == whole.rejected, size


@FUZZ
@given(st.binary(max_size=2000), st.integers(1, 64))
def test_random_bytes_never_raise_and_chunking_does_not_matter(data, size):
    whole = P3StreamDecoder()
    expected = whole.feed(data)
    whole.close()
    records, rejected = _chunked(data, size)
    assert records == expected
    assert rejected == whole.rejected


@st.composite
def mutated_frames(draw):
    frame = bytearray(draw(st.sampled_from(FRAMES)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        pos = draw(st.integers(0, max(0, len(frame) - 1)))
        if op == "flip" and frame:
            frame[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            frame.insert(pos, draw(st.integers(0, 255)))
        elif op == "delete" and frame:
            del frame[pos]
        elif op == "truncate":
            del frame[pos:]
    return bytes(frame)


@FUZZ
@given(st.lists(mutated_frames(), min_size=1, max_size=5), st.integers(1, 64))
def test_mutated_real_frames_never_raise(frames, size):
    data = b"".join(frames)
    dec = P3StreamDecoder()
    records = dec.feed(data)
    assert len(records) <= len(frames)
    assert _chunked(data, size)[0] == records


@FUZZ
@given(
    st.lists(st.tuples(st.binary(max_size=80), st.sampled_from(FRAMES)), min_size=1, max_size=6),
    st.binary(max_size=80),
    st.integers(1, 64),
)
def test_valid_frames_embedded_in_garbage_are_found(pieces, tail, size):
    data = b"".join(garbage + frame for garbage, frame in pieces) + tail
    wanted = [decode_all(frame)[0] for _garbage, frame in pieces]
    records, _rejected = _chunked(data, size)
    it = iter(records)
    assert all(any(rec == w for rec in it) for w in wanted), "a valid frame was lost in garbage"


def test_long_random_soak_counts_rejects():
    rng = random.Random(3)
    parts = []
    for frame in FRAMES * 3:
        parts.append(rng.randbytes(rng.randrange(0, 12)))
        parts.append(frame if rng.random() < 0.8 else frame[: rng.randrange(1, len(frame))])
    dec = P3StreamDecoder()
    records = dec.feed(b"".join(parts))
    assert len(records) >= int(len(FRAMES) * 3 * 0.7)
    assert dec.rejected["framing"] > 0


u = st.integers
hexid = st.binary(min_size=4, max_size=4).map(bytes.hex)


@FUZZ
@given(
    st.builds(
        PassingRecord,
        passing_number=st.none() | u(0, 2**32 - 1),
        transponder=st.none() | u(0, 2**32 - 1),
        rtc_time_us=st.none() | u(0, 2**64 - 1),
        strength=st.none() | u(0, 65535),
        hits=st.none() | u(0, 65535),
        flags=st.none() | u(0, 65535),
        tran_code=st.none() | st.text("ABCDEFLPV-0123456789\x8e", min_size=1, max_size=8),
        utc_time_us=st.none() | u(0, 2**64 - 1),
        decoder_id=st.none() | hexid,
        rtc_id=st.none() | u(0, 2**40),
        sport=st.none() | u(0, 255),
        extra=st.lists(st.tuples(st.sampled_from([0x02, 0x11, 0x77]), st.binary(max_size=6)), max_size=2).map(
            tuple
        ),
    ),
    st.integers(1, 64),
)
def test_any_passing_record_round_trips_in_any_chunking(record, size):
    wire = encode(record)
    assert _chunked(b"\x8f" + wire + wire, size)[0] == [record, record]
