"""The grammar as loaded: patterns with resolved references, before simplification.

Includes, overrides, ``combine``, ``div``, nested grammars and external references are gone by
the time a :class:`Pattern` exists: every ``ref`` points at its :class:`Define` and every name
is qualified.  These objects are internal to the reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gueststate.rng.model import NodeKind

RNG_NS = "http://relaxng.org/ns/structure/1.0"
ANNOTATIONS_NS = "http://relaxng.org/ns/compatibility/annotations/1.0"
GUESTSTATE_NS = "urn:x-gueststate:annotations"


@dataclass(eq=False, slots=True)
class NameClass:
    """``name``, ``anyName``, ``nsName`` or a ``choice`` of name classes."""

    kind: str
    local: str = ""
    namespace: str = ""
    prefix: str = ""  # as the grammar wrote the name (``xml`` of ``xml:lang``), else ""
    children: list[NameClass] = field(default_factory=list)
    except_: NameClass | None = None


@dataclass(eq=False, slots=True)
class Define:
    """One named pattern of one grammar scope, its ``combine`` parts already merged."""

    name: str
    body: Pattern | None = None


@dataclass(eq=False, slots=True)
class Pattern:
    """One RELAX NG pattern; ``kind`` is its element name in the RELAX NG namespace."""

    kind: NodeKind
    file: str
    line: int
    children: list[Pattern] = field(default_factory=list)
    name_class: NameClass | None = None
    datatype: str | None = None
    datatype_library: str = ""
    params: dict[str, str] = field(default_factory=dict)
    value: str | None = None
    namespace: str = ""
    except_: Pattern | None = None
    define: Define | None = None
    documentation: str | None = None
    since: str | None = None
    default: str | None = None  # an optional attribute's a:defaultValue
