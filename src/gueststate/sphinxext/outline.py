"""What a reference page says about each element of a content model, before any markup.

An :class:`ElementEntry` gathers every definition of one element path.  Each definition is split
into :class:`Variant` s at the labelled choices of its content (push versus pull mode, file
versus block disk); variants that turn out identical are merged, so an element defined the same
way in every context shows one shape.  Nothing here knows about docutils.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from gueststate.forms import (
    Occurs,
    alternative_label,
    alternative_labels,
    element_forms,
    join_path,
    step_name,
    uses,
)
from gueststate.rng.model import Node


@dataclass
class Use:
    """An attribute or child element as one variant of its parent allows it."""

    kind: str  # "element" or "attribute"
    path: str
    name: str
    occurs: Occurs
    nodes: list[Node]  # every pattern defining it in this variant (a ref for recursion)

    def signature(self) -> object:
        return (self.kind, self.path, self.occurs, [shallow(n) for n in self.nodes])


@dataclass
class Variant:
    """One shape of an element: its attributes, child elements and content."""

    content: Node  # a group of the element's patterns, labelled choices resolved
    attributes: list[Use]
    children: list[Use]
    #: Where this shape occurs: (labels of the enclosing elements' forms, labels of its own).
    origins: list[tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=list)
    #: What the reference calls this shape; set by :func:`outline` when there are several.
    label: str = ""
    #: The documentation of the element definition the shape comes from, a label of last resort.
    meaning: str | None = None

    def signature(self) -> object:
        return (
            shallow(self.content),
            [use.signature() for use in self.attributes],
            [use.signature() for use in self.children],
        )


@dataclass
class ElementEntry:
    """Everything a reference section shows for one element path."""

    path: str
    name: str
    node: Node  # the first definition met, for documentation, since and source
    variants: list[Variant] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    definitions: list[Node] = field(default_factory=list)  # every element pattern of the path

    @property
    def documentation(self) -> str | None:
        return self.node.documentation

    @property
    def since(self) -> str | None:
        return self.node.since

    def attribute_paths(self) -> list[str]:
        """Every attribute path of this element, in order of first appearance."""
        return list(dict.fromkeys(use.path for v in self.variants for use in v.attributes))

    def child_paths(self) -> list[str]:
        """Every child element path of this element, in order of first appearance."""
        return list(dict.fromkeys(use.path for v in self.variants for use in v.children))


def outline(start: Node) -> list[ElementEntry]:
    """One entry per element path reachable from ``start``, in document order."""
    builder = _Outliner()
    for element in [start] if start.kind == "element" else top_elements(start):
        builder.visit(element, "", ())
    for entry in builder.entries.values():
        if len(entry.variants) > 1:
            _namesplit_forms(entry.variants)
    return list(builder.entries.values())


def _fixed(variant: Variant) -> set[str]:
    """An attribute the shape fixes to one value, as a label: ``{'protocol="nbd"'}``."""
    label = alternative_label(variant.content)
    return {label} if label else set()


def _namesplit_forms(variants: list[Variant]) -> None:
    """Label each shape by its own alternatives, or by the enclosing form where that is all.

    Shapes that each sit in one enclosing form, not all the same, say which first:
    ``Push mode: ... / The copy is written to a file.``
    """
    own = [{" / ".join(o) for _, o in v.origins if o} or _fixed(v) for v in variants]
    counts: dict[str, int] = {}
    for labels in own:
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
    enclosing = [{context[-1] for context, _ in v.origins if context} for v in variants]
    say_where = all(len(where) == 1 for where in enclosing) and len(
        set().union(*enclosing)) > 1
    for variant, labels, where in zip(variants, own, enclosing, strict=True):
        if len(labels) == 1 and counts[next(iter(labels))] == 1:
            variant.label = next(iter(labels))
            if say_where and any(o for _, o in variant.origins):
                variant.label = f"{next(iter(where))} / {variant.label}"
            continue
        named = {" / ".join((*context[-1:], *o)) for context, o in variant.origins}
        variant.label = " or ".join(sorted(label for label in named if label))
    _name_by_meaning(variants)
    seen: dict[str, int] = {}
    for position, variant in enumerate(variants, start=1):
        if not variant.label or variant.label in seen:
            variant.label = f"{variant.label} (form {position})".lstrip()
        seen[variant.label] = position


def _name_by_meaning(variants: list[Variant]) -> None:
    """Shapes that labels cannot tell apart, from different definitions, go by their meaning.

    Two definitions of one element (an SSH ``<identity>`` and an NFS one) reached through the
    same alternatives have the same label; what each definition says it is tells them apart.
    """
    labels = [variant.label for variant in variants]
    meanings = [variant.meaning for variant in variants]
    several = len(set(meanings)) > 1
    for variant in variants:
        unclear = not variant.label or labels.count(variant.label) > 1
        # Named only by where it is, a shape of another definition says what it is instead.
        borrowed = several and not any(own for _, own in variant.origins) and not _fixed(variant)
        if (unclear or borrowed) and variant.meaning and meanings.count(variant.meaning) == 1:
            variant.label = variant.meaning


def top_elements(node: Node) -> Iterator[Node]:
    """The elements of ``node``'s content at its own level (not inside other elements)."""
    for child in node.children:
        if child.kind == "element":
            yield child
        elif child.kind != "attribute":
            yield from top_elements(child)


def labelled_elements(
    node: Node, labels: tuple[str, ...] = ()
) -> Iterator[tuple[Node, tuple[str, ...]]]:
    """Like :func:`top_elements`, each with the labels of the alternatives it sits in.

    ``<source>`` inside the ``type="file"`` alternative of a ``<disk>`` too varied to split
    into forms still learns that it is the file disk's source: the attribute that tells its
    forms apart sits on the enclosing element.
    """
    for child in node.children:
        if child.kind == "element":
            yield child, labels
        elif child.kind == "choice" and len(child.children) > 1:
            names = alternative_labels(child.children)
            for alternative, name in zip(child.children, names, strict=True):
                if alternative.kind == "element":
                    yield alternative, labels
                elif alternative.kind != "attribute":
                    inner = (*labels, name) if name else labels
                    yield from labelled_elements(Node("group", children=[alternative]), inner)
        elif child.kind != "attribute":
            yield from labelled_elements(child, labels)


class _Outliner:
    def __init__(self) -> None:
        self.entries: dict[str, ElementEntry] = {}
        self._seen: set[tuple[int, str, tuple[str, ...]]] = set()

    def visit(self, element: Node, parent_path: str, context: tuple[str, ...]) -> None:
        path = join_path(parent_path, step_name(element))
        entry = self.entries.get(path)
        if entry is None:
            entry = self.entries[path] = ElementEntry(path, element.qualified, element)
        elif not entry.node.documentation and element.documentation:
            entry.node = element
        if not any(known is element for known in entry.definitions):
            entry.definitions.append(element)
        if parent_path and parent_path not in entry.parents:
            entry.parents.append(parent_path)
        key = (id(element), path, context)
        if key in self._seen:
            return
        self._seen.add(key)
        for labels, shape in ((form.labels, form.content) for form in element_forms(element)):
            variant_context = (*context, *labels)
            self._add_variant(entry, (context, labels), shape, element.documentation)
            for child, within in labelled_elements(shape):
                self.visit(child, path, (*variant_context, *within))
            for ref in _refs(shape):
                self._note_parent(ref, path)

    def _note_parent(self, target: str, parent: str) -> None:
        entry = self.entries.get(target)
        if entry is not None and parent not in entry.parents:
            entry.parents.append(parent)

    def _add_variant(
        self,
        entry: ElementEntry,
        origin: tuple[tuple[str, ...], tuple[str, ...]],
        shape: Node,
        meaning: str | None,
    ) -> None:
        counts = uses(shape, entry.path)
        attributes: list[Use] = []
        children: list[Use] = []
        for (kind, path), (occ, defs) in counts.items():
            name = path.rsplit("/", 1)[-1].lstrip("@")
            use = Use(kind, path, name, occ, defs)
            (attributes if kind == "attribute" else children).append(use)
        variant = Variant(shape, attributes, children, [origin], meaning=meaning)
        for existing in entry.variants:
            if existing.signature() == variant.signature():
                if origin not in existing.origins:
                    existing.origins.append(origin)
                return
        entry.variants.append(variant)


def repeats(entries: list[ElementEntry]) -> dict[str, str]:
    """Element paths defined exactly like another, each mapped to the one shown in full.

    An element with attributes or children whose definitions equal those of another entry
    (down to documentation, and recursion counted from the element) repeats it, and so does
    everything below it: ``revertDisks/disk/source`` maps to ``disks/disk/source``.  Of equal
    entries the shallowest, then the first, is shown in full; no path maps to a repeat.
    """
    by_path = {entry.path: entry for entry in entries}
    shapes = _Shapes()
    keys: dict[str, object] = {}
    shown: dict[object, str] = {}
    for entry in entries:
        if entry.variants and (entry.attribute_paths() or entry.child_paths()):
            key = (entry.name, tuple(shapes.of(node, entry.path) for node in entry.definitions))
            keys[entry.path] = key
            best = shown.get(key)
            if best is None or best.count("/") > entry.path.count("/"):
                shown[key] = entry.path
    mapping: dict[str, str] = {}
    for entry in entries:  # parents come before their children
        parent, _, step = entry.path.rpartition("/")
        if parent in mapping and join_path(mapping[parent], step) in by_path:
            mapping[entry.path] = join_path(mapping[parent], step)
        elif entry.path in keys and shown[keys[entry.path]] != entry.path:
            mapping[entry.path] = shown[keys[entry.path]]
    for path in mapping:
        seen = {path}
        while mapping[path] in mapping and mapping[path] not in seen:
            seen.add(mapping[path])
            mapping[path] = mapping[mapping[path]]
    return {path: target for path, target in mapping.items() if target not in mapping}


class _Shapes:
    """Hash-consing of subtrees: equal shapes get one small number.

    Everything of a node that a reference shows, recursion targets relative to the entry's
    path, names a shape; a node's shape is a tuple of its fields and its children's numbers,
    so a subtree shared by a thousand entries (or a thousand times in one) is described once.
    Comparing materialised tuples of every entry's subtree cost a chain of 300 elements around
    a shared group of 2^14 elements 800 MB; this is linear in the distinct nodes.
    """

    def __init__(self) -> None:
        self._numbers: dict[tuple[object, ...], int] = {}
        # Shapes of subtrees without recursion, by node identity: the same for every entry.
        self._fixed: dict[int, int] = {}
        self._recurses: dict[int, bool] = {}

    def of(self, node: Node, base: str) -> int:
        """The number of ``node``'s shape, recursion targets taken relative to ``base``."""
        return self._shape(node, base, {})

    def _shape(self, node: Node, base: str, local: dict[int, int]) -> int:
        # A subtree with recursion is never shared between places (the reader makes its ref
        # nodes per place), so its per-entry memo costs that entry's own nodes only.
        memo = local if self._has_ref(node) else self._fixed
        number = memo.get(id(node))
        if number is not None:
            return number
        target = node.target
        if target is not None and (target == base or target.startswith(base + "/")):
            target = "." + target[len(base):]
        key = (
            node.kind,
            node.name,
            node.namespace,
            node.datatype,
            tuple(sorted(node.params.items())),
            node.value,
            None if node.except_ is None else self._shape(node.except_, base, local),
            node.name_except,
            target,
            node.documentation,
            node.since,
            node.default,
            tuple(self._shape(child, base, local) for child in node.children),
        )
        number = self._numbers.setdefault(key, len(self._numbers))
        memo[id(node)] = number
        return number

    def _has_ref(self, node: Node) -> bool:
        known = self._recurses.get(id(node))
        if known is None:
            known = node.target is not None or any(
                self._has_ref(child) for child in _parts(node))
            self._recurses[id(node)] = known
        return known


def _parts(node: Node) -> list[Node]:
    return node.children if node.except_ is None else [node.except_, *node.children]


def shallow(node: Node) -> object:
    """A comparable summary of ``node`` that names child elements without their content."""
    if node.kind == "element":
        return ("element", node.name)
    return (
        node.kind,
        node.name,
        node.datatype,
        tuple(sorted(node.params.items())),
        node.value,
        None if node.except_ is None else shallow(node.except_),
        node.target,
        tuple(shallow(child) for child in node.children),
    )


def _refs(node: Node) -> Iterator[str]:
    """Targets of the recursion references at ``node``'s own level."""
    if node.kind == "ref" and node.target:
        yield node.target
    elif node.kind not in ("element", "attribute"):
        for child in node.children:
            yield from _refs(child)
