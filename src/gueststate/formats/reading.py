"""From bytes to a checked root element: hardened parsing, then schema validation."""

from __future__ import annotations

from lxml import etree

from gueststate import schemas, xmlsafe
from gueststate.formats.common import Source
from gueststate.formats.location import FormatError
from gueststate.positions import Positions
from gueststate.problems import Problem


def parse_root(data: bytes | str, path: str) -> etree._ElementTree:
    """Parse through :mod:`gueststate.xmlsafe`: bytes as their declaration says, a ``str`` as
    the characters it holds (decoded already, its declaration's encoding is not applied).

    A malformed document raises FormatError; anything but bytes or a str, TypeError.
    """
    try:
        if isinstance(data, str):
            return xmlsafe.parse_text(data, path)
        if isinstance(data, bytes | bytearray):
            return xmlsafe.parse_bytes(bytes(data), path)
    except xmlsafe.XMLParseError as error:
        raise FormatError([error.problem]) from None
    raise TypeError(f"the document must be bytes or str, not {type(data).__name__}")


def load(
    data: bytes | str, path: str, expected: str | None, *, validate: bool
) -> tuple[etree._Element, Source]:
    """The root element of a document of format ``expected`` (any of ours when None)."""
    tree = parse_root(data, path)
    root = tree.getroot()
    if expected is not None and root.tag != expected:
        raise FormatError([Problem(
            path, schemas.line_of(root), 1,
            f"expecting root element of '{expected}', not '{root.tag}'",
        )])
    if validate:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        result = schemas.validate_tree(tree, path, expected, source=raw)
        if not result.valid:
            raise FormatError(list(result.problems))
    elif schemas.detect_format(root) is None:
        known = ", ".join(schemas.FORMATS)
        raise FormatError([Problem(
            path, schemas.line_of(root), 1, f"unknown root element '{root.tag}' (known: {known})"
        )])
    return root, Source(path, Positions(data))
