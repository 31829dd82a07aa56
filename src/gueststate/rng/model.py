"""The content-model tree: what a reader of a RELAX NG grammar needs to know.

A :class:`Node` is one pattern after simplification.  Elements and attributes carry their name,
patterns carry their children; ``ref`` nodes stand where an element would recur (recursion is
kept by reference, never expanded forever).  The reader shares the subtree of a define between
the places that use it, so treat a tree as read-only.  Nothing here knows about Sphinx or lxml.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii as _quote
from typing import Any, Literal

NodeKind = Literal[
    "element",
    "attribute",
    "choice",
    "group",
    "interleave",
    "optional",
    "zeroOrMore",
    "oneOrMore",
    "mixed",
    "list",
    "text",
    "data",
    "value",
    "empty",
    "notAllowed",
    "ref",
    "define",  # a named pattern shown once (element definitions only): ``name`` is its key
]

#: Name used for an element or attribute whose name class is ``anyName``.
ANY_NAME = "*"


@dataclass(eq=False, slots=True, weakref_slot=True)
class Node:
    """One pattern of the content model.

    ``name`` is set for elements and attributes (``"*"`` for any name, ``"{ns}*"`` for
    ``nsName``, names of a name-class choice joined with ``"|"``), ``datatype``
    and ``params`` for ``data``, ``value`` for ``value``, ``target`` for ``ref`` (the path of the
    element it points back to), ``name_except`` for the names an ``anyName`` or ``nsName``
    excludes (spelled like ``name``).  ``documentation`` and ``since`` come from the grammar's
    annotations, ``default`` from an attribute's ``a:defaultValue`` (the value its absence
    means); ``source`` is ``(file, line)`` of the pattern in the grammar.
    """

    kind: NodeKind
    name: str | None = None
    namespace: str = ""
    children: list[Node] = field(default_factory=list)
    datatype: str | None = None
    datatype_library: str = ""
    params: dict[str, str] = field(default_factory=dict)
    value: str | None = None
    except_: Node | None = None
    name_except: str | None = None
    target: str | None = None
    documentation: str | None = None
    since: str | None = None
    default: str | None = None
    source: tuple[str, int] | None = None
    #: The prefix a reader sees before ``name``: the grammar's own (``xml`` of ``xml:lang``),
    #: or one made from the URI for a namespace given by ``ns`` alone (``qemu``); never for
    #: the namespace of the root element.
    prefix: str = ""

    @property
    def qualified(self) -> str:
        """``name`` with its prefix, and the names it leaves out: ``xml:lang``,
        ``qemu:commandline``, ``disk``, ``* except secret``."""
        name = self.name or ANY_NAME
        name = f"{self.prefix}:{name}" if self.prefix else name
        return f"{name} except {self.name_except}" if self.name_except else name

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``gueststate reference --format json``."""
        out: dict[str, Any] = {}
        for key, value in _fields(self):
            if isinstance(value, Node):
                out[key] = value.to_dict()
            elif isinstance(value, list):
                out[key] = [child.to_dict() for child in value]
            else:
                out[key] = dict(value) if isinstance(value, dict) else value
        return out

    def to_json(self) -> str:
        """``json.dumps(self.to_dict(), separators=(",", ":"))``, the same text made faster.

        The tree shares the subtree of a define between the places that use it (libvirt's
        domain grammar: 4,000 distinct nodes written out as 33,000), so each node is encoded
        once and its text repeated, instead of building and encoding a dictionary at every
        place.
        """
        out: list[str] = []
        _write_json(self, out, {})
        return "".join(out)


def _fields(node: Node) -> Iterator[tuple[str, str | dict[str, str] | Node | list[Node]]]:
    """The keys of a node's JSON shape, in order, with their values (unset fields left out)."""
    yield "kind", node.kind
    if node.name is not None:
        yield "name", node.name
    if node.namespace:
        yield "namespace", node.namespace
    if node.prefix:
        yield "prefix", node.prefix
    if node.datatype is not None:
        yield "datatype", node.datatype
        if node.datatype_library:
            yield "datatypeLibrary", node.datatype_library
    if node.params:
        yield "params", node.params
    if node.value is not None:
        yield "value", node.value
    if node.except_ is not None:
        yield "except", node.except_
    if node.name_except is not None:
        yield "nameExcept", node.name_except
    if node.target is not None:
        yield "target", node.target
    if node.documentation:
        yield "documentation", node.documentation
    if node.since:
        yield "since", node.since
    if node.default is not None:
        yield "default", node.default
    if node.children:
        yield "children", node.children


def _write_json(node: Node, out: list[str], spans: dict[int, tuple[int, int]]) -> None:
    """Append the compact JSON of ``node`` to ``out`` in pieces, key for key as
    :meth:`Node.to_dict` orders them.

    ``spans`` holds where the pieces of each node already written lie in ``out``, by identity
    (the tree is read-only): a shared subtree met again repeats those pieces, references
    only.  Joining each subtree into a string of its own would copy the deep ones once per
    level: 27 MB for the 2 MB of libvirt's domain grammar.
    """
    span = spans.get(id(node))
    if span is not None:
        out += out[span[0]:span[1]]
        return
    first = len(out)
    text = "{"
    for key, value in _fields(node):
        text += ("" if text == "{" else ",") + _quote(key) + ":"
        if isinstance(value, str):
            text += _quote(value)
        elif isinstance(value, dict):
            text += "{" + ",".join(f"{_quote(k)}:{_quote(v)}" for k, v in value.items()) + "}"
        else:
            out.append(text + ("[" if isinstance(value, list) else ""))
            for index, child in enumerate(value if isinstance(value, list) else [value]):
                if index:
                    out.append(",")
                _write_json(child, out, spans)
            text = "]" if isinstance(value, list) else ""
    out.append(text + "}")
    spans[id(node)] = (first, len(out))


def unique_nodes(root: Node) -> Iterator[Node]:
    """Every node of the tree below ``root`` once, though subtrees are shared."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        stack.extend(node.children)


_URI_WORDS_SKIPPED = frozenset(
    ("http", "https", "urn", "www", "org", "com", "net", "ns", "schemas", "schema", "xml"))


def made_prefix(namespace: str, taken: set[str]) -> str:
    """A prefix for a namespace the grammar names without one: a word of its URI.

    >>> made_prefix("http://libvirt.org/schemas/domain/qemu/1.0", set())
    'qemu'
    """
    words = [w for w in re.split(r"[/:#.]+", namespace) if re.fullmatch(r"[A-Za-z][\w-]*", w)]
    for word in [w.lower() for w in reversed(words) if w.lower() not in _URI_WORDS_SKIPPED]:
        if word not in taken:
            return word
    number = 1
    while f"ns{number}" in taken:
        number += 1
    return f"ns{number}"


def walk_paths(root: Node) -> Iterator[tuple[str, Node, tuple[Node, ...]]]:
    """Yield ``(path, node, ancestors)`` for every element and attribute below ``root``.

    Paths join element names with ``/`` and prefix attributes with ``@``, as the ``xml``
    Sphinx domain names objects: ``domainbackup/disks/disk/@exportname``.  ``ancestors`` are the
    patterns between the nearest enclosing element and the node (choices, optionals, ...), so a
    caller can tell which alternative a node belongs to.  The same path may be yielded more
    than once when alternatives define the same element differently; ``ref`` nodes are not
    followed, so the walk always ends.
    """
    # A stack, not recursion: nested generators would cost each node its depth again.
    pending: list[tuple[Node, str, tuple[Node, ...]]] = [(root, "", ())]
    while pending:
        node, parent_path, ancestors = pending.pop()
        if node.kind not in ("element", "attribute"):
            within = (*ancestors, node)
            pending.extend((child, parent_path, within) for child in reversed(node.children))
            continue
        step = node.qualified
        if node.kind == "attribute":
            step = "@" + step
        path = f"{parent_path}/{step}" if parent_path else step
        yield path, node, ancestors
        if node.kind == "element":
            pending.extend((child, path, ()) for child in reversed(node.children))
