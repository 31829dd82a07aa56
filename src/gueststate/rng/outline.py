"""The content-model tree as an indented outline a person can read.

One line per element or attribute, cardinality as a suffix (``?``, ``*``, ``+``), simple
content after a colon (``attribute mode?: "push" | "pull"``), the other patterns as headings
(``choice``, ``interleave (any order)``) over what they contain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from gueststate.rng.model import Node

if TYPE_CHECKING:
    from gueststate.rng.definitions import Definitions, ElementDefinition

_SUFFIX = {"optional": "?", "zeroOrMore": "*", "oneOrMore": "+"}
_HEADING = {
    "choice": "choice of",
    "group": "group (in this order)",
    "interleave": "interleave (any order)",
    "optional": "optional",
    "zeroOrMore": "zero or more",
    "oneOrMore": "one or more",
    "mixed": "mixed with text",
    "list": "list of tokens",
}
_INDENT = "  "

#: Labels for the alternatives of a choice, None where nothing tells one apart.
NameForms = Callable[[Sequence[Node]], Sequence[str | None]]


def outline(root: Node, name_forms: NameForms | None = None) -> str:
    """The outline of ``root`` and everything below it, one line per node.

    ``name_forms`` labels the alternatives of a choice (``gueststate.forms`` does, for the
    CLI): each labelled one is shown under a ``form LABEL`` line.
    """
    lines: list[str] = []
    _render(root, 0, "", lines, name_forms)
    return "\n".join(lines) + "\n"


def definitions_outline(
    definitions: Definitions, name_forms: NameForms | None = None
) -> str:
    """One outline per element definition; children are named, not expanded.

    ``element source[2] (in disk, mirror)`` heads the definition, its attributes and content
    follow; a child element reads ``element <file>`` and a named pattern ``pattern NAME``.
    """
    lines: list[str] = []
    for element in definitions.elements:
        where = ", ".join(parent.key for parent in element.parents) or "root"
        lines.append(f"element {element.key} (in {where}){_since(element)}")
        for node in element.content:
            _render(node, 1, "", lines, name_forms)
    for pattern in definitions.patterns:
        lines.append(f"pattern {pattern.key}")
        _render(pattern.content, 1, "", lines, name_forms)
    return "\n".join(lines) + "\n"


def _render(
    node: Node, depth: int, suffix: str, lines: list[str], name_forms: NameForms | None
) -> None:
    pad = _INDENT * depth
    if node.kind in _SUFFIX and len(node.children) == 1:
        inner = node.children[0]
        if inner.kind in ("element", "attribute") and not suffix:
            _render(inner, depth, _SUFFIX[node.kind], lines, name_forms)
            return
    if node.kind in ("element", "attribute"):
        name = f"{{{node.namespace}}}{node.name}" if _qualify(node) else node.name
        if node.name_except:
            name = f"{name} except {node.name_except}"
        head = f"{pad}{node.kind} {name}{suffix}"
        simple = _inline(node.children)
        if simple is not None:
            lines.append(f"{head}: {simple}{_default(node)}{_since(node)}")
            return
        lines.append(head + _default(node) + _since(node))
        for child in node.children:
            _render(child, depth + 1, "", lines, name_forms)
        return
    if node.kind in ("group", "interleave") and len(node.children) == 1:
        # A group kept only for its documentation: nothing for the outline to show.
        _render(node.children[0], depth, suffix, lines, name_forms)
        return
    simple = _inline([node])
    if simple is not None:
        lines.append(f"{pad}{simple}{_since(node)}")
        return
    lines.append(f"{pad}{_HEADING.get(node.kind, node.kind)}{_since(node)}")
    labels: Sequence[str | None] = [None] * len(node.children)
    if node.kind == "choice" and name_forms is not None:
        labels = name_forms(node.children)
    for child, label in zip(node.children, labels, strict=True):
        if label and child.kind not in ("element", "attribute", "ref"):
            lines.append(f"{pad}{_INDENT}form {label}")
            _render(child, depth + 2, "", lines, name_forms)
        else:
            _render(child, depth + 1, "", lines, name_forms)


def _qualify(node: Node) -> bool:
    return bool(node.namespace) and not (node.name or "").startswith("{")


def _inline(nodes: list[Node]) -> str | None:
    """Content short enough for one line: text, data, values and choices of them."""
    if not nodes:
        return "empty"
    if len(nodes) > 1:
        return None
    node = nodes[0]
    if node.kind == "text":
        return "text"
    if node.kind == "empty":
        return "empty"
    if node.kind == "ref" and node.name is not None:
        return f"element <{node.target}>"  # a definition's child, named by its key
    if node.kind == "ref":
        return f"(recursion: same as {node.target})"
    if node.kind == "define":
        return f"pattern {node.name}"
    if node.kind == "value":
        return _quote(node.value or "")
    if node.kind == "data":
        text = node.datatype or "?"
        if node.params:
            facets = ", ".join(f"{key}={_quote(value)}" for key, value in node.params.items())
            text += f" {{{facets}}}"
        if node.except_ is not None:
            excluded = _inline([node.except_])
            text += f" except {excluded if excluded is not None else '(...)'}"
        return text
    if node.kind == "choice" and not any(child.documentation for child in node.children):
        parts = [_inline([child]) for child in node.children]
        if all(part is not None for part in parts) and not any(
            child.kind == "ref" for child in node.children
        ):
            return " | ".join(part for part in parts if part is not None)
    return None


def _quote(text: str) -> str:
    return '"' + text.replace('"', '\\"').replace("\n", "\\n") + '"'


def _default(node: Node) -> str:
    return f" (default {_quote(node.default)})" if node.default is not None else ""


def _since(node: Node | ElementDefinition) -> str:
    return f"  [since {node.since}]" if node.since else ""
