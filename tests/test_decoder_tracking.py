"""De-duplication and gap bookkeeping by (decoder id, passing number)."""

from __future__ import annotations

from decoders.tracking import PassingTracker


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
