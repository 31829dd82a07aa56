"""``make linkcheck``: Sphinx's linkcheck builder on the real site, internal links only.

External URLs are ignored (CI has no network; ``make linkcheck-external`` checks them), so
what is left are the site's own links: local files and anchors.  Links between pages and to
their anchors in the built HTML are crawled by ``test_trust_browser``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: The same option ``make linkcheck`` passes.
IGNORE_EXTERNAL = "linkcheck_ignore=^https?://"


def test_linkcheck_finds_no_broken_internal_link(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-n", "-q", "--no-color", "-b", "linkcheck",
         "-D", IGNORE_EXTERNAL, "-d", str(tmp_path / "doctrees"), str(REPO), str(tmp_path)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600, cwd=REPO,
    )
    report = tmp_path / "output.json"
    assert report.is_file(), f"linkcheck wrote no report:\n{result.stderr[-4000:]}"
    rows = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    broken = [f"{row['filename']}:{row['lineno']}: {row['uri']} {row['info']}"
              for row in rows if row["status"] == "broken"]
    assert broken == [], "broken links:\n" + "\n".join(broken)
    contacted = [row["uri"] for row in rows
                 if row["uri"].startswith(("http:", "https:")) and row["status"] != "ignored"]
    assert contacted == [], f"external links were checked although ignored: {contacted}"
    assert rows, "linkcheck found no link at all: is the site there?"
    assert result.returncode == 0, result.stderr[-4000:]
