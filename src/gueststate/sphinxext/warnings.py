"""The warnings the extension emits, as ``type='xml'`` subtypes.

Users silence one kind with ``suppress_warnings = ["xml.<subtype>"]``; a suppressed warning is
not counted, so it no longer fails a ``-W`` build.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

WARNING_TYPE = "xml"

_logger = logging.getLogger("gueststate.sphinxext")


class Subtype(StrEnum):
    """One member per kind of problem the extension reports; ``description`` says when."""

    _value_: str
    description: str

    def __new__(cls, value: str, description: str) -> Subtype:
        member = str.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member

    GRAMMAR = "grammar", "a grammar cannot be read (located in the grammar file)"
    UNKNOWN_ELEMENT = "unknown_element", "``:element:`` names an element the grammar does not have"
    INVALID_EXAMPLE = "invalid_example", "an example does not validate"
    UNEXPECTED_VALID = "unexpected_valid", "a counter-example (``:invalid:``) validates"
    WRONG_MESSAGE = (
        "wrong_message",
        "a counter-example fails, but not with the text its ``:invalid:`` names",
    )
    MISSING_FILE = (
        "missing_file",
        "a grammar or example file does not exist, cannot be read or is outside the source "
        "directory, or a schema an example needs is missing",
    )
    TOO_LARGE = (
        "too_large",
        "a grammar would render more sections than ``xml_reference_max_sections``, or content "
        "models longer than a page can show, or the build runs out of memory reading it; "
        "nothing is rendered for it; or an example is larger than a page can show (it is "
        "still validated and linked)",
    )
    UNRESOLVED = "unresolved", "an ``xml:element`` or ``xml:attribute`` link names nothing"
    DUPLICATE = "duplicate", "an element or attribute is described on two pages"
    INVALID_NAME = (
        "invalid_name",
        "an ``xml:attribute`` path lacks its ``@NAME`` step, or an ``xml:element`` path has one",
    )


def warn(subtype: Subtype, message: str, location: Any) -> None:
    """Emit one ``xml.<subtype>`` warning at ``location`` (a node, docname or "file:line")."""
    _logger.warning(message, type=WARNING_TYPE, subtype=subtype.value, location=location)


def subtype_table() -> nodes.table:
    """The subtypes as a table (what to suppress, when it is emitted), read from the enum."""
    group = nodes.tgroup("", nodes.colspec(colwidth=1), nodes.colspec(colwidth=3), cols=2)
    group += nodes.thead("", _row([nodes.Text("suppress with")], [nodes.Text("emitted when")]))
    body = nodes.tbody()
    for subtype in Subtype:
        name = f"{WARNING_TYPE}.{subtype.value}"
        body += _row([nodes.literal(name, name)], _with_literals(subtype.description))
    group += body
    return nodes.table("", group, classes=["xml-warnings"])


def _row(*cells: list[nodes.Node]) -> nodes.row:
    return nodes.row("", *(nodes.entry("", nodes.paragraph("", "", *cell)) for cell in cells))


def _with_literals(text: str) -> list[nodes.Node]:
    """``Double backquotes`` in a description become code; the rest stays text."""
    return [
        nodes.literal(part, part) if index % 2 else nodes.Text(part)
        for index, part in enumerate(text.split("``"))
        if part
    ]


class SubtypeTable(SphinxDirective):
    """``.. xml-warning-table::`` renders :func:`subtype_table`: this site's docs list the
    warnings from the enum itself, so a new subtype cannot be left out."""

    def run(self) -> list[nodes.Node]:
        return [subtype_table()]
