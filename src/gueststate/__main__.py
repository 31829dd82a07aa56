"""Allow ``python -m gueststate``."""

import sys

from gueststate.cli import main

sys.exit(main())
