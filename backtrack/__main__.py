"""``python -m backtrack``: the backtrack command."""

import sys

from .cli import main

sys.exit(main())
