"""What a decoder link's state and last error mean, in words the timing crew reads in its language.

A source keeps its last error as `"TypeName: details"` (decoders/source.py: the transport's own
exception, English and technical). The pages show `last_error_said` instead: a catalogue code for the
kinds a crew meets at the track (nothing listening, no route, cable unplugged, wrong device...), the
raw text only for anything else.
"""

from __future__ import annotations

from typing import Any

from service.i18n import Said, coded, is_coded, said, said_of

KINDS = {
    "ConnectionRefusedError": "decoder.err.refused",
    "TimeoutError": "decoder.err.timeout",
    "ConnectionResetError": "decoder.err.reset",
    "ConnectionAbortedError": "decoder.err.reset",
    "BrokenPipeError": "decoder.err.reset",
    "IncompleteReadError": "decoder.err.reset",
    "LinkIdle": "decoder.err.idle",
    "gaierror": "decoder.err.dns",
    "FileNotFoundError": "decoder.err.no_device",
    "PermissionError": "decoder.err.permission",
    "SerialException": "decoder.err.serial",
    "MqttError": "decoder.err.mqtt",
    "MqttCodeError": "decoder.err.mqtt",
}


def error_said(error: Any) -> Said | None:
    """A link's last error as a said text (None when there is none)."""
    if not error:
        return None
    if is_coded(error):  # a stored link whose URL no source takes (decoders.errors.DecoderUrlError)
        return said_of(error)
    name, _, detail = str(error).partition(": ")
    if name == "OSError" and ("unreachable" in detail.lower() or "no route" in detail.lower()):
        return said("decoder.err.unreachable")
    code = KINDS.get(name)
    return said(code) if code else said("decoder.err.other", error=str(error))


def describe_said(status: dict[str, Any]) -> dict[str, Any]:
    """A link's status with `last_error_said` beside its `last_error` (the pages' words)."""
    return {**status, "last_error_said": coded(error_said(status.get("last_error")))}
