"""A grammar too large for a page is one located warning and nothing rendered, quickly.

The bounds are counts (sections, content-model terms), checked before any node is made, so a
hostile grammar of thousands of elements or a shared group of 2^16 elements ends the build
with ``xml.too_large`` instead of holding it for minutes or exhausting its memory.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.testing.util import SphinxTestApp

from gueststate.rng.model import Node
from gueststate.sphinxext import reference
from gueststate.sphinxext.reference import MAX_MODEL_TERMS, too_large

RNG = 'xmlns="http://relaxng.org/ns/structure/1.0"'


def _build(tmp_path: Path, grammar: str, by: str = "path", **conf: object) -> SphinxTestApp:
    source = tmp_path / "src"
    source.mkdir()
    (source / "grammar.rng").write_text(grammar)
    (source / "conf.py").write_text('extensions = ["myst_parser", "gueststate.sphinxext"]\n'
                                    'exclude_patterns = ["_build"]\n')
    (source / "index.md").write_text("# Reference\n\n```{rng-reference} grammar.rng\n"
                                     f":by: {by}\n```\n")
    return _built(tmp_path, conf)


def _built(tmp_path: Path, conf: dict[str, object]) -> SphinxTestApp:
    app = SphinxTestApp("html", srcdir=tmp_path / "src", builddir=tmp_path / "build",
                        freshenv=True, confoverrides=conf)
    try:
        app.build()
    finally:
        app.cleanup()
    return app


def _flat(count: int) -> str:
    children = "".join(f'<element name="e{i}"><attribute name="a"/></element>'
                       for i in range(count))
    return f'<grammar {RNG}><start><element name="x">{children}</element></start></grammar>'


def test_more_elements_than_the_bound_render_nothing_with_one_warning(tmp_path: Path) -> None:
    app = _build(tmp_path, _flat(5), xml_reference_max_sections=4)
    warnings = app.warning.getvalue()
    assert warnings.count("WARNING") == 1
    assert ("index.md:3: WARNING: grammar grammar.rng is too large to render: 6 sections, "
            "more than the 4 of xml_reference_max_sections; rendered nothing [xml.too_large]"
            in warnings)
    html = (app.outdir / "index.html").read_text()
    assert "xml-element" not in html
    assert "Traceback" not in warnings


def test_by_definition_counts_definitions(tmp_path: Path) -> None:
    app = _build(tmp_path, _flat(5), by="definition", xml_reference_max_sections=4)
    assert "6 sections, more than the 4" in app.warning.getvalue()


def test_a_grammar_within_the_bound_renders_every_element(tmp_path: Path) -> None:
    app = _build(tmp_path, _flat(5), xml_reference_max_sections=6)
    assert "WARNING" not in app.warning.getvalue()
    html = (app.outdir / "index.html").read_text()
    assert html.count('<section class="xml-element"') == 6


def test_the_bound_can_be_suppressed_and_the_page_still_builds(tmp_path: Path) -> None:
    app = _build(tmp_path, _flat(5), xml_reference_max_sections=4,
                 suppress_warnings=["xml.too_large"])
    assert "WARNING" not in app.warning.getvalue()
    assert (app.outdir / "index.html").exists()


def _shared_group(doublings: int) -> str:
    """An element whose content is one leaf 2^doublings times, a define doubling each level."""
    defines = "".join(f'<define name="b{i}"><ref name="b{i + 1}"/><ref name="b{i + 1}"/></define>'
                      for i in range(doublings))
    defines += f'<define name="b{doublings}"><element name="leaf"><empty/></element></define>'
    return (f'<grammar {RNG}><start><element name="top"><element name="inner">'
            f'<ref name="b0"/></element></element></start>{defines}</grammar>')


def test_a_content_model_too_long_to_read_renders_nothing(tmp_path: Path) -> None:
    app = _build(tmp_path, _shared_group(11))  # 2,048 leaves in one content model
    warnings = app.warning.getvalue()
    assert warnings.count("WARNING") == 1
    assert (f"the content model of <inner> has 2049 terms, more than the {MAX_MODEL_TERMS} "
            "a page shows; rendered nothing [xml.too_large]") in warnings


class _CountedChildren(list[Node]):
    """A children list that counts how often it is walked: work shown without timing it."""

    walks = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        _CountedChildren.walks += 1
        return super().__iter__()


def test_terms_are_counted_once_per_distinct_pattern() -> None:
    # A group holding one group twice, 40 levels deep: 2^40 terms, counted from 41 nodes.
    inner = Node("element", name="leaf")
    for _ in range(40):
        inner = Node("group", children=_CountedChildren([inner, inner]))
    _CountedChildren.walks = 0
    problem = too_large(1, [("doc", [inner])], 10)
    assert problem == (f"the content model of <doc> has {2**41 - 1} terms, more than the "
                       f"{MAX_MODEL_TERMS} a page shows")
    assert _CountedChildren.walks == 40


def test_a_real_sized_reference_is_within_the_bounds() -> None:
    # libvirt's domain grammar: 792 paths with 13,813 terms, its longest model 841 terms.
    assert reference.MAX_SECTIONS >= 792
    assert reference.TERMS_PER_SECTION * reference.MAX_SECTIONS >= 13_813
    assert MAX_MODEL_TERMS >= 841


def _examples(tmp_path: Path, sizes: list[int]) -> SphinxTestApp:
    """A page of well-formed examples (``<x>`` and padding) of about ``sizes`` bytes."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "conf.py").write_text('extensions = ["gueststate.sphinxext.example"]\n'
                                    'exclude_patterns = ["_build"]\n')
    page = ["Examples", "========", ""]
    for number, size in enumerate(sizes):
        (source / f"e{number}.xml").write_text("<x>" + "y" * (size - 8) + "</x>\n")
        page += [f".. xml-example:: e{number}.xml", "   :schema: libvirt-domain", ""]
    (source / "index.rst").write_text("\n".join(page))
    return _built(tmp_path, {"xml_example_libvirt_schemas": ""})


def test_an_example_too_large_to_show_is_linked_not_shown(tmp_path: Path) -> None:
    # Highlighted and rendered, an 8 MB example took 480 MB: past its bound it is only linked.
    from gueststate.sphinxext.example import MAX_SHOWN_BYTES

    app = _examples(tmp_path, [MAX_SHOWN_BYTES, MAX_SHOWN_BYTES + 1])
    warnings = app.warning.getvalue()
    assert warnings.count("WARNING") == 1
    assert (f"index.rst:7: WARNING: example e1.xml is not shown: {MAX_SHOWN_BYTES + 1:,} bytes, "
            f"more than the {MAX_SHOWN_BYTES:,} an example may show [xml.too_large]" in warnings)
    html = (app.outdir / "index.html").read_text()
    assert "y" * 1000 in html  # the first, shown
    assert "(not shown: too large; the file is linked above)" in html
    assert 'href="e1.xml"' in html


def test_a_page_shows_examples_up_to_its_own_bound(tmp_path: Path) -> None:
    from gueststate.sphinxext.example import MAX_SHOWN_BYTES, MAX_SHOWN_PER_PAGE

    fit = MAX_SHOWN_PER_PAGE // MAX_SHOWN_BYTES
    app = _examples(tmp_path, [MAX_SHOWN_BYTES] * (fit + 1))
    warnings = app.warning.getvalue()
    assert warnings.count("WARNING") == 1
    assert (f"example e{fit}.xml is not shown: {MAX_SHOWN_BYTES:,} bytes, more than the "
            f"{MAX_SHOWN_PER_PAGE:,} left for the page's examples [xml.too_large]" in warnings)
