"""The grammar as element definitions, on the constructs that defeated the path tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from gueststate.rng import GrammarError
from gueststate.rng.definitions import ElementDefinition, read_definitions
from gueststate.rng.model import Node

RNG_NS = "http://relaxng.org/ns/structure/1.0"


def grammar(tmp_path: Path, body: str, attributes: str = "") -> Path:
    path = tmp_path / "g.rng"
    path.write_text(f'<grammar xmlns="{RNG_NS}" {attributes}>\n{body}\n</grammar>\n')
    return path


def children(definition: ElementDefinition) -> list[str]:
    """Keys of the child definitions its content refers to, in order."""
    found: list[str] = []

    def walk(node: Node) -> None:
        if node.kind == "ref":
            found.append(str(node.target))
        elif node.kind != "attribute":
            for child in node.children:
                walk(child)

    for node in definition.content:
        walk(node)
    return found


def attributes(definition: ElementDefinition) -> list[str]:
    return [node.name or "" for node in definition.content if node.kind == "attribute"]


def test_recursion_through_references_is_a_reference(tmp_path: Path) -> None:
    path = grammar(tmp_path, "<start><ref name='div'/></start>"
                             "<define name='div'><element name='div'><zeroOrMore><choice>"
                             "<ref name='div'/><element name='p'><text/></element>"
                             "</choice></zeroOrMore></element></define>")
    found = read_definitions(path)
    keys = {d.key: d for d in found.elements}
    assert list(keys) == ["div", "p"]
    assert children(keys["div"]) == ["div", "p"]
    assert [p.key for p in keys["div"].parents] == ["div"]
    assert [p.key for p in keys["p"].parents] == ["div"]
    assert [r.key for r in found.roots] == ["div"]


def test_mutual_recursion(tmp_path: Path) -> None:
    path = grammar(tmp_path, "<start><ref name='a'/></start>"
                             "<define name='a'><element name='a'><optional><ref name='b'/>"
                             "</optional></element></define>"
                             "<define name='b'><element name='b'><ref name='a'/></element>"
                             "</define>")
    keys = {d.key: d for d in read_definitions(path).elements}
    assert children(keys["a"]) == ["b"] and children(keys["b"]) == ["a"]
    assert [p.key for p in keys["a"].parents] == ["b"]


def test_one_name_with_two_definitions_is_two_entries(tmp_path: Path) -> None:
    path = grammar(tmp_path, "<start><element name='r'>"
                             "<element name='file'><element name='source'>"
                             "<attribute name='path'/></element></element>"
                             "<element name='net'><element name='source'>"
                             "<attribute name='host'/></element></element>"
                             "</element></start>")
    keys = {d.key: d for d in read_definitions(path).elements}
    assert list(keys) == ["r", "file", "net", "source", "source[2]"]
    assert attributes(keys["source"]) == ["path"]
    assert attributes(keys["source[2]"]) == ["host"]
    assert [p.key for p in keys["source"].parents] == ["file"]
    assert [p.key for p in keys["source[2]"].parents] == ["net"]
    assert keys["source"].source[1] != 0


def test_namespaced_attributes_and_elements_keep_their_prefixes(tmp_path: Path) -> None:
    path = grammar(tmp_path, "<start><element name='package'>"
                             "<attribute name='xml:lang'/>"
                             "<element name='dc:title'><text/></element>"
                             "<element name='title' ns='urn:x-other:qemu'><text/></element>"
                             "</element></start>",
                   "ns='urn:x-opf' xmlns:dc='http://purl.org/dc/elements/1.1/'")
    found = read_definitions(path)
    assert [d.key for d in found.elements] == ["package", "dc:title", "qemu:title"]
    assert attributes(found.elements[0]) == ["xml:lang"]
    assert found.namespaces == {
        "": "urn:x-opf",
        "dc": "http://purl.org/dc/elements/1.1/",
        "qemu": "urn:x-other:qemu",
        "xml": "http://www.w3.org/XML/1998/namespace",
    }


def test_defines_that_each_use_the_next_twice_stay_linear(tmp_path: Path) -> None:
    levels = "".join(f"<define name='d{n}'><ref name='d{n + 1}'/><ref name='d{n + 1}'/></define>"
                     for n in range(200))
    path = grammar(tmp_path, f"<start><element name='r'><ref name='d0'/></element></start>"
                             f"{levels}<define name='d200'><element name='leaf'><empty/>"
                             "</element></define>")
    found = read_definitions(path)
    assert [d.key for d in found.elements] == ["r", "leaf"]


def test_a_bad_recursive_reference_is_refused(tmp_path: Path) -> None:
    path = grammar(tmp_path, "<start><ref name='a'/></start>\n"
                             "<define name='a'><ref name='a'/></define>")
    with pytest.raises(GrammarError) as caught:
        read_definitions(path)
    assert caught.value.problem.message == "bad recursive reference to pattern 'a'"


def test_defines_of_attributes_and_content_that_double_stay_bounded(tmp_path: Path) -> None:
    levels = "".join(
        f"<define name='d{n}'><optional><attribute name='a{n}'/></optional>"
        f"<choice><ref name='d{n + 1}'/><ref name='d{n + 1}'/></choice></define>"
        for n in range(60))
    path = grammar(tmp_path, f"<start><element name='r'><ref name='d0'/></element></start>"
                             f"{levels}<define name='d60'><element name='leaf'><empty/>"
                             "</element></define>")
    found = read_definitions(path)
    assert [d.key for d in found.elements] == ["r", "leaf"]
    assert found.patterns  # past MAX_INLINE, the doubling define is named, not expanded
    assert len(str(found.to_dict())) < 1_000_000
