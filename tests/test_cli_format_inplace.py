"""`gueststate format --in-place`: the same file, its metadata, or a refusal; never a stray file.

The attacks of issue 15: a name swapped while the file is formatted, read-only files, owners
and extended attributes, hard links, symbolic links, and termination signals mid-rewrite.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gueststate import inplace

ROOT = Path(__file__).resolve().parents[1]
#: Valid, but not in canonical form: formatting changes its bytes.
MESSY = b"<domaincheckpoint>\n      <name>nightly</name>\n</domaincheckpoint>\n"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gueststate", *args],
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def document(tmp_path: Path) -> Path:
    path = tmp_path / "checkpoint.xml"
    path.write_bytes(MESSY)
    return path


def listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def formatted_bytes(document: Path) -> bytes:
    result = run("format", str(document))
    assert result.returncode == 0, result
    return result.stdout.encode()


def test_rewrites_the_file_and_keeps_mode_owner_and_xattrs(document: Path) -> None:
    expected = formatted_bytes(document)
    assert expected != MESSY
    os.chmod(document, 0o640)
    os.setxattr(document, "user.origin", b"kept")
    owner = (1234, 4321) if os.geteuid() == 0 else (os.getuid(), os.getgid())
    os.chown(document, *owner)

    result = run("format", "--in-place", str(document))

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert document.read_bytes() == expected
    status = document.stat()
    assert (status.st_mode & 0o7777, status.st_uid, status.st_gid) == (0o640, *owner)
    assert os.getxattr(document, "user.origin") == b"kept"
    assert listing(document.parent) == ["checkpoint.xml"]


def test_read_only_file_is_refused_and_untouched(document: Path) -> None:
    document.chmod(0o444)
    result = run("format", "--in-place", str(document))
    assert result.returncode == 2
    assert result.stderr == f"gueststate: {document}: cannot rewrite: it is read-only\n"
    assert document.read_bytes() == MESSY


def test_hard_linked_file_is_refused(document: Path) -> None:
    os.link(document, document.with_name("other.xml"))
    result = run("format", "--in-place", str(document))
    assert result.returncode == 2
    assert "2 hard links" in result.stderr and len(result.stderr.splitlines()) == 1
    assert document.read_bytes() == MESSY


def test_symlink_is_followed_once_and_stays_a_link(document: Path) -> None:
    expected = formatted_bytes(document)
    link = document.with_name("link.xml")
    link.symlink_to(document.name)
    result = run("format", "--in-place", str(link))
    assert result.returncode == 0, result
    assert link.is_symlink() and os.readlink(link) == document.name
    assert document.read_bytes() == expected


def test_name_swapped_during_formatting_is_refused(document: Path) -> None:
    victim = document.with_name("victim.xml")
    victim.write_bytes(b"precious")

    def swap_then_format(data: bytes) -> bytes:
        # What an attacker does between the read and the rename: point the name elsewhere.
        document.unlink()
        document.symlink_to(victim.name)
        return b"formatted"

    with pytest.raises(inplace.Refused, match="replaced while being formatted"):
        inplace.rewrite(document, swap_then_format)
    assert victim.read_bytes() == b"precious"
    assert document.is_symlink()
    assert listing(document.parent) == ["checkpoint.xml", "victim.xml"]


#: What another program appends while the file is formatted (the outside tester's edit).
APPENDED = b"<!-- IMPORTANT -->\n"


def _append(document: Path, original: os.stat_result) -> None:
    with document.open("ab") as file:
        file.write(APPENDED)


def _until_moved(document: Path, original: os.stat_result, act: Callable[[], object]) -> None:
    """Repeat ``act`` until the file's times move past ``original``'s: with a coarse clock,
    an edit made in the same tick as the last one keeps the times (an event to wait for)."""
    deadline = time.monotonic() + 30
    while True:
        act()
        now = document.stat()
        if (now.st_mtime_ns, now.st_ctime_ns) != (original.st_mtime_ns, original.st_ctime_ns):
            return
        assert time.monotonic() < deadline, "the clock did not move"


def _overwrite_same_size(document: Path, original: os.stat_result) -> None:
    def overwrite() -> None:
        with document.open("r+b") as file:
            file.write(MESSY.replace(b"nightly", b"weekly!"))

    _until_moved(document, original, overwrite)


def _chmod(document: Path, original: os.stat_result) -> None:
    _until_moved(document, original, lambda: document.chmod(0o600))


EDITED = {
    _append: MESSY + APPENDED,
    _overwrite_same_size: MESSY.replace(b"nightly", b"weekly!"),
    _chmod: MESSY,
}


@pytest.mark.parametrize("temporary", ["unnamed", "named"])
@pytest.mark.parametrize("edit", list(EDITED), ids=lambda edit: edit.__name__.strip("_"))
def test_file_edited_during_formatting_is_refused_and_keeps_the_edit(
    document: Path, monkeypatch: pytest.MonkeyPatch, temporary: str,
    edit: Callable[[Path, os.stat_result], None],
) -> None:
    if temporary == "named":
        monkeypatch.setattr(inplace, "_unnamed_file", lambda dir_fd: None)
    original = document.stat()

    def edit_then_format(data: bytes) -> bytes:
        # Between the read and the rename, deterministically: another program edits the file.
        edit(document, original)
        return b"formatted"

    with pytest.raises(inplace.Refused, match="changed while being formatted"):
        inplace.rewrite(document, edit_then_format)
    assert document.read_bytes() == EDITED[edit]
    assert listing(document.parent) == ["checkpoint.xml"]


# The command line, with another program appending to the file while it is formatted.
_APPENDING = """
import sys
from gueststate import cli, inplace
real_rewrite = inplace.rewrite
def rewrite(path, transform):
    def transform_then_append(data):
        formatted = transform(data)
        with open(path, "ab") as file:
            file.write(sys.argv[2].encode())
        return formatted
    real_rewrite(path, transform_then_append)
inplace.rewrite = rewrite
sys.exit(cli.main(["format", "--in-place", sys.argv[1]]))
"""


def test_command_refuses_a_file_appended_to_during_formatting(document: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _APPENDING, str(document), APPENDED.decode()],
        capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (2, ""), result
    assert result.stderr == (f"gueststate: {document}: cannot rewrite: "
                             "it changed while being formatted; left as it is\n")
    assert document.read_bytes() == MESSY + APPENDED
    assert listing(document.parent) == ["checkpoint.xml"]


def test_file_that_is_not_valid_is_left_as_it_is(document: Path) -> None:
    document.write_bytes(b"<domaincheckpoint><nope/></domaincheckpoint>")
    result = run("format", "--in-place", str(document))
    assert result.returncode == 1
    assert document.read_bytes() == b"<domaincheckpoint><nope/></domaincheckpoint>"
    assert listing(document.parent) == ["checkpoint.xml"]


# A child that receives a signal right after its temporary file holds the new content.
_SIGNALLED = """
import os, signal, sys
from gueststate import cli, inplace
if sys.argv[1] == "named":
    inplace._unnamed_file = lambda dir_fd: None  # as on a file system without O_TMPFILE
real_copy = inplace._copy_metadata
def copy_then_signal(source, target, before):
    real_copy(source, target, before)
    os.kill(os.getpid(), getattr(signal, sys.argv[2]))
inplace._copy_metadata = copy_then_signal
sys.exit(cli.main(["format", "--in-place", sys.argv[3]]))
"""


@pytest.mark.parametrize("temporary", ["unnamed", "named"])
@pytest.mark.parametrize("name", ["SIGTERM", "SIGINT", "SIGHUP"])
def test_signal_mid_rewrite_leaves_no_temporary_file(
    document: Path, temporary: str, name: str
) -> None:
    result = subprocess.run([sys.executable, "-c", _SIGNALLED, temporary, name, str(document)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 128 + getattr(signal, name), result
    assert "Traceback" not in result.stderr
    assert listing(document.parent) == ["checkpoint.xml"]
    assert document.read_bytes() == MESSY
