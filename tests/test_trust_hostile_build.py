"""Hostile documents shown with ``xml-example`` in a real ``sphinx-build -W``.

Each of the foundation's hostile inputs (the list in ``test_hostile_inputs``) is written into a
copy of ``tests/roots/test-hostile`` and built in its own process: the build must fail with
exactly one located warning, without a crash of Sphinx, a hang, the secret file's content in any
output, or a connection to the local listener the document points at.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from test_hostile_inputs import CASES, SECRET, Case, accepted_connection

ROOT = Path(__file__).parent / "roots" / "test-hostile"
BUILD_TIMEOUT_SECONDS = 120
#: ``path:line[:column]: WARNING: message``; Sphinx colours nothing with ``--no-color``.
LOCATED_WARNING = re.compile(r"^(?P<path>[^:\s]+):(?P<line>\d+)(?::\d+)?: WARNING: (?P<msg>.*)$")
#: Where the site differs from ``gueststate validate``: it shows a libvirt ``<domain>`` as a known
#: example, so an unknown root needs another name.
BUILD_CASES = [
    *(case for case in CASES if case.name != "unknown-root"),
    Case("unknown-root", lambda d, p: b"<domainsave><name>x</name></domainsave>",
         "unknown root element"),
]


def build(srcdir: Path, outdir: Path) -> tuple[int, str, str]:
    """Run ``sphinx-build -W`` in a child process; return its status, stderr and warnings."""
    warnings = outdir.parent / "warnings.txt"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        result = subprocess.run(
            [sys.executable, "-m", "sphinx", "-W", "--no-color", "-q", "-b", "html",
             "-w", str(warnings), str(srcdir), str(outdir)],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env,
            timeout=BUILD_TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"sphinx-build hung: no result after {BUILD_TIMEOUT_SECONDS} s")
    text = warnings.read_text(encoding="utf-8") if warnings.exists() else ""
    return result.returncode, result.stdout + result.stderr, text


def files_containing(directory: Path, marker: bytes) -> list[Path]:
    return [
        path for path in directory.rglob("*")
        if path.is_file() and marker in path.read_bytes()
    ]


@pytest.mark.parametrize("case", BUILD_CASES, ids=[case.name for case in BUILD_CASES])
def test_hostile_example_fails_the_build_with_one_located_warning(
    case: Case, tmp_path: Path, listener: socket.socket
) -> None:
    (tmp_path / "secret").write_text(SECRET)
    srcdir = tmp_path / "src"
    shutil.copytree(ROOT, srcdir)
    example = srcdir / "examples" / "hostile.xml"
    example.parent.mkdir()
    example.write_bytes(case.make(tmp_path, listener.getsockname()[1]))
    outdir = tmp_path / "out"

    status, output, warnings = build(srcdir, outdir)

    assert "Traceback" not in output and "Exception occurred" not in output, output
    assert status == 1, f"expected a failed -W build (status 1), got {status}:\n{output}"
    lines = warnings.splitlines()
    assert len(lines) == 1, warnings
    located = LOCATED_WARNING.match(lines[0])
    assert located is not None, f"warning without a location: {lines[0]}"
    assert Path(located["path"]) in (example, srcdir / "index.rst"), lines[0]
    assert int(located["line"]) >= 1
    assert case.expect in located["msg"].lower(), lines[0]
    assert SECRET not in output + warnings
    assert files_containing(outdir, SECRET.encode()) == []
    assert not accepted_connection(listener), "the build opened a network connection"


def test_utf16_example_with_bom_builds_and_shows_its_text(tmp_path: Path) -> None:
    srcdir = tmp_path / "src"
    shutil.copytree(ROOT, srcdir)
    example = srcdir / "examples" / "hostile.xml"
    example.parent.mkdir()
    example.write_bytes(
        '<?xml version="1.0" encoding="UTF-16"?>\n'
        "<domaincheckpoint><name>nightly-utf16</name></domaincheckpoint>".encode("utf-16")
    )
    outdir = tmp_path / "out"

    status, output, warnings = build(srcdir, outdir)

    assert (status, warnings) == (0, ""), output + warnings
    assert "nightly-utf16" in (outdir / "index.html").read_text()
