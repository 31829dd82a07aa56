"""Refuse a grammar whose references loop without an element in between (section 4.19).

``<define name="a"><ref name="a"/></define>`` describes no finite document: a reader that
followed it would never stop.  Each define's body is scanned once, the references it makes
outside any element become the edges of a graph, and a cycle in that graph is the error jing
calls a "bad recursive reference".  Work and memory are linear in the size of the grammar.
"""

from __future__ import annotations

from gueststate.rng.errors import fault_at
from gueststate.rng.patterns import Define, Pattern


def check_recursion(start: Pattern) -> None:
    """Raise :class:`~gueststate.rng.errors.GrammarError` at a reference that loops."""
    free: dict[Define, list[Pattern]] = {}  # define -> refs in its body outside any element
    todo = _defines_in(start, free_refs=None)
    while todo:
        define = todo.pop()
        if define in free or define.body is None:
            continue
        refs: list[Pattern] = []
        todo.extend(_defines_in(define.body, free_refs=refs))
        free[define] = refs
    _find_cycle(free)


def _defines_in(root: Pattern, free_refs: list[Pattern] | None) -> list[Define]:
    """Every define ``root`` refers to, in the order a depth-first walk meets them; the refs
    met outside elements go to ``free_refs``."""
    found: list[Define] = []
    # Patterns met outside any element, and inside one, by identity: an externalRef's pattern
    # is shared where it is used.  Plain ids in two sets, not (id, flag) pairs in one: this
    # visits every pattern of the grammar.
    seen_outside: set[int] = set()
    seen_inside: set[int] = set()
    stack = [root]
    while stack:
        pattern = stack.pop()
        if id(pattern) in seen_outside:
            continue
        seen_outside.add(id(pattern))
        if pattern.kind == "ref" and pattern.define is not None:
            found.append(pattern.define)
            if free_refs is not None:
                free_refs.append(pattern)
            continue
        below = [*pattern.children, pattern.except_] if pattern.except_ else pattern.children
        if pattern.kind == "element":
            _defines_inside(list(below), seen_inside, found)  # before the rest, depth first
        else:
            stack += below
    return found


def _defines_inside(stack: list[Pattern], seen: set[int], found: list[Define]) -> None:
    """The defines referred to from the patterns on ``stack``, which are inside an element."""
    while stack:
        pattern = stack.pop()
        if id(pattern) in seen:
            continue
        seen.add(id(pattern))
        if pattern.kind == "ref" and pattern.define is not None:
            found.append(pattern.define)
            continue
        stack += pattern.children
        if pattern.except_ is not None:
            stack.append(pattern.except_)


def _find_cycle(free: dict[Define, list[Pattern]]) -> None:
    """Depth-first search without recursion; a ref back onto the current path is the fault."""
    done: set[Define] = set()
    on_path: set[Define] = set()
    for first in free:
        if first in done:
            continue
        stack: list[tuple[Define, int]] = [(first, 0)]
        on_path.add(first)
        while stack:
            define, position = stack[-1]
            refs = free.get(define, [])
            if position == len(refs):
                stack.pop()
                on_path.discard(define)
                done.add(define)
                continue
            stack[-1] = (define, position + 1)
            ref = refs[position]
            target = ref.define
            assert target is not None
            if target in on_path:
                raise fault_at(ref.file, ref.line, "ref",
                               f"bad recursive reference to pattern '{target.name}'",
                               name=target.name)
            if target not in done:
                on_path.add(target)
                stack.append((target, 0))
