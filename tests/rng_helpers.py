"""Small helpers for the RELAX NG reader tests: write a grammar, read it, show its shape."""

from __future__ import annotations

from pathlib import Path

from gueststate.rng import Node, read_grammar

RNG_NS = "http://relaxng.org/ns/structure/1.0"
A_NS = "http://relaxng.org/ns/compatibility/annotations/1.0"
GS_NS = "urn:x-gueststate:annotations"


def grammar_text(body: str, attributes: str = "") -> str:
    """A ``grammar`` document around ``body``, with the annotation prefixes ``a`` and ``gs``."""
    return (
        f'<grammar xmlns="{RNG_NS}" xmlns:a="{A_NS}" xmlns:gs="{GS_NS}" {attributes}>\n'
        f"{body}\n</grammar>\n"
    )


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def read(
    directory: Path, body: str, attributes: str = "", files: dict[str, str] | None = None
) -> Node:
    """Write ``main.rng`` (a grammar of ``body``) and the other ``files``, read its start."""
    for name, text in (files or {}).items():
        write(directory, name, text)
    return read_grammar(write(directory, "main.rng", grammar_text(body, attributes))).start


def shape(node: Node) -> str:
    """A compact spelling of a tree: ``e:name(...)`` elements, ``@name(...)`` attributes,
    ``'v'`` values, ``data:type``, ``ref:target`` and ``kind(...)`` for the other patterns."""
    inner = ", ".join(shape(child) for child in node.children)
    if node.kind == "element":
        return f"e:{node.name}({inner})"
    if node.kind == "attribute":
        return f"@{node.name}({inner})"
    if node.kind == "value":
        return repr(node.value)
    if node.kind == "data":
        return f"data:{node.datatype}"
    if node.kind == "ref":
        return f"ref:{node.target}"
    if node.kind in ("text", "empty", "notAllowed"):
        return node.kind
    return f"{node.kind}({inner})"
