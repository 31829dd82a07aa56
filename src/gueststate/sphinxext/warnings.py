"""The warnings the extension emits, as ``type='xml'`` subtypes.

Users silence one kind with ``suppress_warnings = ["xml.<subtype>"]``; a suppressed warning is
not counted, so it no longer fails a ``-W`` build.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sphinx.util import logging

WARNING_TYPE = "xml"

_logger = logging.getLogger("gueststate.sphinxext")


class Subtype(StrEnum):
    """One member per kind of problem the extension reports."""

    GRAMMAR = "grammar"  # a grammar that cannot be read
    UNKNOWN_ELEMENT = "unknown_element"  # a reference directive naming an element not in it
    INVALID_EXAMPLE = "invalid_example"  # an example that does not validate
    UNEXPECTED_VALID = "unexpected_valid"  # a counter-example that validates
    WRONG_MESSAGE = "wrong_message"  # a counter-example failing with another message
    MISSING_FILE = "missing_file"  # an example or grammar file that does not exist
    UNRESOLVED = "unresolved"  # an {xml:element}/{xml:attribute} that names nothing
    DUPLICATE = "duplicate"  # an element or attribute described on two pages
    INVALID_NAME = "invalid_name"  # an xml:element/xml:attribute directive with a malformed path


def warn(subtype: Subtype, message: str, location: Any) -> None:
    """Emit one ``xml.<subtype>`` warning at ``location`` (a node, docname or "file:line")."""
    _logger.warning(message, type=WARNING_TYPE, subtype=subtype.value, location=location)
