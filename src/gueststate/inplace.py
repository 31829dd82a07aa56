"""Rewrite a file in place without ever writing through a name that changed meanwhile.

The path is resolved once; from then on the file is known by its directory's descriptor and
its name there, opened without following links, and read through that descriptor.  The new
content goes to an unnamed temporary file in the same directory (``O_TMPFILE``; a named one
where the file system lacks it) that takes the old file's owner, mode and extended attributes,
or the rewrite is refused.  It is renamed over the name only if, just before the rename, the
name still holds the inode that was read and that inode's size, modification and change times
are those it had when it was read: an edit made meanwhile is kept, not overwritten.  SIGTERM,
SIGINT and SIGHUP during the rewrite remove the temporary file.
"""

from __future__ import annotations

import errno
import os
import secrets
import signal
import stat
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from types import FrameType

from gueststate import xmlsafe


class Refused(OSError):
    """The file could not be rewritten safely; it was left as it was."""

    def __init__(self, reason: str) -> None:
        super().__init__(errno.EPERM, reason)


class Interrupted(BaseException):
    """A termination signal arrived during a rewrite; ``signum`` names it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def rewrite(path: str | os.PathLike[str], transform: Callable[[bytes], bytes]) -> None:
    """Replace the content of the regular file ``path`` by ``transform(content)``.

    A symbolic link is followed once: the file it points to is rewritten and the link stays.
    A file with several hard links is refused, since replacing one name would split it from
    the others.  Errors are :class:`OSError` (:class:`Refused` when it is unsafe); whatever
    ``transform`` raises propagates; in every case the file is left as it was.
    """
    folder, name = os.path.split(os.path.realpath(path))
    dir_fd = os.open(folder or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fd = xmlsafe.open_input(name, dir_fd=dir_fd, follow_symlinks=False)
        try:
            before = os.fstat(fd)
            _check_may_write(before, name, dir_fd)
            data = transform(xmlsafe.read_fd(fd))
            with _cleanup_on_signals():
                _replace(dir_fd, name, fd, before, data)
        finally:
            os.close(fd)
    finally:
        os.close(dir_fd)


def _check_may_write(before: os.stat_result, name: str, dir_fd: int) -> None:
    if before.st_nlink > 1:
        raise Refused(f"it has {before.st_nlink} hard links and rewriting would split them; "
                      "print it and copy the output instead")
    if os.geteuid() == 0:
        # root may write anything; a file nobody may write is still read-only by intent.
        allowed = bool(before.st_mode & 0o222)
    else:
        allowed = os.access(name, os.W_OK, dir_fd=dir_fd, effective_ids=True,
                            follow_symlinks=False)
    if not allowed:
        raise Refused("it is read-only")


def _replace(dir_fd: int, name: str, fd: int, before: os.stat_result, data: bytes) -> None:
    temporary = _unnamed_file(dir_fd)
    linked: str | None = None
    try:
        if temporary is None:
            linked = f".{name[:200]}.{secrets.token_hex(6)}.tmp"
            temporary = os.open(
                linked, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                0o600, dir_fd=dir_fd,
            )
        _write_all(temporary, data)
        _copy_metadata(fd, temporary, before)
        os.fsync(temporary)
        if linked is None:
            linked = f".{name[:200]}.{secrets.token_hex(6)}.tmp"
            os.link(f"/proc/self/fd/{temporary}", linked, dst_dir_fd=dir_fd, follow_symlinks=True)
        _check_unchanged(dir_fd, name, fd, before)
        os.replace(linked, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        linked = None
        os.fsync(dir_fd)
    finally:
        if temporary is not None:
            os.close(temporary)
        if linked is not None:
            with suppress(OSError):
                os.unlink(linked, dir_fd=dir_fd)


def _check_unchanged(dir_fd: int, name: str, fd: int, before: os.stat_result) -> None:
    """Refuse when the name holds another file now, or the file was written to (or its
    metadata changed) since it was read: the rename would silently undo that edit."""
    now = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    if (now.st_dev, now.st_ino) != (before.st_dev, before.st_ino):
        raise Refused("it was replaced while being formatted; left as it is")
    now = os.fstat(fd)
    if _version(now) != _version(before):
        raise Refused("it changed while being formatted; left as it is")


def _version(status: os.stat_result) -> tuple[int, int, int]:
    """What a write (size, modification time) or a change of metadata (ctime) moves."""
    return status.st_size, status.st_mtime_ns, status.st_ctime_ns


def _unnamed_file(dir_fd: int) -> int | None:
    """An unnamed file in the directory, or None where the file system cannot make one."""
    try:
        return os.open(".", os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
    except OSError as error:
        if error.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            return None
        raise


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _copy_metadata(source: int, target: int, before: os.stat_result) -> None:
    """Owner, extended attributes (ACLs among them), then mode: chown would clear set-id bits."""
    mine = os.fstat(target)
    if (mine.st_uid, mine.st_gid) != (before.st_uid, before.st_gid):
        try:
            os.fchown(target, before.st_uid, before.st_gid)
        except OSError as error:
            raise Refused(f"its owner {before.st_uid}:{before.st_gid} cannot be kept "
                          f"({error.strerror})") from None
    try:
        names = os.listxattr(source)
    except OSError as error:
        if error.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
        names = []
    for attribute in names:
        try:
            os.setxattr(target, attribute, os.getxattr(source, attribute))
        except OSError as error:
            raise Refused(f"its extended attribute {attribute} cannot be kept "
                          f"({error.strerror})") from None
    os.fchmod(target, stat.S_IMODE(before.st_mode))


_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


@contextmanager
def _cleanup_on_signals() -> Iterator[None]:
    """Turn termination signals into :class:`Interrupted`, so ``finally`` clauses run."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signum)

    previous = {
        number: signal.signal(number, interrupt)
        for number in _SIGNALS
        if signal.getsignal(number) is not signal.SIG_IGN  # nohup's choice stays
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
