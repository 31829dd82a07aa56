"""The one shape of a problem (file, line, column, element path, message) and of an error.

Every part of the library reports what is wrong as :class:`Problem` values and raises
:class:`GueststateError` (or a subclass) carrying them; the CLI, the JSON output and the Sphinx
warnings only render that shape.  :func:`problem_at` is the one way to locate a problem at an
element.  Whatever a file name or a message holds, :func:`printable` keeps a rendered problem
on one line of plain text.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from lxml import etree


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


def unicode_path(path: str) -> str:
    """A file name as valid Unicode for JSON: undecodable bytes become ``\\xNN`` text."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")
    return path


@dataclass(frozen=True, order=True)
class Problem:
    """Something wrong at ``path:line:column``; line and column are 1-based, 0 when unknown.

    ``element`` is the path of the element at fault (``/domainbackup/disks/disk[2]``), empty
    when the problem is not about one element.
    """

    path: str
    line: int
    column: int
    message: str
    element: str = ""

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


class ColumnFinder(Protocol):
    """Finds the column of ``needle`` (``<tag`` or ``name=``) on a 1-based line; 0 if absent."""

    def __call__(self, line: int, needle: str) -> int: ...


def problem_at(
    path: str, element: etree._Element | None, message: str, *,
    columns: ColumnFinder | None = None, attribute: str | None = None,
) -> Problem:
    """A problem located at ``element`` (and at its ``attribute`` when given).

    lxml knows an element's line and path but not its column; ``columns``, when the document's
    text is at hand, finds the start tag (or the attribute) on that line.
    """
    if element is None:
        return Problem(path, 0, 0, message)
    line = element.sourceline if isinstance(element.sourceline, int) else 0
    column = 0
    if columns is not None and line > 0 and isinstance(element.tag, str):
        qname = etree.QName(element)
        tag = f"<{element.prefix}:{qname.localname}" if element.prefix else f"<{qname.localname}"
        if attribute is not None:
            column = columns(line, f"{attribute}=")
        column = column or columns(line, tag)
    try:
        where = element.getroottree().getpath(element)
    except (ValueError, TypeError):
        where = ""
    return Problem(path, max(line, 0), column, message, where)


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
