"""Sphinx configuration: the repository root is the source directory.

`make html` builds with ``-W -n -j auto``: every warning fails the build, every reference must
resolve, and the extension's environment data is merged from parallel readers.
"""

from __future__ import annotations

from gueststate import __version__

project = "gueststate"
author = "the gueststate authors"
copyright = "the gueststate authors"
version = release = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "sphinx_copybutton",
    "sphinx_design",
    "sphinxarg.ext",
    "gueststate.sphinxext",
]

root_doc = "index"
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
# The root holds the package, the tests and the tooling too: only the site's pages are read.
exclude_patterns = [
    ".venv",
    ".git",
    ".cache",
    ".ci",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "_build",
    "_intersphinx",
    "bench",
    "build",
    "dist",
    "examples",
    "schemas",
    "src",
    "tests",
    "tools",
    "README.md",
    "**/*.egg-info",
]

nitpicky = True
# sphinx-argparse's domain predates resolve_any_xref; MyST says so on every build that resolves
# a Markdown link through the domains.  It changes nothing about which links resolve.
suppress_warnings = ["myst.domains"]

# gueststate.sphinxext: the versions in the grammars are libvirt releases.
xml_reference_since = "libvirt {}"
# The worked example of docs/extension.md: examples of a format of its own.
xml_example_formats = {"mirror": "docs/extension-sample.rng"}

myst_enable_extensions = ["colon_fence", "deflist", "fieldlist", "attrs_block", "attrs_inline"]
myst_heading_anchors = 3

# CI has no network: the inventories are vendored (see _intersphinx/README.md).
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", "_intersphinx/python.inv"),
    "lxml": ("https://lxml.de/apidoc", "_intersphinx/lxml.inv"),
}

autodoc_typehints = "description"
autodoc_member_order = "bysource"

html_theme = "furo"
html_title = "gueststate"
html_static_path = ["_static"]
html_favicon = "_static/favicon.svg"
html_css_files = ["xml-reference.css"]
pygments_style = "friendly"
pygments_dark_style = "monokai"

copybutton_exclude = ".linenos, .gp, .go"
