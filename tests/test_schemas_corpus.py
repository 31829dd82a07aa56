"""libvirt's own test documents against our schemas: the invalid ones fail, the rest pass.

One test case per corpus file, as libvirt's virschematest does for its schemas.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from schema_corpus import (
    CORPUS,
    CorpusMissing,
    case_id,
    corpus_files,
    expected_format,
    expected_valid,
)

from gueststate.schemas import validate_file


def _cases() -> list[Path | None]:
    try:
        return list(corpus_files())
    except CorpusMissing:
        return [None]  # one case that fails with the reason, rather than nothing to run


@pytest.mark.parametrize(
    "path", _cases(), ids=lambda p: case_id(p) if p is not None else "corpus-missing"
)
def test_corpus_document(path: Path | None) -> None:
    if path is None:
        corpus_files()  # raises CorpusMissing with the explanation
        pytest.fail(f"no corpus at {CORPUS}")
    result = validate_file(path)
    assert result.schema == expected_format(path)
    if expected_valid(path):
        assert result.valid, "\n".join(str(problem) for problem in result.problems)
    else:
        assert not result.valid, f"{path.name} is meant to be rejected but validates"
        assert any(problem.line > 0 for problem in result.problems), result.problems


def test_corpus_covers_every_folder() -> None:
    folders = {path.parent.name for path in corpus_files()}
    for fragment in ("domainbackupxml2xml", "domaincheckpointxml2xml", "domainsnapshotxml2xml"):
        assert {f"{fragment}in", f"{fragment}out"} <= {f.removeprefix("qemu") for f in folders}
    invalid = [path for path in corpus_files() if not expected_valid(path)]
    assert len(invalid) == 8, [case_id(path) for path in invalid]
