"""Where libvirt's own test documents for the three formats live, and what each should be.

The corpus is a copy of libvirt 11.3.0's ``*xml2xml{in,out}`` test folders, kept in
``shared/corpus`` beside the checkout (CI copies ``shared/`` next to its fresh clone).
libvirt's schema test expects a document to fail exactly when its name contains ``-invalid.``.
"""

from __future__ import annotations

from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "libvirt-11.3"

#: Folder-name fragment → the format (root element) its documents use.
FOLDER_FORMATS = {
    "domainbackupxml2xml": "domainbackup",
    "domaincheckpointxml2xml": "domaincheckpoint",
    "domainsnapshotxml2xml": "domainsnapshot",
}


class CorpusMissing(AssertionError):
    """The shared corpus is not where the tests expect it."""


def corpus_files() -> list[Path]:
    """Every corpus document, sorted; raises :class:`CorpusMissing` when there are none."""
    files = sorted(CORPUS.glob("*xml2xml*/*.xml"))
    if not files:
        raise CorpusMissing(
            f"libvirt's test corpus was not found at {CORPUS}: copy shared/corpus/libvirt-11.3 "
            "beside the checkout (see DESIGN.md, 'Facts to build on')"
        )
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
