"""The one place that parses XML.

The parser loads no DTD, expands no entity, opens no file or network resource, performs no
XInclude and refuses documents that are too large or too deep.  Whatever goes wrong becomes an
:class:`XMLParseError` carrying one :class:`~gueststate.problems.Problem`.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from lxml import etree

from gueststate.problems import Problem

#: Largest document accepted, in bytes.  libvirt's own documents are a few kilobytes.
MAX_DOCUMENT_BYTES = 8 * 1024 * 1024
#: Deepest element nesting accepted: libxml2's own bound without XML_PARSE_HUGE (``huge_tree``).
MAX_DEPTH = 256


class XMLParseError(Exception):
    """A document that could not be parsed safely."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class _RefuseResolver(etree.Resolver):  # type: ignore[misc]  # lxml ships no types
    """Refuse every external resource the parser asks for, and remember that it asked."""

    def resolve(self, system_url: str, public_id: str, context: object) -> None:
        raise _ExternalResourceRefused(system_url or public_id or "?")


class _ExternalResourceRefused(Exception):
    pass


_local = threading.local()


def _parser() -> etree.XMLParser:
    # lxml parsers are not thread-safe; keep one per thread.
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            load_dtd=False,
            dtd_validation=False,
            no_network=True,
            huge_tree=False,
            remove_blank_text=False,
            collect_ids=False,
        )
        parser.resolvers.add(_RefuseResolver())
        _local.parser = parser
    return parser


def parse_bytes(data: bytes, path: str) -> etree._ElementTree:
    """Parse ``data`` (read from ``path``, used only in messages) into an element tree."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise XMLParseError(
            Problem(path, 0, 0, f"document is larger than the {MAX_DOCUMENT_BYTES} byte limit")
        )
    if not data.strip():
        raise XMLParseError(Problem(path, 1, 1, "document is empty"))
    parser = _parser()
    try:
        root = etree.fromstring(data, parser, base_url=None)
    except _ExternalResourceRefused as refused:
        raise XMLParseError(
            Problem(path, 1, 1, f"external resource refused: {refused.args[0]}")
        ) from None
    except etree.XMLSyntaxError as error:
        raise XMLParseError(_syntax_problem(error, path)) from None
    tree = root.getroottree()
    _check_no_entities(tree, path)
    return tree


def read_bounded(path: str | Path) -> bytes:
    """The bytes of a file, at most one byte more than :data:`MAX_DOCUMENT_BYTES`."""
    with open(path, "rb") as stream:
        # Ask for what the file holds (plus one byte to notice growth) rather than the limit:
        # allocating the limit for every small file costs more than parsing it.
        expected = min(os.fstat(stream.fileno()).st_size, MAX_DOCUMENT_BYTES)
        data = stream.read(expected + 1)
        if len(data) > expected:
            data += stream.read(MAX_DOCUMENT_BYTES + 1 - len(data))
    return data


def parse_file(path: str | Path) -> etree._ElementTree:
    """Read and parse a file; I/O errors propagate as :class:`OSError`."""
    return parse_bytes(read_bounded(path), str(path))


def _syntax_problem(error: etree.XMLSyntaxError, path: str) -> Problem:
    entry = error.error_log.last_error if error.error_log else None
    if entry is not None:
        message = entry.message.strip()
        line, column = entry.line, entry.column
    else:
        message = str(error.msg or error)
        line, column = error.position
    message = " ".join(message.split())  # libxml2 may quote document text, newlines and all
    if "use XML_PARSE_HUGE" in message or "Huge input lookup" in message:
        message = message.split(",")[0].split(" use XML_PARSE_HUGE")[0] + " (limit exceeded)"
    return Problem(path, max(line, 0), max(column, 0), f"not well-formed XML: {message}")


def _check_no_entities(tree: etree._ElementTree, path: str) -> None:
    dtd = tree.docinfo.internalDTD
    if dtd is None:
        return
    entity = next(iter(dtd.iterentities()), None)
    if entity is not None:
        raise XMLParseError(
            Problem(path, 1, 1, f"entity declarations are not allowed (found '{entity.name}')")
        )
    if dtd.system_url or getattr(dtd, "external_id", None):
        raise XMLParseError(
            Problem(path, 1, 1, "external DTD references are not allowed")
        )

