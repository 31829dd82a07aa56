"""The one error a grammar can raise, located at the element at fault."""

from __future__ import annotations

from lxml import etree

from gueststate.positions import Position, Positions
from gueststate.problems import GueststateError, Problem, position_of
from gueststate.rng.patterns import RNG_NS
from gueststate.xmlsafe import XMLParseError, parse_file, read_bounded


class GrammarError(GueststateError):
    """A grammar that cannot be read; ``problem`` says where and why."""


def fault(path: str, element: etree._Element, message: str) -> GrammarError:
    """A :class:`GrammarError` at ``element`` of the file ``path``."""
    line, column = _locate(path, element)
    return GrammarError(Problem(path, line, column, message))


def fault_at(
    path: str, line: int, kind: str, message: str, *, name: str | None = None
) -> GrammarError:
    """A :class:`GrammarError` at the first RELAX NG ``kind`` element on ``line`` of ``path``
    (with that ``name`` attribute, if given: a grammar written on one line)."""
    tag = f"{{{RNG_NS}}}{kind}"
    try:
        root = parse_file(path).getroot()
    except (OSError, XMLParseError):
        return GrammarError(Problem(path, line, 0, message))
    for element in root.iter(tag):
        if element.sourceline == line and name in (None, element.get("name", "").strip()):
            return fault(path, element, message)
    return GrammarError(Problem(path, line, 0, message))


def fault_at_root(path: str, message: str) -> GrammarError:
    """A :class:`GrammarError` at the root element of ``path``."""
    try:
        root = parse_file(path).getroot()
    except (OSError, XMLParseError):
        return GrammarError(Problem(path, 0, 0, message))
    return fault(path, root, message)


def _locate(path: str, element: etree._Element) -> Position:
    """Where ``element``'s start tag begins, found again in the file's text."""
    try:
        text = read_bounded(path)
    except OSError:
        return position_of(element)
    return position_of(element, positions=Positions(text))
