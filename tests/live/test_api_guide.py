"""The API guide's pages run as doctests: the output they show is what libvirt answered."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("checkpoints", "snapshots", "backups")
# The site's Markdown settings and doctest setup, without its own extensions.
CONF = f"""\
import sys
sys.path.insert(0, {str(ROOT)!r})
from conf import doctest_global_setup, myst_enable_extensions, myst_substitutions
extensions = ["myst_parser", "sphinx.ext.doctest", "sphinx_design"]
"""
BLOCK = re.compile(r"^```\{doctest\}.*?\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)


def examples_for_this_release(page: str, libvirt_version: tuple[int, ...]) -> int:
    """The ``>>>`` lines of a page's doctest blocks that run on this release (see ``:skipif:``)."""
    count = 0
    for block in BLOCK.finditer((ROOT / "docs" / "api" / f"{page}.md").read_text()):
        condition = re.search(r"^:skipif: (.*)$", block["body"], re.MULTILINE)
        if condition and eval(condition[1], {"libvirt_version": libvirt_version}):
            continue
        count += sum(line.startswith(">>> ") for line in block["body"].splitlines())
    return count


def test_api_guide_doctests_pass(libvirt: ModuleType, tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "docs" / "api").mkdir(parents=True)
    (source / "conf.py").write_text(CONF)
    toctree = "\n".join(f"docs/api/{page}" for page in PAGES)
    (source / "index.md").write_text(f"# API guide\n\n```{{toctree}}\n{toctree}\n```\n")
    for page in PAGES:
        shutil.copy(ROOT / "docs" / "api" / f"{page}.md", source / "docs" / "api")
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-b",
            "doctest",
            "-W",
            "-q",
            str(source),
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = (tmp_path / "out" / "output.txt").read_text()
    assert built.returncode == 0, built.stderr + report
    summary = report[report.rindex("Doctest summary") :]
    tests = int(re.search(r"(\d+) tests", summary).group(1))  # type: ignore[union-attr]
    version = tuple(libvirt.getVersion() // 1000**power % 1000 for power in (2, 1, 0))
    examples = sum(examples_for_this_release(page, version) for page in PAGES)
    assert tests == examples > 0, summary  # every example meant for this release ran
    for part in ("tests", "setup code", "cleanup code"):
        assert f"0 failures in {part}" in summary
    for page in PAGES:
        assert f"Document: docs/api/{page}" in report
