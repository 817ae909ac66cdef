"""De-duplication and gap bookkeeping by (decoder id, passing number)."""

from __future__ import annotations

from decoders.tracking import Logged, PassingTracker


def test_duplicates_gaps_and_recovery():
    t = PassingTracker()
    assert not t.observe("a", 10, ("x", 1)).duplicate
    assert t.observe("a", 10, ("x", 1)).duplicate
    obs = t.observe("a", 14, ("x", 5))
    assert (obs.new_gap.first, obs.new_gap.last) == (11, 13)
    assert t.due(0.0, 1.0, 3) == [("a", 11, 13)]
    assert t.due(0.5, 1.0, 3) == []  # not again before retry_after
    assert t.observe("a", 12, ("x", 3)).gaps_closed == 0
    assert t.due(1.6, 1.0, 3) == [("a", 11, 13)]
    t.observe("a", 11, ("x", 2))
    assert t.observe("a", 13, ("x", 4)).gaps_closed == 1
    assert t.pending() == [] and t.lost == 0
    assert not t.observe("b", 11, ("y", 2)).duplicate  # decoders are separate


def test_restarted_numbering_is_not_taken_for_duplicates():
    t = PassingTracker()
    for n in range(1, 6):
        t.observe("a", n, ("x", n))
    obs = t.observe("a", 1, ("x", 1000))
    assert obs.restarted and not obs.duplicate
    assert not t.observe("a", 2, ("x", 1001)).duplicate
    assert t.observe("a", 2, ("x", 1001)).duplicate


def test_huge_gap_is_clipped_and_unanswered_gap_given_up():
    t = PassingTracker(max_gap=100)
    t.observe("a", 1, 1)
    gap = t.observe("a", 1002, 2).new_gap
    assert (gap.first, gap.last) == (902, 1001) and t.lost == 900
    for now in (0, 10, 20):
        assert t.due(now, 1.0, 3) == [("a", 902, 1001)]
    assert t.due(30, 1.0, 3) == [] and t.pending() == []
    assert t.lost == 1000


def test_rearm_requests_pending_gaps_at_once():
    t = PassingTracker()
    t.observe("a", 1, 1)
    t.observe("a", 5, 5)
    assert t.due(0, 10, 3) == [("a", 2, 4)]
    t.rearm()
    assert t.due(1, 10, 3) == [("a", 2, 4)]


def test_window_bounds_memory():
    t = PassingTracker(window=100)
    for n in range(1000):
        t.observe("a", n, n)
    assert len(t._tracks["a"].seen) == 100


def test_seeded_from_the_log_the_first_number_seen_is_not_a_new_baseline():
    t = PassingTracker(baseline=lambda d: {"a": [100, 101, 102]}.get(d, []))
    obs = t.observe("a", 110, ("x", 10))  # the service was down over 103..109
    assert (obs.new_gap.first, obs.new_gap.last) == (103, 109)
    assert t.due(0.0, 1.0, 3) == [("a", 103, 109)]
    assert t.observe("a", 101, ("x", 1)).duplicate  # logged before the restart: a resend
    assert t.highest("b") is None and t.observe("b", 7, ("y", 7)).new_gap is None  # nothing logged for b


def test_holes_in_the_log_are_asked_for_and_renumbering_jumps_are_not():
    t = PassingTracker(max_gap=100, baseline=lambda d: [5, 6, 9, 10, 500, 501])
    assert t.highest("a") == 501
    assert t.due(0.0, 1.0, 3) == [("a", 7, 8)]  # 11..499 is a jump too wide to be missed reads
    assert t.outstanding("a") == 2
    assert t.observe("a", 7, ("x", 7)).recovered and t.outstanding() == 1
    assert t.recovered == 1 and t.lost == 0


def test_a_given_up_passing_that_still_arrives_is_counted_back():
    t = PassingTracker()
    t.observe("a", 1, 1)
    t.observe("a", 4, 4)
    assert t.due(0, 1, 0) == [] and t.lost == 2  # no request allowed (MQTT): lost at once
    obs = t.observe("a", 2, 2)
    assert obs.recovered and (t.lost, t.recovered) == (1, 1)


def test_a_failing_baseline_lookup_only_loses_the_seed():
    def broken(decoder_id):
        raise RuntimeError("log unreadable")

    t = PassingTracker(baseline=broken)
    assert t.observe("a", 50, 50).new_gap is None and t.highest("a") == 50


def test_a_reboot_starts_an_epoch_and_asks_for_its_missed_reads_within_it():
    t = PassingTracker()
    for n in range(40_001, 40_011):  # numbering started anywhere, as on a real box
        assert t.observe("a", n, ("x", n), time_us=n).epoch == 1
    obs = t.observe("a", 4, ("y", 90_000), time_us=90_000)  # rebooted: 1..3 read while it came back
    assert obs.restarted and obs.epoch == 2 and not obs.duplicate and t.epoch("a") == 2
    assert (obs.new_gap.first, obs.new_gap.last) == (1, 3)
    assert t.due(0.0, 1.0, 3) == [("a", 1, 3)]
    assert t.observe("a", 2, ("z", 89_000), time_us=89_000).recovered  # within the new epoch
    assert t.lost == 0


def test_a_lower_number_read_earlier_is_an_old_read_not_a_reboot():
    t = PassingTracker()
    for n in range(100, 110):
        t.observe("a", n, ("x", n), time_us=n * 10)
    obs = t.observe("a", 50, ("x", 500), time_us=500)  # before our first: the decoder's memory
    assert not obs.restarted and obs.epoch == 1 and not obs.duplicate


def test_after_a_restart_the_log_seeds_the_epoch_and_a_reused_number_with_another_car_is_a_reboot():
    logged = Logged(epoch=2, reads={7: "1001", 8: "1002", 9: "1003"}, first=5)
    t = PassingTracker(baseline=lambda d: logged if d == "a" else Logged())
    assert t.epoch("a") == 2 and t.highest("a") == 9
    assert t.due(0.0, 1.0, 3) == [("a", 5, 6)]  # read before the first logged one: asked for too
    assert t.observe("a", 8, ("1002", 123)).duplicate  # resent: the log knows only its transponder
    obs = t.observe("a", 8, ("1999", 456))  # the same number for another car: it rebooted meanwhile
    assert obs.restarted and obs.epoch == 3 and t.lost == 2  # 5 and 6 went with the old memory


def test_unstored_reads_are_asked_again_never_given_up_and_sparingly_while_the_service_cannot_store():
    t = PassingTracker()
    for n in (1, 2, 3, 4, 5):
        t.observe("a", n, ("x", n))
    for n in (2, 3, 5):
        t.unstored("a", n)
    assert t.unstored_count() == 3
    assert t.due(0.0, 1.0, 3, writable=False) == [("a", 2, 2)]  # one, to learn when it can again
    assert t.due(1.0, 1.0, 3, writable=False) == []  # and not often
    for now in (10.0, 20.0, 30.0, 40.0):  # never given up
        assert t.due(now, 1.0, 3) == [("a", 2, 3), ("a", 5, 5)]
    obs = t.observe("a", 3, ("x", 3))
    assert obs.refetched and not obs.duplicate and not obs.recovered
    assert t.observe("a", 3, ("x", 3)).duplicate  # stored now: a second answer is a duplicate
    assert t.unstored_count() == 2 and t.lost == 0
