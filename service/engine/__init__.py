"""The pure timing engine (no I/O, no clock): scenario lines in, one typed `Outcome` per line out."""

from service.engine.classify import Row, classify, format_table, row_public
from service.engine.engine import Engine

__all__ = ["Engine", "Row", "classify", "format_table", "row_public"]
