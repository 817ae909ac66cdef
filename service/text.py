"""Text folding for names people type: one rule for categories, divisions, calendars and search.

`fold("Féminines ") == "feminines"`: accents and case do not matter (scenario.md: category names
match case- and accent-insensitively). `key("Mini 60") == "mini60"`: spaces, dashes and
punctuation do not matter either (division and category keys of the sprint regulations).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache


@lru_cache(maxsize=4096)  # a few names, looked up for every entry and every rule
def fold(text: str) -> str:
    """Without accents, case-folded, outer spaces stripped."""
    s = unicodedata.normalize("NFKD", text)
    return "".join(c for c in s if not unicodedata.combining(c)).casefold().strip()


def key(text: str) -> str:
    """`fold`, keeping letters and digits only."""
    return "".join(c for c in fold(text) if c.isalnum())
