"""`python -m api.cli ...`: the `tradebus` command without the installed console script."""

import sys

from api.cli import main

sys.exit(main())
