"""The API guide's pages run as doctests: the output they show is what libvirt answered."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("checkpoints", "snapshots", "backups")
CONF = """\
extensions = ["myst_parser", "sphinx.ext.doctest"]
myst_enable_extensions = ["colon_fence", "deflist", "fieldlist", "attrs_block", "attrs_inline"]
"""


def test_api_guide_doctests_pass(tmp_path: Path) -> None:
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
    examples = sum(
        line.startswith(">>> ")
        for page in PAGES
        for line in (ROOT / "docs" / "api" / f"{page}.md").read_text().splitlines()
    )
    assert tests == examples > 0, summary  # every example of every page ran
    for part in ("tests", "setup code", "cleanup code"):
        assert f"0 failures in {part}" in summary
    for page in PAGES:
        assert f"Document: docs/api/{page}" in report
