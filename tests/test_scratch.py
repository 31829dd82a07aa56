"""Temporary folders: what a killed process leaves is removed, what a living one holds is not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from gueststate import scratch

# Makes a folder, says where, forks a copy when asked (which outlives it), then waits for a line.
MAKER = """
import os, sys
from gueststate import scratch
folder = scratch.made("rng")
print(folder, flush=True)
if sys.argv[1] == "fork" and os.fork() == 0:
    sys.stdin.readline()
    os._exit(0)
if sys.argv[1] == "fork":
    os._exit(0)  # the maker is gone at once, its copy holds the lock
sys.stdin.readline()
"""


@pytest.fixture
def temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    return tmp_path


def maker(how: str) -> tuple[subprocess.Popen[str], Path]:
    process = subprocess.Popen([sys.executable, "-c", MAKER, how], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, Path(process.stdout.readline().strip())


def test_the_folder_of_a_killed_maker_is_removed_and_a_living_ones_kept(
    temporary: Path,
) -> None:
    killed, its_folder = maker("wait")
    living, kept = maker("wait")
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=60)
    scratch.remove_abandoned()
    assert sorted(temporary.iterdir()) == [kept]
    living.communicate("\n", timeout=60)  # it ends without removing its folder either
    scratch.remove_abandoned()
    assert list(temporary.iterdir()) == []
    assert its_folder.name.startswith(f"gueststate-rng-{killed.pid}-")


def test_a_forked_copy_holds_the_folder_after_its_maker_is_gone(temporary: Path) -> None:
    # The copy's number is not in the name: only the lock tells the folder is in use.
    process, folder = maker("fork")
    process.wait(timeout=60)
    scratch.remove_abandoned()
    assert folder.is_dir()
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("\n")
    process.stdin.close()  # the copy reads it and ends,
    assert process.stdout.read() == ""  # which closes the last end of this pipe
    scratch.remove_abandoned()
    assert not folder.exists()


def test_only_our_own_abandoned_folders_are_touched(temporary: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    elsewhere = temporary / "elsewhere"
    elsewhere.mkdir()
    odd = {
        f"gueststate-rng-{gone}-link": lambda p: p.symlink_to(elsewhere),  # not followed
        f"gueststate-rng-{gone}-file": lambda p: p.write_text("x"),  # not a folder
        "gueststate-rng-x1-y": lambda p: p.mkdir(),  # no process number
        f"gueststate-rng-{os.getpid()}-self": lambda p: p.mkdir(),  # its maker runs
        f"other-rng-{gone}-y": lambda p: p.mkdir(),  # not ours
    }
    for name, make in odd.items():
        make(temporary / name)
    scratch.remove_abandoned()
    assert sorted(p.name for p in temporary.iterdir()) == sorted([*odd, "elsewhere"])
