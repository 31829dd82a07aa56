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
    """Every define ``root`` refers to; the refs met outside elements go to ``free_refs``."""
    found: list[Define] = []
    stack: list[tuple[Pattern, bool]] = [(root, False)]
    seen: set[tuple[int, bool]] = set()  # an externalRef's pattern is shared where it is used
    while stack:
        pattern, inside_element = stack.pop()
        if (id(pattern), inside_element) in seen:
            continue
        seen.add((id(pattern), inside_element))
        if pattern.kind == "ref" and pattern.define is not None:
            found.append(pattern.define)
            if not inside_element and free_refs is not None:
                free_refs.append(pattern)
            continue
        inner = inside_element or pattern.kind == "element"
        stack.extend((child, inner) for child in pattern.children)
        if pattern.except_ is not None:
            stack.append((pattern.except_, inner))
    return found


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
                               f"bad recursive reference to pattern '{target.name}'")
            if target not in done:
                on_path.add(target)
                stack.append((target, 0))
