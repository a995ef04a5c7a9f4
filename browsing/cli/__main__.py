"""``python -m browsing.cli``: the ``browsing`` command."""

import sys

from browsing.cli import main

sys.exit(main())
