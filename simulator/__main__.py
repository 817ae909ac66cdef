"""`python -m simulator ...`: the `boucle simulate` command without the service installed."""

import sys

from simulator.cli import main

sys.exit(main())
