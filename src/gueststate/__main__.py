"""The ``gueststate`` command: the console script, and ``python -m gueststate``.

Ctrl-C while the modules load (lxml's among them, a twentieth of a second) ends the command
as it would later, with status 130 and nothing printed, instead of a traceback, or an
``ImportError`` and status 1 (which means "invalid"), from the middle of an import.
"""

from __future__ import annotations

import os
import signal
from types import FrameType


def main() -> None:
    """Load the command line and run it."""
    before = signal.getsignal(signal.SIGINT)
    if before is signal.default_int_handler:  # not ignored (``nohup``, ``&`` in a script)
        signal.signal(signal.SIGINT, _interrupted_while_loading)
    from gueststate.cli import run

    signal.signal(signal.SIGINT, before)
    run()


def _interrupted_while_loading(signum: int, frame: FrameType | None) -> None:
    os._exit(128 + signum)  # nothing written or made yet: nothing to flush or remove


if __name__ == "__main__":
    main()
