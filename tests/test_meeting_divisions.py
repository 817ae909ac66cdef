"""Auto-cross divisions: number ranges and the 60-starter limit (RULES.md section 3)."""

from __future__ import annotations

from service.meetings.divisions import AX_DIVISIONS, division_named, entry_warnings


def test_run_order_and_ranges() -> None:
    assert list(AX_DIVISIONS)[0] == "Buggy Cup" and list(AX_DIVISIONS)[-1] == "Super Buggy"
    assert AX_DIVISIONS["Super Sprint"] == (301, 399)
    assert division_named("super-buggy") == "Super Buggy"
    assert division_named("Sprint girl") == "Sprint Girl"
    assert division_named("Formula 1") is None


def test_entry_warnings() -> None:
    assert entry_warnings("Super Buggy", ["1", "42", "99"]) == []
    assert entry_warnings("Super Buggy", ["1", "100", "A7"]) == [
        "Super Buggy numbers run 1-99: check 100, A7"
    ]
    assert entry_warnings("", [str(i) for i in range(61)]) == ["61 entries: at most 60 starters per division"]
    assert entry_warnings("Rallye", ["1"])[0].startswith("unknown division 'Rallye'")
