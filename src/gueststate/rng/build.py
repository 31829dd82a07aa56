"""Turn the loaded pattern graph into the content-model tree a reader needs.

Defines are inlined.  A ``ref`` back to a define that is being expanded becomes a ``ref`` node,
so the tree is finite.  Its ``target`` is the path of the element the recursion returns to:
for a define of one element, that element (the ``ref`` stands for another of it, like
``backingStore`` inside ``backingStore``); for a define that is the whole content of an
element, that element (the ``ref`` stands for the same content, like any XML inside
``metadata``); otherwise the first element the define made.  A define of part of a content that
refers straight to a define of one element still being expanded (``source-common`` and its
``dataStore``) is expanded once more, so the recursion lands on that element instead.
The expansion of a define that contains no such recursion is made once and shared by every
place that refers to it; the tree is therefore read-only.
"""

from __future__ import annotations

from gueststate.rng import simplify
from gueststate.rng.errors import GrammarError, fault_at, fault_at_root
from gueststate.rng.model import ANY_NAME, Node, made_prefix, unique_nodes
from gueststate.rng.nesting import MAX_NESTING, TOO_DEEP
from gueststate.rng.patterns import Define, NameClass, Pattern

#: Largest tree accepted, counting a shared subtree at every place it appears: a grammar whose
#: defines double at each level would otherwise expand without end in practice.  libvirt's
#: domain.rng, the largest grammar we know, expands to about 33,000 nodes.
MAX_NODES = 250_000


def build(start: Pattern) -> Node:
    """The simplified content-model tree of the pattern ``start``."""
    builder = _Builder(start)
    root = builder.node(start, "")
    if _expanded_size(root, {}) > MAX_NODES:
        raise builder.too_large()
    _prefix_namespaces(root)
    return root


def _prefix_namespaces(root: Node) -> None:
    """Give names of another namespace than the root's a prefix, so their paths differ.

    libvirt's ``commandline`` elements of the qemu, bhyve and xen namespaces would otherwise
    share one path; the grammar's own prefixes are kept, the others made from the URI.
    """
    nodes = [
        node for node in unique_nodes(root)
        if node.kind in ("element", "attribute") and node.name and "|" not in node.name
        and not node.name.startswith("{")
    ]
    first = next((node for node in nodes if node.kind == "element"), None)
    main = first.namespace if first is not None else ""
    prefixes = {node.namespace: node.prefix for node in nodes if node.prefix}
    prefixes.pop(main, None)
    taken = set(prefixes.values())
    for node in nodes:
        if node.namespace and node.namespace != main and not node.prefix:
            if node.namespace not in prefixes:
                prefixes[node.namespace] = made_prefix(node.namespace, taken)
                taken.add(prefixes[node.namespace])
            node.prefix = prefixes[node.namespace]
        elif node.namespace == main:
            node.prefix = ""


class _Builder:
    def __init__(self, start: Pattern) -> None:
        self.start = start
        self.steps = 0
        self.shared: dict[Define, Node] = {}
        # Defines being expanded -> the path a recursion into them points at (None: not known
        # until the first element made inside them).
        self.active: dict[Define, str | None] = {}
        # Defines being expanded that have made no element yet: recursing into them is an error.
        self.waiting: list[Define] = []
        # Defines of content expanded a second time, so a recursion lands on an element.
        self.again: set[Define] = set()
        # Defines being expanded as the whole content of an element (their target says it).
        self.whole: set[Define] = set()
        self.recursions = 0
        # Patterns being made, one inside another, and the refs among them, innermost last:
        # see nesting.MAX_NESTING.
        self.depth = 0
        self.following: list[Pattern] = []

    def node(self, pattern: Pattern, path: str) -> Node:
        """The node of ``pattern``, which sits inside the element at ``path``."""
        self.spend(1)
        kind = pattern.kind
        source = (pattern.file, pattern.line)
        documentation, since = pattern.documentation, pattern.since
        if kind == "ref":
            return self.ref(pattern, path)
        self.enter(pattern)
        if kind in ("element", "attribute"):
            made = self.named(pattern, path)
        else:
            children = [self.node(child, path) for child in pattern.children]
            if kind == "choice":
                made = simplify.choice(children, documentation, since, source)
            elif kind in ("group", "interleave"):
                made = simplify.sequence(kind, children, documentation, since, source)
            else:
                made = simplify.rest(pattern, kind, children, documentation, since, source,
                                     lambda inner: self.node(inner, path))
        # Flattening copies the items of shared groups into the node made (a group, or the
        # content of an element, list or mixed): count them, or a define of thousands of items
        # used by thousands of elements, or defines that each refer to the next twice, would
        # multiply the work and memory uncounted.
        self.spend(len(made.children))
        self.depth -= 1
        return made

    def enter(self, pattern: Pattern) -> None:
        """Go one level deeper, into ``pattern``; back out by ``depth -= 1`` (not after an
        error: building stops there)."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            at = self.following[-1] if self.following else pattern
            raise fault_at(at.file, at.line, at.kind, TOO_DEEP)

    def spend(self, count: int) -> None:
        """Count ``count`` more nodes made; refuse the grammar past :data:`MAX_NODES`."""
        self.steps += count
        if self.steps > MAX_NODES:
            raise self.too_large()

    def too_large(self) -> GrammarError:
        """The error for a grammar whose tree would pass :data:`MAX_NODES`."""
        message = f"the content model expands to more than {MAX_NODES} nodes"
        return fault_at_root(self.start.file, message)

    def named(self, pattern: Pattern, path: str) -> Node:
        """An element or attribute; an element is where pending recursion targets land."""
        assert pattern.name_class is not None
        name, namespace, excluded = _name(pattern.name_class)
        node = Node(
            pattern.kind,
            name=name,
            namespace=namespace,
            documentation=pattern.documentation,
            since=pattern.since,
            default=pattern.default,
            source=(pattern.file, pattern.line),
        )
        if excluded:
            node.name_except = excluded
        if pattern.name_class.kind == "name":
            node.prefix = pattern.name_class.prefix
        if pattern.kind == "element":
            path = f"{path}/{name}" if path else name
            for define in self.waiting:
                if self.active[define] is None:
                    self.active[define] = path
            self.waiting = []
        if pattern.kind == "element" and len(pattern.children) == 1:
            # The element's whole content is one pattern: a define of content recurring
            # inside it recurs to this element.
            children = [self.ref(pattern.children[0], path, whole=True)
                        if pattern.children[0].kind == "ref"
                        else self.node(pattern.children[0], path)]
        else:
            children = [self.node(child, path) for child in pattern.children]
        body = simplify.content(children, node.source)
        if body is None:
            return Node("notAllowed", source=node.source)
        node.children = body
        return node

    def ref(self, pattern: Pattern, path: str, whole: bool = False) -> Node:
        """The inlined define, or a ``ref`` node where it recurses.

        ``whole``: the define is all the content of the element at ``path``.
        """
        self.enter(pattern)
        self.following.append(pattern)
        made = self.expand(pattern, path, whole)
        self.following.pop()
        self.depth -= 1
        return made

    def expand(self, pattern: Pattern, path: str, whole: bool) -> Node:
        """What :meth:`ref` returns."""
        define = pattern.define
        assert define is not None and define.body is not None
        if define in self.active and self._lands_on_element(define):
            # source-common -> dataStore -> source -> source-common: expanding the content once
            # more makes the recursion re-enter dataStore, which says what it is (a dataStore
            # inside a dataStore) better than "the first element source-common made".
            self.again.add(define)
            try:
                again = self.node(define.body, path)
            finally:
                self.again.discard(define)
            return simplify.annotate(again, pattern.documentation, pattern.since)
        if define in self.active:
            target = self.active[define]
            if target is None or define in self.waiting:
                raise fault_at(
                    pattern.file, pattern.line, "ref",
                    f"'{define.name}' refers to itself without an element in between",
                )
            self.recursions += 1
            return Node("ref", target=target, documentation=pattern.documentation,
                        since=pattern.since, source=(pattern.file, pattern.line))
        node = self.shared.get(define)
        if node is None:
            recursions = self.recursions
            of_content = whole and not _is_element(define.body)
            self.active[define] = path if of_content else None
            self.waiting.append(define)
            if of_content:
                self.whole.add(define)
            try:
                if of_content and define.body.kind == "ref":
                    node = self.ref(define.body, path, whole=True)
                else:
                    node = self.node(define.body, path)
            finally:
                del self.active[define]
                self.whole.discard(define)
                if define in self.waiting:
                    self.waiting.remove(define)
            if self.recursions == recursions:
                self.shared[define] = node
        return simplify.annotate(node, pattern.documentation, pattern.since)

    def _lands_on_element(self, define: Define) -> bool:
        """Whether a recursion into the content ``define`` had better meet an element define.

        True when ``define`` is part of an element's content (not one element, not all of it),
        is not already expanded again, and referred straight to a define of one element that
        is still being expanded: expanding ``define`` once more ends at that element's own
        recursion, a small step.
        """
        if define in self.again or define in self.whole or define.body is None:
            return False
        if _is_element(define.body):
            return False
        active = list(self.active)
        later = active[active.index(define) + 1:]
        return bool(later) and later[0].body is not None and _is_element(later[0].body)


def _is_element(pattern: Pattern) -> bool:
    """Whether ``pattern`` is one element, perhaps behind references."""
    while pattern.kind == "ref" and pattern.define is not None and pattern.define.body is not None:
        pattern = pattern.define.body
    return pattern.kind == "element"


def _expanded_size(node: Node, sizes: dict[int, int]) -> int:
    """Nodes in the tree below ``node``, a shared subtree counted wherever it appears."""
    size = sizes.get(id(node))
    if size is None:
        size = 1
        for child in node.children:  # not sum() of a generator: each level a C frame
            size += _expanded_size(child, sizes)
        sizes[id(node)] = size
    return size


def _name(name_class: NameClass) -> tuple[str, str, str | None]:
    """``(name, namespace, excluded names)`` of a name class, as :class:`Node` spells them.

    A choice spells the excepts of its parts inside its name, ``b|(* except c)``: the names a
    part leaves out are part of what the choice allows.
    """
    if name_class.kind == "name":
        return name_class.local, name_class.namespace, None
    excluded = None if name_class.except_ is None else _spelled(name_class.except_)
    if name_class.kind == "anyName":
        return ANY_NAME, "", excluded
    if name_class.kind == "nsName":
        return f"{{{name_class.namespace}}}{ANY_NAME}", name_class.namespace, excluded
    parts = [_name(child) for child in name_class.children]
    namespaces = {namespace for _, namespace, _ in parts}
    one = len(namespaces) == 1
    spelled = [name if one or not ns or name.startswith("{") else f"{{{ns}}}{name}"
               for name, ns, _ in parts]
    spelled = [f"({name} except {left_out})" if left_out else name
               for name, (_, _, left_out) in zip(spelled, parts, strict=True)]
    return "|".join(spelled), namespaces.pop() if one else "", None


def _spelled(name_class: NameClass) -> str:
    """Names an ``except`` leaves out, each with its namespace: ``{urn:y}no``, ``a|{urn:y}*``."""
    if name_class.kind == "name":
        namespace = name_class.namespace
        return f"{{{namespace}}}{name_class.local}" if namespace else name_class.local
    if name_class.kind == "choice":
        return "|".join(_spelled(child) for child in name_class.children)
    name = ANY_NAME if name_class.kind == "anyName" else f"{{{name_class.namespace}}}{ANY_NAME}"
    if name_class.except_ is None:
        return name
    return f"({name} except {_spelled(name_class.except_)})"
