"""Bound the work libxml2 would do compiling a grammar, measured without expanding it.

libxml2 sets no bound of its own.  Compiling, it copies every define that is not an element
into each place that refers to it (RELAX NG's simplification, section 4.19), then builds an
automaton for each element's content in time that grows faster than the content's size: so
definitions that each refer to the next twice cost it exponential time.  And it walks the
patterns by recursion, into an element once but into a copied define each time it is used, so
definitions nested twenty thousand deep overflow its stack.  Both are measured here on the
loaded pattern graph: sizes after copying, memoised per pattern (linear in the grammar), then,
that size known to be bounded, the depth of libxml2's walk.  Content models are never expanded,
so document grammars such as DocBook pass.  A define that reaches itself without an element in
between is refused before, by the loader (see ``recursion``).
"""

from __future__ import annotations

from gueststate.rng.errors import GrammarError, fault_at
from gueststate.rng.patterns import Pattern

#: Most patterns in one element's content once definitions are copied in.  libvirt 12.9's
#: largest content has 1,203, DocBook 5.0's 685.  With libxml2 2.14, the costliest shape
#: measured (groups of two optional references to the next define) takes 0.3 s at 3,000 and
#: 3.3 s at 6,000; a flat group of elements takes 0.5 s at 8,000.
MAX_CONTENT = 3_000
#: Most patterns in the whole grammar once definitions are copied in: the start's and each
#: element's content.  libvirt 12.9's domainsnapshot.rng has 23,000, DocBook 5.0 93,000
#: (libxml2 compiles it in 0.25 s).
MAX_EXPANDED = 500_000
#: Deepest nesting of patterns libxml2 may recurse through.  With an 8 MB stack it crashes
#: from 29,000 (defines that are each a ref to the next) to 43,000 (element defines in a
#: chain); libvirt's domain grammar reaches 60, XHTML 1.1 370, DocBook 5.0 700.
MAX_DEPTH = 4_000


def check_bounds(start: Pattern) -> None:
    """Raise :class:`GrammarError` where libxml2's work on the grammar would pass a bound."""
    _check_size(start)
    _check_depth(start)  # its steps are as many as the size: bounded now


def _below(pattern: Pattern) -> list[Pattern]:
    """The patterns libxml2 walks from ``pattern``, an element's content excepted."""
    if pattern.kind == "element":
        return []
    if pattern.kind == "ref":
        return [pattern.define.body] if pattern.define and pattern.define.body else []
    return [*pattern.children, pattern.except_] if pattern.except_ else pattern.children


def _check_size(start: Pattern) -> None:
    """Count the patterns libxml2 compiles: the start's and each element's content, every
    define that is not an element copied in.  Each pattern is sized once."""
    sizes: dict[int, int] = {}
    elements: list[Pattern] = []
    pending = [[start]]  # contents, each compiled on its own
    total = 0
    while pending:
        content = 0
        for pattern in pending.pop():
            size = _size(pattern, sizes, elements)
            content += size
            total += size
            if content > MAX_CONTENT:
                raise _too_big(pattern, sizes, "one element's content", MAX_CONTENT)
            if total > MAX_EXPANDED:
                raise _too_big(pattern, sizes, "the grammar", MAX_EXPANDED)
        pending += (element.children for element in elements)
        elements.clear()


def _size(root: Pattern, sizes: dict[int, int], elements: list[Pattern]) -> int:
    """The size of ``root`` with defines copied in, from the sizes memoised in ``sizes``; the
    elements met for the first time go to ``elements``."""
    stack: list[tuple[Pattern, bool]] = [(root, False)]
    while stack:
        pattern, ready = stack.pop()
        if id(pattern) in sizes:
            continue
        below = _below(pattern)
        if not ready:
            stack.append((pattern, True))
            stack.extend((child, False) for child in below if id(child) not in sizes)
            continue
        if pattern.kind == "element":
            elements.append(pattern)
        size = 1
        for child in below:
            size += sizes[id(child)]
            if size > MAX_CONTENT:  # whatever content it is copied into
                raise _too_big(child, sizes, "one element's content", MAX_CONTENT)
        sizes[id(pattern)] = size
    return sizes[id(root)]


def _check_depth(start: Pattern) -> None:
    """Walk as libxml2 recurses: depth first, into each element once and into each copied
    define wherever it is used.  The walk takes as many steps as the size after copying."""
    entered = {id(start)}
    path: list[tuple[Pattern, int]] = [(start, 0)]  # a pattern and the next child to walk
    refs = [start] if start.kind == "ref" else []  # the refs on the path, innermost last
    while path:
        pattern, position = path[-1]
        below = pattern.children if pattern.kind == "element" else _below(pattern)
        if position == len(below):
            path.pop()
            if pattern.kind == "ref":
                refs.pop()
            continue
        path[-1] = (pattern, position + 1)
        child = below[position]
        if child.kind == "element":
            if id(child) in entered:
                continue
            entered.add(id(child))
        if child.kind == "ref":
            refs.append(child)
        path.append((child, 0))
        if len(path) > MAX_DEPTH:
            at = refs[-1] if refs else child
            raise fault_at(at.file, at.line, at.kind,
                           f"definitions nest too deeply for libxml2: more than {MAX_DEPTH:,} "
                           "patterns deep", name=_ref_name(at))


def _ref_name(pattern: Pattern) -> str | None:
    return pattern.define.name if pattern.kind == "ref" and pattern.define else None


def _too_big(at: Pattern, sizes: dict[int, int], whole: str, bound: int) -> GrammarError:
    """The error at the pattern whose size takes ``whole`` past ``bound``: at the reference
    that brings most of it, when ``at`` is not one itself (an ``optional`` around it)."""
    while at.kind != "ref" and _below(at):
        at = max(_below(at), key=lambda child: sizes[id(child)])
    name = _ref_name(at)
    what = f"this reference to '{name}'" if name else f"this <{at.kind}>"
    return fault_at(at.file, at.line, at.kind,
                    f"{what} takes {whole} past {bound:,} patterns once libxml2 copies each "
                    "definition in where it is used", name=name)
