"""AX-HEAT-POINTS for every status, AX-LENGTH, KA-DISTANCE and the point scales (RULES.md 2, 3)."""

from __future__ import annotations

import pytest

from service.meetings.lengths import ax_laps, ka_distance_km, ka_laps, laps_for_distance
from service.meetings.model import DNF, DNS, DSQ, RaceRow
from service.meetings.points import (
    AX_FINAL_POINTS,
    AX_HEATS_POINTS,
    AX_PRACTICE_POINTS,
    ax_heat_points,
    ka_place_points,
    ka_points,
    scale_points,
)

# ---------------------------------------------------------------- AX-HEAT-POINTS


@pytest.mark.parametrize("place", range(1, 16))
def test_heat_place_points_for_cars_that_did_all_five_laps(place: int) -> None:
    assert ax_heat_points(RaceRow("7", place, 5)) == place


@pytest.mark.parametrize(("laps", "points"), [(4, 16), (3, 17), (2, 20), (1, 20), (0, 20)])
def test_heat_points_for_a_starter_short_of_laps(laps: int, points: int) -> None:
    assert ax_heat_points(RaceRow("7", 12, laps, DNF)) == points


def test_heat_lapped_car_flagged_with_four_laps_scores_16_not_its_place() -> None:
    assert ax_heat_points(RaceRow("7", 3, 4)) == 16


def test_heat_non_starter_85_and_disqualified_90() -> None:
    assert ax_heat_points(RaceRow("7", 15, 0, DNS)) == 85
    assert ax_heat_points(RaceRow("7", 1, 5, DSQ)) == 90


def test_heat_points_other_scheduled_length() -> None:
    # Same rule on a 6-lap race: 1 missing -> 16, 2 -> 17, 3 -> 20.
    assert ax_heat_points(RaceRow("7", 2, 5), scheduled_laps=6) == 16
    assert ax_heat_points(RaceRow("7", 2, 4), scheduled_laps=6) == 17
    assert ax_heat_points(RaceRow("7", 2, 3), scheduled_laps=6) == 20


# ---------------------------------------------------------------- AX-POINTS scales


def test_championship_scales() -> None:
    assert AX_PRACTICE_POINTS == (5, 4, 3, 2, 1)
    assert AX_HEATS_POINTS == (10, 9, 8, 7, 6, 5, 4, 3, 2, 1)
    assert len(AX_FINAL_POINTS) == 30
    assert AX_FINAL_POINTS[:5] == (48, 43, 39, 36, 33)
    assert AX_FINAL_POINTS[15] == 15  # 16th
    assert scale_points(AX_FINAL_POINTS, 30) == 1
    assert scale_points(AX_FINAL_POINTS, 31) == 0
    assert scale_points(AX_PRACTICE_POINTS, 0) == 0


# ---------------------------------------------------------------- AX-LENGTH


def test_ax_lengths() -> None:
    assert (ax_laps("heat"), ax_laps("semi"), ax_laps("final"), ax_laps("practice")) == (5, 6, 7, 3)
    with pytest.raises(ValueError):
        ax_laps("superheat")


# ---------------------------------------------------------------- KA-POINTS


def test_ka_place_points() -> None:
    assert [ka_place_points(p) for p in range(1, 7)] == [0, 2, 3, 4, 5, 6]
    with pytest.raises(ValueError):
        ka_place_points(0)


def test_ka_superheat_non_starter_scores_participants_plus_one() -> None:
    assert ka_points(RaceRow("12", 20, 0, DNS), participants=20) == 21
    assert ka_points(RaceRow("12", 20, 3, DNF), participants=20) == 20


# ---------------------------------------------------------------- KA-DISTANCE


def test_ka_distance_table() -> None:
    assert ka_distance_km("heat", "Senior") == 15
    assert ka_distance_km("heat", "Senior", wet=True) == 11
    assert ka_distance_km("heat", "MINI-60") == 12
    assert ka_distance_km("superheat", "Handikart", wet=True) == 12
    assert ka_distance_km("superheat", "Mini 60") == 15
    assert ka_distance_km("superheat", "Gentleman") == 20
    assert ka_distance_km("final", "Gentleman", wet=True) == 17
    assert ka_distance_km("final", "Handikart") == 18
    assert ka_distance_km("final", "Mini 60", wet=True) == 13
    assert ka_distance_km("final", "Junior") == 30


def test_ka_laps_is_ceil_of_distance_over_track_length() -> None:
    assert ka_laps("heat", "Senior", 1200) == 13  # 15000 / 1200 = 12.5
    assert ka_laps("heat", "Mini 60", 1200) == 10  # exactly 10
    assert ka_laps("final", "Gentleman", "1100") == 23  # 22.7
    assert ka_laps("final", "OK", 1500.0) == 20
    assert laps_for_distance(15000, 1.5 * 1000) == 10
    assert laps_for_distance(30000, 1000.1) == 30  # 29.997


def test_ka_distance_rejects_unknown_kind_and_bad_track() -> None:
    with pytest.raises(ValueError):
        ka_distance_km("practice", "Senior")
    with pytest.raises(ValueError):
        laps_for_distance(1000, 0)
