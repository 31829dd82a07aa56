"""Document corpora against our schemas: the invalid ones fail, the rest pass.

One test case per file, as libvirt's virschematest does for its schemas: libvirt 11.3.0's own
test documents (Debian's source package, via ``schema_corpus``), then this project's hand-made
cases (``tests/schema_cases/<format>/``).  A document must be rejected exactly when its name
contains ``-invalid.``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from schema_corpus import case_id, corpus_files, expected_format, expected_valid

from gueststate import xmlsafe
from gueststate.schemas import FORMATS, validate_file

CASES_DIR = Path(__file__).resolve().parent / "schema_cases"
OWN_CASES = sorted(CASES_DIR.glob("*/*.xml"))


def _check(path: Path, fmt: str) -> None:
    result = validate_file(path)
    assert result.schema == fmt
    if expected_valid(path):
        assert result.valid, "\n".join(str(problem) for problem in result.problems)
    else:
        assert not result.valid, f"{path.name} is meant to be rejected but validates"
        assert any(problem.line > 0 for problem in result.problems), result.problems


# A corpus that cannot be fetched fails collection loudly (ArchiveUnavailable says why).
@pytest.mark.parametrize("path", corpus_files(), ids=case_id)
def test_libvirt_corpus_document(path: Path) -> None:
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


# ------------------------------------------------------------------------------------------
# The schemas themselves: readable by libxml2 both ways, and documented for readers
# ------------------------------------------------------------------------------------------

SCHEMAS_DIR = Path(__file__).resolve().parents[1] / "schemas"
RELAX_NG = "{http://relaxng.org/ns/structure/1.0}"
DOCUMENTATION = "{http://relaxng.org/ns/compatibility/annotations/1.0}documentation"
SINCE = "{urn:x-gueststate:annotations}since"


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_xmllint_reads_our_annotated_schema(fmt: str) -> None:
    if shutil.which("xmllint") is None:
        pytest.fail("xmllint is missing: install Debian's libxml2-utils")
    sample = next(p for p in OWN_CASES if p.parent.name == fmt and expected_valid(p))
    run = subprocess.run(
        ["xmllint", "--noout", "--relaxng", str(SCHEMAS_DIR / FORMATS[fmt]), str(sample)],
        capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 0 and run.stderr.strip().endswith(" validates"), run.stderr


@pytest.mark.parametrize("schema", sorted(SCHEMAS_DIR.glob("*.rng")), ids=lambda p: p.name)
def test_every_element_attribute_and_alternative_is_documented(schema: Path) -> None:
    grammar = xmlsafe.parse_file(schema)
    undocumented = []
    for pattern in grammar.iter(f"{RELAX_NG}element", f"{RELAX_NG}attribute", f"{RELAX_NG}group"):
        parent = pattern.getparent()
        in_choice = parent is not None and parent.tag == f"{RELAX_NG}choice"
        if pattern.tag == f"{RELAX_NG}group" and not in_choice:
            continue
        first = next((c for c in pattern if isinstance(c.tag, str)), None)
        text = (first.text or "").strip() if first is not None else ""
        if first is None or first.tag != DOCUMENTATION or not text or "\n" in text:
            undocumented.append(f"line {pattern.sourceline}: {pattern.get('name', '(group)')}")
        since = pattern.get(SINCE)
        if since is not None and not re.fullmatch(r"\d+\.\d+\.\d+", since):
            undocumented.append(f"line {pattern.sourceline}: gs:since={since!r} is not X.Y.Z")
    assert not undocumented, f"{schema.name}: " + ", ".join(undocumented)
