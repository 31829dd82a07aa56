"""``rng-reference`` on grammars no one here wrote, and on the constructs that defeated paths.

Small grammars (recursion through references, mutual recursion, one name defined twice,
namespaced names) are in ``tests/roots/test-any-grammar``.  The real ones come from Debian's
archive, unpacked into the cache by ``tools/debian_archive.py``: DocBook 5.0, XHTML 1.1 and
libvirt's domain grammar, each rendered in the minimal project ``docs/extension.md`` describes.
Every element name ``jing -s`` finds must be an ``xml:element`` object of the build.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest
from lxml import etree
from sphinx.testing.util import SphinxTestApp
from sphinx.util.inventory import InventoryFile

from gueststate import schemas, xmlsafe
from gueststate.rng.definitions import read_definitions

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import debian_archive  # noqa: E402
from test_rng_libvirt import jing_inventory  # noqa: E402

#: Largest HTML page a reference may make (issue 14): readers and browsers cope below it.
MAX_PAGE_BYTES = 3 * 1024 * 1024


def inventory(app: SphinxTestApp) -> dict[str, dict[str, str]]:
    data = InventoryFile.loads((app.outdir / "objects.inv").read_bytes(), uri="").data
    return {kind: {name: item.uri for name, item in items.items()}
            for kind, items in data.items()}


@pytest.mark.sphinx("html", testroot="any-grammar", freshenv=True)
def test_small_grammars_build_strictly_with_one_entry_per_definition(
    app: SphinxTestApp,
) -> None:
    app.build()
    assert app.statuscode == 0
    warnings = app.warning.getvalue()
    assert "subtree.md:9: WARNING: grammar recursive.rng has no element nothing" in warnings
    assert warnings.count("WARNING") == 1
    subtree = (app.outdir / "subtree.html").read_text()
    assert re.findall(r'<section class="xml-element" id="([^"]+)"', subtree) == [
        "xml-element-file", "xml-element-source"]
    objects = inventory(app)
    elements = objects["xml:element"]
    # Recursion and mutual recursion are references: each element once, and two
    # definitions of <source> two entries.
    for key in ("doc", "div", "p", "em", "strong", "file", "net", "source", "source[2]"):
        assert key.split("[")[0] in elements and key in elements, key
    assert {"source/@path", "source[2]/@host"} <= set(objects["xml:attribute"])
    html = (app.outdir / "recursive.html").read_text()
    assert html.count('id="xml-element-div"') == 1
    assert "Content models read:" in html
    # Namespaces: prefixes in object names, elements of two namespaces kept apart.
    assert {"package/dc:title", "package/title", "package/qemu:commandline",
            "package/bhyve:commandline"} <= set(elements)
    assert "package/@xml:lang" in objects["xml:attribute"]
    links = (app.outdir / "links.html").read_text()
    assert links.count('class="reference internal"') >= 4


def _build_reference(tmp_path: Path, grammar_dir: Path, grammar: str, by: str) -> SphinxTestApp:
    """The minimal project of docs/extension.md rendering ``grammar`` (copied in)."""
    source = tmp_path / "src"
    shutil.copytree(grammar_dir, source / "grammar")
    (source / "conf.py").write_text('extensions = ["myst_parser", "gueststate.sphinxext"]\n'
                                    'exclude_patterns = ["_build"]\n')
    (source / "index.md").write_text(f"# Reference\n\n```{{rng-reference}} grammar/{grammar}\n"
                                     f":by: {by}\n```\n")
    app = SphinxTestApp("html", srcdir=source, builddir=tmp_path / "build", freshenv=True,
                        confoverrides={"nitpicky": True})
    try:
        app.build()
    finally:
        app.cleanup()
    return app


REAL_GRAMMARS = {
    "docbook-5.0": ("docbook5-xml", "usr/share/xml/docbook/schema/rng/5.0", "docbook.rng"),
    "xhtml-1.1": ("xhtml-relaxng", "usr/share/xml/xhtml-relaxng", "xhtml.rng"),
    "xhtml-basic": ("xhtml-relaxng", "usr/share/xml/xhtml-relaxng", "xhtml-basic.rng"),
}


@pytest.mark.parametrize("name", [*REAL_GRAMMARS, "libvirt-domain"])
def test_real_grammars_build_strictly_with_every_element_jing_finds(
    name: str, tmp_path: Path
) -> None:
    if name == "libvirt-domain":
        folder, grammar, by = debian_archive.schemas("9.0.0"), "domain.rng", "definition"
    else:
        package, subdir, grammar = REAL_GRAMMARS[name]
        folder, by = debian_archive.package(package) / subdir, "auto"
    app = _build_reference(tmp_path, folder, grammar, by)
    assert app.statuscode == 0, app.warning.getvalue()
    assert "WARNING" not in app.warning.getvalue()
    pages = list(app.outdir.glob("*.html"))
    assert pages and all(page.stat().st_size <= MAX_PAGE_BYTES for page in pages), [
        (page.name, page.stat().st_size) for page in pages]
    elements = set(inventory(app)["xml:element"])
    prefixes = {uri: prefix for prefix, uri in read_definitions(folder / grammar)
                .namespaces.items()}
    missing = set()
    for kind, namespace, local in jing_inventory(folder / grammar).names:
        if kind != "element":
            continue
        prefix = prefixes.get(namespace, "")
        key = f"{prefix}:{local}" if prefix else local
        if key not in elements:
            missing.add(key)
    assert not missing


#: A small valid document of each real grammar, the one an author's example would be.
REAL_DOCUMENTS = {
    "docbook-5.0": b"<article xmlns='http://docbook.org/ns/docbook' version='5.0'>"
                   b"<title>T</title><para>p</para></article>",
    "xhtml-1.1": b"<html xmlns='http://www.w3.org/1999/xhtml'><head><title>T</title></head>"
                 b"<body><p>p</p></body></html>",
    "xhtml-basic": b"<html xmlns='http://www.w3.org/1999/xhtml'><head><title>T</title></head>"
                   b"<body><p>p</p></body></html>",
}


@pytest.mark.parametrize("name", REAL_GRAMMARS)
def test_examples_validate_against_real_document_grammars(name: str) -> None:
    """An ``xml-example`` checked against a document grammar, as its author names it."""
    package, subdir, grammar = REAL_GRAMMARS[name]
    path = debian_archive.package(package) / subdir / grammar
    document = xmlsafe.parse_bytes(REAL_DOCUMENTS[name], "example.xml").getroot()
    assert schemas.validate_element(path, document, "example.xml") == []
    document.append(etree.Element("{urn:x}stray"))
    assert schemas.validate_element(path, document, "example.xml")
