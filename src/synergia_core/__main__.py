"""``python -m synergia_core``: the command line."""

import sys

from synergia_core.cli import main

sys.exit(main())
