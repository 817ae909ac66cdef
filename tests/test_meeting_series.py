"""Series and grid tables (AX-PRACTICE, AX-HEAT1, AX-MIX, AX-LENGTH grids, AX-SEMI, AX-FINAL),
hand-copied from RULES.md section 3 and the grid figures of seed 003 art. 7.3.1.2."""

from __future__ import annotations

import pytest

from service.meetings.grids import final_grid, grid_rows, semi_split, with_vacancies
from service.meetings.series import heat_series, mix, practice_series, series_count


def car(rank: int) -> str:
    """Car numbers unrelated to ranks, so a sort by number instead of rank would show."""
    return str(900 - rank * 7)


def cars(ranks: tuple[int, ...] | list[int]) -> list[str]:
    return [car(r) for r in ranks]


def ranking(n: int) -> list[str]:
    return cars(range(1, n + 1))


# ---------------------------------------------------------------- AX-PRACTICE


def test_practice_series_25_is_8_8_9_in_entry_order() -> None:
    entries = [f"{400 + i}" for i in range(25)]
    series = practice_series(entries)
    assert [len(s) for s in series] == [8, 8, 9]
    assert series[0] == entries[:8]
    assert series[1] == entries[8:16]
    assert series[2] == entries[16:]


@pytest.mark.parametrize(
    ("n", "sizes"),
    [
        (1, [1]),
        (10, [10]),
        (11, [5, 6]),
        (20, [10, 10]),
        (21, [7, 7, 7]),
        (30, [10, 10, 10]),
        (31, [7, 8, 8, 8]),
    ],
)
def test_practice_series_at_most_ten_as_equal_as_possible(n: int, sizes: list[int]) -> None:
    assert [len(s) for s in practice_series([str(i) for i in range(n)])] == sizes


def test_series_count() -> None:
    assert series_count(0, 15) == 0
    assert series_count(15, 15) == 1
    assert series_count(16, 15) == 2
    assert series_count(45, 15) == 3


# ---------------------------------------------------------------- AX-HEAT1 / AX-MIX, 2 series

B1_30 = (1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29)
B2_30 = (2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30)


def test_mix_30_two_series_matches_the_regulation_table() -> None:
    b1, b2 = heat_series(ranking(30))
    assert b1 == cars(B1_30)
    assert b2 == cars(B2_30)


def test_grid_rows_30_two_series_3_2_3_2_as_drawn_in_the_regulation() -> None:
    b1, b2 = heat_series(ranking(30))
    assert grid_rows(b1) == [
        cars(r) for r in [(1, 4, 5), (8, 9), (12, 13, 16), (17, 20), (21, 24, 25), (28, 29)]
    ]
    assert grid_rows(b2) == [
        cars(r) for r in [(2, 3, 6), (7, 10), (11, 14, 15), (18, 19), (22, 23, 26), (27, 30)]
    ]


def test_mix_25_two_series() -> None:
    b1, b2 = heat_series(ranking(25))
    assert b1 == cars((1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25))
    assert b2 == cars((2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23))
    assert grid_rows(b1) == [cars(r) for r in [(1, 4, 5), (8, 9), (12, 13, 16), (17, 20), (21, 24, 25)]]
    assert grid_rows(b2) == [cars(r) for r in [(2, 3, 6), (7, 10), (11, 14, 15), (18, 19), (22, 23)]]


# ---------------------------------------------------------------- AX-MIX, 3 series (Super Sprint)

B1_45 = (1, 5, 7, 11, 13, 17, 19, 23, 25, 29, 31, 35, 37, 41, 43)
B2_45 = (2, 6, 8, 12, 14, 18, 20, 24, 26, 30, 32, 36, 38, 42, 44)
B3_45 = (3, 4, 9, 10, 15, 16, 21, 22, 27, 28, 33, 34, 39, 40, 45)


def test_mix_45_three_series_matches_the_regulation_table() -> None:
    series = heat_series(ranking(45))
    assert series == [cars(B1_45), cars(B2_45), cars(B3_45)]


def test_grid_rows_45_three_series_as_drawn_in_the_regulation() -> None:
    b1, b2, b3 = heat_series(ranking(45))
    assert grid_rows(b1) == [
        cars(r) for r in [(1, 5, 7), (11, 13), (17, 19, 23), (25, 29), (31, 35, 37), (41, 43)]
    ]
    assert grid_rows(b2) == [
        cars(r) for r in [(2, 6, 8), (12, 14), (18, 20, 24), (26, 30), (32, 36, 38), (42, 44)]
    ]
    assert grid_rows(b3) == [
        cars(r) for r in [(3, 4, 9), (10, 15), (16, 21, 22), (27, 28), (33, 34, 39), (40, 45)]
    ]


def test_mix_30_three_series_forced() -> None:
    b1, b2, b3 = heat_series(ranking(30), n_series=3)
    assert b1 == cars((1, 5, 7, 11, 13, 17, 19, 23, 25, 29))
    assert b2 == cars((2, 6, 8, 12, 14, 18, 20, 24, 26, 30))
    assert b3 == cars((3, 4, 9, 10, 15, 16, 21, 22, 27, 28))


def test_mix_31_needs_three_series_of_at_most_15() -> None:
    series = heat_series(ranking(31))
    assert [len(s) for s in series] == [11, 10, 10]
    assert series[0][-1] == car(31)


def test_one_series_keeps_ranking_order() -> None:
    assert heat_series(ranking(15)) == [ranking(15)]
    assert heat_series([]) == []


def test_mix_one_series_is_identity_and_bad_count_raises() -> None:
    assert mix(ranking(4), 1) == [ranking(4)]
    with pytest.raises(ValueError):
        mix(ranking(4), 0)


# ---------------------------------------------------------------- grids


def test_absent_car_leaves_its_cell_free_on_the_same_row() -> None:
    order = ["1", "2", "3", "4", "5", "6"]
    assert grid_rows(with_vacancies(order, {"2"})) == [["1", None, "3"], ["4", "5"], ["6"]]


def test_grid_rows_short_grid() -> None:
    assert grid_rows(["a", "b", "c", "d"]) == [["a", "b", "c"], ["d"]]
    assert grid_rows([]) == []


# ---------------------------------------------------------------- AX-SEMI


def test_semi_split_odd_even_from_eleven() -> None:
    s1, s2 = semi_split(ranking(11))
    assert s1 == cars((1, 3, 5, 7, 9, 11))
    assert s2 == cars((2, 4, 6, 8, 10))


def test_semi_split_ten_is_one_semi() -> None:
    assert semi_split(ranking(10)) == [ranking(10)]


def test_semi_split_at_most_thirty() -> None:
    s1, s2 = semi_split(ranking(34))
    assert len(s1) == len(s2) == 15
    assert car(31) not in s1 + s2
    assert s2[-1] == car(30)


# ---------------------------------------------------------------- AX-FINAL replacement


def test_final_non_starter_replaced_by_first_non_qualified_last_on_grid() -> None:
    order = ranking(20)
    fg = final_grid(order, eligible=set(order), unable_to_start={car(3)})
    assert fg.grid == cars((1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16))
    assert fg.non_starters == [car(3)]
    assert fg.substitutes == [car(16)]


def test_final_two_non_starters_take_16th_then_17th() -> None:
    order = ranking(20)
    fg = final_grid(order, eligible=set(order), unable_to_start={car(9), car(2)})
    assert fg.grid[-2:] == [car(16), car(17)]
    assert fg.non_starters == [car(2), car(9)]
    assert len(fg.grid) == 15


def test_final_substitute_must_have_run_the_semi_and_be_able_to_start() -> None:
    order = ranking(20)
    eligible = set(order) - {car(16)}
    fg = final_grid(order, eligible=eligible, unable_to_start={car(1), car(17)})
    assert fg.substitutes == [car(18)]
    assert fg.grid[0] == car(2)


def test_absent_in_semi_is_not_replaced() -> None:
    order = ranking(12)  # one field of 12: all go to the final
    fg = final_grid(order, eligible=set(order) - {car(5)})
    assert fg.grid == cars((1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12))
    assert fg.substitutes == []
