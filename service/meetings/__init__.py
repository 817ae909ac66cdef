"""Sprint meetings: a chain of sessions where each result builds the next series and grids.

Pure, deterministic rules of RULES.md section 2 (FFSA karting, ``KA-*``) and section 3
(FFSA auto-cross & sprint car, ``AX-*``). No I/O here, no web framework, no clock: every format
answers the `Meeting` protocol (protocol.py); `service/meetings/service.py` feeds it the engine's
classifications and the time, `service/meetings/store.py` stores what it returns, and
`service/meetings/api.py` serves it over HTTP (tests/test_meeting_protocol.py keeps it so).
"""
