"""The xml-example directive, built on the tiny projects under tests/roots/test-example*."""

from __future__ import annotations

import html
import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sphinx.testing.util import SphinxTestApp

from gueststate import xmlsafe
from gueststate.sphinxext.example import NODE_ATTRIBUTE, examples_by_doc, examples_using
from gueststate.sphinxext.xmlpaths import document_paths, path_matches

ROOTS = Path(__file__).parent / "roots"
MakeApp = Callable[..., SphinxTestApp]


def _example_blocks(page: str) -> list[str]:
    """The text a reader copies from each example's ``div.highlight pre`` on a page."""
    blocks = re.findall(
        r'<div class="[^"]*xml-example[^"]*".*?<div class="highlight"><pre>(.*?)</pre>',
        page, flags=re.S,
    )
    texts = []
    for block in blocks:
        block = re.sub(r'<span class="linenos">.*?</span>', "", block)  # copybutton skips these
        texts.append(html.unescape(re.sub(r"<[^>]+>", "", block)))
    return texts


def _warnings(app: SphinxTestApp) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", app.warning.getvalue())


@pytest.mark.sphinx("html", testroot="example")
def test_valid_example_renders_the_file_and_records_its_dependency(app: SphinxTestApp) -> None:
    app.build()
    assert _warnings(app) == ""
    push = app.srcdir / "examples" / "push.xml"
    page = (app.outdir / "index.html").read_text(encoding="utf-8")

    assert _example_blocks(page) == [push.read_text(encoding="utf-8")]
    assert "valid against domainbackup.rng" in page
    assert "A push backup" in page
    assert page.count('<span class="hll">') == 2  # :emphasize-lines: 3-4
    link = re.search(r'<a class="reference external" href="([^"]+)">examples/push.xml</a>', page)
    assert link is not None
    assert link.group(1) == "examples/push.xml"
    assert (app.outdir / link.group(1)).read_bytes() == push.read_bytes()
    pull = (app.outdir / "pull.html").read_text(encoding="utf-8")
    assert 'href="examples/pull.xml"' in pull

    assert push in app.env.dependencies["index"]
    assert app.env.srcdir / "examples" / "checkpoint.xml" in app.env.dependencies["both"]
    [use] = examples_by_doc(app.env)["index"]
    assert (use.path, use.schema, use.expected_error) == ("examples/push.xml", "domainbackup", None)
    assert "domainbackup/disks/disk/target/@file" in use.paths


@pytest.mark.sphinx("html", testroot="example")
def test_myst_pages_line_numbers_and_copied_text(app: SphinxTestApp) -> None:
    app.build()
    page = (app.outdir / "pull.html").read_text(encoding="utf-8")
    pull = (app.srcdir / "examples" / "pull.xml").read_text(encoding="utf-8")
    assert '<span class="linenos">1</span>' in page
    assert _example_blocks(page) == [pull]


@pytest.mark.sphinx("html", testroot="example")
def test_counter_example_and_domain_marks(app: SphinxTestApp) -> None:
    app.build()
    counter = (app.outdir / "counter.html").read_text(encoding="utf-8")
    mark = (
        "counter-example: fails at line 2 with "
        "“element &lt;server&gt; is not allowed in &lt;domainbackup"
    )
    assert mark in counter
    assert "xml-example-counter" in counter
    domain = (app.outdir / "domain.html").read_text(encoding="utf-8")
    assert "valid against libvirt domain.rng" in domain
    uses = examples_by_doc(app.env)
    assert uses["domain"][0].schema == "libvirt-domain"
    assert uses["counter"][0].expected_error == "element <server> is not allowed in <domainbackup"
    assert "plain" not in uses


@pytest.mark.sphinx("html", testroot="example")
def test_examples_using_names_only_valid_examples(app: SphinxTestApp) -> None:
    app.build()
    found = examples_using(app.env, "domainbackup/disks/disk/target/@file")
    assert [(use.docname, use.path) for use in found] == [
        ("both", "examples/push.xml"), ("index", "examples/push.xml"),
    ]
    servers = examples_using(app.env, "domainbackup/server")
    assert [use.docname for use in servers] == ["pull"]  # not the counter-example's
    assert {use.docname for use in examples_using(app.env, "domaincheckpoint/name")} == {
        "both", "checkpoint",
    }


@pytest.mark.sphinx("html", testroot="example")
def test_doctree_marks_each_example_block(app: SphinxTestApp) -> None:
    app.build()
    doctree = app.env.get_doctree("both")
    marked = [node[NODE_ATTRIBUTE] for node in doctree.findall() if NODE_ATTRIBUTE in node]
    assert marked == ["examples/checkpoint.xml", "examples/push.xml"]


def _located(warnings: str, file: str, subtype: str) -> re.Match[str] | None:
    pattern = (
        rf"^(?P<file>\S*{re.escape(file)}):(?P<line>\d+)(:\d+)?: WARNING: .*\[xml\.{subtype}\]$"
    )
    return re.search(pattern, warnings, flags=re.M)


@pytest.mark.sphinx("html", testroot="example-invalid", warningiserror=True, freshenv=True)
def test_invalid_example_fails_the_build_at_the_file_and_line(app: SphinxTestApp) -> None:
    app.build()
    assert app.statuscode == 1
    warnings = _warnings(app)
    found = _located(warnings, "examples/bad.xml", "invalid_example")
    assert found is not None, warnings
    assert found.group("line") == "4"  # where the relative target path is
    assert re.search(r"shown at \S*index\.rst:4\)", warnings)


@pytest.mark.sphinx("html", testroot="example-invalid", warningiserror=True, freshenv=True)
def test_embedded_domain_is_checked_with_libvirt_schemas(app: SphinxTestApp) -> None:
    app.build()
    found = _located(_warnings(app), "examples/strict.xml", "invalid_example")
    assert found is not None, _warnings(app)
    assert "embedded <domain>" in found.group(0)


@pytest.mark.sphinx(
    "html", testroot="example-invalid", confoverrides={"xml_example_libvirt_schemas": ""},
    freshenv=True,
)
def test_without_libvirt_schemas_embedded_domains_are_open(app: SphinxTestApp) -> None:
    app.build()
    assert "examples/strict.xml" not in _warnings(app)
    assert "examples/bad.xml" in _warnings(app)


@pytest.mark.sphinx(
    "html", testroot="example", confoverrides={"xml_example_libvirt_schemas": ""}, freshenv=True
)
def test_domain_example_without_libvirt_schemas_says_so(app: SphinxTestApp) -> None:
    app.build()
    page = (app.outdir / "domain.html").read_text(encoding="utf-8")
    assert "well-formed XML (no schema configured for it)" in page
    assert examples_by_doc(app.env)["domain"][0].schema is None


@pytest.mark.sphinx("html", testroot="example-unexpected-valid", warningiserror=True, freshenv=True)
def test_counter_example_that_validates_fails_the_build(app: SphinxTestApp) -> None:
    app.build()
    assert app.statuscode == 1
    warnings = _warnings(app)
    assert _located(warnings, "examples/push.xml", "unexpected_valid") is not None, warnings
    assert "should fail with '<server> in <domainbackup>'" in warnings
    assert re.search(r"shown at \S*index\.rst:4\)", warnings)


@pytest.mark.sphinx("html", testroot="example-wrong-message", warningiserror=True, freshenv=True)
def test_counter_example_with_another_message_fails_the_build(app: SphinxTestApp) -> None:
    app.build()
    assert app.statuscode == 1
    warnings = _warnings(app)
    found = _located(warnings, "examples/push-with-server.xml", "wrong_message")
    assert found is not None, warnings
    assert "should fail with 'Invalid attribute mode'" in warnings
    assert "element <server> is not allowed in <domainbackup mode='push'>" in warnings


@pytest.mark.sphinx("html", testroot="example-missing", warningiserror=True, freshenv=True)
def test_missing_example_file_fails_the_build(app: SphinxTestApp) -> None:
    app.build()
    assert app.statuscode == 1
    assert re.search(r"index\.rst:4: WARNING: example examples/nowhere\.xml cannot be read",
                     _warnings(app))
    assert "[xml.missing_file]" in _warnings(app)


def _copy_root(tmp_path: Path, name: str = "test-example") -> Path:
    srcdir = tmp_path / name
    shutil.copytree(ROOTS / name, srcdir)
    return srcdir


def test_editing_one_example_rereads_only_the_pages_that_show_it(
    make_app: MakeApp, tmp_path: Path
) -> None:
    srcdir = _copy_root(tmp_path)
    app = make_app("html", srcdir=srcdir)
    app.build()
    assert app.builder.read() == []  # nothing changed: nothing to read

    example = srcdir / "examples" / "checkpoint.xml"
    example.write_text(example.read_text().replace("nightly", "hourly"), encoding="utf-8")
    later = example.stat().st_mtime + 10
    os.utime(example, (later, later))
    assert sorted(app.builder.read()) == ["both", "checkpoint"]
    assert {use.docname for use in examples_using(app.env, "domaincheckpoint/name")} == {
        "both", "checkpoint",
    }


def test_editing_an_example_into_an_invalid_one_warns_on_rebuild(
    make_app: MakeApp, tmp_path: Path
) -> None:
    srcdir = _copy_root(tmp_path)
    make_app("html", srcdir=srcdir).build()
    example = srcdir / "examples" / "pull.xml"
    example.write_text(example.read_text().replace("transport='unix'", "transport='rdma'"))
    later = example.stat().st_mtime + 10
    os.utime(example, (later, later))
    app = make_app("html", srcdir=srcdir, warningiserror=True, freshenv=True)
    app.build()
    assert app.statuscode == 1
    assert _located(_warnings(app), "examples/pull.xml", "invalid_example") is not None


def _snapshot(app: SphinxTestApp) -> dict[str, Any]:
    pages = {
        path.relative_to(app.outdir).as_posix(): path.read_text(encoding="utf-8")
        for path in app.outdir.glob("*.html")
    }
    return {
        "examples": {doc: uses for doc, uses in examples_by_doc(app.env).items()},
        "dependencies": {doc: set(deps) for doc, deps in app.env.dependencies.items()},
        # a second app in one process re-registers the extension; that is not a build warning
        "warnings": sorted(
            line for line in _warnings(app).splitlines() if "already registered" not in line
        ),
        "pages": pages,
    }


def test_parallel_build_equals_serial_build(make_app: MakeApp, tmp_path: Path) -> None:
    srcdir = _copy_root(tmp_path)
    serial = make_app("html", srcdir=srcdir, builddir=tmp_path / "serial")
    serial.build()
    parallel = make_app("html", srcdir=srcdir, builddir=tmp_path / "parallel", parallel=2)
    parallel.build()
    assert parallel.parallel == 2
    assert parallel.is_parallel_allowed("read")
    one, two = _snapshot(serial), _snapshot(parallel)
    assert len(one["examples"]) == 6
    assert one == two


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("domainsnapshot/cookie/*", "domainsnapshot/cookie/cpu", True),
        ("domainsnapshot/cookie/*", "domainsnapshot/cookie/@x", False),
        ("domainsnapshot/domain/@*", "domainsnapshot/domain/@type", True),
        ("a/b|c", "a/c", True),
        ("a/b|c", "a/d", False),
        ("a/b", "a/b/c", False),
    ],
)
def test_path_matches(pattern: str, path: str, expected: bool) -> None:
    assert path_matches(pattern, path) is expected


def test_document_paths_names_elements_and_attributes() -> None:
    root = xmlsafe.parse_bytes(
        b"<domainsnapshot><!-- note --><cookie><q:cpu xmlns:q='urn:x' q:mode='a'/></cookie>"
        b"<disks><disk name='vda'/></disks></domainsnapshot>",
        "<test>",
    ).getroot()
    assert document_paths(root) == {
        "domainsnapshot", "domainsnapshot/cookie", "domainsnapshot/cookie/q:cpu",
        "domainsnapshot/cookie/q:cpu/@q:mode", "domainsnapshot/disks",
        "domainsnapshot/disks/disk", "domainsnapshot/disks/disk/@name",
    }


@pytest.mark.sphinx("html", testroot="example-any-format", freshenv=True)
def test_examples_of_any_format_are_checked_with_their_grammars(app: SphinxTestApp) -> None:
    app.build()
    assert _warnings(app) == ""
    page = (app.outdir / "index.html").read_text(encoding="utf-8")
    assert "valid against mirror.rng" in page
    assert "valid against package.rng" in page  # a namespaced root, mapped as {URI}name
    assert "valid against note.rng" in page  # :schema: names the grammar's path
    assert "counter-example: fails at line 2 with" in page
    assert app.srcdir / "grammars" / "mirror.rng" in app.env.dependencies["index"]


def test_a_grammar_edited_between_two_builds_in_one_process_judges_the_second(
    make_app: MakeApp, tmp_path: Path
) -> None:
    # Some sphinx-autobuild releases build in-process: the edited grammar must be the judge.
    srcdir = tmp_path / "src"
    shutil.copytree(ROOTS / "test-example-any-format", srcdir)
    first = make_app("html", srcdir=srcdir, builddir=tmp_path / "_build", freshenv=True)
    first.build()
    assert _warnings(first) == ""
    grammar = srcdir / "grammars" / "mirror.rng"
    grammar.write_text(grammar.read_text().replace('type="positiveInteger"', 'type="boolean"'))
    later = time.time_ns() + 10**9  # newer than the first build's reading, however coarse the clock
    os.utime(grammar, ns=(later, later))
    second = make_app("html", srcdir=srcdir, builddir=tmp_path / "_build")
    second.build()
    daily = srcdir / "examples" / "daily.xml"
    assert f"{daily}:3:" in _warnings(second)
    assert "example examples/daily.xml is invalid" in _warnings(second)


def test_an_invalid_example_of_any_format_is_a_located_warning(
    make_app: MakeApp, tmp_path: Path
) -> None:
    srcdir = tmp_path / "src"
    shutil.copytree(ROOTS / "test-example-any-format", srcdir)
    daily = srcdir / "examples" / "daily.xml"
    daily.write_text(daily.read_text().replace("<every>86400</every>", "<every>daily</every>"))
    app = make_app("html", srcdir=srcdir, builddir=tmp_path / "_build", freshenv=True)
    app.build()
    warnings = _warnings(app)
    assert f"{daily}:3:" in warnings
    assert "example examples/daily.xml is invalid: line 3:" in warnings
    assert "[xml.invalid_example]" in warnings
