"""Reproducible and parallel builds of the real site.

The site's sources are copied once (so that edits made while the tests run cannot tell two
builds apart); then two clean serial builds with the same ``SOURCE_DATE_EPOCH`` must give
byte-identical HTML, ``objects.inv`` and every other output file, and a ``-j 2`` build must give
the same bytes as a serial one.
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCE_DATE_EPOCH = "1700000000"
BUILD_TIMEOUT_SECONDS = 600
#: Not the site: tooling, caches and earlier builds.
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "_build", ".cache", ".*_cache", ".hypothesis", "__pycache__", "tests",
    "bench", "*.egg-info",
)


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("site") / "src"
    shutil.copytree(REPO, copy, ignore=NOT_SOURCES)
    return copy


def build(sources: Path, outdir: Path, *options: str) -> Path:
    """A clean HTML build of ``sources`` into ``outdir`` (doctrees beside it)."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH, "PYTHONHASHSEED": "random"}
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-E", "-n", "-q", "--no-color", *options, "-b", "html",
         "-d", str(outdir.with_name(outdir.name + ".doctrees")), str(sources), str(outdir)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env,
        timeout=BUILD_TIMEOUT_SECONDS, cwd=sources,
    )
    assert result.returncode == 0, f"the site does not build:\n{result.stderr[-4000:]}"
    return outdir


def first_difference(left: Path, right: Path) -> str | None:
    """None when both trees hold the same files with the same bytes; else the first difference."""
    left_files = sorted(p.relative_to(left) for p in left.rglob("*") if p.is_file())
    right_files = sorted(p.relative_to(right) for p in right.rglob("*") if p.is_file())
    if left_files != right_files:
        only = sorted(set(left_files) ^ set(right_files))
        return f"different file lists; in one build only: {[str(p) for p in only[:10]]}"
    for name in left_files:
        a, b = (left / name).read_bytes(), (right / name).read_bytes()
        if a == b:
            continue
        if name.suffix in (".html", ".js", ".txt", ".css"):
            diff = difflib.unified_diff(
                a.decode(errors="replace").splitlines(), b.decode(errors="replace").splitlines(),
                lineterm="", n=0,
            )
            return f"{name} differs:\n" + "\n".join(list(diff)[:12])[:2000]
        pairs = enumerate(zip(a, b, strict=False))
        at = next((i for i, (x, y) in pairs if x != y), min(len(a), len(b)))
        return f"{name} differs from byte {at} ({len(a)} and {len(b)} bytes)"
    return None


@pytest.fixture(scope="module")
def serial(sources: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(sources, tmp_path_factory.mktemp("serial") / "html")


def test_two_clean_builds_are_byte_identical(
    sources: Path, serial: Path, tmp_path: Path
) -> None:
    again = build(sources, tmp_path / "html")
    assert (serial / "objects.inv").is_file() and any(serial.rglob("*.html"))
    assert first_difference(serial, again) is None, first_difference(serial, again)


def test_parallel_build_equals_serial(sources: Path, serial: Path, tmp_path: Path) -> None:
    parallel = build(sources, tmp_path / "html", "-j", "2")
    assert first_difference(serial, parallel) is None, first_difference(serial, parallel)
