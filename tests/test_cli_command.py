"""The command as a whole: its start, its usage errors, ``--help`` and ``--version``."""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import IO

import pytest


def gueststate(*args: str, stdout: int | IO[str] = subprocess.PIPE,
               ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gueststate", *args], stdout=stdout,
                          stderr=subprocess.PIPE, text=True, timeout=60, check=False)


def test_a_usage_error_is_one_escaped_line() -> None:
    # `gueststate format *.xml` with a second file: argparse quotes it, whatever its name.
    forged = "x\nfake.xml:1:1: forged line\x1b]0;pwned\x07\x1b[2J"
    result = gueststate("format", "a.xml", forged)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "gueststate: unrecognized arguments: x\\nfake.xml:1:1: forged line\\x1b]0;pwned\\x07"
        "\\x1b[2J (see: gueststate --help)\n")


@pytest.mark.parametrize("option", ["--help", "--version"])
def test_help_and_version_that_cannot_be_written_are_an_error(option: str) -> None:
    with open("/dev/full", "w") as full:
        result = gueststate(option, stdout=full)
    assert (result.returncode, result.stderr) == (
        2, "gueststate: cannot write the output: No space left on device\n")


def test_help_to_a_reader_that_goes_away_ends_quietly() -> None:
    with subprocess.Popen([sys.executable, "-m", "gueststate", "format", "--help"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # before anything is written
        assert (process.wait(timeout=60), process.stderr.read()) == (0, b"")


# Interrupts itself as lxml is imported, the middle of the command's start.
INTERRUPTED_WHILE_LOADING = """
import os, signal, sys

class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == "lxml.etree":
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, Interrupt())
sys.argv = ["gueststate", "--version"]
from gueststate.__main__ import main
main()
"""


def test_ctrl_c_while_the_command_loads_ends_it_quietly() -> None:
    result = subprocess.run([sys.executable, "-c", INTERRUPTED_WHILE_LOADING],
                            capture_output=True, text=True, timeout=60, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (128 + signal.SIGINT, "", "")
