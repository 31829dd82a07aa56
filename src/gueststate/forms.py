"""What an alternative of a content model is called: one rule for error messages and pages.

An element whose content is a choice has several *forms*.  A form is named, in this order, by
the documentation of its alternative (``Pull mode: libvirt exports ...``), by an attribute it
fixes to a few values (``type="file"``), or by an attribute or child element that it requires
and no other alternative has (``with <auth>``).  The reference pages label forms with
:func:`alternative_labels`, the diagnosis of an invalid document names the form it fitted with
the same words (:func:`message_label`), so a message and a page agree.  Nothing here knows
about Sphinx or lxml.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from gueststate.rng.model import ANY_NAME, Node

_CONTAINERS = frozenset({"group", "interleave", "mixed"})
_LEAVES = frozenset({"element", "attribute", "value", "data", "text", "empty", "notAllowed"})


def alternative_label(node: Node) -> str | None:
    """A label a person understands for one alternative of a choice, or None.

    The alternative's own documentation comes first (on a group, not on the element or
    attribute it may be); otherwise an attribute it fixes to one value (``type="file"``) or
    to a few (``snapshot="no" or "internal"``); otherwise the one attribute or element it is
    (``with uuid``, ``with <auth>``).
    """
    if node.documentation and node.kind not in _LEAVES:
        return node.documentation
    for child in own_level(node):
        if child.kind == "attribute" and len(child.children) == 1:
            values = _values_of(child.children[0])
            if values:
                return f"{child.qualified}=" + " or ".join(f'"{value}"' for value in values)
    if node.kind == "attribute" and node.name != ANY_NAME:
        return f"with {node.qualified}"
    if node.kind == "element" and node.name != ANY_NAME:
        return f"with <{node.qualified}>"
    return None


def alternative_labels(alternatives: Sequence[Node]) -> list[str | None]:
    """Labels for the alternatives of one choice, telling them apart where anything can.

    An alternative :func:`alternative_label` cannot name is named by a part it requires that
    no other alternative has: ``with <source>`` (an element), ``with port`` (an attribute).
    Labels that come out the same for two alternatives are dropped from both.
    """
    labels = [alternative_label(node) for node in alternatives]
    required = [set(_required_names(node)) for node in alternatives]
    for position, node in enumerate(alternatives):
        if labels[position] is not None:
            continue
        others = set().union(*(names for i, names in enumerate(required) if i != position))
        own = [name for name in _required_names(node) if name not in others]
        if own:
            labels[position] = f"with {own[0]}"
    for label in {label for label in labels if label is not None}:
        if labels.count(label) > 1:
            labels = [None if same == label else same for same in labels]
    return labels


def form_names(alternatives: Sequence[Node]) -> list[str | None]:
    """:func:`alternative_labels` by their leads, short enough for an outline line."""
    return [lead(label).rstrip(".") if label else None
            for label in alternative_labels(alternatives)]


def lead(label: str) -> str:
    """The words before a colon stand for a long label: ``Push mode: libvirt ...`` → ``Push mode``.

    Only a short lead (40 characters) that is not itself a list of values counts.
    """
    head, colon, _ = label.partition(": ")
    return head if colon and len(head) <= 40 and " or " not in head else label


def message_label(label: str) -> str:
    """A label inside a sentence: its lead, first sentence only, no full stop, lower case first.

    ``Pull mode: libvirt exports ...`` → ``pull mode``; ``type="file"`` stays as it is.
    """
    text = label.strip()
    head, colon, _ = text.partition(":")
    if colon and len(head) <= 40:
        text = head
    text = text.split(". ")[0].rstrip(".")
    if len(text) > 1 and text[1].islower():
        text = text[0].lower() + text[1:]
    return text


def own_level(node: Node) -> Iterator[Node]:
    """``node`` and the patterns always present with it, not inside optional or elements."""
    yield node
    if node.kind in _CONTAINERS:
        for child in node.children:
            yield from own_level(child)


def _required_names(node: Node) -> Iterator[str]:
    """``<name>`` of the elements and ``name`` of the attributes ``node`` always has."""
    for part in own_level(node):
        if part.kind == "element" and part.name != ANY_NAME:
            yield f"<{part.qualified}>"
        elif part.kind == "attribute" and part.name != ANY_NAME:
            yield part.qualified
        elif part.kind == "oneOrMore" and len(part.children) == 1:
            yield from _required_names(part.children[0])


def _values_of(node: Node) -> list[str]:
    """The literal values ``node`` allows, when it allows nothing else."""
    if node.kind == "value" and node.value is not None:
        return [node.value]
    if node.kind == "choice" and all(c.kind == "value" and c.value for c in node.children):
        return [c.value for c in node.children if c.value is not None]
    return []
