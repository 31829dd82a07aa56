"""Document corpora against our schemas: the invalid ones fail, the rest pass.

One test case per file, as libvirt's virschematest does for its schemas: libvirt 11.3.0's own
test documents (``shared/corpus``), then this project's hand-made cases
(``tests/schema_cases/<format>/``).  A document must be rejected exactly when its name contains
``-invalid.``.
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

from gueststate.schemas import FORMATS, validate_file

CASES_DIR = Path(__file__).resolve().parent / "schema_cases"
OWN_CASES = sorted(CASES_DIR.glob("*/*.xml"))


def _corpus_cases() -> list[Path | None]:
    try:
        return list(corpus_files())
    except CorpusMissing:
        return [None]  # one case that fails with the reason, rather than nothing to run


def _check(path: Path, fmt: str) -> None:
    result = validate_file(path)
    assert result.schema == fmt
    if expected_valid(path):
        assert result.valid, "\n".join(str(problem) for problem in result.problems)
    else:
        assert not result.valid, f"{path.name} is meant to be rejected but validates"
        assert any(problem.line > 0 for problem in result.problems), result.problems


@pytest.mark.parametrize(
    "path", _corpus_cases(), ids=lambda p: case_id(p) if p is not None else "corpus-missing"
)
def test_libvirt_corpus_document(path: Path | None) -> None:
    if path is None:
        corpus_files()  # raises CorpusMissing with the explanation
        pytest.fail(f"no corpus at {CORPUS}")
    _check(path, expected_format(path))


def test_corpus_covers_every_folder() -> None:
    folders = {path.parent.name.removeprefix("qemu") for path in corpus_files()}
    for fmt in FORMATS:
        assert {f"{fmt}xml2xmlin", f"{fmt}xml2xmlout"} <= folders
    invalid = [path for path in corpus_files() if not expected_valid(path)]
    assert len(invalid) == 8, [case_id(path) for path in invalid]


@pytest.mark.parametrize("path", OWN_CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_own_case(path: Path) -> None:
    _check(path, path.parent.name)


def test_own_cases_cover_every_format_both_ways() -> None:
    for fmt in FORMATS:
        names = [p.name for p in OWN_CASES if p.parent.name == fmt]
        assert any("-invalid." in n for n in names) and any("-invalid." not in n for n in names)
