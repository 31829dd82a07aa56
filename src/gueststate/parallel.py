"""One job over many items, on every processor: this process and forked copies of it.

The items are cut into chunks, and each process takes the next chunk not yet taken until none
is left, so a process that meets slower items takes fewer chunks.  The chunks wait in a pipe
filled before the first fork: reading a chunk's number from it is the one step processes
share.  A process does the whole job for its chunks, rendering included; a child sends its
results back once, at the end, as one pickled mapping.  (``multiprocessing.Pool`` sends each
chunk back through a handler thread and leaves the parent unpickling while its own processor
idles: on 3,000 documents the pool cost more than a fifth of the run.)  A child dies with the
process that forked it (Linux's parent-death signal), should that one be killed.

Forking is only safe while the process runs no other thread: the command line's case.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import pickle
import signal
import struct
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

#: Blocked around each fork, so that a child is inside its own ``try`` before it can be
#: interrupted, and the parent has noted the child before it can be.
_STOPPING = {signal.SIGINT, signal.SIGTERM}
#: One chunk in the pipe: the index of its first item.
_ENTRY = struct.Struct("=Q")
#: prctl's option asking for a signal when the thread that forked this process ends.
_PR_SET_PDEATHSIG = 1


class WorkerLost(Exception):
    """A forked worker ended without sending its results (killed, or out of memory)."""


class _Orphaned(BaseException):
    """The process that forked this one is gone: nobody will read its results."""


def map_shared(
    job: Callable[[Item], Result], items: Sequence[Item], processes: int, chunk: int
) -> list[Result]:
    """``[job(item) for item in items]``, computed by ``processes`` processes.

    An exception raised by ``job`` in a child is raised again here.  When no process can be
    forked (no memory, too many processes), this one computes everything.
    """
    if chunk < 1:
        raise ValueError(f"chunk must be 1 or more, not {chunk}")
    if processes < 2:
        return [job(item) for item in items]
    queue = _Chunks(len(items), chunk)
    children: list[_Child[Result]] = []
    try:
        for _ in range(1, processes):
            stopping = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)
            try:
                child = _Child.start(job, items, queue, stopping)
                if child is not None:  # noted before an interruption can be delivered
                    children.append(child)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, stopping)
        done = _run_chunks(job, items, queue)
        for child in children:
            done.update(child.collect())
    finally:
        for child in children:  # interrupted, or one failed: stop those still at work
            child.stop()
        queue.close()
    return [result for start in sorted(done) for result in done[start]]


class _Chunks:
    """The chunks not yet taken: the index of each one's first item, in a pipe."""

    def __init__(self, total: int, chunk: int) -> None:
        read, write = os.pipe()
        self.read: int | None = read  # None once closed
        try:
            # All of them go in before any fork, and the writing end is closed: a read then
            # never waits, and finds the end once every chunk is taken.  Chunks grow as needed
            # for their numbers to fit in the pipe (and were they not to, writing would fail
            # rather than wait for a reader that is not there yet).
            os.set_blocking(write, False)
            room = fcntl.fcntl(write, fcntl.F_GETPIPE_SZ) // _ENTRY.size
            self.chunk = max(chunk, -(-total // room))
            data = b"".join(_ENTRY.pack(start) for start in range(0, total, self.chunk))
            while data:
                data = data[os.write(write, data):]
        except BaseException:
            os.close(read)
            raise
        finally:
            os.close(write)

    def __iter__(self) -> Iterator[int]:
        """The first index of each chunk this process takes."""
        assert self.read is not None
        while entry := os.read(self.read, _ENTRY.size):
            (start,) = _ENTRY.unpack(entry)
            yield start

    def close(self) -> None:
        if self.read is not None:
            read, self.read = self.read, None
            os.close(read)


def _run_chunks(
    job: Callable[[Item], Result], items: Sequence[Item], queue: _Chunks,
    parent: int | None = None,
) -> dict[int, list[Result]]:
    """The results of the chunks this process takes, by the index of each one's first item.

    A child (``parent`` given) stops between chunks once its parent is gone, killed without
    a chance to stop it, rather than work on for no one.
    """
    done: dict[int, list[Result]] = {}
    for start in queue:
        if parent is not None and os.getppid() != parent:
            raise _Orphaned
        done[start] = [job(item) for item in items[start:start + queue.chunk]]
    return done


class _Child(Generic[Result]):
    """A forked process taking chunks, and the pipe its results come back through."""

    def __init__(self, pid: int, read: int) -> None:
        self.pid: int | None = pid  # None once reaped
        self.read: int | None = read  # None once closed

    @staticmethod
    def start(
        job: Callable[[Item], Result], items: Sequence[Item], queue: _Chunks,
        stopping: Iterable[int],
    ) -> _Child[Result] | None:
        """Fork a child taking chunks from ``queue``, with :data:`_STOPPING` blocked
        (``stopping`` is the mask to restore); None when no process can be had."""
        parent = os.getpid()
        prctl = _prctl()  # looked up here: the child only calls it
        read, write = os.pipe()
        try:
            pid = os.fork()
        except OSError:  # EAGAIN, ENOMEM
            os.close(read)
            os.close(write)
            return None
        if pid == 0:
            _run_child(job, items, queue, write, parent, stopping, prctl)
        os.close(write)
        return _Child(pid, read)

    def collect(self) -> dict[int, list[Result]]:
        """The child's results, once it has sent them all and ended."""
        assert self.read is not None
        chunks = []
        while chunk := os.read(self.read, 1 << 20):
            chunks.append(chunk)
        read, self.read = self.read, None  # never closed twice: the number may be reused
        os.close(read)
        data = b"".join(chunks)
        status = self._wait()
        if status is not None and status != 0:
            ended = (f"killed by signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
                     else f"exit status {os.waitstatus_to_exitcode(status)}")
            raise WorkerLost(f"a worker process ended without its results ({ended})")
        try:
            done, value = pickle.loads(data)  # our own child's, through our own pipe
        except Exception as error:  # nothing sent (SIGCHLD ignored hides the status), or garbled
            raise WorkerLost(f"a worker process's results could not be read: {error}") from None
        if not done:
            raise value
        results: dict[int, list[Result]] = value
        return results

    def stop(self) -> None:
        """Close the pipe and end and reap the child, whatever state it is in."""
        if self.read is not None:
            read, self.read = self.read, None
            os.close(read)
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self._wait()

    def _wait(self) -> int | None:
        """Reap the child; its wait status, or None when the kernel reaped it already (a
        parent started with SIGCHLD ignored)."""
        assert self.pid is not None
        try:
            _, status = os.waitpid(self.pid, 0)
        except ChildProcessError:
            status = None
        self.pid = None
        return status


def _run_child(
    job: Callable[[Item], Result], items: Sequence[Item], queue: _Chunks, write: int,
    parent: int, stopping: Iterable[int], prctl: Callable[..., object] | None,
) -> None:
    """Take chunks and send their results (or the exception raised) to the parent; never
    returns and never runs the parent's clean-up, buffers or exit handlers."""
    status = 0
    try:
        _die_with(parent, prctl)
        signal.pthread_sigmask(signal.SIG_SETMASK, stopping)
        try:
            answer: tuple[bool, object] = (True, _run_chunks(job, items, queue, parent))
        except Exception as error:  # the parent raises it, as if it had been its own
            answer = (False, error)
        try:
            data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # an exception that cannot travel: its words can
            data = pickle.dumps((False, WorkerLost(f"a worker process failed: {answer[1]!r}")))
        with os.fdopen(write, "wb") as pipe:
            pipe.write(data)
    except BaseException:  # interrupted, or the parent is gone
        status = 1
    finally:
        os._exit(status)


def _die_with(parent: int, prctl: Callable[..., object] | None) -> None:
    """Have the kernel kill this child when ``parent`` dies (SIGKILL gives it no chance to
    stop its children), even in the middle of a long job.

    The kernel sends it when the thread that forked ends: the one that waits for the children
    in :func:`map_shared`.  A parent that died before the request sends nothing, hence the
    check after it.  Without prctl, the child still stops at its next chunk.
    """
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # if refused: the checks remain
    if os.getppid() != parent:
        raise _Orphaned


@functools.cache
def _prctl() -> Callable[..., object] | None:
    """Linux's ``prctl`` through ctypes, or None where it cannot be had."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (ImportError, OSError, AttributeError):  # no ctypes, no libc, no prctl in it
        return None
    prctl.argtypes = [ctypes.c_int, *[ctypes.c_ulong] * 4]
    prctl.restype = ctypes.c_int
    return prctl
