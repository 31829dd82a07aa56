"""The gueststate Sphinx extension: XML format references generated from RELAX NG grammars.

Add ``"gueststate.sphinxext"`` to ``extensions`` to get the ``xml`` domain (objects
``element`` and ``attribute``, roles ``{xml:element}`` and ``{xml:attribute}``, an index page
referable as ``xml-index``), the ``rng-reference`` directive and the ``xml-example`` directive.
Warnings have type ``xml``; see :mod:`gueststate.sphinxext.warnings` for the subtypes.
The stylesheet for the rendered tables ships in the package and reaches every HTML build.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gueststate import __version__
from gueststate.sphinxext.domain import (
    XMLDomain,
    link_examples,
    rewrite_when_examples_change,
    warn_missing_reference,
)
from gueststate.sphinxext.reference import MAX_SECTIONS, RngReference
from gueststate.sphinxext.render import xml_examples

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.config import Config
    from sphinx.util.typing import ExtensionMetadata

#: Bump when what the extension stores in the environment changes meaning or shape.
ENV_VERSION = 1

#: The classes that rng-reference and xml-example render are styled by this file.
STYLESHEET = Path(__file__).parent / "static" / "xml-reference.css"


def add_stylesheet_to_static_path(app: Sphinx, config: Config) -> None:
    """Copy the stylesheet into the output's ``_static/``, as ``sphinx.ext.graphviz`` does."""
    config.html_static_path.append(str(STYLESHEET))


def setup(app: Sphinx) -> ExtensionMetadata:
    """Register the domain, the directives and the stylesheet."""
    app.setup_extension("gueststate.sphinxext.example")
    # How a ``since`` version reads: "{}" shows it as is, "libvirt {}" names the project.
    app.add_config_value("xml_reference_since", "{}", "env", types=frozenset({str}))
    # "path": one section per element path; "definition": an index and one section per
    # element definition; "auto": by path unless paths outnumber definitions (see reference).
    app.add_config_value("xml_reference_by", "auto", "env", types=frozenset({str}))
    # The most sections one rng-reference renders; a larger grammar is a warning instead.
    app.add_config_value("xml_reference_max_sections", MAX_SECTIONS, "env",
                         types=frozenset({int}))
    app.add_domain(XMLDomain)
    app.add_directive("rng-reference", RngReference)
    app.add_node(xml_examples)
    app.add_css_file(STYLESHEET.name)
    app.connect("config-inited", add_stylesheet_to_static_path)
    app.connect("warn-missing-reference", warn_missing_reference)
    app.connect("doctree-resolved", link_examples)
    app.connect("env-get-updated", rewrite_when_examples_change)
    return {
        "version": __version__,
        "env_version": ENV_VERSION,
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
