"""Site-wide promises about examples, checked on the real site and the real examples/ tree.

* Every element and attribute our grammars allow is used by at least one valid example.
* No page shows XML that did not come through the validating ``xml-example`` directive, and
  every file under examples/ is shown by some page (counter-examples as counter-examples).
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from docutils import nodes
from sphinx.environment import BuildEnvironment
from sphinx.testing.util import SphinxTestApp

from gueststate import schemas
from gueststate.rng import Node, read_grammar, walk_paths
from gueststate.sphinxext.example import (
    NODE_ATTRIBUTE,
    Verdict,
    check_example,
    examples_by_doc,
)
from gueststate.sphinxext.xmlpaths import path_matches

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
INVALID = EXAMPLES / "invalid"


def _example_files() -> list[Path]:
    files = sorted(EXAMPLES.rglob("*.xml"))
    assert files, f"no example files under {EXAMPLES}"
    return files


def _relative(file: Path) -> str:
    return file.relative_to(ROOT).as_posix()


def _is_counter_example(file: Path) -> bool:
    return INVALID in file.parents


@pytest.mark.parametrize("file", _example_files(), ids=_relative)
def test_example_file_keeps_its_promise(file: Path) -> None:
    """Valid examples validate; counter-examples fail (the pages say with which message)."""
    verdict = _check(file)
    if _is_counter_example(file):
        assert verdict.problems, f"{_relative(file)} is a counter-example but validates"
    else:
        assert not verdict.problems, "\n".join(str(problem) for problem in verdict.problems)
        assert verdict.schema is not None, f"{_relative(file)} was checked against no schema"


def _check(file: Path) -> Verdict:
    return check_example(file.read_bytes(), str(file), None, schemas.LIBVIRT_SCHEMA_DIR)


def _used_paths() -> set[str]:
    used: set[str] = set()
    for file in _example_files():
        if _is_counter_example(file):
            continue
        verdict = _check(file)
        if not verdict.problems:
            used.update(verdict.paths)
    return used


@pytest.mark.parametrize("name", sorted(schemas.FORMATS))
def test_every_element_and_attribute_is_shown_in_a_valid_example(name: str) -> None:
    """Coverage against the grammar.

    A path counts as shown when a valid example uses it (``*`` steps match any name).  A
    pattern the grammar defines once and reaches from several places (the same source line, as
    the disk of ``<disks>`` and ``<revertDisks>``) counts as shown when it is shown at any of
    them: readers see that definition in use.
    """
    model = read_grammar(schemas.schema_path(name))
    by_path: dict[str, list[Node]] = defaultdict(list)
    for path, node, _ancestors in walk_paths(model.start):
        by_path[path].append(node)
    used = _used_paths()
    shown = {path for path in by_path if any(path_matches(path, use) for use in used)}
    shown_sources = {node.source for path in shown for node in by_path[path]}
    missing = [
        path
        for path, patterns in by_path.items()
        if path not in shown
        and not all(node.source is not None and node.source in shown_sources for node in patterns)
    ]
    assert len(by_path) > 10, f"the {name} grammar yielded only {sorted(by_path)}"
    assert not missing, f"no valid example under examples/ uses: {', '.join(sorted(missing))}"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuildEnvironment]:
    """The real site, read from scratch into a temporary directory."""
    if not (ROOT / "conf.py").is_file():
        pytest.fail(f"no site to check: {ROOT / 'conf.py'} is missing")
    app = SphinxTestApp(
        "dummy", srcdir=ROOT, builddir=tmp_path_factory.mktemp("site"), freshenv=True,
        status=io.StringIO(), warning=io.StringIO(),
    )
    try:
        app.build()
        yield app.env
    finally:
        app.cleanup()


def _looks_like_xml(block: nodes.literal_block) -> bool:
    language = str(block.get("language", ""))
    return language.startswith("xml") or block.astext().lstrip().startswith("<")


def test_no_page_shows_unchecked_xml(site: BuildEnvironment) -> None:
    offenders = []
    for docname in sorted(site.found_docs):
        for block in site.get_doctree(docname).findall(nodes.literal_block):
            if NODE_ATTRIBUTE not in block and _looks_like_xml(block):
                offenders.append(f"{site.doc2path(docname)}:{block.line}")
    assert not offenders, (
        "XML shown without the xml-example directive (move it to examples/ and use "
        "xml-example): " + ", ".join(offenders)
    )


def test_every_example_file_is_shown_by_a_page(site: BuildEnvironment) -> None:
    shown = {use.path for uses in examples_by_doc(site).values() for use in uses}
    unshown = [_relative(file) for file in _example_files() if _relative(file) not in shown]
    assert not unshown, f"example files no page shows: {', '.join(unshown)}"


def test_counter_examples_are_shown_as_counter_examples(site: BuildEnvironment) -> None:
    wrong = [
        f"{site.doc2path(use.docname)}:{use.line} shows {use.path}"
        for uses in examples_by_doc(site).values()
        for use in uses
        if use.path.startswith("examples/invalid/") == use.valid
    ]
    assert not wrong, (
        "files under examples/invalid/ need :invalid:, and only they may have it: "
        + "; ".join(wrong)
    )
