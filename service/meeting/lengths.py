"""Race distances: auto-cross laps per session (AX-LENGTH) and karting km -> laps (KA-DISTANCE)."""

from __future__ import annotations

import unicodedata
from fractions import Fraction

# AX-LENGTH: heats 5 laps, semis 6, final 7. Practice: a series ends as soon as one car has
# done 3 timed laps (AX-PRACTICE), so a practice session is scheduled for 3 laps.
AX_LAPS: dict[str, int] = {"practice": 3, "heat": 5, "semi": 6, "final": 7}


def ax_laps(kind: str) -> int:
    """AX-LENGTH: scheduled laps for an auto-cross session kind."""
    try:
        return AX_LAPS[kind]
    except KeyError:
        raise ValueError(f"no auto-cross length for session kind {kind!r}") from None


def _norm(name: str) -> str:
    """Category key: case, accents, spaces and dashes do not matter ("Mini 60" = "mini60")."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


# KA-DISTANCE (seed 001 art. 21e), km as (dry, wet). "*" = every other category.
KA_DISTANCE_KM: dict[str, dict[str, tuple[int, int]]] = {
    "heat": {"mini60": (12, 8), "*": (15, 11)},
    "superheat": {"mini60": (15, 11), "handikart": (17, 12), "*": (20, 14)},
    "final": {"mini60": (18, 13), "handikart": (18, 13), "gentleman": (25, 17), "*": (30, 20)},
}


def ka_distance_km(kind: str, category: str, wet: bool = False) -> int:
    """KA-DISTANCE: the distance in km of a karting heat, super-heat or final."""
    table = KA_DISTANCE_KM.get(kind)
    if table is None:
        raise ValueError(f"no karting distance for session kind {kind!r}")
    dry_wet = table.get(_norm(category), table["*"])
    return dry_wet[1] if wet else dry_wet[0]


def laps_for_distance(distance_m: int | float | str, track_length_m: int | float | str) -> int:
    """KA-DISTANCE decision: laps = ceil(distance / track length), computed exactly.

    Decimal strings go through ``Fraction`` so 15 km on a 1.5 km track is exactly 10 laps,
    never 11 from a float rounding error.
    """
    dist = Fraction(str(distance_m))
    length = Fraction(str(track_length_m))
    if length <= 0:
        raise ValueError("track length must be positive")
    return -(-dist.numerator * length.denominator // (dist.denominator * length.numerator))


def ka_laps(kind: str, category: str, track_length_m: int | float | str, wet: bool = False) -> int:
    """KA-DISTANCE: scheduled laps of a karting session on a track of ``track_length_m``."""
    return laps_for_distance(ka_distance_km(kind, category, wet) * 1000, track_length_m)
