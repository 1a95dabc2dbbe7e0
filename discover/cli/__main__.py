"""``python -m discover.cli``: the same as the ``discover`` console script."""

import sys

from discover.cli import main

sys.exit(main())
