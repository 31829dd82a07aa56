"""Every object of a page has an HTML id of its own, and every link, index and search entry
uses it: paths that read the same once made an id (``x/a.b``, ``x/a-b``, ``x/a_b``, ``x/A_B``;
``x/日`` and ``x``) once shared one, and links landed on the wrong section."""

from __future__ import annotations

import re
from pathlib import Path

from sphinx.testing.util import SphinxTestApp
from sphinx.util.inventory import InventoryFile

from gueststate.sphinxext.render import Ids, object_id

RNG = 'xmlns="http://relaxng.org/ns/structure/1.0"'
NAMES = ["é", "ü", "日", "a.b", "a-b", "a_b", "A_B"]
GRAMMAR = (f'<grammar {RNG}><start><element name="x">'
           + "".join(f'<element name="{name}"><attribute name="id"/></element>'
                     for name in NAMES)
           + "</element></start></grammar>")


def _build(tmp_path: Path, pages: dict[str, str]) -> SphinxTestApp:
    source = tmp_path / "src"
    source.mkdir()
    (source / "grammar.rng").write_text(GRAMMAR, encoding="utf-8")
    (source / "other.rng").write_text(
        f'<grammar {RNG}><start><element name="x"><element name="a.b">'
        '<empty/></element></element></start></grammar>', encoding="utf-8")
    (source / "conf.py").write_text('extensions = ["myst_parser", "gueststate.sphinxext"]\n'
                                    'exclude_patterns = ["_build"]\n')
    for name, text in pages.items():
        (source / name).write_text(text, encoding="utf-8")
    app = SphinxTestApp("html", srcdir=source, builddir=tmp_path / "build", freshenv=True)
    try:
        app.build()
    finally:
        app.cleanup()
    return app


def _anchors(app: SphinxTestApp) -> dict[str, str]:
    """Each ``xml`` object of the inventory -> its anchor."""
    data = InventoryFile.loads((app.outdir / "objects.inv").read_bytes(), uri="").data
    return {name: item.uri.partition("#")[2]
            for kind, items in data.items() if kind.startswith("xml:")
            for name, item in items.items()}


def test_paths_that_read_the_same_get_ids_of_their_own(tmp_path: Path) -> None:
    app = _build(tmp_path, {"index.md": "# Ref\n\n```{rng-reference} grammar.rng\n```\n"})
    assert "WARNING" not in app.warning.getvalue()
    html = (app.outdir / "index.html").read_text(encoding="utf-8")
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    anchors = _anchors(app)
    paths = ["x", *(f"x/{name}" for name in NAMES)]
    assert set(anchors) == {*paths, *(f"{path}/@id" for path in paths[1:])}
    assert len(set(anchors.values())) == len(anchors)
    # Each section's id is its own object's anchor: it says that path.
    for path in paths:
        section = re.search(rf'<section class="xml-element" id="{anchors[path]}">(.*?)</dl>',
                            html, re.S)
        assert section is not None, path
        assert f'<span class="pre">{path}</span>' in section.group(1), path
    # Links, the XML index and the search index lead to the same anchors.
    for path in paths[1:]:
        assert f'href="#{anchors[path]}" title="{path}"' in html
    xml_index = (app.outdir / "xml-index.html").read_text(encoding="utf-8")
    search = (app.outdir / "searchindex.js").read_text(encoding="utf-8")
    for anchor in anchors.values():
        assert f"index.html#{anchor}" in xml_index and f'"{anchor}"' in search
    # Ordinary names keep the ids other pages link to; the first of equals keeps its own.
    assert anchors["x"] == "xml-element-x"
    assert anchors["x/a.b"] == "xml-element-x-a-b"
    assert anchors["x/a_b/@id"] == object_id("attribute", "x/a_b/@id") + "-" + (
        anchors["x/a_b/@id"].rsplit("-", 1)[1])


def test_two_grammars_and_a_hand_written_object_on_one_page_share_no_id(
    tmp_path: Path,
) -> None:
    page = ("# Ref\n\n```{xml:element} x/a--b\n```\n\n"
            "```{rng-reference} grammar.rng\n```\n\n"
            "```{rng-reference} other.rng\n:no-index:\n```\n")
    app = _build(tmp_path, {"index.md": page})
    html = (app.outdir / "index.html").read_text(encoding="utf-8")
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    anchors = _anchors(app)
    assert anchors["x/a--b"] == "xml-element-x-a-b"  # the hand-written one came first
    assert anchors["x/a.b"].startswith("xml-element-x-a-b-")
    assert "WARNING" not in app.warning.getvalue()


def test_ids_are_stable_and_readable() -> None:
    first, second = Ids(), Ids()
    for ids in (first, second):
        assert ids.get("element", "domainbackup/disks") == "xml-element-domainbackup-disks"
        assert ids.get("element", "x/a.b") == "xml-element-x-a-b"
    again = first.get("element", "x/a_b")
    assert again == second.get("element", "x/a_b") != "xml-element-x-a-b"
    assert again.startswith("xml-element-x-a-b-")
    assert first.get("element", "x/a_b") == again  # asked twice, the same
    assert object_id("element", "x/日") != object_id("element", "x")
    assert Ids({"xml-element-x"}).get("element", "x") != "xml-element-x"


def test_named_patterns_that_read_the_same_get_entries_of_their_own(tmp_path: Path) -> None:
    # Two defines too big to repeat, named patterns both read "xml-pattern-a-b".
    def choice(letter: str) -> str:
        return "<choice>" + "".join(f'<element name="{letter}{i}"><empty/></element>'
                                    for i in range(30)) + "</choice>"

    grammar = (f'<grammar {RNG}><start><element name="r"><ref name="a.b"/><ref name="a_b"/>'
               f'</element></start><define name="a.b">{choice("e")}</define>'
               f'<define name="a_b">{choice("f")}</define></grammar>')
    page = "# Ref\n\n```{rng-reference} patterns.rng\n:by: definition\n```\n"
    source = tmp_path / "src"
    source.mkdir()
    (source / "patterns.rng").write_text(grammar)
    (source / "conf.py").write_text('extensions = ["myst_parser", "gueststate.sphinxext"]\n')
    (source / "index.md").write_text(page)
    built = SphinxTestApp("html", srcdir=source, builddir=tmp_path / "build", freshenv=True)
    try:
        built.build()
    finally:
        built.cleanup()
    assert "WARNING" not in built.warning.getvalue()
    html = (built.outdir / "index.html").read_text(encoding="utf-8")
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    entries = dict(re.findall(r'<dt id="([^"]+)"><code[^>]*><span class="pre">([^<]+)</span>',
                              html))
    assert sorted(entries.values()) == ["a.b", "a_b"]
    by_key = {key: anchor for anchor, key in entries.items()}
    assert by_key["a.b"] == "xml-pattern-a-b" != by_key["a_b"]
    for key, anchor in by_key.items():  # the content of <r> links each to its own entry
        assert re.search(rf'href="#{anchor}"><code[^>]*><span class="pre">{re.escape(key)}<',
                         html), key
