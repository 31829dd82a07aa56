"""The extension as other projects get it: its stylesheet comes with it, and its warnings are
documented from their enum.

Installing the wheel into clean virtualenvs (lowest and newest Sphinx, no system tools) is
`make compat` (tools/compat.py), which also reads the built docs/extension.html for every
subtype; these tests check the same promises in this process.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from docutils import nodes
from sphinx.testing.util import SphinxTestApp

from gueststate.sphinxext import STYLESHEET
from gueststate.sphinxext.warnings import Subtype, subtype_table

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.sphinx("html", testroot="reference", freshenv=True)
def test_the_stylesheet_reaches_the_output_and_every_page_links_it(app: SphinxTestApp) -> None:
    app.build()
    assert app.statuscode == 0, app.warning.getvalue()
    copied = app.outdir / "_static" / STYLESHEET.name
    assert copied.read_bytes() == STYLESHEET.read_bytes()
    for page in ("index.html", "myst.html", "rest.html"):
        html = (app.outdir / page).read_text(encoding="utf-8")
        assert re.search(r'<link[^>]+href="_static/xml-reference\.css(\?v=[0-9a-f]+)?"', html), page



def test_the_warning_table_has_one_row_per_subtype_in_enum_order() -> None:
    table = subtype_table()
    body = next(iter(table.findall(nodes.tbody)))
    rows = [[entry.astext() for entry in row.findall(nodes.entry)] for row in body.children]
    assert rows == [[f"xml.{subtype}", subtype.description.replace("``", "")]
                    for subtype in Subtype]
    assert len(rows) == len(set(Subtype)) >= 9


def test_double_backquotes_in_a_description_become_code() -> None:
    (row,) = (row for row in subtype_table().findall(nodes.row)
              if row.astext().startswith("xml.unresolved"))
    literals = [node.astext() for node in row.findall(nodes.literal)]
    assert literals == ["xml.unresolved", "xml:element", "xml:attribute"]


def test_the_site_documents_the_warnings_with_the_generated_table() -> None:
    page = (ROOT / "docs" / "extension.md").read_text(encoding="utf-8")
    assert "```{xml-warning-table}" in page
    # no hand-written list beside it that could drift
    assert not any(f"| `{subtype}` |" in page for subtype in Subtype)
