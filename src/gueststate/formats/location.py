"""Where a problem of a definition is: file, line, column and element path.

Kept small on purpose: when :class:`gueststate.problems.Problem` carries the element path
itself, :meth:`Location.problem` is the one place to pass it on.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from lxml import etree

from gueststate.positions import Position, Positions
from gueststate.problems import GueststateError, Problem, position_of


class FormatError(GueststateError):
    """A definition libvirt would refuse; ``problems`` says where and why."""


@dataclass(frozen=True)
class Location:
    """A place in a definition; ``line`` and ``column`` are 0 for a model built in Python.

    A place in a parsed document keeps the element its ``steps`` start from (``anchor``) and
    the document's positions.  The element at the place, its line, column and path are worked
    out only when a problem is reported, so that parsing or aligning a definition of many
    disks stays linear.
    """

    path: str = "<model>"
    steps: tuple[str, ...] = ()
    positions: Positions | None = field(default=None, compare=False, repr=False)
    #: The element the ``steps`` start from (its path in the document comes first).
    anchor: etree._Element | None = field(default=None, compare=False, repr=False)

    @property
    def element(self) -> str:
        """The path of the place: ``domainbackup/disks/disk[2]/@name``."""
        start = [] if self.anchor is None else [
            self.anchor.getroottree().getpath(self.anchor).lstrip("/")]
        return "/".join([*start, *self.steps])

    @property
    def node(self) -> etree._Element | None:
        """The element at the place, or the nearest one above it that the document has."""
        node = self.anchor
        for where in self.steps:
            child = where.split("/@")[0] if not where.startswith("@") else ""
            found = node.find(child) if node is not None and child else None
            node = node if found is None else found
        return node

    @property
    def line(self) -> int:
        """The line where the element's start tag begins; 0 for a model built in Python."""
        return self._start.line

    @property
    def column(self) -> int:
        """The column of that start tag's ``<``; 0 when the document's text is not at hand."""
        return self._start.column

    @property
    def _start(self) -> Position:
        """Where the node's start tag begins (0, 0 for a model built in Python)."""
        node = self.node
        return Position(0, 0) if node is None else position_of(node, positions=self.positions)

    def __reduce__(self) -> tuple[type[Location], tuple[str, tuple[str, ...]]]:
        # A pickle or a copy keeps the path and the element path, not the parsed document (an
        # lxml element cannot be pickled): its problems then name no line.
        element = self.element
        return Location, (self.path, (element,) if element else ())

    def at(self, where: str) -> Location:
        """The place of ``where`` (``@name``, ``server``, ``disks/disk[2]``) below this one."""
        return replace(self, steps=(*self.steps, where)) if where else self

    def problem(self, message: str) -> Problem:
        """A problem at this place, worded as libvirt words it."""
        # Absolute, as lxml writes an element's path (and as validation's problems name it).
        where = self.element
        return Problem(self.path, self.line, self.column, message,
                       f"/{where}" if where else "")

    def error(self, message: str) -> FormatError:
        """The error libvirt raises here."""
        return FormatError([self.problem(message)])


def locate(
    path: str, positions: Positions | None, element: etree._Element | None
) -> Location:
    """The location of a parsed ``element`` of the document at ``path``."""
    if element is None:
        return Location(path)
    return Location(path, (), positions, anchor=element)
