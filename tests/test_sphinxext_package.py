"""The extension as other projects get it: its stylesheet comes with it, and so does its
warning table.

Installing the wheel into clean virtualenvs (lowest and newest Sphinx, no system tools) is
`make compat` (tools/compat.py); these tests check the same promises in this process.
"""

from __future__ import annotations

import re

import pytest
from sphinx.testing.util import SphinxTestApp

from gueststate.sphinxext import STYLESHEET


@pytest.mark.sphinx("html", testroot="reference", freshenv=True)
def test_the_stylesheet_reaches_the_output_and_every_page_links_it(app: SphinxTestApp) -> None:
    app.build()
    assert app.statuscode == 0, app.warning.getvalue()
    copied = app.outdir / "_static" / STYLESHEET.name
    assert copied.read_bytes() == STYLESHEET.read_bytes()
    for page in ("index.html", "myst.html", "rest.html"):
        html = (app.outdir / page).read_text(encoding="utf-8")
        assert re.search(r'<link[^>]+href="_static/xml-reference\.css(\?v=[0-9a-f]+)?"', html), page

