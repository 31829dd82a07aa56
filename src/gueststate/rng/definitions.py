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

import re
from dataclasses import dataclass, field
from pathlib import Path

from gueststate.problems import Problem
from gueststate.rng import simplify
from gueststate.rng.errors import GrammarError, fault_at_root
from gueststate.rng.loader import load
from gueststate.rng.model import ANY_NAME, Node
from gueststate.rng.patterns import NameClass, Pattern

#: Nodes made per pattern of the grammar, at most: inlining a define many times is shared
#: work, but flattening its groups copies their items; past this a grammar is refused.
BUDGET_PER_PATTERN = 64
#: A shared define's group or choice longer than this is not flattened into its users again.
SHARED_FLAT_MAX = 16
_FLATTENED = frozenset(("group", "interleave", "choice"))
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
    name_class: NameClass | None = field(default=None, repr=False)


@dataclass
class Definitions:
    """Every element definition reachable from the start, in the order first reached."""

    roots: list[ElementDefinition]
    elements: list[ElementDefinition]
    namespaces: dict[str, str]  # prefix ("" for the root's namespace) -> URI
    files: tuple[str, ...]

    def by_key(self) -> dict[str, ElementDefinition]:
        return {element.key: element for element in self.elements}


def read_definitions(path: str | Path) -> Definitions:
    """Read the grammar at ``path`` as element definitions; errors as for ``read_grammar``."""
    loaded = load(path)
    converter = _Converter(loaded.start)
    try:
        roots = converter.run()
    except RecursionError:
        problem = Problem(str(Path(path).resolve()), 0, 0, "patterns nest too deeply to read")
        raise GrammarError(problem) from None
    converter.name_everything(roots)
    return Definitions(roots, converter.elements, converter.namespaces, loaded.files)


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
        self.steps = 0
        self.budget = BUDGET_PER_PATTERN * _count(start) + 10_000

    def run(self) -> list[ElementDefinition]:
        top = self.node(self.start)
        roots = [self.by_pattern_of(ref) for ref in _refs(top)]
        done = 0
        while done < len(self.patterns):
            pattern = self.patterns[done]
            definition = self.by_pattern[id(pattern)]
            children = [self.node(child) for child in pattern.children]
            definition.content = simplify.content(children, definition.source) or []
            for ref in _all_refs(definition.content):
                child = self.by_pattern_of(ref)
                if definition not in child.parents:
                    child.parents.append(definition)
            done += 1
        return roots

    def by_pattern_of(self, ref: Node) -> ElementDefinition:
        return self.ref_of[id(ref)]

    def spend(self, count: int) -> None:
        self.steps += count
        if self.steps > self.budget:
            raise fault_at_root(self.start.file, "the grammar's defines expand to more than "
                                f"{self.budget} patterns ({BUDGET_PER_PATTERN} per pattern)")

    def node(self, pattern: Pattern) -> Node:
        self.spend(1)
        kind = pattern.kind
        source = (pattern.file, pattern.line)
        documentation, since = pattern.documentation, pattern.since
        if kind == "ref":
            define = pattern.define
            assert define is not None and define.body is not None
            made = self.defines.get(id(define))
            if made is None:
                made = self.defines[id(define)] = self.node(define.body)
            elif made.kind in _FLATTENED and len(made.children) > SHARED_FLAT_MAX:
                # Used again: kept whole inside a group of one, so no caller copies its items
                # (defines that each use the next twice would otherwise double every level).
                made = Node("group", children=[made], source=made.source)
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
        if kind in ("optional", "zeroOrMore", "oneOrMore"):
            return simplify.repeat(kind, children[0], documentation, since, source)
        if kind in ("mixed", "list"):
            inner = children[0]
            if inner.kind == "notAllowed":
                return inner
            if kind == "mixed" and inner.kind == "empty":
                return Node("text", documentation=documentation, since=since, source=source)
            return Node(kind, children=simplify.content([inner], source) or [],
                        documentation=documentation, since=since, source=source)
        node = Node(kind, documentation=documentation, since=since, source=source)
        if kind == "data":
            node.datatype, node.datatype_library = pattern.datatype, pattern.datatype_library
            node.params = dict(pattern.params)
            if pattern.except_ is not None:
                excluded = self.node(pattern.except_)
                node.except_ = None if excluded.kind == "notAllowed" else excluded
        elif kind == "value":
            node.value = pattern.value
            node.datatype, node.datatype_library = pattern.datatype, pattern.datatype_library
            if pattern.datatype in ("QName", "NOTATION"):
                node.namespace = pattern.namespace
        return node

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
            prefixes[namespace] = _made_prefix(namespace, set(prefixes.values()))
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


def _refs(node: Node) -> list[Node]:
    """The ``ref`` nodes at ``node``'s own level (the elements it may be)."""
    if node.kind == "ref":
        return [node]
    if node.kind == "attribute":
        return []
    return [ref for child in node.children for ref in _refs(child)]


def _all_refs(content: list[Node]) -> list[Node]:
    """Every child element ``ref`` in an element's content, each shared subtree seen once."""
    found: list[Node] = []
    seen: set[int] = set()
    stack = list(content)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.kind == "ref":
            found.append(node)
        elif node.kind != "attribute":
            stack.extend(node.children)
    found.reverse()
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


def _made_prefix(namespace: str, taken: set[str]) -> str:
    """A prefix for a namespace the grammar names without one: a word of its URI."""
    words = [w for w in re.split(r"[/:#.]+", namespace) if re.fullmatch(r"[A-Za-z][\w-]*", w)]
    skip = {"http", "https", "urn", "www", "org", "com", "net", "ns", "schemas", "schema", "xml"}
    candidates = [w.lower() for w in reversed(words) if w.lower() not in skip] + ["ns"]
    for word in candidates:
        if word not in taken:
            return word
    number = 1
    while f"ns{number}" in taken:
        number += 1
    return f"ns{number}"


def _spell(name_class: NameClass, prefixes: dict[str, str]) -> str:
    """A name class as a reader writes it: ``xml:lang``, ``*``, ``db:*``, ``a|b``."""
    if name_class.kind == "name":
        prefix = prefixes.get(name_class.namespace, "") if name_class.namespace else ""
        return f"{prefix}:{name_class.local}" if prefix else name_class.local
    if name_class.kind == "nsName":
        prefix = prefixes.get(name_class.namespace, "")
        return f"{prefix}:{ANY_NAME}" if prefix else ANY_NAME
    if name_class.kind == "anyName":
        return ANY_NAME
    return "|".join(_spell(child, prefixes) for child in name_class.children)
