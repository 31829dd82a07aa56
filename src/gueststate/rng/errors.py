"""The one error a grammar can raise, located at the element at fault."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from gueststate.problems import GueststateError, Problem
from gueststate.rng.patterns import RNG_NS
from gueststate.xmlsafe import XMLParseError, parse_file


class GrammarError(GueststateError):
    """A grammar that cannot be read; ``problem`` says where and why."""


def fault(path: str, element: etree._Element, message: str) -> GrammarError:
    """A :class:`GrammarError` at ``element`` of the file ``path``."""
    line, column = _locate(path, element)
    return GrammarError(Problem(path, line, column, message))


def fault_at(path: str, line: int, kind: str, message: str) -> GrammarError:
    """A :class:`GrammarError` at the first RELAX NG ``kind`` element on ``line`` of ``path``."""
    tag = f"{{{RNG_NS}}}{kind}"
    try:
        root = parse_file(path).getroot()
    except (OSError, XMLParseError):
        return GrammarError(Problem(path, line, 0, message))
    for element in root.iter(tag):
        if element.sourceline == line:
            return fault(path, element, message)
    return GrammarError(Problem(path, line, 0, message))


def fault_at_root(path: str, message: str) -> GrammarError:
    """A :class:`GrammarError` at the root element of ``path``."""
    try:
        root = parse_file(path).getroot()
    except (OSError, XMLParseError):
        return GrammarError(Problem(path, 0, 0, message))
    return fault(path, root, message)


def _locate(path: str, element: etree._Element) -> tuple[int, int]:
    """The 1-based line and column of ``element``'s start tag, found again in the file's text.

    lxml keeps the line where the start tag ends but no column, so count the elements with the
    same tag on that line before this one and find that occurrence of ``<tag``; a start tag
    spread over several lines is found on an earlier line.
    """
    line = element.sourceline or 0
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return line, 0
    if not 0 < line <= len(lines):
        return line, 0
    qname = etree.QName(element)
    tag = f"<{element.prefix}:{qname.localname}" if element.prefix else f"<{qname.localname}"
    same_line = [other for other in element.getroottree().iter(element.tag)
                 if other.sourceline == line]
    start = -1
    for _ in range(same_line.index(element) + 1 if element in same_line else 1):
        start = _find_tag(lines[line - 1], tag, start + 1)
        if start < 0:
            break
    if start >= 0:
        return line, start + 1
    for earlier in range(line - 1, max(line - 50, 0), -1):
        found, start = -1, _find_tag(lines[earlier - 1], tag, 0)
        while start >= 0:
            found, start = start, _find_tag(lines[earlier - 1], tag, start + 1)
        if found >= 0:
            return earlier, found + 1
    return line, 0


def _find_tag(text: str, tag: str, begin: int) -> int:
    """Index of ``tag`` in ``text`` from ``begin`` where it is a whole start-tag name."""
    while True:
        found = text.find(tag, begin)
        end = found + len(tag)
        if found < 0 or end >= len(text) or text[end] in " \t/>":
            return found
        begin = found + 1
