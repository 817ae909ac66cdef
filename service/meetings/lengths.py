"""Race distances: auto-cross laps per session (AX-LENGTH) and karting km -> laps (KA-DISTANCE)."""

from __future__ import annotations

from fractions import Fraction
from functools import cache

from service.errors import Invalid
from service.presets import kinds
from service.text import key


@cache
def _ax_laps() -> dict[str, int]:
    """AX-LENGTH, written once: the `laps` of each kind of service/presets/autocross.json (heats 5,
    semis 6, final 7; practice 3, as a series ends once a car has 3 timed laps, AX-PRACTICE)."""
    return {k: int(block["laps"]) for k, block in kinds("autocross").items() if "laps" in block}


def ax_laps(kind: str) -> int:
    """AX-LENGTH: scheduled laps for an auto-cross session kind."""
    try:
        return _ax_laps()[kind]
    except KeyError:
        raise Invalid("length.ax_kind", kind=kind) from None


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
        raise Invalid("length.ka_kind", kind=kind)
    dry_wet = table.get(key(category), table["*"])
    return dry_wet[1] if wet else dry_wet[0]


def laps_for_distance(distance_m: int | float | str, track_length_m: int | float | str) -> int:
    """KA-DISTANCE decision: laps = ceil(distance / track length), computed exactly.

    Decimal strings go through ``Fraction`` so 15 km on a 1.5 km track is exactly 10 laps,
    never 11 from a float rounding error.
    """
    dist = Fraction(str(distance_m))
    length = Fraction(str(track_length_m))
    if length <= 0:
        raise Invalid("length.track")
    return -(-dist.numerator * length.denominator // (dist.denominator * length.numerator))


def ka_laps(kind: str, category: str, track_length_m: int | float | str, wet: bool = False) -> int:
    """KA-DISTANCE: scheduled laps of a karting session on a track of ``track_length_m``."""
    return laps_for_distance(ka_distance_km(kind, category, wet) * 1000, track_length_m)
