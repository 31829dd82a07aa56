"""Say what is wrong with an invalid document in words a person can act on.

libxml2 decides validity; its RELAX NG messages are often vague ("Extra element disks in
interleave").  Once it has said no, this module walks the document against the content model
of our grammar (:mod:`gueststate.rng`) and names the attribute or element that no alternative
allows, or the value outside an attribute's list.  It never changes a verdict.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from gueststate import xmlsafe
from gueststate.forms import step_name
from gueststate.positions import Positions
from gueststate.problems import Problem, problem_at, shortened
from gueststate.rng.model import ANY_NAME, Node

#: Most problems reported for one document; the rest are summed up in one more line.
MAX_PROBLEMS = 100


@dataclass
class _Allowed:
    """What the grammar allows at one element path, over all its alternatives."""

    attributes: set[str] = field(default_factory=set)
    children: dict[str, list[Node]] = field(default_factory=dict)  # step -> its definitions
    open: bool = False  # any name, or recursion: not checked below this point
    values: dict[str, set[str] | None] = field(default_factory=dict)  # None: not an enumeration
    patterns: dict[str, tuple[str, ...] | None] = field(default_factory=dict)  # None: not patterned
    text_patterns: tuple[str, ...] | None = None


class _ByPath:
    """What is allowed at each element path, worked out for the paths documents reach.

    An entry merges every definition of the element at that path; a child's entry is made
    from the definitions its parent's entry lists, so only the paths met cost anything.
    """

    def __init__(self, start: Node) -> None:
        top = [start] if start.kind == "element" else [
            node for node in _parts_here(start) if node.kind == "element"]
        self._top = {step_name(node): [n for n in top if step_name(n) == step_name(node)]
                     for node in top}
        self._entries: dict[str, _Allowed | None] = {}

    def get(self, path: str) -> _Allowed | None:
        if path not in self._entries:
            parent, _, step = path.rpartition("/")
            if not parent:
                nodes = self._top.get(step, [])
            else:
                above = self.get(parent)
                nodes = [] if above is None else above.children.get(step, [])
            self._entries[path] = _entry(nodes) if nodes else None
        return self._entries[path]


def _parts_here(element: Node) -> Iterator[Node]:
    """The elements and attributes of ``element``'s content, in document order, not those
    inside a nested element."""
    pending = list(reversed(element.children))
    while pending:
        child = pending.pop()
        if child.kind in ("element", "attribute"):
            yield child
        else:
            pending.extend(reversed(child.children))


def _entry(definitions: list[Node]) -> _Allowed:
    entry = _Allowed()
    # The same definition, met through several parents, once (a define's nodes are shared).
    for position, node in enumerate(dict.fromkeys(definitions)):
        entry.open |= _is_open(node)
        entry.text_patterns = _merge(entry.text_patterns, _patterns(node), position > 0)
        for part in _parts_here(node):
            name = part.qualified
            if part.kind == "element":
                entry.children.setdefault(name, []).append(part)
                continue
            entry.attributes.add(name)
            listed = enumeration(part)
            values = set(listed) if listed else None
            if name in entry.values:
                known = entry.values[name]
                entry.values[name] = None if known is None or values is None else known | values
            else:
                entry.values[name] = values
            entry.patterns[name] = _merge(
                entry.patterns.get(name), _patterns(part), name in entry.patterns
            )
    return entry


@functools.cache
def _allowed_by_path(grammar: Path) -> _ByPath:
    return _ByPath(_start(grammar))


def _merge(
    known: tuple[str, ...] | None, new: tuple[str, ...] | None, seen_before: bool
) -> tuple[str, ...] | None:
    """Patterns of all alternatives; None as soon as one alternative is not patterned."""
    if not seen_before:
        return new
    if known is None or new is None:
        return None
    return tuple(sorted(set(known + new)))


@functools.cache  # a define's nodes are shared by every path that uses it
def _patterns(node: Node) -> tuple[str, ...] | None:
    """Compiled-ready patterns when the node's content is only patterned data (or choices)."""
    found: list[str] = []
    stack = list(node.children)
    while stack:
        child = stack.pop()
        if child.kind == "data" and "pattern" in child.params and child.except_ is None:
            found.append(child.params["pattern"])
        elif child.kind == "choice":
            stack.extend(child.children)
        else:
            return None
    return tuple(sorted(set(found))) or None


def _matches(value: str, patterns: tuple[str, ...]) -> bool:
    """Whether any XSD pattern matches the whole value; True when one does not compile.

    Short values are remembered: the same names and types come back document after document.
    """
    return _matches_short(value, patterns) if len(value) <= 256 else _match(value, patterns)


@functools.lru_cache(maxsize=8192)
def _matches_short(value: str, patterns: tuple[str, ...]) -> bool:
    return _match(value, patterns)


def _match(value: str, patterns: tuple[str, ...]) -> bool:
    for pattern in patterns:
        try:
            if re.fullmatch(pattern, value):
                return True
        except re.error:
            return True
    return False


@functools.cache
def _is_open(element: Node) -> bool:
    stack = list(element.children)
    while stack:
        node = stack.pop()
        if node.kind == "ref" or (node.kind in ("element", "attribute") and node.name == ANY_NAME):
            return True
        if node.kind not in ("element", "attribute"):
            stack.extend(node.children)
    return False


@functools.lru_cache(maxsize=65536)  # asked for every attribute of every form tried
def enumeration(attribute: Node) -> tuple[str, ...] | None:
    """The values an attribute may take, when its content is only ``value`` choices."""
    values: set[str] = set()
    stack = list(attribute.children)
    while stack:
        node = stack.pop()
        if node.kind == "value" and node.value is not None:
            values.add(node.value)
        elif node.kind == "choice":
            stack.extend(node.children)
        else:
            return None
    return tuple(sorted(values)) or None


def diagnose(
    tree: etree._ElementTree, path: str, grammar: Path, source: bytes | None = None
) -> list[Problem]:
    """Problems naming unknown attributes, unknown children and values outside a list, or
    else the differences between each element and the closest form its content model allows."""
    table = _allowed_by_path(grammar)
    positions = Positions(source) if source is not None else None
    problems: list[Problem] = []
    root = tree.getroot()
    _check(root, root.tag, table, path, positions, problems)
    if len(problems) > MAX_PROBLEMS:
        first = problems[MAX_PROBLEMS]
        problems[MAX_PROBLEMS:] = [Problem(
            path, first.line, first.column,
            f"too many problems: stopped after the first {MAX_PROBLEMS}",
        )]
    if problems:
        return problems
    from gueststate.diagnose_forms import diagnose_forms  # imports enumeration from here

    return diagnose_forms(root, _start(grammar), path, positions)


def forget_grammars() -> None:
    """Read grammars again on next use (see :func:`gueststate.schemas.forget_changed_grammars`),
    and let go of everything worked out from the old ones, which would keep them alive."""
    for cached in (_start, _allowed_by_path, _patterns, _is_open, enumeration):
        cached.cache_clear()
    fitting = sys.modules.get("gueststate.diagnose_forms")
    if fitting is not None:
        fitting.forget_grammars()


@functools.cache
def _start(grammar: Path) -> Node:
    """The grammar's start, read once per process (the reader is needed for invalid documents
    only, hence imported here)."""
    from gueststate.rng import read_grammar

    return read_grammar(grammar).start


def _check(
    element: etree._Element, element_path: str, table: _ByPath, path: str,
    positions: Positions | None, problems: list[Problem],
) -> None:
    allowed = table.get(element_path)
    if allowed is None or allowed.open or len(problems) > MAX_PROBLEMS:
        return
    for name, value in xmlsafe.attributes(element):
        if len(problems) > MAX_PROBLEMS:
            return
        if name not in allowed.attributes:
            hint = _choices(allowed.attributes)
            problems.append(problem_at(
                path, element, f"attribute '{name}' is not allowed on <{element.tag}>{hint}",
                positions=positions, attribute=name,
            ))
            continue
        values = allowed.values.get(name)
        patterns = allowed.patterns.get(name)
        if values is not None and value not in values:
            problems.append(problem_at(
                path, element,
                f"attribute '{name}' of <{element.tag}> must be one of "
                f"{', '.join(sorted(values))}; got '{_shown(value)}'",
                positions=positions, attribute=name,
            ))
        elif patterns is not None and not _matches(value, patterns):
            problems.append(problem_at(
                path, element,
                f"attribute '{name}' of <{element.tag}> does not match "
                f"{' or '.join(patterns)}: '{_shown(value)}'",
                positions=positions, attribute=name,
            ))
    if allowed.text_patterns is not None and len(element) == 0:
        text = element.text or ""
        if not _matches(text, allowed.text_patterns):
            problems.append(problem_at(
                path, element,
                f"the text of <{element.tag}> does not match "
                f"{' or '.join(allowed.text_patterns)}: '{_shown(text)}'",
                positions=positions,
            ))
    for child in element:
        if len(problems) > MAX_PROBLEMS:
            return
        if not isinstance(child.tag, str):
            continue
        if child.tag not in allowed.children:
            hint = _choices(allowed.children)
            problems.append(problem_at(
                path, child, f"element <{child.tag}> is not allowed in <{element.tag}>{hint}",
                positions=positions,
            ))
            continue
        _check(child, f"{element_path}/{child.tag}", table, path, positions, problems)


def _shown(value: str) -> str:
    """``value`` kept on one line and short: control characters written as Python escapes."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in shortened(value))


def _choices(names: Collection[str]) -> str:
    if not names:
        return " (it takes none)"
    return f" (allowed: {', '.join(sorted(names))})"
