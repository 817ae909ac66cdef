"""The Protime, Race Result and Wiclax codecs under Hypothesis: random bytes and any chunking never
raise and give the same records and counts; what a decoder sends reads back exactly; damage is seen."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decoders.daytime import DAY_US, civil_us
from decoders.protime import codec as protime
from decoders.rrs import codec as rrs
from decoders.wiclax import codec as wiclax
from tests.fuzzing import EXAMPLES

FUZZ = settings(max_examples=EXAMPLES * 2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CODECS = {"protime": protime.ProtimeDecoder, "rrs": rrs.RrsDecoder, "wiclax": wiclax.WiclaxDecoder}
SAMPLES = {
    "protime": protime.passing_message("STA", 255, 31_957_000)
    + protime.status_message(3_600_000_000, (40, 3), (9, 9))
    + protime.config_message("0412", 23, (12, 14)),
    "rrs": rrs.passing_line(3, "KDLWA84", civil_us(2026, 12, 4, 18, 35, 1, 123_000))
    + rrs.line("PASSINGS", 3, 1)
    + b"\r\n"
    + rrs.status_line(civil_us(2026, 12, 4, 18, 35, 2)),
    "wiclax": wiclax.passing_line("01539", civil_us(2011, 9, 22, 2, 41, 30, 620_000), "0A", 559)
    + b"*\r"
    + wiclax.clock_line(civil_us(2026, 12, 4, 18, 35, 1)),
}
bytes_like = st.one_of(
    st.binary(max_size=1500),
    st.lists(
        st.sampled_from(
            [
                b"\r",
                b"\n",
                b"\r\n",
                b"\x00",
                b";",
                b"<",
                b">",
                b"[",
                b"+++",
                b"#P;",
                b"*",
                b"CLOCK ",
                b"9" * 300,
                b"x" * 700,
                *SAMPLES.values(),
            ]
        ),
        max_size=40,
    ).map(b"".join),
)


def chunked(name: str, data: bytes, size: int) -> tuple[list, dict]:
    dec = CODECS[name]()
    out = [r for i in range(0, len(data), size) for r in dec.feed(data[i : i + size])]
    return out, dict(dec.rejected)


@FUZZ
@given(st.sampled_from(sorted(CODECS)), bytes_like, st.integers(1, 64))
def test_any_bytes_any_chunking_same_records_and_counts(name, data, size):
    assert chunked(name, data, size) == chunked(name, data, len(data) or 1)


@FUZZ
@given(
    st.sampled_from(["STA", "BOX", "MAN", "B01", "B12"]),
    st.integers(0, 999_999),
    st.integers(0, DAY_US - 1),
    st.integers(0, 99),
    st.integers(0, 99),
    st.integers(0, 9),
)
def test_protime_passings_read_back(channel, tr, tod, a, b, status):
    (rec,) = protime.ProtimeDecoder().feed(protime.passing_message(channel, tr, tod, a, b, status))
    assert rec == protime.ProtimePassing(channel, tr, tod // 1000 * 1000, a, b, status)


@FUZZ
@given(st.integers(0, DAY_US - 1), st.integers(1, 32), st.integers(0, 255))
def test_protime_one_damaged_data_byte_is_never_taken_for_a_read(tod, pos, value):
    good = protime.passing_message("STA", 4242, tod)
    bad = good[:pos] + bytes([value]) + good[pos + 1 :]
    recs = protime.ProtimeDecoder().feed(bad)
    assert (
        recs == [protime.parse_passing(good[:-2])]
        if bad == good
        else all(isinstance(r, protime.Damaged) for r in recs)
    )


times = st.integers(civil_us(2000, 1, 1), civil_us(2099, 12, 31, 23, 59, 59, 999_000)).map(
    lambda us: us // 1000 * 1000
)
codes = st.text("ABCDEFGHKLMNPRSTWXYZ0123456789", min_size=1, max_size=12)


@FUZZ
@given(
    st.integers(1, 10**7),
    codes,
    times,
    st.integers(0, 255),
    st.integers(0, 127),
    st.sampled_from(["", "1", "7"]),
    st.sampled_from([None, 1.8, 3.0]),
    st.sampled_from([0, rrs.STORED, 3]),
    st.booleans(),
)
def test_rrs_passings_read_back(n, tr, t, hits, rssi, loop, battery, adata, pushed):
    raw = rrs.passing_line(
        n,
        tr,
        t,
        hits=hits,
        rssi=rssi,
        loop_id=loop,
        battery=battery,
        active_data=adata,
        box_name="B",
        file_no=2,
        pushed=pushed,
    )
    (rec,) = rrs.RrsDecoder().feed(raw)
    assert (
        rec.number,
        rec.transponder,
        rec.day_us + rec.tod_us,
        rec.hits,
        rec.rssi,
        rec.loop_id,
        rec.battery,
        rec.active_data,
        rec.file_no,
        rec.pushed,
    ) == (n, tr, t, hits, rssi, loop, battery, adata, 2, pushed)


@FUZZ
@given(
    codes,
    times,
    st.sampled_from(["", "0A", "01b00400"]),
    st.none() | st.integers(0, 10**6),
    st.none() | st.integers(0, 100),
    st.booleans(),
)
def test_wiclax_passings_read_back(chip, t, loop, lap, battery, rewind):
    (rec,) = wiclax.WiclaxDecoder().feed(wiclax.passing_line(chip, t, loop, lap, battery, rewind))
    assert rec == wiclax.WiclaxPassing(chip, t, loop, lap, battery, rewind)
