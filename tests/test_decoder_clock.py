"""The decoder clock map alone (service/sessions/decoder_clock.py): samples in, session times out, no I/O."""

from __future__ import annotations

import random

from service.sessions.decoder_clock import AGREE, ARRIVAL, DISAGREE, MANUAL, REPORT, STEPPED, DecoderClock

S = 1_000_000
MONTHS = 150 * 86_400 * S  # a free-running decoder clock five months behind


def test_the_first_read_times_itself_and_later_reads_keep_exact_differences():
    c = DecoderClock()
    rng = random.Random(4)
    d0 = 1_700_000_000 * S - MONTHS
    assert not c.ready
    assert c.observe(d0, 10 * S + 40_000) == AGREE  # arrived 40 ms after it happened
    assert c.ready and c.source == ARRIVAL and c.to_session_us(d0) == 10 * S + 40_000
    for k in range(1, 200):  # reads arriving 0..200 ms late, some queued for seconds: nothing moves
        d = d0 + k * 1_234_567
        delay = rng.randrange(0, 200_000) + (3 * S if k % 17 == 0 else 0)
        assert c.observe(d, 10 * S + k * 1_234_567 + delay) == AGREE
        assert c.to_session_us(d) - c.to_session_us(d0) == k * 1_234_567  # lap times are decoder differences
    assert c.offset_us == 10 * S + 40_000 - d0 and c.drift_ppm == 0.0


def test_a_read_that_arrived_before_its_mapped_time_lowers_the_map():
    c = DecoderClock()
    c.observe(0, 900_000)  # the first read was slow: 900 ms in the network
    assert c.observe(10 * S, 10 * S + 820_000) == AGREE  # 80 ms earlier: jitter, nothing moves
    assert c.to_session_us(0) == 900_000
    assert c.observe(20 * S, 20 * S + 5_000) == AGREE  # proves the map ~0.9 s too late
    assert c.to_session_us(20 * S) == 20 * S + 5_000


def test_a_far_early_read_is_disagreement_until_a_second_confirms_the_step():
    c = DecoderClock()
    c.observe(0, 0)
    assert c.observe(10 * S + 3600 * S, 10 * S) == DISAGREE  # one bogus time: an hour in the future
    assert c.observe(20 * S, 20 * S) == AGREE and c.to_session_us(30 * S) == 30 * S  # the map held
    # the decoder's clock is set forward by 10 min: two reads agree, the map steps
    assert c.observe(40 * S + 600 * S, 40 * S) == DISAGREE
    assert c.observe(50 * S + 600 * S, 50 * S + 1000) == STEPPED
    assert c.to_session_us(60 * S + 600 * S) == 60 * S


def test_a_clock_set_back_is_followed_once_every_read_is_late_long_enough():
    c = DecoderClock()
    c.observe(0, 0)
    verdicts = [c.observe(t * S - 30 * S, t * S) for t in range(1, 13)]  # 30 s late, one a second
    assert verdicts.index(STEPPED) == 10  # after 10 s of reads all late
    assert c.to_session_us(100 * S - 30 * S) == 100 * S


def test_clock_reports_steer_and_reads_only_check():
    c = DecoderClock()
    c.observe(5 * S, 5 * S + 120_000)  # a read 120 ms after its crossing (decoders emit late)
    assert c.observe(6 * S, 6 * S + 1000, report=True) == AGREE  # close enough: the offset stays
    assert c.source == REPORT and c.to_session_us(5 * S) == 5 * S + 120_000
    assert c.observe(7 * S, 7 * S - 400_000) == AGREE  # a read cannot move a report-steered map
    assert c.to_session_us(7 * S) == 7 * S + 120_000
    c2 = DecoderClock()
    c2.observe(5 * S, 5 * S + 900_000)
    assert c2.observe(6 * S, 6 * S + 1000, report=True) == STEPPED  # 0.9 s off: the report wins
    assert c2.to_session_us(6 * S) == 6 * S + 1000


def test_drift_is_measured_and_applied_only_when_real():
    rng = random.Random(9)
    crystal = DecoderClock()  # a decoder crystal 40 ppm slow against the host, half an hour
    gps = DecoderClock()  # a GPS-disciplined decoder: no drift
    for k in range(0, 1800 * 4):
        host = k * 250_000
        delay = rng.randrange(2_000, 60_000)
        crystal.observe(round(host * (1 - 40e-6)), host + delay)
        gps.observe(host, host + delay)
    assert 35 <= crystal.drift_ppm <= 45 and crystal.measured_ppm is not None
    host = 1800 * S
    assert abs(crystal.to_session_us(round(host * (1 - 40e-6))) - host) < 100_000
    assert gps.drift_ppm == 0.0 and abs(gps.measured_ppm or 0.0) < 5
    assert gps.to_session_us(host) - gps.to_session_us(0) == host  # exact lap times


def test_manual_override_and_a_restored_map():
    c = DecoderClock()
    c.set_manual(1_767_225_600 * S)
    assert c.source == MANUAL and c.observe(0, 0) == AGREE
    assert c.to_session_us(1_767_225_600 * S + 12 * S) == 12 * S
    a = DecoderClock()
    a.observe(123 * S, 7 * S)
    b = DecoderClock.restore(a.state())
    assert b.ready and b.to_session_us(200 * S) == a.to_session_us(200 * S) and b.source == ARRIVAL
    assert not DecoderClock.restore({"source": "manual", "offset_us": 5}).ready  # the override is the link's
