"""AX-PUBLISH: who signs which document, and its status (draft, signed, provisional, final).

Results are signed by the timing crew (practice, heats, grids), the race director (provisional
classification) and the stewards (final). The provisional classification is due at most 15 min
after the final; it becomes final when the stewards sign (30 min after posting unless
protested: the page shows that time, the stewards' signature makes it so). Times are wall-clock
ISO strings stamped at the API edge; everything here is pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

TIMING, RACE_DIRECTOR, STEWARDS = "timing", "race_director", "stewards"
SIGN_ROLES = (TIMING, RACE_DIRECTOR, STEWARDS)
ROLE_LABEL = {TIMING: "Timing crew", RACE_DIRECTOR: "Race director", STEWARDS: "Stewards"}
PROVISIONAL_DUE = timedelta(minutes=15)  # after the final
FINAL_AFTER = timedelta(minutes=30)  # after posting, unless protested

# Which roles may sign a document: the timing crew signs practice, heats and grids; the general
# classification needs the race director (provisional) and then the stewards (final).
GENERAL_DOCS = frozenset({"general", "points"})


def may_sign(role: str, document: str) -> bool:
    if role not in SIGN_ROLES:
        return False
    if document in GENERAL_DOCS:
        return role in (RACE_DIRECTOR, STEWARDS)
    return True


@dataclass(frozen=True, slots=True)
class DocStatus:
    status: str  # draft | signed | provisional | final
    posted_at: str | None  # when it became provisional (race director)
    final_at: str | None  # stewards' signature, or the earliest time it can become final
    signatures: dict[str, dict[str, Any]]


def doc_status(document: str, signoffs: Sequence[dict[str, Any]]) -> DocStatus:
    """The status of one document from the sign-off records ({document, role, by, at})."""
    sigs: dict[str, dict[str, Any]] = {}
    for s in signoffs:
        if s.get("document") == document and s.get("role") in SIGN_ROLES:
            sigs.setdefault(s["role"], s)  # the first signature of a role counts
    posted = sigs.get(RACE_DIRECTOR, {}).get("at")
    if STEWARDS in sigs:
        return DocStatus("final", posted, sigs[STEWARDS].get("at"), sigs)
    if posted:
        final_at = (datetime.fromisoformat(posted) + FINAL_AFTER).isoformat(timespec="seconds")
        return DocStatus("provisional", posted, final_at, sigs)
    return DocStatus("signed" if sigs else "draft", None, None, sigs)


def provisional_due(final_recorded_at: str | None) -> str | None:
    """AX-PUBLISH: the provisional classification is due 15 min after the final."""
    if not final_recorded_at:
        return None
    return (datetime.fromisoformat(final_recorded_at) + PROVISIONAL_DUE).isoformat(timespec="seconds")
