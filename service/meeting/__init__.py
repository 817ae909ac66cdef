"""Sprint meetings: a chain of sessions where each result builds the next series and grids.

Pure, deterministic rules of RULES.md section 2 (FFSA karting, ``KA-*``) and section 3
(FFSA auto-cross & sprint car, ``AX-*``). No I/O here: the runner and the API feed these
functions with the engine's classifications and store what they return.
"""
