"""Allow ``python -m gueststate``."""

from gueststate.cli import run

run()
