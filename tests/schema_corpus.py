"""Where libvirt's own test documents for the three formats live, and what each should be.

The corpus is libvirt 11.3.0's ``*xml2xml{in,out}`` test folders, unpacked from Debian's source
package by ``tools/debian_archive.py`` into the clone's cache. libvirt's schema test expects a
document to fail exactly when its name contains ``-invalid.``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import debian_archive

#: The release whose test data the corpus is: the one our formats follow.
RELEASE = "11.3.0"

#: Folder-name fragment → the format (root element) its documents use.
FOLDER_FORMATS = {
    "domainbackupxml2xml": "domainbackup",
    "domaincheckpointxml2xml": "domaincheckpoint",
    "domainsnapshotxml2xml": "domainsnapshot",
}


@cache
def corpus_dir() -> Path:
    """The folder holding libvirt's test folders, fetched on first use (fails loudly if not)."""
    return debian_archive.tests(RELEASE)


def corpus_files() -> list[Path]:
    """Every corpus document, sorted."""
    files = sorted(corpus_dir().glob("*xml2xml*/*.xml"))
    assert files, f"no xml2xml documents in {corpus_dir()}"
    return files


def expected_format(path: Path) -> str:
    """The format a corpus document belongs to, from its folder name."""
    for fragment, name in FOLDER_FORMATS.items():
        if fragment in path.parent.name:
            return name
    raise ValueError(f"{path}: not in a known corpus folder")


def expected_valid(path: Path) -> bool:
    """libvirt's rule: a test document is meant to be invalid iff its name has ``-invalid.``."""
    return "-invalid." not in path.name


def case_id(path: Path) -> str:
    """A short, stable test id such as ``domainbackupxml2xmlin/backup-pull.xml``."""
    return f"{path.parent.name}/{path.name}"
