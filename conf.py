"""Sphinx configuration: the repository root is the source directory.

`make html` builds with ``-W -n -j auto``: every warning fails the build, every reference must
resolve, and the extension's environment data is merged from parallel readers.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sphinx.application import Sphinx

from gueststate import __version__
from gueststate.schemas import LIBVIRT_SCHEMA_DIR
from gueststate.sphinxext.warnings import SubtypeTable

sys.path.insert(0, str(Path(__file__).parent / "tools"))  # the site's own version_matrix

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
    "version_matrix",  # tools/version_matrix.py: kbase/versions' table from make matrix's records
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
# Where libvirt is not installed (a docs-only build, Read the Docs), the <domain> that examples
# embed is checked for well-formedness only, and each such example says so; `make html` and CI
# have libvirt (tools/debian-deps) and check it against libvirt's domain.rng.
if not (LIBVIRT_SCHEMA_DIR / "domain.rng").is_file():
    xml_example_libvirt_schemas = ""
# The worked example of docs/extension.md: examples of a format of its own.
xml_example_formats = {"mirror": "docs/extension-sample.rng"}

myst_enable_extensions = [
    "colon_fence", "deflist", "fieldlist", "attrs_block", "attrs_inline", "substitution",
]
# Said once for every page whose examples run against libvirt: where they run, and where to see
# what differs between the releases.
myst_substitutions = {
    "releases": "libvirt 9.0.0, 11.3.0 and 12.9.0, each with the QEMU of its Debian suite; "
    "see the {ref}`version matrix <kbase-versions>`",
}
myst_heading_anchors = 3

# CI has no network: the inventories are vendored (see _intersphinx/README.md).
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", "_intersphinx/python.inv"),
    "lxml": ("https://lxml.de/apidoc", "_intersphinx/lxml.inv"),
}

# The doctests run against the libvirt the machine has (`make doctest`), and against each release
# of the matrix (`make matrix`). Where releases answer differently, each answer sits in a tab
# named after the releases it was checked on, its block marked with a condition such as
# `:skipif: libvirt_version < (11, 0, 0)`, so every block runs exactly on the releases it names.
doctest_global_setup = """
import libvirt as _libvirt
libvirt_version = tuple(_libvirt.getVersion() // 1000**power % 1000 for power in (2, 1, 0))
"""

autodoc_typehints = "description"
autodoc_member_order = "bysource"

html_theme = "furo"
html_title = "gueststate"
html_static_path = ["_static"]
html_favicon = "_static/favicon.svg"
pygments_style = "friendly"
pygments_dark_style = "monokai"

copybutton_exclude = ".linenos, .gp, .go"


def setup(app: Sphinx) -> None:
    """docs/extension.md lists the extension's warnings from their enum: none can be left out."""
    app.add_directive("xml-warning-table", SubtypeTable)
