"""The simplifications a reader wants, applied as each node of the tree is made.

``notAllowed`` branches of a choice go, a pattern that needs a ``notAllowed`` part becomes
``notAllowed``, ``empty`` parts of groups go, a choice with ``empty`` becomes ``optional``,
nested groups, interleaves and choices of the same kind are flattened, and redundant
cardinalities collapse (``optional`` of ``zeroOrMore`` is ``zeroOrMore``).  A pattern carrying
its own documentation is never merged into another, so no documentation is lost.

Nodes may be shared between several places of the tree, so nothing here changes a node it was
given: it makes a new one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from gueststate.rng.model import Node, NodeKind
from gueststate.rng.patterns import Pattern

_REPEATS = frozenset(("optional", "zeroOrMore", "oneOrMore"))

Source = tuple[str, int] | None


def annotated(node: Node) -> bool:
    """Whether ``node`` carries documentation or a version of its own."""
    return node.documentation is not None or node.since is not None


def annotate(node: Node, documentation: str | None, since: str | None) -> Node:
    """``node`` with these annotations where it has none of its own.

    A cardinality wrapper around a single element or attribute passes them to what it wraps,
    where a reader looks for them, unless that has documentation of its own.  A ``node`` whose
    own documentation differs is kept inside a ``group`` that carries the outer one: the
    documentation of a one-pattern alternative is the label a reader knows it by.
    """
    if documentation is not None and node.documentation not in (None, documentation):
        return Node("group", children=[node], documentation=documentation, since=since,
                    source=node.source)
    documentation = documentation if node.documentation is None else node.documentation
    since = since if node.since is None else node.since
    if documentation == node.documentation and since == node.since:
        return node
    if node.kind in _REPEATS and not annotated(node):
        inner = node.children[0]
        if inner.kind in ("element", "attribute") and (
            documentation is None or inner.documentation in (None, documentation)
        ):
            return dataclasses.replace(node, children=[annotate(inner, documentation, since)])
    return dataclasses.replace(node, documentation=documentation, since=since)


def choice(
    children: Sequence[Node], documentation: str | None, since: str | None, source: Source
) -> Node:
    """A choice without ``notAllowed`` branches; with an ``empty`` one it is ``optional``."""
    options: list[Node] = []
    has_empty = False
    for child in children:
        if child.kind == "notAllowed":
            continue
        if child.kind == "empty":
            has_empty = True
        elif child.kind == "choice" and not annotated(child):
            options.extend(child.children)
        else:
            options.append(child)
    if not options:
        return Node("empty" if has_empty else "notAllowed", source=source)
    if len(options) == 1:
        single = annotate(options[0], documentation, since)
    else:
        single = Node(
            "choice", children=options, documentation=documentation, since=since, source=source
        )
    if not has_empty:
        return single
    return repeat("optional", single, None, None, source)


def sequence(
    kind: NodeKind,
    children: Sequence[Node],
    documentation: str | None,
    since: str | None,
    source: Source,
) -> Node:
    """A ``group`` or ``interleave`` without ``empty`` parts, flattened."""
    items: list[Node] = []
    for child in children:
        if child.kind == "notAllowed":
            return Node("notAllowed", source=source)
        if child.kind == "empty":
            continue
        if child.kind == kind and not annotated(child):
            items.extend(child.children)
        else:
            items.append(child)
    if not items:
        return Node("empty", documentation=documentation, since=since, source=source)
    if len(items) == 1:
        return annotate(items[0], documentation, since)
    return Node(kind, children=items, documentation=documentation, since=since, source=source)


def repeat(
    kind: NodeKind, child: Node, documentation: str | None, since: str | None, source: Source
) -> Node:
    """``optional``, ``zeroOrMore`` or ``oneOrMore`` of ``child``, redundancy removed."""
    if child.kind == "notAllowed":
        return child if kind == "oneOrMore" else Node("empty", source=source)
    if child.kind == "empty":
        return child
    if child.kind in _REPEATS and not annotated(child):
        if child.kind == kind or child.kind == "zeroOrMore":
            return annotate(child, documentation, since)
        # What is left mixes "maybe" with "many": zero or more of the inner pattern.
        kind, child = "zeroOrMore", child.children[0]
    return annotate(Node(kind, children=[child], source=source), documentation, since)


def content(children: Sequence[Node], source: Source) -> list[Node] | None:
    """What an element or attribute contains, as its children; None when it is notAllowed."""
    body = sequence("group", children, None, None, source)
    if body.kind == "notAllowed":
        return None
    if body.kind == "empty":
        return []
    if body.kind == "group" and not annotated(body):
        return list(body.children)
    return [body]


def rest(
    pattern: Pattern, kind: NodeKind, children: list[Node], documentation: str | None,
    since: str | None, source: Source, node_of: Callable[[Pattern], Node],
) -> Node:
    """Every pattern but the named, referencing and grouping ones, from its built
    ``children``: repeats, mixed and list, data (``node_of`` builds its except) and values."""
    if kind in ("optional", "zeroOrMore", "oneOrMore"):
        return repeat(kind, children[0], documentation, since, source)
    if kind in ("mixed", "list"):
        inner = children[0]
        if inner.kind == "notAllowed":
            return inner
        if kind == "mixed" and inner.kind == "empty":
            return Node("text", documentation=documentation, since=since, source=source)
        return Node(kind, children=content([inner], source) or [],
                    documentation=documentation, since=since, source=source)
    node = Node(kind, documentation=documentation, since=since, source=source)
    if kind == "data":
        node.datatype, node.datatype_library = pattern.datatype, pattern.datatype_library
        node.params = dict(pattern.params)
        if pattern.except_ is not None:
            excluded = node_of(pattern.except_)
            node.except_ = None if excluded.kind == "notAllowed" else excluded
    elif kind == "value":
        node.value = pattern.value
        node.datatype, node.datatype_library = pattern.datatype, pattern.datatype_library
        if pattern.datatype in ("QName", "NOTATION"):
            node.namespace = pattern.namespace
    return node
