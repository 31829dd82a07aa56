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


@dataclass(eq=False)
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
        """``name`` with its prefix: ``xml:lang``, ``qemu:commandline``, ``disk``."""
        name = self.name or ANY_NAME
        return f"{self.prefix}:{name}" if self.prefix else name

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``gueststate reference --format json``."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.name is not None:
            out["name"] = self.name
        if self.namespace:
            out["namespace"] = self.namespace
        if self.prefix:
            out["prefix"] = self.prefix
        if self.datatype is not None:
            out["datatype"] = self.datatype
            if self.datatype_library:
                out["datatypeLibrary"] = self.datatype_library
        if self.params:
            out["params"] = dict(self.params)
        if self.value is not None:
            out["value"] = self.value
        if self.except_ is not None:
            out["except"] = self.except_.to_dict()
        if self.name_except is not None:
            out["nameExcept"] = self.name_except
        if self.target is not None:
            out["target"] = self.target
        if self.documentation:
            out["documentation"] = self.documentation
        if self.since:
            out["since"] = self.since
        if self.default is not None:
            out["default"] = self.default
        if self.children:
            out["children"] = [child.to_dict() for child in self.children]
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
    head = '{"kind":' + _quote(node.kind)
    if node.name is not None:
        head += ',"name":' + _quote(node.name)
    if node.namespace:
        head += ',"namespace":' + _quote(node.namespace)
    if node.prefix:
        head += ',"prefix":' + _quote(node.prefix)
    if node.datatype is not None:
        head += ',"datatype":' + _quote(node.datatype)
        if node.datatype_library:
            head += ',"datatypeLibrary":' + _quote(node.datatype_library)
    if node.params:
        head += ',"params":{' + ",".join(
            [f"{_quote(key)}:{_quote(value)}" for key, value in node.params.items()]) + "}"
    if node.value is not None:
        head += ',"value":' + _quote(node.value)
    if node.except_ is not None:
        out.append(head + ',"except":')
        _write_json(node.except_, out, spans)
        head = ""
    if node.name_except is not None:
        head += ',"nameExcept":' + _quote(node.name_except)
    if node.target is not None:
        head += ',"target":' + _quote(node.target)
    if node.documentation:
        head += ',"documentation":' + _quote(node.documentation)
    if node.since:
        head += ',"since":' + _quote(node.since)
    if node.default is not None:
        head += ',"default":' + _quote(node.default)
    if node.children:
        out.append(head + ',"children":[')
        for index, child in enumerate(node.children):
            if index:
                out.append(",")
            _write_json(child, out, spans)
        out.append("]}")
    else:
        out.append(head + "}")
    spans[id(node)] = (first, len(out))


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
