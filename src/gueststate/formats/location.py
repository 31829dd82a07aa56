"""Where a problem of a definition is: file, line, column and element path.

Kept small on purpose: when :class:`gueststate.problems.Problem` carries the element path
itself, :meth:`Location.problem` is the one place to pass it on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from lxml import etree

from gueststate.problems import GueststateError, Problem


class FormatError(GueststateError):
    """A definition libvirt would refuse; ``problems`` says where and why."""


@dataclass(frozen=True)
class Location:
    """A place in a definition; ``line`` and ``column`` are 0 for a model built in Python.

    A place in a parsed document keeps its element (``node``) and the document's lines.
    Line, column and element path are worked out only when a problem is reported, so that
    parsing a definition of many disks stays linear.
    """

    path: str = "<model>"
    steps: tuple[str, ...] = ()
    node: etree._Element | None = field(default=None, compare=False, repr=False)
    lines: Sequence[str] = field(default=(), compare=False, repr=False)
    #: The element the ``steps`` start from (its path in the document comes first).
    anchor: etree._Element | None = field(default=None, compare=False, repr=False)

    @property
    def element(self) -> str:
        """The path of the place: ``domainbackup/disks/disk[2]/@name``."""
        start = [] if self.anchor is None else [
            self.anchor.getroottree().getpath(self.anchor).lstrip("/")]
        return "/".join([*start, *self.steps])

    @property
    def line(self) -> int:
        node = self.node
        return node.sourceline if node is not None and isinstance(node.sourceline, int) else 0

    @property
    def column(self) -> int:
        return 0 if self.node is None else _column(self.lines, self.line, self.node)

    def at(self, where: str) -> Location:
        """The place of ``where`` (``@name``, ``server``, ``disks/disk[2]``) below this one."""
        if not where:
            return self
        moved = replace(self, steps=(*self.steps, where))
        child = where.split("/@")[0] if not where.startswith("@") else ""
        found = self.node.find(child) if self.node is not None and child else None
        return moved if found is None else replace(moved, node=found)

    def problem(self, message: str) -> Problem:
        """A problem at this place, worded as libvirt words it."""
        return Problem(self.path, self.line, self.column, message, self.element)

    def error(self, message: str) -> FormatError:
        """The error libvirt raises here."""
        return FormatError([self.problem(message)])


def locate(path: str, lines: Sequence[str], element: etree._Element | None) -> Location:
    """The location of a parsed ``element`` of the document at ``path`` (text ``lines``)."""
    if element is None:
        return Location(path)
    return Location(path, (), element, lines, anchor=element)


def _column(lines: Sequence[str], line: int, element: etree._Element) -> int:
    """1-based column of the element's start tag (lxml knows only lines): the n-th ``<tag`` of
    its line, n counting the same-named elements opened before it there; 0 when unknown."""
    if not 0 < line <= len(lines):
        return 0
    earlier = 0
    for other in element.getroottree().iter(element.tag):
        if other is element:
            break
        earlier += other.sourceline == line
    text, needle, found = lines[line - 1], f"<{element.tag}", -1
    while earlier >= 0:
        found = text.find(needle, found + 1)
        if found < 0:
            return 0
        after = text[found + len(needle):found + len(needle) + 1]
        if not (after.isalnum() or after in ("_", "-", ".", ":")):
            earlier -= 1
    return found + 1
