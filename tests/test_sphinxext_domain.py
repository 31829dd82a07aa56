"""The ``xml`` domain: objects, roles, inventory, index, search and parallel builds."""

from __future__ import annotations

import re
import shutil
from collections.abc import Set
from pathlib import Path
from typing import Any

import pytest
from sphinx.testing.util import SphinxTestApp
from sphinx.util.inventory import InventoryFile

from gueststate.rng import read_grammar, walk_paths
from gueststate.sphinxext.domain import XMLDomain

ROOTS = Path(__file__).parent / "roots"
SCHEMAS = Path(__file__).parents[1] / "schemas"
FORMATS = ("domainbackup", "domaincheckpoint", "domainsnapshot")


def inventory(app: SphinxTestApp) -> dict[str, dict[str, str]]:
    """``{"xml:element": {path: uri}, ...}`` from the built objects.inv."""
    data = InventoryFile.loads((app.outdir / "objects.inv").read_bytes(), uri="").data
    return {
        objtype: {name: item.uri for name, item in items.items()}
        for objtype, items in data.items()
        if objtype.startswith("xml:")
    }


def clean(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_inventory_holds_every_element_and_attribute_of_the_three_formats(
    formats_app: SphinxTestApp,
) -> None:
    found = inventory(formats_app)
    for name in FORMATS:
        paths = {path for path, _, _ in walk_paths(read_grammar(SCHEMAS / f"{name}.rng").start)}
        elements = {p for p in paths if "@" not in p}
        attributes = paths - elements
        assert elements and attributes
        ours = {p for p in found["xml:element"] if p.split("/")[0] == name}
        assert ours == elements
        ours = {p for p in found["xml:attribute"] if p.split("/")[0] == name}
        assert ours == attributes
    uri = found["xml:attribute"]["domainbackup/disks/disk/@exportbitmap"]
    assert uri.startswith("backup.html#xml-attribute-")


def test_objects_are_in_the_search_index(formats_app: SphinxTestApp) -> None:
    search = (formats_app.outdir / "searchindex.js").read_text(encoding="utf-8")
    assert '"domainbackup/disks/disk/@exportbitmap"' in search
    assert '"xml:attribute"' in search


def test_index_page_lists_objects_by_format(formats_app: SphinxTestApp) -> None:
    page = (formats_app.outdir / "xml-index.html").read_text(encoding="utf-8")
    for name in FORMATS:
        assert f">{name}<" in page
    assert "domaincheckpoint/disks/disk/@checkpoint" in page


@pytest.mark.sphinx("html", testroot="xmldomain", freshenv=True)
def test_roles_link_to_objects_on_other_pages(app: SphinxTestApp) -> None:
    app.build()
    assert app.statuscode == 0 and not clean(app.warning.getvalue()).strip()
    page1 = (app.outdir / "page1.html").read_text(encoding="utf-8")
    link = r'href="page2.html#{}"[^>]*><code[^>]*><span class="pre">{}<'
    assert re.search(link.format("xml-element-root2", "root2"), page1)
    # "~" shows only the last step of the path.
    assert re.search(link.format("xml-attribute-root2-child-attr-kind", "&#64;kind"), page1)
    index = (app.outdir / "index.html").read_text(encoding="utf-8")
    explicit_title = 'the</span> <span class="pre">id'
    assert re.search(link.format("xml-attribute-root2-attr-id", explicit_title), index)
    assert 'href="page3.html#xml-element-root3"' in index  # through the any role
    objects = app.env.domains["xml"].objects
    assert objects["attribute", "handmade/@flag"] == ("index", "xml-attribute-handmade-attr-flag")
    assert objects["element", "handmade"] == ("index", "xml-element-handmade")
    assert 'id="xml-attribute-handmade-attr-flag"' in index
    assert 'href="#xml-element-handmade"' in index


@pytest.mark.sphinx("html", testroot="xmldomain-unresolved", freshenv=True, warningiserror=True)
def test_unknown_attribute_fails_a_strict_build(app: SphinxTestApp) -> None:
    app.build()
    assert app.statuscode == 1
    (line,) = clean(app.warning.getvalue()).strip().splitlines()
    assert line == (
        f"{Path(app.srcdir) / 'index.md'}:3: WARNING: unknown XML attribute: "
        "domainbackup/disks/disk/@nosuch [xml.unresolved]"
    )


@pytest.mark.sphinx("html", testroot="xmldomain-duplicate", freshenv=True)
def test_an_object_described_twice_is_a_warning(app: SphinxTestApp) -> None:
    app.build()
    warnings = clean(app.warning.getvalue())
    assert "duplicate description of XML element one" in warnings
    assert "[xml.duplicate]" in warnings
    (wrong,) = [line for line in warnings.splitlines() if "[xml.invalid_name]" in line]
    assert wrong.startswith(f"{Path(app.srcdir) / 'second.md'}:6: WARNING: an XML attribute")
    assert ("attribute", "one/wrong") not in app.env.domains["xml"].objects


def test_parallel_build_gives_the_same_objects_and_html(
    make_app: type[SphinxTestApp], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    merged: list[frozenset[str]] = []
    original = XMLDomain.merge_domaindata

    def spy(self: XMLDomain, docnames: Set[str], otherdata: dict[str, Any]) -> None:
        merged.append(frozenset(docnames))
        original(self, docnames, otherdata)

    monkeypatch.setattr(XMLDomain, "merge_domaindata", spy)
    built = []
    for parallel in (0, 2):
        app = make_app(
            "html",
            srcdir=ROOTS / "test-xmldomain",
            builddir=tmp_path / f"j{parallel}",
            freshenv=True,
            parallel=parallel,
        )
        try:
            app.build()
        finally:
            app.cleanup()  # the next app starts from a clean docutils registry
        assert app.statuscode == 0 and not clean(app.warning.getvalue()).strip()
        objects = sorted(app.env.domains["xml"].get_objects())
        pages = {page.name: page.read_text(encoding="utf-8") for page in app.outdir.glob("*.html")}
        built.append((objects, inventory(app), pages))
    (serial_objects, serial_inventory, serial_pages), (objects, inv, pages) = built
    assert len(merged) >= 2, "the -j 2 build did not read in parallel"
    # Per page: root, child, @id, child/@kind; and two described by hand.
    assert len(serial_objects) == 6 * 4 + 2
    assert objects == serial_objects
    assert inv == serial_inventory
    assert pages.keys() == serial_pages.keys()
    for name, html in pages.items():
        assert html == serial_pages[name], name


def test_removed_page_takes_its_objects_away(
    make_app: type[SphinxTestApp], tmp_path: Path
) -> None:
    srcdir = tmp_path / "src"
    shutil.copytree(ROOTS / "test-xmldomain", srcdir)
    app = make_app("html", srcdir=srcdir, builddir=tmp_path / "_build", freshenv=True)
    app.build()
    assert ("element", "root3") in app.env.domains["xml"].objects
    (srcdir / "page3.md").unlink()
    index = srcdir / "index.md"
    index.write_text(index.read_text(encoding="utf-8").replace("page3\n", ""), encoding="utf-8")
    app = make_app("html", srcdir=srcdir, builddir=tmp_path / "_build")
    app.build()
    assert "page3" not in app.env.all_docs
    objects = app.env.domains["xml"].objects
    assert not [key for key, (docname, _) in objects.items() if docname == "page3"]
    assert ("element", "root4") in objects
