"""A grammar as its element *definitions*: one entry per ``element`` pattern, linear in size.

The path tree of :func:`gueststate.rng.read_grammar` expands every element wherever it may
appear, which suits configuration grammars and explodes on document grammars (DocBook's
``<para>`` may appear under hundreds of elements).  Here each ``element`` pattern of the loaded
grammar is one :class:`ElementDefinition`; inside a content, a child element is a ``ref`` node
whose ``target`` is the key of its definition, so recursion is a reference and nothing is
expanded twice.  Defines without elements are inlined (their result is shared, never copied
into a bigger tree), under a budget that grows with the grammar.

Names are spelled as the grammar writes them (``xml:lang``, ``dc:title``); a namespace the
grammar gives no prefix (libvirt's ``ns="..."`` for ``qemu:commandline``) gets one made from
its URI, except the namespace of the root element, which reads without one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gueststate.problems import Problem
from gueststate.rng import simplify
from gueststate.rng.errors import GrammarError, fault_at, fault_at_root
from gueststate.rng.loader import load, real_path
from gueststate.rng.model import ANY_NAME, Node, made_prefix
from gueststate.rng.nesting import MAX_NESTING, TOO_DEEP, room
from gueststate.rng.patterns import Define, NameClass, Pattern

#: Nodes made per pattern of the grammar, at most: inlining a define many times is shared
#: work, but flattening its groups copies their items; past this a grammar is refused.
BUDGET_PER_PATTERN = 64
#: A define whose content counts more patterns than this is a named pattern, shown once.
NAMED_PATTERN_SIZE = 24
#: Attributes mixed with content stay inline up to this size, however often they are used:
#: past it even they are a named pattern, so no content expands beyond a bound.
MAX_INLINE = 2_000
_XML_NS = "http://www.w3.org/XML/1998/namespace"


@dataclass(eq=False)
class ElementDefinition:
    """One ``element`` pattern: its name, content, where it is defined and what contains it.

    ``key`` names it uniquely: its qualified name, ``name[2]``, ``name[3]`` for further
    definitions of the same name.  ``content`` holds its attributes and content patterns;
    a child element is a ``ref`` node whose ``target`` is that child definition's key.
    """

    key: str
    name: str
    namespace: str
    content: list[Node]
    source: tuple[str, int]
    documentation: str | None = None
    since: str | None = None
    parents: list[ElementDefinition] = field(default_factory=list)
    #: The parents whose own content names this element, and the named patterns that do:
    #: together they say where it may appear in few words.
    direct_parents: list[ElementDefinition] = field(default_factory=list)
    via: list[NamedPattern] = field(default_factory=list)
    name_class: NameClass | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "name": self.name}
        if self.namespace:
            out["namespace"] = self.namespace
        if self.documentation:
            out["documentation"] = self.documentation
        if self.since:
            out["since"] = self.since
        out["source"] = list(self.source)
        out["parents"] = [parent.key for parent in self.parents]
        out["content"] = [node.to_dict() for node in self.content]
        return out


@dataclass(eq=False)
class NamedPattern:
    """A define too big to repeat in every content that uses it: ``define`` nodes name it."""

    key: str
    content: Node
    source: tuple[str, int] | None
    attributes: bool = False  # a group of attributes (listed with each element that has them)
    #: The element definitions and named patterns whose own content uses this one.
    used_by: list[ElementDefinition | NamedPattern] = field(default_factory=list)


@dataclass
class Definitions:
    """Every element definition reachable from the start, in the order first reached."""

    roots: list[ElementDefinition]
    elements: list[ElementDefinition]
    patterns: list[NamedPattern]
    namespaces: dict[str, str]  # prefix ("" for the root's namespace) -> URI
    files: tuple[str, ...]

    def by_key(self) -> dict[str, ElementDefinition]:
        return {element.key: element for element in self.elements}

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``gueststate reference --by definition --format json``."""
        return {
            "namespaces": dict(self.namespaces),
            "roots": [root.key for root in self.roots],
            "elements": [element.to_dict() for element in self.elements],
            "patterns": [{"key": pattern.key, "attributes": pattern.attributes,
                          "content": pattern.content.to_dict()} for pattern in self.patterns],
        }


def read_definitions(path: str | Path) -> Definitions:
    """Read the grammar at ``path`` as element definitions; errors as for ``read_grammar``."""
    try:
        with room():
            loaded = load(path)
            converter = _Converter(loaded.start)
            roots = converter.run()
    except RecursionError:  # past what nesting.FRAMES_PER_LEVEL foresaw: still one line
        problem = Problem(real_path(path), 0, 0, "patterns nest too deeply to read")
        raise GrammarError(problem) from None
    converter.name_everything(roots)
    return Definitions(roots, converter.elements, converter.named_patterns,
                       converter.namespaces, loaded.files)


class _Converter:
    def __init__(self, start: Pattern) -> None:
        self.start = start
        self.elements: list[ElementDefinition] = []
        self.by_pattern: dict[int, ElementDefinition] = {}
        self.patterns: list[Pattern] = []  # element patterns waiting for their content
        self.defines: dict[int, Node] = {}
        self.attributes: list[tuple[Node, NameClass]] = []
        self.refs: list[tuple[Node, ElementDefinition]] = []
        self.ref_of: dict[int, ElementDefinition] = {}
        self.namespaces: dict[str, str] = {}
        self.named_patterns: list[NamedPattern] = []
        self.pattern_names: dict[str, int] = {}
        self.pattern_of: dict[str, NamedPattern] = {}
        self.reach: dict[str, list[ElementDefinition]] = {}
        self.sizes: dict[int, int] = {}
        self.attributed: dict[int, bool] = {}
        self.attributes_only: dict[int, bool] = {}
        self.steps = 0
        self.budget = BUDGET_PER_PATTERN * _count(start) + 10_000
        # Patterns being converted, one inside another, and the refs among them, innermost
        # last: see nesting.MAX_NESTING.
        self.depth = 0
        self.following: list[Pattern] = []

    def run(self) -> list[ElementDefinition]:
        top = self.node(self.start)
        roots = self.children_of([top])
        done = 0
        while done < len(self.patterns):
            pattern = self.patterns[done]
            definition = self.by_pattern[id(pattern)]
            children = [self.node(child) for child in pattern.children]
            definition.content = simplify.content(children, definition.source) or []
            done += 1
        for definition in self.elements:
            # Each child once per definition (children_of), each definition once: no test
            # for a repeat, which grew with the parents, thousands of them for a shared child.
            for child in self.children_of(definition.content):
                child.parents.append(definition)
        self.note_uses()
        return roots

    def note_uses(self) -> None:
        """Who names whom in its own content: direct parents, ``via`` and ``used_by``."""
        users: list[tuple[ElementDefinition | NamedPattern, Node]] = [
            (definition, Node("group", children=definition.content))
            for definition in self.elements]
        users += [(pattern, pattern.content) for pattern in self.named_patterns]
        for user, content in users:
            # What this user is already noted in: a test of the lists themselves grew with
            # their length, thousands of users for a shared child or named pattern.
            noted: set[int] = set()
            for node in _own_refs(content):
                if node.kind == "define":
                    used: ElementDefinition | NamedPattern = self.pattern_of[node.name or ""]
                else:
                    used = self.ref_of[id(node)]
                if id(used) in noted:
                    continue
                noted.add(id(used))
                if isinstance(used, NamedPattern):
                    used.used_by.append(user)
                elif isinstance(user, NamedPattern):
                    used.via.append(user)
                else:
                    used.direct_parents.append(user)

    def children_of(self, content: list[Node]) -> list[ElementDefinition]:
        """The definitions of the elements ``content`` allows, named patterns included."""
        found: dict[int, ElementDefinition] = {}
        seen: set[int] = set()
        stack = list(reversed(content))
        while stack:
            node = stack.pop()
            if id(node) in seen or node.kind == "attribute":
                continue
            seen.add(id(node))
            if node.kind == "ref":
                definition = self.ref_of[id(node)]
                found.setdefault(id(definition), definition)
            elif node.kind == "define":
                for definition in self.reached(node.name or ""):
                    found.setdefault(id(definition), definition)
            else:
                stack.extend(reversed(node.children))
        return list(found.values())

    def reached(self, key: str) -> list[ElementDefinition]:
        """:meth:`children_of` the named pattern ``key``, found once: thousands of elements
        may use it, and walking its content for each was their number times its size."""
        known = self.reach.get(key)
        if known is None:
            known = self.reach[key] = self.children_of([self.pattern_of[key].content])
        return known

    def by_pattern_of(self, ref: Node) -> ElementDefinition:
        return self.ref_of[id(ref)]

    def spend(self, count: int) -> None:
        self.steps += count
        if self.steps > self.budget:
            raise fault_at_root(self.start.file, "the grammar's defines expand to more than "
                                f"{self.budget} patterns ({BUDGET_PER_PATTERN} per pattern)")

    def node(self, pattern: Pattern) -> Node:
        """The node of ``pattern``, one level deeper."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            at = self.following[-1] if self.following else pattern
            raise fault_at(at.file, at.line, at.kind, TOO_DEEP)
        is_ref = pattern.kind == "ref"
        if is_ref:
            self.following.append(pattern)
        made = self.convert(pattern)
        if is_ref:
            self.following.pop()
        self.depth -= 1  # not after an error: converting stops there
        return made

    def convert(self, pattern: Pattern) -> Node:
        """What :meth:`node` returns."""
        self.spend(1)
        kind = pattern.kind
        source = (pattern.file, pattern.line)
        documentation, since = pattern.documentation, pattern.since
        if kind == "ref":
            define = pattern.define
            assert define is not None and define.body is not None
            made = self.defines.get(id(define))
            if made is None:
                made = self.defines[id(define)] = self.named(define, self.node(define.body))
            return simplify.annotate(made, documentation, since)
        if kind == "element":
            return self.element(pattern)
        if kind == "attribute":
            assert pattern.name_class is not None
            children = [self.node(child) for child in pattern.children]
            body = simplify.content(children, source)
            if body is None:
                return Node("notAllowed", source=source)
            attribute = Node("attribute", namespace=_namespace(pattern.name_class),
                             children=body, documentation=documentation, since=since,
                             default=pattern.default, source=source)
            self.attributes.append((attribute, pattern.name_class))
            return attribute
        children = [self.node(child) for child in pattern.children]
        if kind in ("choice", "group", "interleave"):
            if kind == "choice":
                made = simplify.choice(children, documentation, since, source)
            else:
                made = simplify.sequence(kind, children, documentation, since, source)
            self.spend(len(made.children))
            return made
        return simplify.rest(pattern, kind, children, documentation, since, source, self.node)

    def named(self, define: Define, made: Node) -> Node:
        """``made``, or a ``define`` node naming it when it is too big to repeat everywhere.

        DocBook's inline elements, a choice of 150, would otherwise be copied into the content
        of every element that allows them; and defines that each use the next twice would
        double at every level.  Element content stays readable and linear in size.
        """
        if self.size(made) <= NAMED_PATTERN_SIZE:
            return made
        attributes = self.has_attributes(made)
        if attributes and not self.only_attributes(made) and self.size(made) <= MAX_INLINE:
            return made  # attributes mixed with content stay inline, where tables show them
        count = self.pattern_names.get(define.name, 0) + 1
        self.pattern_names[define.name] = count
        key = define.name if count == 1 else f"{define.name}[{count}]"
        self.named_patterns.append(NamedPattern(key, made, made.source, attributes))
        self.pattern_of[key] = self.named_patterns[-1]
        return Node("define", name=key, source=made.source)

    def has_attributes(self, node: Node) -> bool:
        """Whether ``node`` holds an attribute (not one of a child element's)."""
        known = self.attributed.get(id(node))
        if known is None:
            known = node.kind == "attribute" or (
                node.kind == "define" and self.pattern_of[node.name or ""].attributes)
            for child in node.children:  # not any() of a generator: each level a C frame
                known = known or self.has_attributes(child)
            self.attributed[id(node)] = known
        return known

    def only_attributes(self, node: Node) -> bool:
        """Whether ``node`` is attributes alone (a group of attributes many elements share)."""
        known = self.attributes_only.get(id(node))
        if known is None:
            if node.kind in ("attribute", "empty"):
                known = True
            elif node.kind == "define":
                known = self.pattern_of[node.name or ""].attributes
            elif node.kind in ("group", "interleave", "choice", "optional", "zeroOrMore",
                               "oneOrMore"):
                known = True
                for child in node.children:  # not all() of a generator: a C frame a level
                    known = known and self.only_attributes(child)
            else:
                known = False
            self.attributes_only[id(node)] = known
        return known

    def size(self, node: Node) -> int:
        """Patterns ``node`` stands for, elements and named patterns counted as one."""
        known = self.sizes.get(id(node))
        if known is None:
            known = 1
            for child in node.children:  # not sum() of a generator: each level a C frame
                known += self.size(child)
            self.sizes[id(node)] = known
        return known

    def element(self, pattern: Pattern) -> Node:
        """A ``ref`` to the definition of this element pattern, made on first sight."""
        assert pattern.name_class is not None
        definition = self.by_pattern.get(id(pattern))
        if definition is None:
            definition = ElementDefinition(
                "", "", _namespace(pattern.name_class), [], (pattern.file, pattern.line),
                pattern.documentation, pattern.since, name_class=pattern.name_class,
            )
            self.by_pattern[id(pattern)] = definition
            self.elements.append(definition)
            self.patterns.append(pattern)
        ref = Node("ref", namespace=definition.namespace, source=(pattern.file, pattern.line))
        self.refs.append((ref, definition))
        self.ref_of[id(ref)] = definition
        return ref

    def name_everything(self, roots: list[ElementDefinition]) -> None:
        """Spell every name with its prefix and give every definition its unique key."""
        main = roots[0].namespace if roots else ""
        prefixes: dict[str, str] = {_XML_NS: "xml"}
        for definition in self.elements:
            _note_prefixes(definition.name_class, prefixes)
        for _, name_class in self.attributes:
            _note_prefixes(name_class, prefixes)
        used = {*(d.namespace for d in self.elements), *(a.namespace for a, _ in self.attributes)}
        for namespace in sorted(used - {"", main} - set(prefixes)):
            prefixes[namespace] = made_prefix(namespace, set(prefixes.values()))
        if main:
            prefixes[main] = ""  # the format's own names read without a prefix
        self.namespaces = {prefix: uri for uri, prefix in sorted(prefixes.items())
                           if uri in used or uri == main}
        counts: dict[str, int] = {}
        for definition in self.elements:
            assert definition.name_class is not None
            definition.name = _spell(definition.name_class, prefixes)
            counts[definition.name] = counts.get(definition.name, 0) + 1
            number = counts[definition.name]
            definition.key = definition.name if number == 1 else f"{definition.name}[{number}]"
        for attribute, name_class in self.attributes:
            attribute.name = _spell(name_class, prefixes)
        for ref, definition in self.refs:
            ref.name, ref.target = definition.name, definition.key


def _own_refs(content: Node) -> list[Node]:
    """The ``ref`` and ``define`` nodes of ``content``, not looking inside named patterns."""
    found: list[Node] = []
    seen: set[int] = set()
    stack = [content]
    while stack:
        node = stack.pop()
        if id(node) in seen or node.kind == "attribute":
            continue
        seen.add(id(node))
        if node.kind in ("ref", "define"):
            found.append(node)
        else:
            stack.extend(reversed(node.children))
    return found


def _count(start: Pattern) -> int:
    """Patterns in the loaded grammar, each define's body counted once."""
    seen: set[int] = set()
    stack = [start]
    while stack:
        pattern = stack.pop()
        if id(pattern) in seen:
            continue
        seen.add(id(pattern))
        stack.extend(pattern.children)
        if pattern.except_ is not None:
            stack.append(pattern.except_)
        if pattern.define is not None and pattern.define.body is not None:
            stack.append(pattern.define.body)
    return len(seen)


def _namespace(name_class: NameClass) -> str:
    if name_class.kind in ("name", "nsName"):
        return name_class.namespace
    if name_class.kind == "choice":
        spaces = {_namespace(child) for child in name_class.children}
        return spaces.pop() if len(spaces) == 1 else ""
    return ""


def _note_prefixes(name_class: NameClass | None, prefixes: dict[str, str]) -> None:
    if name_class is None:
        return
    if name_class.prefix and name_class.namespace:
        prefixes.setdefault(name_class.namespace, name_class.prefix)
    for child in name_class.children:
        _note_prefixes(child, prefixes)


def _spell(name_class: NameClass, prefixes: dict[str, str]) -> str:
    """A name class as a reader writes it: ``xml:lang``, ``*``, ``db:*``, ``a|b``, with the
    names an ``except`` leaves out: ``* except secret``, ``a|(y:* except y:no)``."""
    if name_class.kind == "choice":
        parts = [_spell(child, prefixes) for child in name_class.children]
        return "|".join(f"({part})" if " except " in part else part for part in parts)
    namespace = name_class.namespace
    local = name_class.local if name_class.kind == "name" else ANY_NAME
    if namespace and namespace not in prefixes:  # only named in an except: no prefix made
        name = f"{{{namespace}}}{local}"
    else:
        prefix = prefixes.get(namespace, "") if namespace else ""
        name = f"{prefix}:{local}" if prefix else local
    if name_class.except_ is None:
        return name
    excluded = _spell(name_class.except_, prefixes)
    return f"{name} except {f'({excluded})' if ' except ' in excluded else excluded}"
