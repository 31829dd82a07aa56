"""An element's forms: how its content splits into labelled alternatives, and their names.

An element whose content is a choice has several *forms*.  :func:`element_forms` splits a
definition's content at its choices, as finely as a :class:`Split` says (the pages' few named
forms, or the many a diagnosis fits an invalid element to), and :func:`uses` counts how often
each attribute and child occurs in one form.  A form is named, in this order, by the
documentation of its alternative (``Pull mode: libvirt exports ...``), by an attribute it
fixes to a few values (``type="file"``), or by an attribute or child element that it requires
and no other alternative has (``with <auth>``): :func:`alternative_labels`.  The reference
pages, the CLI's ``reference`` outline (:func:`form_names`) and the diagnosis of an invalid
document (:func:`message_label`) all name forms with these words, so a message and a page
agree.
Nothing here knows about Sphinx or lxml.
"""

from __future__ import annotations

import dataclasses
import itertools
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from gueststate.rng.model import ANY_NAME, Node

_CONTAINERS = frozenset({"group", "interleave", "mixed"})
_LEAVES = frozenset({"element", "attribute", "value", "data", "text", "empty", "notAllowed"})


#: More variants than this for one element are not split out; the content model shows the choice.
MAX_VARIANTS = 8

@dataclass(frozen=True)
class Occurs:
    """How often something may appear: ``high`` is None when unbounded."""

    low: int
    high: int | None

    def describe(self) -> str:
        """Words a reader understands: required, optional, zero or more, ..."""
        known = {
            (1, 1): "required",
            (0, 1): "optional",
            (0, None): "zero or more",
            (1, None): "one or more",
        }
        if (self.low, self.high) in known:
            return known[self.low, self.high]
        high = "many" if self.high is None else str(self.high)
        return f"{self.low} to {high}"


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


def step_name(node: Node) -> str:
    """The path step of an element or attribute: its name, ``*`` for any name."""
    name = node.qualified
    return "@" + name if node.kind == "attribute" else name


def join_path(parent: str, step: str) -> str:
    return f"{parent}/{step}" if parent else step


@dataclass(frozen=True)
class Split:
    """How finely to split: a page shows a few forms, each named; a diagnosis fits to many.

    ``limit`` bounds the forms of one pattern (past it the pattern stays whole, its choices
    loose); ``every_choice`` splits choices whose alternatives are not all named, and those
    inside an ``optional``; ``leaf_labels`` names an alternative that is one element or
    attribute (a message names that part already).
    """

    limit: int
    every_choice: bool
    leaf_labels: bool


#: The forms a reference page shows, and the CLI's outline.
FOR_PAGES = Split(MAX_VARIANTS, every_choice=False, leaf_labels=True)
#: The forms an invalid element is fitted to (:mod:`gueststate.diagnose_forms`).
FOR_FITTING = Split(256, every_choice=True, leaf_labels=False)


@dataclass(frozen=True)
class Form:
    """One way to fill an element: the labels of the alternatives taken, the pattern left."""

    labels: tuple[str, ...]
    content: Node  # a group of the element's patterns, the split choices resolved


#: Forms by definition and split, forgotten with the definition: a grammar read again (when it
#: changes under sphinx-autobuild) does not keep the old one alive.
_KNOWN: weakref.WeakKeyDictionary[Node, dict[Split, tuple[Form, ...]]] = (
    weakref.WeakKeyDictionary())


def element_forms(element: Node, split: Split = FOR_PAGES) -> tuple[Form, ...]:
    """The forms of an element's content, worked out once per definition.

    The reference pages and the diagnosis of an invalid document take an element's forms from
    here, so a message names a form as the page does; the CLI's outline, which shows choices
    where they are, names each alternative with the same :func:`alternative_labels`.
    """
    known = _KNOWN.setdefault(element, {})
    forms = known.get(split)
    if forms is None:
        content = Node("group", children=list(element.children))
        forms = known[split] = tuple(
            Form(labels, shape) for labels, shape in split_forms(content, split))
    return forms


_Forms = list[tuple[tuple[str, ...], Node]]


def split_forms(node: Node, split: Split = FOR_PAGES) -> _Forms:
    """Split ``node`` at its choices: ``[(labels, pattern without those choices)]``.

    Past ``split.limit`` combinations the pattern stays whole in one form.
    """
    out: _Forms = [((), node)]
    if node.kind == "choice" and len(node.children) > 1:
        labels = alternative_labels(node.children)
        if split.every_choice or all(labels):
            out = []
            for label, child in zip(labels, node.children, strict=True):
                named = label and (split.leaf_labels or child.kind not in ("element", "attribute"))
                own = (str(label),) if named else ()
                out.extend(((*own, *inner), shape) for inner, shape in split_forms(child, split))
    elif node.kind == "optional" and split.every_choice and node.children:
        inner = split_forms(Node("group", children=node.children), split)
        if len(inner) > 1:
            out = [*inner, ((), Node("empty"))]
    elif node.kind in _CONTAINERS and node.children:
        per_child = [split_forms(child, split) for child in node.children]
        if 1 < _product_size(per_child) <= split.limit:
            out = []
            for combination in itertools.product(*per_child):
                labels_of = tuple(label for labels, _ in combination for label in labels)
                rebuilt = dataclasses.replace(node, children=[shape for _, shape in combination])
                out.append((labels_of, rebuilt))
    return out if len(out) <= split.limit else [((), node)]


def _product_size(options: list[_Forms]) -> int:
    size = 1
    for choices in options:
        size *= len(choices)
    return size


_Counts = dict[tuple[str, str], tuple[Occurs, list[Node]]]


def uses(node: Node, parent_path: str) -> _Counts:
    """How often each attribute and child element occurs in ``node``, keyed by (kind, path)."""
    if node.kind in ("element", "attribute"):
        return {(node.kind, join_path(parent_path, step_name(node))): (Occurs(1, 1), [node])}
    if node.kind == "ref" and node.target:
        return {("element", node.target): (Occurs(1, 1), [node])}
    parts = [uses(child, parent_path) for child in node.children]
    if node.kind == "choice":
        return _either(parts)
    combined = _both(parts)
    if node.kind == "optional":
        return {key: (Occurs(0, occ.high), defs) for key, (occ, defs) in combined.items()}
    if node.kind == "zeroOrMore":
        return {key: (Occurs(0, None), defs) for key, (occ, defs) in combined.items()}
    if node.kind == "oneOrMore":
        return {key: (Occurs(occ.low, None), defs) for key, (occ, defs) in combined.items()}
    return combined


def _both(parts: list[_Counts]) -> _Counts:
    out: _Counts = {}
    for part in parts:
        for key, (occ, defs) in part.items():
            if key in out:
                seen, seen_defs = out[key]
                high = None if seen.high is None or occ.high is None else seen.high + occ.high
                out[key] = (Occurs(seen.low + occ.low, high), seen_defs + defs)
            else:
                out[key] = (occ, list(defs))
    return out


def _either(parts: list[_Counts]) -> _Counts:
    out: _Counts = {}
    keys = dict.fromkeys(key for part in parts for key in part)
    for key in keys:
        present = [part[key] for part in parts if key in part]
        low = 0 if len(present) < len(parts) else min(occ.low for occ, _ in present)
        highs = [occ.high for occ, _ in present]
        high = None if None in highs else max(h for h in highs if h is not None)
        out[key] = (Occurs(low, high), [d for _, defs in present for d in defs])
    return out
