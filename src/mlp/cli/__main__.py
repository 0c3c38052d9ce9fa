"""``python -m mlp.cli``: the ``mlp`` command."""

import sys

from .command import main

sys.exit(main())
