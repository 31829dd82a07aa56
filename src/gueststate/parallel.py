"""One job over many items, on every processor: this process and forked copies of it.

Each process takes every n-th chunk of the items, so a corpus sorted valid-first still splits
evenly, and does the whole job for them, rendering included.  A child sends its results back
once, at the end, as one pickled list.  (``multiprocessing.Pool`` sends each chunk back
through a handler thread and leaves the parent unpickling while its own processor idles: on
3,000 documents the pool cost more than a fifth of the run.)

Forking is only safe while the process runs no other thread: the command line's case.
"""

from __future__ import annotations

import os
import pickle
import signal
from collections.abc import Callable, Sequence
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class WorkerLost(Exception):
    """A forked worker ended without sending its results (killed, or out of memory)."""


class _Orphaned(BaseException):
    """The process that forked this one is gone: nobody will read its results."""


def map_shared(
    job: Callable[[Item], Result], items: Sequence[Item], processes: int, chunk: int
) -> list[Result]:
    """``[job(item) for item in items]``, computed by ``processes`` processes.

    An exception raised by ``job`` in a child is raised again here.
    """
    if processes < 2:
        return [job(item) for item in items]
    children: list[tuple[int, int]] = []
    parent = os.getpid()
    try:
        for share in range(1, processes):
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: never returns
                os.close(read)
                _run_child(job, items, share, processes, chunk, write, parent)
            os.close(write)
            children.append((pid, read))
        shares = [_share(job, items, 0, processes, chunk)]
        while children:
            shares.append(_collect(*children.pop(0)))
    finally:
        for pid, read in children:  # interrupted: stop the children still at work
            os.close(read)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
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


def _run_child(
    job: Callable[[Item], Result], items: Sequence[Item], share: int, processes: int,
    chunk: int, write: int, parent: int,
) -> None:
    status = 0
    try:
        try:
            answer: tuple[bool, object] = (
                True, _share(job, items, share, processes, chunk, parent))
        except Exception as error:  # the parent raises it, as if its own share had
            answer = (False, error)
        with os.fdopen(write, "wb") as pipe:
            pickle.dump(answer, pipe, protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException:
        status = 1
    finally:
        os._exit(status)  # never the parent's clean-up, buffers or exit handlers


def _collect(pid: int, read: int) -> list[Result]:
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        ended = (f"killed by signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
                 else f"exit status {os.waitstatus_to_exitcode(status)}")
        raise WorkerLost(f"a worker process ended without its results ({ended})")
    done, value = pickle.loads(data)
    if not done:
        raise value
    results: list[Result] = value
    return results


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
