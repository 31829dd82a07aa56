"""The one shape of a problem (file, line, column, element path, message) and of an error.

Every part of the library reports what is wrong as :class:`Problem` values and raises
:class:`GueststateError` (or a subclass) carrying them; the CLI, the JSON output and the Sphinx
warnings only render that shape.  :func:`problem_at` is the one way to locate a problem at an
element; :mod:`gueststate.positions` finds where it is in the document's text.  Whatever a file
name or a message holds, :func:`printable` keeps a rendered problem on one line of plain text.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from gueststate.positions import Position, Positions

#: Longest value a message quotes whole.
MAX_QUOTED = 200


def printable(text: str, *, backslashes: bool = True) -> str:
    """``text`` as one line of plain text: control characters and undecodable bytes of a file
    name (``surrogateescape``) written as backslash escapes, and backslashes doubled unless
    ``backslashes`` is false (messages quote patterns full of them).

    So no file name or quoted document text can forge an output line or drive a terminal.
    """
    if text.isprintable() and not (backslashes and "\\" in text):
        return text
    shown: list[str] = []
    for char in text:
        code = ord(char)
        if char == "\\" and backslashes:
            shown.append("\\\\")
        elif 0xDC80 <= code <= 0xDCFF:  # a byte os.fsdecode could not decode
            shown.append(f"\\x{code - 0xDC00:02x}")
        elif char.isprintable():
            shown.append(char)
        else:
            shown.append(repr(char)[1:-1] if code > 0xFF or char in "\n\r\t" else f"\\x{code:02x}")
    return "".join(shown)


def shortened(text: str, limit: int = MAX_QUOTED) -> str:
    """``text``, cut after ``limit`` characters with a word on its length."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters in all)"


def unicode_path(path: str) -> str:
    """A file name as valid Unicode for JSON: undecodable bytes become ``\\xNN`` text."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")
    return path


#: Longest message a problem keeps: one that quotes a huge value from a document is cut, so
#: that an attribute of megabytes cannot make each line, and the memory of every verdict held
#: until the output is written, megabytes long.
MAX_MESSAGE = 1000


@dataclass(frozen=True, order=True)
class Problem:
    """Something wrong at ``path:line:column``; line and column are 1-based, 0 when unknown.

    ``element`` is the XPath of the element at fault (``/domainbackup/disks/disk[2]``), or of
    its attribute (``/domainbackup/disks/disk[2]/@name``), where it is or would be in the
    document; empty when the problem is not about one element (XML that is not well-formed).
    """

    path: str
    line: int
    column: int
    message: str
    element: str = ""

    def __post_init__(self) -> None:
        if len(self.message) > MAX_MESSAGE:
            object.__setattr__(self, "message", shortened(self.message, MAX_MESSAGE))

    def __str__(self) -> str:
        # One problem, one line, whatever the file name or the document text quoted.
        message = printable(self.message, backslashes=False)
        return f"{printable(self.path)}:{self.line}:{self.column}: {message}"

    def as_dict(self) -> dict[str, int | str]:
        """The JSON shape used by ``gueststate validate --format json``."""
        return {
            "line": self.line, "column": self.column, "element": self.element,
            "message": self.message,
        }


def position_of(
    element: etree._Element, *, positions: Positions | None = None, attribute: str | None = None,
) -> Position:
    """Where ``element``'s start tag (or its ``attribute``, when its start tag writes it)
    begins; lxml's line and column 0 when the text is not at hand; 0, 0 when nothing is known.
    """
    found = None
    if positions is not None:
        if attribute is not None:
            found = positions.attribute(element, attribute)
        found = found or positions.start_tag(element)
    line = element.sourceline
    return found or Position(line if isinstance(line, int) and line > 0 else 0, 0)


def problem_at(
    path: str, element: etree._Element | None, message: str, *,
    positions: Positions | None = None, attribute: str | None = None,
) -> Problem:
    """A problem located at ``element`` (and at its ``attribute`` when given).

    lxml knows an element's line and path but not its column; ``positions``, when the
    document's text is at hand, finds where the start tag (or the attribute) begins.
    """
    if element is None:
        return Problem(path, 0, 0, message)
    line, column = position_of(element, positions=positions, attribute=attribute)
    try:
        element_path = element.getroottree().getpath(element)
    except (ValueError, TypeError):
        element_path = ""
    return Problem(path, line, column, message, element_path)


class GueststateError(Exception):
    """The base of every error the library raises about its input: it carries the problems."""

    def __init__(self, problems: Sequence[Problem] | Problem) -> None:
        found = (problems,) if isinstance(problems, Problem) else tuple(problems)
        super().__init__("\n".join(str(problem) for problem in found))
        self.problems: tuple[Problem, ...] = found

    @property
    def problem(self) -> Problem:
        """The first problem (most errors have exactly one)."""
        return self.problems[0]
