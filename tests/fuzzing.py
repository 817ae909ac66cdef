"""How hard the Hypothesis fuzz tests try: `BOUCLE_FUZZ_EXAMPLES` (default 50, enough for `make test`
to exercise every strategy on each run); `make fuzz` runs them deep (1000)."""

from __future__ import annotations

import os

EXAMPLES = int(os.environ.get("BOUCLE_FUZZ_EXAMPLES", "50"))
