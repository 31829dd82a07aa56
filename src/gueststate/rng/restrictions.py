"""Refuse a grammar that RELAX NG forbids once simplified (section 7), as jing does.

``<list><attribute .../></list>``, an attribute twice in one group, a group of a ``data`` and an
element: each reads as a tree like any other, and describes documents no validator accepts.
The simplified form of section 4 is never built.  The walk follows references to defines of
content as if they were inlined, stops at elements (each element's content is checked once, as
a place of its own), and folds ``notAllowed`` and ``empty`` as sections 4.20 and 4.21 do, so
``<oneOrMore><group><attribute .../><empty/></group></oneOrMore>`` stays legal, as it is.

Section 7.1's prohibited paths are a set of enclosing patterns (a few bits) carried down: each
pattern is visited once per set, so the work is linear in the size of the grammar.  Sections
7.2 to 7.4 need what each pattern may hold (its content type, attribute and element names,
text), summed up once per pattern.  The built-in datatype library is checked on the way, and
the attribute names 4.16 reserves.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gueststate.rng import nameclasses
from gueststate.rng.errors import GrammarError, fault_at
from gueststate.rng.patterns import NameClass, Pattern

XSD_LIBRARY = "http://www.w3.org/2001/XMLSchema-datatypes"
#: The datatypes of XML Schema Part 2 (1.0) jing knows; ``anySimpleType`` is not one.
XSD_TYPES = frozenset((
    "string", "boolean", "decimal", "float", "double", "duration", "dateTime", "time", "date",
    "gYearMonth", "gYear", "gMonthDay", "gDay", "gMonth", "hexBinary", "base64Binary",
    "anyURI", "QName", "NOTATION", "normalizedString", "token", "language", "NMTOKEN",
    "NMTOKENS", "Name", "NCName", "ID", "IDREF", "IDREFS", "ENTITY", "ENTITIES", "integer",
    "nonPositiveInteger", "negativeInteger", "long", "int", "short", "byte",
    "nonNegativeInteger", "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte",
    "positiveInteger",
))
_XMLNS_NS = "http://www.w3.org/2000/xmlns"

# What a pattern simplifies to (4.20, 4.21): nothing at all, ``empty``, or itself.
_NOT_ALLOWED, _EMPTY, _KEPT = 0, 1, 2

# Enclosing patterns that forbid some patterns below them (7.1), as bits of a context.
_IN_ATTRIBUTE, _IN_LIST, _IN_EXCEPT, _IN_START, _IN_ONE_OR_MORE, _IN_REPEATED_GROUP = (
    1, 2, 4, 8, 16, 32)
#: Per bit: the path's head as messages spell it and the kinds forbidden below it.
_PROHIBITED: tuple[tuple[int, str, frozenset[str]], ...] = (
    (_IN_ATTRIBUTE, "attribute", frozenset(("attribute", "element"))),
    (_IN_LIST, "list", frozenset(("list", "attribute", "element", "text", "interleave"))),
    (_IN_EXCEPT, "data/except", frozenset((
        "attribute", "element", "text", "list", "group", "interleave", "oneOrMore", "empty"))),
    (_IN_START, "start", frozenset((
        "attribute", "data", "value", "text", "list", "group", "interleave", "oneOrMore",
        "empty"))),
    (_IN_REPEATED_GROUP, "oneOrMore//group", frozenset(("attribute",))),
)

_CONTEXT_BITS = 6

# Content types (7.2), ordered as the specification's max takes them.
_NO_CONTENT, _COMPLEX, _SIMPLE = 0, 1, 2


@dataclass(frozen=True, slots=True)
class _Holds:
    """What a pattern may hold outside elements: its content type, the name classes of its
    attributes and of its elements, and whether it has text."""

    content: int
    attributes: tuple[NameClass, ...] = ()
    elements: tuple[NameClass, ...] = ()
    text: bool = False


_NOTHING = _Holds(_NO_CONTENT)
_TEXT = _Holds(_COMPLEX, text=True)
_STRING = _Holds(_SIMPLE)


def check_restrictions(start: Pattern) -> None:
    """Raise :class:`~gueststate.rng.errors.GrammarError` at the first pattern of the grammar
    whose start is ``start`` that section 7 of RELAX NG, or its datatype libraries, refuse."""
    _Checker().run(start)


class _Checker:
    def __init__(self) -> None:
        self.simplified: dict[int, int] = {}  # id of a pattern -> what it simplifies to
        self.visited: set[int] = set()  # id of a pattern and context bits, in one number
        self.holds: dict[int, _Holds] = {}
        self.elements: list[Pattern] = []  # met, their content not yet checked
        self.checked: set[int] = set()

    def run(self, start: Pattern) -> None:
        """Check the start, then the content of every element it leads to, one at a time."""
        self.walk(start, _IN_START, {})
        while self.elements:
            element = self.elements.pop()
            if any(self.status(child) == _NOT_ALLOWED for child in element.children):
                continue  # its content is notAllowed: nothing inside is kept (4.20)
            for child in element.children:
                self.walk(child, 0, {})
            self.combine([self.holding(child) for child in element.children], "group", element)

    # -- what a pattern simplifies to ----------------------------------------------------

    def status(self, pattern: Pattern) -> int:
        """Whether ``pattern`` simplifies to ``notAllowed``, to ``empty``, or stays.

        One frame per level of nesting, references followed in a loop: this is as deep as the
        grammar, which may be as deep as the tree built from it allows.
        """
        found = self.simplified.get(id(pattern))
        if found is not None:
            return found
        target = _target(pattern)
        kind = target.kind if target is not None else "notAllowed"
        if kind == "notAllowed":
            found = _NOT_ALLOWED
        elif kind == "empty":
            found = _EMPTY
        elif kind in ("text", "data", "value", "element"):
            found = _KEPT
        else:
            assert target is not None
            parts = [self.status(child) for child in target.children]
            if kind == "choice":
                found = max(parts, default=_NOT_ALLOWED)
            elif kind in ("optional", "zeroOrMore"):  # a choice with empty
                found = _KEPT if _KEPT in parts else _EMPTY
            elif _NOT_ALLOWED in parts:
                found = _NOT_ALLOWED
            elif kind in ("group", "interleave", "oneOrMore"):
                found = _KEPT if _KEPT in parts else _EMPTY
            else:  # attribute, list, mixed
                found = _KEPT
        self.simplified[id(pattern)] = found
        return found

    # -- section 7.1: prohibited paths ---------------------------------------------------

    def walk(self, pattern: Pattern, context: int, blame: dict[int, Pattern]) -> None:
        """Check ``pattern`` inside the enclosing patterns ``context`` says; ``blame`` holds
        the pattern that set each bit, where a fault under it is reported, as jing does.
        References are followed as if inlined."""
        target = _target(pattern)
        if target is None:
            return
        pattern = target
        key = id(pattern) << _CONTEXT_BITS | context  # a tuple would cost an allocation more
        if key in self.visited:
            return
        self.visited.add(key)
        status = self.simplified.get(id(pattern))
        if status is None:
            status = self.status(pattern)
        if status == _NOT_ALLOWED:
            return
        if status == _EMPTY:
            self.meet("empty", pattern, context, blame)
            return
        kind = pattern.kind
        children: list[Pattern] = pattern.children
        setting = 0  # the bit this pattern sets for what it holds
        if kind == "element":
            self.meet("element", pattern, context, blame)
            if id(pattern) not in self.checked:
                self.checked.add(id(pattern))
                self.elements.append(pattern)
            return
        if kind == "attribute":
            self.meet("attribute", pattern, context, blame)
            self.attribute(pattern, context)
            setting = _IN_ATTRIBUTE
        elif kind == "list":
            self.meet("list", pattern, context, blame)
            setting = _IN_LIST
        elif kind in ("data", "value"):
            self.meet(kind, pattern, context, blame)
            _check_datatype(pattern)
            children = [pattern.except_] if pattern.except_ is not None else []
            setting = _IN_EXCEPT
        elif kind == "text":
            self.meet("text", pattern, context, blame)
        elif kind in ("group", "interleave"):
            children = [child for child in children if self.status(child) == _KEPT]
            if len(children) > 1:
                self.meet(kind, pattern, context, blame)
                context |= _IN_REPEATED_GROUP if context & _IN_ONE_OR_MORE else 0
        elif kind == "mixed":  # an interleave with text
            if self.status(children[0]) == _KEPT:
                self.meet("interleave", pattern, context, blame)
                context |= _IN_REPEATED_GROUP if context & _IN_ONE_OR_MORE else 0
            self.meet("text", pattern, context, blame)
        elif kind in ("oneOrMore", "zeroOrMore"):  # zeroOrMore: a choice of it and empty
            self.meet("oneOrMore", pattern, context, blame)
            if kind == "zeroOrMore":
                self.meet("empty", pattern, context, blame)
            setting = _IN_ONE_OR_MORE
        elif kind == "optional":  # a choice with empty
            self.meet("empty", pattern, context, blame)
        if setting:
            context |= setting
            blame = {**blame, setting: pattern}
            if setting == _IN_ONE_OR_MORE:
                blame[_IN_REPEATED_GROUP] = pattern
        for child in children:
            self.walk(child, context, blame)

    def meet(self, kind: str, pattern: Pattern, context: int, blame: dict[int, Pattern]) -> None:
        """Refuse a ``kind`` (as simplified) where an enclosing pattern forbids it."""
        if not context:
            return
        for bit, head, forbidden in _PROHIBITED:
            if context & bit and kind in forbidden:
                if bit == _IN_REPEATED_GROUP:
                    message = ("a group or interleave of attributes must not be repeated "
                               "(section 7.1 of RELAX NG prohibits oneOrMore//group//attribute "
                               "and oneOrMore//interleave//attribute)")
                else:
                    what = head.rpartition("/")[2]
                    message = (f"{_article(kind)} {kind} pattern must not be inside "
                               f"{_article(what)} {what} (section 7.1 of RELAX NG prohibits "
                               f"{head}//{kind})")
                raise _fault(blame.get(bit, pattern), message)

    def attribute(self, pattern: Pattern, context: int) -> None:
        """An attribute's own restrictions: one pattern inside, a name it may have (4.16), a
        repetition around a name class with a wildcard (7.3)."""
        name_class = pattern.name_class
        assert name_class is not None
        if len(pattern.children) > 1:
            raise _fault(pattern, "an attribute must contain at most one pattern")
        for leaf in _leaves(name_class):
            if leaf.kind == "name" and leaf.namespace == "" and leaf.local == "xmlns":
                raise _fault(pattern, "an attribute must not be named 'xmlns' (section 4.16)")
            if leaf.kind in ("name", "nsName") and leaf.namespace == _XMLNS_NS:
                raise _fault(pattern, f"an attribute must not be in the namespace '{_XMLNS_NS}' "
                                      "(section 4.16)")
        if nameclasses.wildcard(name_class) and not context & _IN_ONE_OR_MORE:
            raise _fault(pattern, "an attribute of anyName or nsName must be inside oneOrMore or "
                                  "zeroOrMore (section 7.3)")

    # -- sections 7.2 to 7.4: what a pattern holds --------------------------------------

    def holding(self, pattern: Pattern) -> _Holds:
        """What ``pattern`` holds outside elements; refuse it at the first group, interleave
        or repetition that breaks 7.2 to 7.4.  One frame per level of nesting."""
        found = self.holds.get(id(pattern))
        if found is not None:
            return found
        target = _target(pattern)
        if target is None or self.status(target) != _KEPT:
            found = _NOTHING
        elif target.kind == "text":
            found = _TEXT
        elif target.kind in ("data", "value", "list"):
            found = _STRING
        elif target.kind == "element":
            assert target.name_class is not None
            found = _Holds(_COMPLEX, elements=(target.name_class,))
        elif target.kind == "attribute":
            assert target.name_class is not None
            self.combine([self.holding(child) for child in target.children], "group", target)
            found = _Holds(_NO_CONTENT, attributes=(target.name_class,))
        else:
            found = self.holding_of(target, [self.holding(child) for child in target.children])
        self.holds[id(pattern)] = found
        return found

    def holding_of(self, pattern: Pattern, parts: list[_Holds]) -> _Holds:
        """What a pattern of patterns holds, its children holding ``parts``."""
        kind = pattern.kind
        if kind in ("group", "interleave"):
            return self.combine(parts, kind, pattern)
        if kind == "mixed":
            return self.combine([*parts, _TEXT], "interleave", pattern)
        if kind in ("oneOrMore", "zeroOrMore") and parts[0].content == _SIMPLE:
            raise _fault(pattern, "a repeated data, value or list pattern must be inside a list "
                                  "(section 7.2 of RELAX NG)")
        if len(parts) == 1:  # optional, oneOrMore, zeroOrMore
            return parts[0]
        return _Holds(  # choice
            max(part.content for part in parts),
            _union(part.attributes for part in parts),
            _union(part.elements for part in parts),
            any(part.text for part in parts),
        )

    def combine(self, parts: Sequence[_Holds], kind: str, pattern: Pattern) -> _Holds:
        """``parts`` in a group or interleave (``kind``) at ``pattern``: no string beside
        anything but attributes (7.2), no attribute twice (7.3), and for an interleave no
        element or text in two parts (7.4)."""
        parts = [part for part in parts if part is not _NOTHING]
        if len(parts) == 1:
            return parts[0]
        content = _NO_CONTENT
        for part in parts:
            if _NO_CONTENT not in (content, part.content) and (content, part.content) != (
                    _COMPLEX, _COMPLEX):
                raise _fault(pattern, f"{_article(kind)} {kind} with data, a value or a list "
                                      "must hold nothing else but attributes (section 7.2 of "
                                      "RELAX NG)")
            content = max(content, part.content)
        clash = _clash([part.attributes for part in parts])
        if clash is not None:
            raise _fault(pattern, f"duplicate attribute '{nameclasses.show(clash)}' "
                                  "(section 7.3 of RELAX NG)")
        if kind == "interleave":
            clash = _clash([part.elements for part in parts])
            if clash is not None:
                raise _fault(pattern, f"the element '{nameclasses.show(clash)}' can occur in "
                                      "more than one part of an interleave (section 7.4 of "
                                      "RELAX NG)")
            if sum(part.text for part in parts) > 1:
                raise _fault(pattern, "more than one part of an interleave holds text "
                                      "(section 7.4 of RELAX NG)")
        return _Holds(
            content,
            _union(part.attributes for part in parts),
            _union(part.elements for part in parts),
            any(part.text for part in parts),
        )


def _union(groups: Iterable[tuple[NameClass, ...]]) -> tuple[NameClass, ...]:
    """The name classes of ``groups``, each once: a define used twice in a choice (or in a
    group, for elements) adds nothing, so defines that each use the next twice stay small."""
    return tuple(dict.fromkeys(nc for group in groups for nc in group))


def _clash(operands: Sequence[tuple[NameClass, ...]]) -> nameclasses.Name | None:
    """A name two of ``operands`` (each some name classes) allow.  Plain names are looked up,
    so a group of many attributes costs its size; only wildcards are compared pairwise."""
    owner: dict[nameclasses.Name, int] = {}
    wild: list[tuple[int, NameClass]] = []
    for index, classes in enumerate(operands):
        for name_class in classes:
            names = nameclasses.names(name_class)
            if names is None:
                wild.append((index, name_class))
                continue
            for name in names:
                if owner.setdefault(name, index) != index:
                    return name
    for index, name_class in wild:
        for other, classes in enumerate(operands):
            if other == index:
                continue
            for candidate in classes:
                found = nameclasses.overlap(name_class, candidate)
                if found is not None:
                    return found
    return None


def _check_datatype(pattern: Pattern) -> None:
    """A ``data`` or ``value`` of the built-in library or of XML Schema's, as jing knows them."""
    library, datatype = pattern.datatype_library, pattern.datatype or ""
    if library == "":
        if datatype not in ("string", "token"):
            raise _fault(pattern, f"datatype {datatype!r} is not built in: the built-in library "
                                  "has only 'string' and 'token'")
        if pattern.params:
            raise _fault(pattern, "a built-in datatype takes no parameters")
    elif library == XSD_LIBRARY and datatype not in XSD_TYPES:
        raise _fault(pattern, f"datatype {datatype!r} is not one of XML Schema's")


def _target(pattern: Pattern) -> Pattern | None:
    """``pattern``, or what its references lead to (None: a define without a body)."""
    while pattern.kind == "ref":
        if pattern.define is None or pattern.define.body is None:
            return None
        pattern = pattern.define.body
    return pattern


def _leaves(name_class: NameClass) -> list[NameClass]:
    """Every name class inside ``name_class``, itself included."""
    found = [name_class]
    for child in name_class.children:
        found += _leaves(child)
    if name_class.except_ is not None:
        found += _leaves(name_class.except_)
    return found


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _fault(pattern: Pattern, message: str) -> GrammarError:
    """The error at ``pattern``; a group the loader made (several patterns in one element)
    has no element of its own, so it is found at the first element of its line."""
    error = fault_at(pattern.file, pattern.line, pattern.kind, message)
    if error.problem.column == 0 and pattern.kind in ("group", "choice", "interleave"):
        for kind in ("element", "attribute", "define", "start", "oneOrMore", "zeroOrMore",
                     "optional", "mixed", "list", "except"):
            found = fault_at(pattern.file, pattern.line, kind, message)
            if found.problem.column:
                return found
    return error
