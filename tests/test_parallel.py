"""gueststate.parallel: the items' results in order, whichever process computed them; a
child's exception or death reaches the caller; an interrupted run leaves no process behind."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gueststate.parallel import WorkerLost, map_shared


def _pid_and_square(item: int) -> tuple[int, int]:
    return os.getpid(), item * item


def _wait_for(marker: Path) -> None:
    """Until ``marker`` exists (what a child writes): an event, not a length of time."""
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline, f"no {marker.name}"
        time.sleep(0.001)


def _children_do(act: Callable[[int], object], marker: Path) -> Callable[[int], int]:
    """A job whose forked children do ``act`` on each item they take, after saying so; this
    process waits until one has, so that a child surely takes a chunk, whichever process
    comes to the chunks first."""
    parent = os.getpid()

    def job(item: int) -> int:
        if os.getpid() != parent:
            marker.touch()
            act(item)
        else:
            _wait_for(marker)
        return item

    return job


@pytest.mark.parametrize(("processes", "count", "chunk"), [
    (2, 101, 16), (3, 100, 7), (2, 5, 16), (4, 64, 1), (2, 0, 16),
])
def test_results_come_back_in_order_whoever_takes_each_chunk(
    processes: int, count: int, chunk: int
) -> None:
    results = map_shared(_pid_and_square, list(range(count)), processes, chunk)

    assert [square for _, square in results] == [item * item for item in range(count)]
    for start in range(0, count, chunk):  # a chunk is one process's
        assert len({pid for pid, _ in results[start:start + chunk]}) == 1


def test_more_chunks_than_the_pipe_holds_are_made_larger() -> None:
    # 100,000 one-item chunks would not fit in a pipe's 64 KiB: the chunks grow instead.
    assert map_shared(_square, range(100_000), 2, 1) == [item * item for item in range(100_000)]


def test_the_children_take_the_chunks_this_process_is_too_busy_for(tmp_path: Path) -> None:
    parent = os.getpid()
    taken_here: list[int] = []

    def job(item: int) -> int:
        if os.getpid() != parent:
            (tmp_path / str(item)).touch()
            return item
        taken_here.append(item)
        deadline = time.monotonic() + 60
        while len(os.listdir(tmp_path)) < 40 - 4:  # every chunk but this one, done there
            assert time.monotonic() < deadline, "the child stopped taking chunks"
            time.sleep(0.001)
        return item

    assert map_shared(job, list(range(40)), 2, 4) == list(range(40))
    assert len(taken_here) in (0, 4)  # one chunk at most: not half of them


def test_an_exception_in_a_child_is_raised_to_the_caller(tmp_path: Path) -> None:
    def fails(item: int) -> None:
        raise ValueError(f"bad item {item}")

    with pytest.raises(ValueError, match="bad item"):
        map_shared(_children_do(fails, tmp_path / "began"), list(range(30)), 2, 10)


def test_a_child_that_dies_is_reported_not_taken_for_an_empty_share(tmp_path: Path) -> None:
    def dies(item: int) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    with pytest.raises(WorkerLost, match="killed by signal 9"):
        map_shared(_children_do(dies, tmp_path / "began"), list(range(30)), 2, 10)


def test_when_this_process_fails_the_children_are_stopped_and_reaped(tmp_path: Path) -> None:
    started = tmp_path / "child"

    def never_ends(item: int) -> int:
        (tmp_path / "child.new").write_text(f"{os.getpid()}\n")
        (tmp_path / "child.new").rename(started)  # whole, or not there yet
        signal.pause()  # the child would never finish on its own
        return item

    parent = os.getpid()

    def job(item: int) -> int:
        if os.getpid() != parent:
            return never_ends(item)
        _wait_for(started)  # until the child has begun
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        map_shared(job, list(range(4)), 2, 1)

    child = int(started.read_text())
    with pytest.raises(ChildProcessError):  # already reaped: no zombie, no orphan
        os.waitpid(child, os.WNOHANG)
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)


def test_an_interruption_just_after_a_fork_still_stops_that_child(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Ctrl-C while a child is being forked waits, blocked, until the fork is done; it must
    # then find the child noted, to be stopped and reaped with the others.
    fork, forked = os.fork, []

    def fork_then_interrupted() -> int:
        pid = fork()
        if pid:
            forked.append(pid)
            # To this thread, which blocks it: os.kill would let another thread of the test
            # run take it at once (a process that forks must have no other; pytest may).
            signal.pthread_kill(threading.get_ident(), signal.SIGINT)
        return pid

    monkeypatch.setattr(os, "fork", fork_then_interrupted)
    # Python's own handler, whatever this run inherited (a background job ignores SIGINT).
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            map_shared(_square, list(range(400)), 2, 1)
    finally:
        signal.signal(signal.SIGINT, before)
    with pytest.raises(ChildProcessError):  # reaped: no zombie, no orphan
        os.waitpid(forked[0], os.WNOHANG)


ORPHAN = """
import os, sys, time
from gueststate import parallel
from gueststate.parallel import map_shared

parallel._prctl = lambda: None  # as where prctl cannot be had: the check between chunks alone

folder = sys.argv[1]
parent = os.getpid()

def job(item):
    if os.getpid() != parent and os.path.exists(os.path.join(folder, "child")):
        time.sleep(3600)  # a second item: reached only by a child that works on
    elif os.getpid() != parent:
        with open(os.path.join(folder, "child.new"), "w") as note:
            note.write(str(os.getpid()))
        os.replace(os.path.join(folder, "child.new"), os.path.join(folder, "child"))
        while not os.path.exists(os.path.join(folder, "go")):  # until the test says so
            time.sleep(0.01)
    else:
        time.sleep(3600)  # the parent is killed long before
    return item

map_shared(job, list(range(1000)), 2, 1)
"""


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command's name (state first), or None."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def _gone(pid: int, started: str | None = None) -> bool:
    """Whether ``pid`` has exited: a zombie (whoever is to reap it) counts as exited, and so
    does another process given the number since, when ``started`` (its start time) is known."""
    fields = _stat(pid)
    return (fields is None or fields[0] in ("Z", "X")
            or (started is not None and fields[19] != started))


def test_a_child_without_prctl_whose_parent_is_killed_stops_at_its_next_chunk(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys
    import time

    started = subprocess.Popen([sys.executable, "-c", ORPHAN, str(tmp_path)])
    child = 0
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "child").exists():
            assert started.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        child = int((tmp_path / "child").read_text())
        started.kill()  # SIGKILL: no chance to stop its children
        started.wait()
        (tmp_path / "go").touch()  # the child finishes its item, then looks for its parent
        while not _gone(child):
            assert time.monotonic() < deadline, "the orphaned child works on"
            time.sleep(0.01)
    finally:
        started.kill()
        started.wait()
        if child and not _gone(child):
            os.kill(child, signal.SIGKILL)


# Every process, the parent too, takes one item and blocks on it for good: it reads standard
# input, which the test holds open.  Each first says so by a file named after its number.
BLOCKED = """
import os, sys
from gueststate.parallel import map_shared

def job(item):
    os.close(os.open(os.path.join(sys.argv[1], str(os.getpid())), os.O_CREAT | os.O_WRONLY))
    sys.stdin.buffer.read()
    return item

map_shared(job, list(range(100)), int(sys.argv[2]), 1)
"""


def test_children_end_when_their_parent_is_killed_in_the_middle_of_a_job(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    processes = 3
    started = subprocess.Popen([sys.executable, "-c", BLOCKED, str(tmp_path), str(processes)],
                               stdin=subprocess.PIPE)
    children: dict[int, str] = {}  # pid: start time, which tells it from a later namesake
    try:
        deadline = time.monotonic() + 60
        while len(os.listdir(tmp_path)) < processes:  # until every process is in its job
            assert started.poll() is None and time.monotonic() < deadline, "no job began"
            time.sleep(0.01)
        for pid in map(int, os.listdir(tmp_path)):
            fields = _stat(pid)
            assert fields is not None and fields[0] not in ("Z", "X"), f"{pid} ended"
            if pid != started.pid:
                assert int(fields[1]) == started.pid  # its parent, the process killed below
                children[pid] = fields[19]
        assert len(children) == processes - 1

        started.kill()  # SIGKILL: no chance to stop its children, blocked in their job
        started.wait()

        deadline = time.monotonic() + 30  # they end at once; a busy machine may be slow
        while alive := [pid for pid, since in children.items() if not _gone(pid, since)]:
            assert time.monotonic() < deadline, f"{alive} work on for a parent that is gone"
            time.sleep(0.01)
    finally:
        started.kill()
        started.wait()
        assert started.stdin is not None
        started.stdin.close()  # lets a child still blocked go on, to its next chunk
        for pid, since in children.items():
            if not _gone(pid, since):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):  # this process may be a subreaper
                os.waitpid(pid, os.WNOHANG)


def test_without_ctypes_the_children_still_work(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from gueststate import parallel

    monkeypatch.setitem(sys.modules, "ctypes", None)  # import ctypes raises ImportError
    parallel._prctl.cache_clear()
    try:
        assert parallel._prctl() is None
        results = map_shared(_pid_and_square, list(range(40)), 2, 4)
    finally:
        parallel._prctl.cache_clear()
    assert [square for _, square in results] == [item * item for item in range(40)]


def _square(item: int) -> int:
    return item * item


def test_children_are_collected_when_sigchld_is_ignored() -> None:
    # Ignored signals stay ignored in the programs a process starts; the kernel then reaps
    # the children itself and their exit status cannot be had.
    before = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        results = map_shared(_square, list(range(50)), 2, 4)
    finally:
        signal.signal(signal.SIGCHLD, before)
    assert results == [item * item for item in range(50)]


class _NeedsTwo(Exception):
    def __init__(self, first: str, second: str) -> None:  # pickles, but does not unpickle
        super().__init__(f"{first} {second}")


def _raise_what_cannot_travel(item: int) -> None:
    raise _NeedsTwo("cannot", "travel")


def _raise_what_cannot_be_sent(item: int) -> None:
    error = RuntimeError("holds a function")
    error.callback = lambda: None  # type: ignore[attr-defined]
    raise error


def _end_quietly(item: int) -> None:
    os._exit(0)


@pytest.mark.parametrize(("act", "said"), [
    (_raise_what_cannot_travel, "could not be read"),
    (_raise_what_cannot_be_sent, r"a worker process failed: RuntimeError\('holds a"),
    (_end_quietly, "could not be read: Ran out of input"),
])
def test_what_a_child_cannot_send_is_one_worker_lost(
    tmp_path: Path, act: Callable[[int], None], said: str
) -> None:
    with pytest.raises(WorkerLost, match=said):
        map_shared(_children_do(act, tmp_path / "began"), list(range(30)), 2, 10)


def test_a_share_without_a_process_is_computed_here(monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    def no_more_processes() -> int:
        raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")

    descriptors = len(os.listdir("/proc/self/fd"))
    monkeypatch.setattr(os, "fork", no_more_processes)
    assert map_shared(_pid_and_square, list(range(40)), 3, 4) == [
        (os.getpid(), item * item) for item in range(40)]
    assert len(os.listdir("/proc/self/fd")) == descriptors  # its pipe closed again


def test_a_chunk_holds_one_item_or_more() -> None:
    with pytest.raises(ValueError, match="chunk must be 1 or more, not 0"):
        map_shared(_square, [1, 2], 2, 0)
