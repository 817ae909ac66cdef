"""`boucle simulate ...` subcommands (filled in by the simulator work)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the simulator subcommands to the `boucle` CLI."""
