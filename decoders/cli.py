"""`boucle p3 ...` subcommands (filled in by the decoders work)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the decoder subcommands to the `boucle` CLI."""
