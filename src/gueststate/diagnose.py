"""Say what is wrong with an invalid document in words a person can act on.

libxml2 decides validity; its RELAX NG messages are often vague ("Extra element disks in
interleave").  Once it has said no, this module walks the document against the content model
of our grammar (:mod:`gueststate.rng`) and names the attribute or element that no alternative
allows, or the value outside an attribute's list.  It never changes a verdict.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from gueststate import xmlsafe
from gueststate.positions import Positions
from gueststate.problems import Problem, problem_at
from gueststate.rng.model import ANY_NAME, Node, walk_paths

#: Most problems reported for one document; the rest are summed up in one more line.
MAX_PROBLEMS = 100


@dataclass
class _Allowed:
    """What the grammar allows at one element path, over all its alternatives."""

    attributes: set[str] = field(default_factory=set)
    children: set[str] = field(default_factory=set)
    open: bool = False  # any name, or recursion: not checked below this point
    values: dict[str, set[str] | None] = field(default_factory=dict)  # None: not an enumeration
    patterns: dict[str, list[str] | None] = field(default_factory=dict)  # None: not patterned
    text_patterns: list[str] | None = None


@functools.cache
def _allowed_by_path(grammar: Path) -> dict[str, _Allowed]:
    table: dict[str, _Allowed] = {}
    seen: set[str] = set()
    for path, node, _ in walk_paths(_start(grammar)):
        parent, _, step = path.rpartition("/")
        if node.kind == "element":
            entry = table.setdefault(path, _Allowed())
            entry.open |= _is_open(node)
            entry.text_patterns = _merge(entry.text_patterns, _patterns(node), path in seen)
            seen.add(path)
            if parent:
                table.setdefault(parent, _Allowed()).children.add(step)
        else:
            owner = table.setdefault(parent, _Allowed())
            name = step[1:]
            owner.attributes.add(name)
            listed = enumeration(node)
            values = set(listed) if listed else None
            if name in owner.values:
                known = owner.values[name]
                owner.values[name] = None if known is None or values is None else known | values
            else:
                owner.values[name] = values
            owner.patterns[name] = _merge(
                owner.patterns.get(name), _patterns(node), name in owner.patterns
            )
    return table


def _merge(known: list[str] | None, new: list[str] | None, seen_before: bool) -> list[str] | None:
    """Patterns of all alternatives; None as soon as one alternative is not patterned."""
    if not seen_before:
        return new
    if known is None or new is None:
        return None
    return sorted(set(known + new))


def _patterns(node: Node) -> list[str] | None:
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
    return sorted(set(found)) or None


def _matches(value: str, patterns: list[str]) -> bool:
    """Whether any XSD pattern matches the whole value; True when one does not compile."""
    for pattern in patterns:
        try:
            if re.fullmatch(pattern, value):
                return True
        except re.error:
            return True
    return False


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


def prepare(grammar: Path) -> None:
    """Read ``grammar``'s content model now, e.g. once before forking workers that share it."""
    _allowed_by_path(grammar)
    _start(grammar)


@functools.cache
def _start(grammar: Path) -> Node:
    """The grammar's start, read once per process (the reader is needed for invalid documents
    only, hence imported here)."""
    from gueststate.rng import read_grammar

    return read_grammar(grammar).start


def _check(
    element: etree._Element, element_path: str, table: dict[str, _Allowed], path: str,
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
    """``value`` kept on one line: control characters written as Python escapes."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in value)


def _choices(names: set[str]) -> str:
    if not names:
        return " (it takes none)"
    return f" (allowed: {', '.join(sorted(names))})"
