"""P3 codec against real captures and the worked examples of spec/p3.md."""

from __future__ import annotations

import pytest

from decoders.p3.codec import (
    ErrorRecord,
    GetTimeRecord,
    P3StreamDecoder,
    PassingRecord,
    ResendRecord,
    StatusRecord,
    UnknownRecord,
    VersionRecord,
    crc16_amb,
    crc16_amb_reference,
    decode_all,
    encode,
    get_time_request,
    resend_request,
)
from tests.p3_captures import hex_frames, prochip_frames

EXAMPLE_PASSING_2019 = bytes.fromhex(
    "8e02330053c800000100010451680200030473d75600040888f2fab51e8305000502b20006023400080200008104131804008f"
)
EXAMPLE_STATUS_2019 = bytes.fromhex("8e021f00f3890000020001022800070216000c01760601008104131804008f")
EXAMPLE_PROCHIP = bytes.fromhex(
    "8e023d0012850000010001049922000003042af71f060a08464c2d39343839300502850006021d0004088501ca08"
    "66420600080200008104d0000c008f"
)
EXAMPLE_ESCAPED = bytes.fromhex(
    "8e0233008dafd4000001000104"
    "8daf"
    "68020003042f7934000408f0e5ad831f83050005029b0006021d0008020000"
    "8104131804008f"
)
GET_TIME_REQUEST = bytes.fromhex("8E0000005BEB000024000100040005008F")


def test_crc_check_value_and_fast_form_agree():
    assert crc16_amb(b"123456789") == 0xA69D
    assert crc16_amb_reference(b"123456789") == 0xA69D
    for frame in hex_frames("amb-short.hex")[:50]:
        assert crc16_amb(frame) == crc16_amb_reference(frame)
    for short in (b"", b"\x01", b"\x01\x02"):
        assert crc16_amb(short) == crc16_amb_reference(short)


def test_every_frame_of_amb_short_decodes():
    frames = hex_frames("amb-short.hex")
    assert len(frames) == 371
    dec = P3StreamDecoder()
    records = dec.feed(b"".join(frames))
    assert len(records) == 371
    assert sum(isinstance(r, PassingRecord) for r in records) == 83
    assert sum(isinstance(r, StatusRecord) for r in records) == 288
    assert sum(dec.rejected.values()) == 0
    assert all(r.decoder_id == "13180400" for r in records)
    assert sum(b"\x8d" in f for f in frames) == 5


def test_amb_long_and_prochip_decode_without_rejects():
    dec = P3StreamDecoder()
    assert len(dec.feed(b"".join(hex_frames("amb-long.hex")))) == 1388
    assert len(dec.feed(b"".join(prochip_frames()))) == 7
    assert sum(dec.rejected.values()) == 0


def test_worked_example_passing_2019():
    (rec,) = decode_all(EXAMPLE_PASSING_2019)
    assert rec == PassingRecord(
        passing_number=157777,
        transponder=5691251,
        rtc_time_us=1551542808933000,
        strength=178,
        hits=52,
        flags=0,
        decoder_id="13180400",
    )
    assert EXAMPLE_PASSING_2019 == hex_frames("amb-short.hex")[2]
    assert encode(rec) == EXAMPLE_PASSING_2019  # same tag order as the decoder uses


def test_worked_example_status_2019():
    (rec,) = decode_all(EXAMPLE_STATUS_2019)
    assert isinstance(rec, StatusRecord)
    assert (rec.noise, rec.temperature, rec.input_voltage, rec.gps) == (40, 22, 118, 0)


def test_worked_example_prochip_fields_in_other_order_with_code():
    (rec,) = decode_all(EXAMPLE_PROCHIP)
    assert rec.passing_number == 8857
    assert rec.transponder == 102758186
    assert rec.tran_code == "FL-94890"
    assert (rec.strength, rec.hits) == (133, 29)
    assert rec.rtc_time_us == 1761855861817733
    assert rec.decoder_id == "d0000c00"


def test_gate_beacons_have_no_strength_or_hits():
    beacons = [
        r
        for r in decode_all(b"".join(prochip_frames()))
        if isinstance(r, PassingRecord) and r.strength is None
    ]
    assert len(beacons) == 2
    assert all(r.hits is None and r.transponder is not None for r in beacons)


def test_worked_example_escaped_crc_and_passing_number():
    assert len(EXAMPLE_ESCAPED) == 53
    (rec,) = decode_all(EXAMPLE_ESCAPED)
    assert rec.passing_number & 0xFF == 0x8F  # the escaped byte of the passing number
    assert rec.decoder_id == "13180400"
    assert encode(rec) == EXAMPLE_ESCAPED


def test_request_frame_with_zero_length_field():
    (rec,) = decode_all(GET_TIME_REQUEST)
    assert rec == get_time_request()
    assert encode(get_time_request()) == GET_TIME_REQUEST


ROUND_TRIP = [
    PassingRecord(
        passing_number=0x8D8E8F,
        transponder=0x8F8E8D8C,
        rtc_time_us=(1 << 63) + 0x8E,
        strength=0x8D,
        hits=0x8F8E,
        flags=0x8D8D,
        tran_code="PV-38463",
        utc_time_us=0x8E8E8E8E,
        decoder_id="8d8e8f00",
        rtc_id=7,
        sport=0x8F,
        voltage=0x8E,
        temperature=0x8D,
        user_flag=0x8D8E,
        driver_id=3,
        controller_id="8e000001",
        request_id=0x8F8F,
        extra=((0x02, b"\x8e"), (0x11, b"\x01")),
    ),
    PassingRecord(passing_number=1, tran_code="PV-38463", rtc_time_us=2842_800_000, version=1),
    StatusRecord(
        noise=0x8E8F,
        gps=1,
        temperature=0x8D,
        satellites=9,
        loop_triggers=0x8F,
        input_voltage=0x8E,
        decoder_id="13180400",
    ),
    VersionRecord(
        decoder_type=0x13,
        description="TranX Pro \x8e",
        firmware_version="4.2",
        release=0x8D8E,
        registration=0x8F8F8F8F8F,
        build_number=0x8E,
        options=0x8D,
        decoder_id="13180400",
    ),
    GetTimeRecord(
        rtc_time_us=1551542808933000, flags=0x8F, utc_time_us=1551542808933999, decoder_id="8f8f8f8f"
    ),
    get_time_request("13180400"),
    ResendRecord(from_number=0x8E8E, until_number=0x8F8F, decoder_id="13180400"),
    resend_request(157777, 157800),
    ErrorRecord(code=1, decoder_id="13180400"),
    ErrorRecord(code=0x8E),
    UnknownRecord(tor=0x0020, fields=((0x01, b"\x8d\x8e\x8f"), (0x85, b"")), decoder_id="13180400"),
    UnknownRecord(tor=0x8E8F, fields=()),
]


@pytest.mark.parametrize("record", ROUND_TRIP, ids=lambda r: type(r).__name__)
def test_encode_decode_round_trip(record):
    wire = encode(record)
    assert wire[0] == 0x8E and wire[-1] == 0x8F
    assert b"\x8e" not in wire[1:-1] and b"\x8f" not in wire[1:-1]
    dec = P3StreamDecoder()
    assert dec.feed(wire) == [record]
    assert sum(dec.rejected.values()) == 0


def test_encoder_leaves_8a_to_8c_unescaped():
    wire = encode(ResendRecord(from_number=0x8A8B8C, until_number=0x8C))
    assert b"\x8c\x8b\x8a" in wire and b"\x8d" not in wire


def _reframe(frame: bytes, **patch) -> bytes:
    """Rebuild an escaped frame after patching its unescaped bytes (with a correct CRC)."""
    from decoders.p3.codec import _frame_crc, escape, unescape

    raw = bytearray(unescape(frame))
    for offset, value in patch.get("bytes", {}).items():
        raw[offset] = value
    if "body" in patch:
        raw[10:-1] = patch["body"]
        raw[2:4] = len(raw).to_bytes(2, "little")
    raw[4:6] = _frame_crc(raw).to_bytes(2, "little")
    return b"\x8e" + escape(bytes(raw[1:-1])) + b"\x8f"


def test_rejects_are_counted_by_reason():
    good = EXAMPLE_PASSING_2019
    bad_crc = bytearray(good)
    bad_crc[12] ^= 0x01
    bad_length = _reframe(good, bytes={2: 0x34})
    truncated = _reframe(good, body=bytes.fromhex("0104516802000308ffff"))
    dangling_tag = _reframe(good, body=bytes.fromhex("01045168020003"))
    cut = good[:20]
    too_short = bytes.fromhex("8e0203008f")
    stream = (
        b"noise"
        + bytes(bad_crc)
        + bad_length
        + truncated
        + good
        + dangling_tag
        + cut
        + good
        + too_short
        + b"\x00\x8f\x01"
    )
    dec = P3StreamDecoder()
    records = dec.feed(stream)
    assert len(records) == 2 and all(r.passing_number == 157777 for r in records)
    assert dec.rejected == {"crc": 1, "length": 2, "framing": 3, "truncated_tlv": 2}


def test_unterminated_frame_is_dropped_and_stream_resyncs():
    dec = P3StreamDecoder()
    assert dec.feed(b"\x8e" + b"\x00" * 5000) == []
    assert dec.rejected["length"] == 1
    assert dec.feed(b"\x01\x8f\x02" + EXAMPLE_STATUS_2019)[0].noise == 40
    assert dec.rejected["framing"] == 0  # the tail of the dropped frame is not counted twice


def test_unknown_tags_and_tors_are_kept_not_fatal():
    body = bytes.fromhex("0101aa7703010203810413180400")
    frame = _reframe(encode(UnknownRecord(tor=0x0045)), body=body)
    (rec,) = decode_all(frame)
    assert rec == UnknownRecord(
        tor=0x0045, fields=((0x01, b"\xaa"), (0x77, b"\x01\x02\x03")), decoder_id="13180400"
    )
    passing = _reframe(EXAMPLE_PASSING_2019, body=bytes.fromhex("0201ff010451680200110101030473d75600"))
    (rec,) = decode_all(passing)
    assert rec.passing_number == 157777 and rec.transponder == 5691251
    assert rec.extra == ((0x02, b"\xff"), (0x11, b"\x01"))


def test_layout_fast_path_gives_the_records_of_the_general_path():
    """Frames of a shape seen before take a precompiled `struct` layout (codec._Layout): the
    records must equal, field for field, what the general TLV loop builds, stay frozen, and a
    frame of the same length with other tags (or a bad CRC) must not slip through it."""
    from dataclasses import FrozenInstanceError

    from decoders.p3 import codec

    frames = hex_frames("amb-short.hex") + hex_frames("amb-long.hex") + prochip_frames()
    codec._LAYOUTS.clear()
    first = [codec.decode_frame(f) for f in frames]  # builds the layouts
    assert any(v is not None for v in codec._LAYOUTS.values())
    again = [codec.decode_frame(f) for f in frames]  # through them
    general = [
        codec._build(codec.tor_of(r), r.version, codec.unescape(f))
        for r, f in zip(first, frames, strict=True)
    ]
    assert again == first == general
    streamed = P3StreamDecoder().feed(b"".join(frames) * 2)  # the stream decoder's inline path
    assert streamed == first * 2 and [repr(r) for r in streamed[: len(first)]] == [repr(r) for r in general]
    assert [repr(r) for r in again] == [repr(r) for r in general]
    with pytest.raises(FrozenInstanceError):
        again[0].decoder_id = "x"  # type: ignore[misc]
    # same length and TOR as a known passing, other tag in the first field: the general path
    body = bytearray(codec.unescape(EXAMPLE_PASSING_2019))
    body[10] = 0x13  # tag 0x01 (passing_number) -> 0x13 (rtc_id)
    body[4:6] = b"\x00\x00"
    body[4:6] = codec._frame_crc(bytes(body)).to_bytes(2, "little")
    rec = codec.decode_frame(bytes([codec.SOR]) + codec.escape(bytes(body[1:-1])) + bytes([codec.EOR]))
    assert rec.passing_number is None and rec.rtc_id == 157777
    dec = P3StreamDecoder()
    broken = bytearray(EXAMPLE_PASSING_2019)
    broken[20] ^= 1
    assert dec.feed(bytes(broken)) == [] and dec.rejected["crc"] == 1
