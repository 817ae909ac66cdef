"""Decoder adapters: protocol codecs and transports that yield `Passing` and decoder status.

Must never import `service/` (see DESIGN.md): the service consumes what this package yields.
"""

from decoders.passing import DecoderStatus, Passing

__all__ = ["DecoderStatus", "Passing"]
