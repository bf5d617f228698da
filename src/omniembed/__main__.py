"""``python -m omniembed ...`` runs the command line (see :mod:`omniembed.cli`)."""

import sys

from omniembed.cli import main

if __name__ == "__main__":
    sys.exit(main())
