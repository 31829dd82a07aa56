"""Temporary folders that do not outlive the command that made them, even when it is killed.

libxml2 compiles grammars from files, so compiling one writes a private copy to a temporary
folder.  A process killed outright (SIGKILL, the kernel out of memory, a worker stopped by
the command it serves) runs no clean-up.  So each folder is named after the process that made
it and stays locked (``flock``) while a process holding it lives, forked copies included;
those of ours that are unlocked and whose maker is gone are removed when another folder is
made, and when a command ends (its stopped workers are gone by then).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

#: The start of every folder's name: ``gueststate-KIND-PID-RANDOM``.
PREFIX = "gueststate-"


def made(kind: str) -> Path:
    """A new locked folder ``gueststate-KIND-PID-…``, the caller's to remove: the lock lasts
    as long as this process and the processes it forks."""
    import tempfile  # only when a folder is needed: importing this module stays cheap

    if not kind.isalnum():
        raise ValueError(f"a folder kind is letters and digits, not {kind!r}")
    remove_abandoned_once()
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-{os.getpid()}-"))
    held = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    fcntl.flock(held, fcntl.LOCK_EX)  # released by the kernel when the last holder ends
    _HELD[folder] = held
    return folder


@contextlib.contextmanager
def private(kind: str) -> Iterator[Path]:
    """A folder of :func:`made`, removed on leaving the block."""
    folder = made(kind)
    try:
        yield folder
    finally:
        remove(folder)


def remove(folder: Path) -> None:
    """Remove a folder of :func:`made` and let go of its lock."""
    shutil.rmtree(folder, ignore_errors=True)
    held = _HELD.pop(folder, None)
    if held is not None:
        os.close(held)


#: The lock of each folder this process made and has not removed.
_HELD: dict[Path, int] = {}


def remove_abandoned() -> None:
    """Remove the folders of ours whose makers are gone.

    A folder is abandoned when no process holds its lock (whatever its PID namespace) and
    the process its name gives is not running: that process may have just made it and not
    locked it yet.
    """
    import tempfile

    top = tempfile.gettempdir()
    try:
        names = [name for name in os.listdir(top) if name.startswith(PREFIX)]
    except OSError:
        return
    for name in names:
        _kind, _, rest = name[len(PREFIX):].partition("-")
        maker = rest.partition("-")[0]
        if not maker.isdigit() or _running(int(maker)):
            continue
        folder = os.path.join(top, name)
        try:
            held = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:  # gone already, a symlink, not a folder, not ours to read
            continue
        try:
            if os.fstat(held).st_uid == os.geteuid():
                fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # OSError: in use
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass
        finally:
            os.close(held)


@functools.cache
def remove_abandoned_once() -> None:
    """:func:`remove_abandoned`, once per process: a command makes several folders."""
    remove_abandoned()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # none has it; no process can have it
        return False
    except PermissionError:  # another user's
        return True
    return True
