"""The one error a grammar can raise, located at the element at fault."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from gueststate.problems import Problem
from gueststate.rng.patterns import RNG_NS
from gueststate.xmlsafe import XMLParseError, parse_file


class GrammarError(Exception):
    """A grammar that cannot be read; ``problem`` says where and why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def fault(path: str, element: etree._Element, message: str) -> GrammarError:
    """A :class:`GrammarError` at ``element`` of the file ``path``."""
    line = element.sourceline or 0
    return GrammarError(Problem(path, line, _column(path, element, line), message))


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


def _column(path: str, element: etree._Element, line: int) -> int:
    """The 1-based column of ``element``'s start tag, found again in the file's text.

    lxml keeps lines but not columns, so count the elements with the same tag that start on
    the same line before this one and find that occurrence of ``<tag`` in the line.
    """
    if line <= 0:
        return 0
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return 0
    if line > len(lines):
        return 0
    qname = etree.QName(element)
    prefix = element.prefix
    tag = f"<{prefix}:{qname.localname}" if prefix else f"<{qname.localname}"
    same_line = [
        other
        for other in element.getroottree().iter(element.tag)
        if other.sourceline == line
    ]
    occurrence = same_line.index(element) if element in same_line else 0
    text, start = lines[line - 1], -1
    for _ in range(occurrence + 1):
        start = _find_tag(text, tag, start + 1)
        if start < 0:
            return 0
    return start + 1


def _find_tag(text: str, tag: str, begin: int) -> int:
    """Index of ``tag`` in ``text`` from ``begin`` where it is a whole start-tag name."""
    while True:
        found = text.find(tag, begin)
        end = found + len(tag)
        if found < 0 or end >= len(text) or text[end] in " \t/>":
            return found
        begin = found + 1
