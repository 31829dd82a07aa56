"""One job over many items, on every processor: this process and forked copies of it.

Each process takes every n-th chunk of the items, so a corpus sorted valid-first still splits
evenly, and does the whole job for them, rendering included.  A child sends its results back
once, at the end, as one pickled list.  (``multiprocessing.Pool`` sends each chunk back
through a handler thread and leaves the parent unpickling while its own processor idles: on
3,000 documents the pool cost more than a fifth of the run.)

Forking is only safe while the process runs no other thread: the command line's case.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
from collections.abc import Callable, Iterable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

#: Blocked around each fork, so that a child is inside its own ``try`` before it can be
#: interrupted, and the parent has noted the child before it can be.
_STOPPING = {signal.SIGINT, signal.SIGTERM}


class WorkerLost(Exception):
    """A forked worker ended without sending its results (killed, or out of memory)."""


class _Orphaned(BaseException):
    """The process that forked this one is gone: nobody will read its results."""


def map_shared(
    job: Callable[[Item], Result], items: Sequence[Item], processes: int, chunk: int
) -> list[Result]:
    """``[job(item) for item in items]``, computed by ``processes`` processes.

    An exception raised by ``job`` in a child is raised again here.  A share whose process
    cannot be started (no memory, too many processes) is computed here instead.
    """
    if chunk < 1:
        raise ValueError(f"chunk must be 1 or more, not {chunk}")
    if processes < 2:
        return [job(item) for item in items]
    children: list[_Child[Result] | None] = []
    try:
        for share in range(1, processes):
            stopping = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)
            try:
                children.append(_Child.start(job, items, share, processes, chunk, stopping))
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, stopping)
        shares = [_share(job, items, 0, processes, chunk)]
        for share, child in enumerate(children, start=1):
            shares.append(_share(job, items, share, processes, chunk) if child is None
                          else child.collect())
    finally:
        for child in children:  # interrupted, or one failed: stop those still at work
            if child is not None:
                child.stop()
    return _interleaved(shares, len(items), chunk)


def _share(
    job: Callable[[Item], Result], items: Sequence[Item], share: int, processes: int, chunk: int,
    parent: int | None = None,
) -> list[Result]:
    """The results of chunks ``share``, ``share + processes``, ... in order.

    A child (``parent`` given) stops between chunks once its parent is gone, killed without
    a chance to stop it, rather than work on for no one.
    """
    results: list[Result] = []
    for start in range(share * chunk, len(items), processes * chunk):
        if parent is not None and os.getppid() != parent:
            raise _Orphaned
        results += [job(item) for item in items[start:start + chunk]]
    return results


class _Child(Generic[Result]):
    """A forked process computing one share, and the pipe its results come back through."""

    def __init__(self, pid: int, read: int) -> None:
        self.pid: int | None = pid  # None once reaped
        self.read: int | None = read  # None once closed

    @staticmethod
    def start(
        job: Callable[[Item], Result], items: Sequence[Item], share: int, processes: int,
        chunk: int, stopping: Iterable[int],
    ) -> _Child[Result] | None:
        """Fork a child computing ``share``, with :data:`_STOPPING` blocked (``stopping`` is
        the mask to restore); None when no process can be had."""
        parent = os.getpid()
        read, write = os.pipe()
        try:
            pid = os.fork()
        except OSError:  # EAGAIN, ENOMEM
            os.close(read)
            os.close(write)
            return None
        if pid == 0:
            _run_child(job, items, share, processes, chunk, write, parent, stopping)
        os.close(write)
        return _Child(pid, read)

    def collect(self) -> list[Result]:
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
        results: list[Result] = value
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
    job: Callable[[Item], Result], items: Sequence[Item], share: int, processes: int,
    chunk: int, write: int, parent: int, stopping: Iterable[int],
) -> None:
    """Compute the share and send it (or the exception raised) to the parent; never returns
    and never runs the parent's clean-up, buffers or exit handlers."""
    status = 0
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, stopping)
        try:
            answer: tuple[bool, object] = (
                True, _share(job, items, share, processes, chunk, parent))
        except Exception as error:  # the parent raises it, as if its own share had
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


def _interleaved(shares: list[list[Result]], total: int, chunk: int) -> list[Result]:
    """The shares' results put back in the items' order."""
    merged: list[Result] = []
    taken = [0] * len(shares)
    for number, start in enumerate(range(0, total, chunk)):
        share = number % len(shares)
        count = min(chunk, total - start)
        merged += shares[share][taken[share]:taken[share] + count]
        taken[share] += count
    return merged
