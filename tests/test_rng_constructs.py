"""The RELAX NG reader on small grammars, one RELAX NG construct at a time."""

from __future__ import annotations

import errno
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gueststate.rng import (
    GrammarError,
    Node,
    definitions,
    loader,
    read_grammar,
    simplify,
    walk_paths,
)
from gueststate.rng.definitions import read_definitions
from gueststate.rng.outline import outline
from gueststate.rng.patterns import Pattern

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


START = "<start><ref name='root'/></start>"


def test_elements_attributes_and_their_default_content(tmp_path: Path) -> None:
    root = read(tmp_path, """
      <start><element name="doc">
        <attribute name="id"/>
        <element name="leaf"><empty/></element>
        <element name="body"><text/></element>
      </element></start>""")
    assert shape(root) == "e:doc(@id(text), e:leaf(), e:body(text))"
    assert root.source == (str(tmp_path / "main.rng"), 3)


def test_define_and_ref_are_inlined(tmp_path: Path) -> None:
    root = read(tmp_path, START + """
      <define name="root"><element name="doc"><ref name="part"/><ref name="part"/></element>
      </define>
      <define name="part"><element name="part"><text/></element></define>""")
    assert shape(root) == "e:doc(e:part(text), e:part(text))"
    assert root.children[0].source == (str(tmp_path / "main.rng"), 5)


def test_group_interleave_and_choice_keep_their_kind(tmp_path: Path) -> None:
    root = read(tmp_path, """
      <start><element name="doc">
        <interleave><element name="a"><empty/></element><element name="b"><empty/></element>
        </interleave>
        <choice><element name="c"><empty/></element><element name="d"><empty/></element></choice>
        <group><element name="e"><empty/></element><element name="f"><empty/></element></group>
      </element></start>""")
    # The element's own content is a group already: the inner group merges into it.
    assert shape(root) == "e:doc(interleave(e:a(), e:b()), choice(e:c(), e:d()), e:e(), e:f())"


def test_cardinality_wrappers(tmp_path: Path) -> None:
    root = read(tmp_path, """
      <start><element name="doc">
        <optional><attribute name="o"/></optional>
        <zeroOrMore><element name="z"><empty/></element></zeroOrMore>
        <oneOrMore><element name="m"><empty/></element></oneOrMore>
      </element></start>""")
    assert shape(root) == "e:doc(optional(@o(text)), zeroOrMore(e:z()), oneOrMore(e:m()))"


def test_redundant_cardinalities_collapse(tmp_path: Path) -> None:
    root = read(tmp_path, """
      <start><element name="doc">
        <optional><zeroOrMore><element name="a"><empty/></element></zeroOrMore></optional>
        <optional><oneOrMore><element name="b"><empty/></element></oneOrMore></optional>
        <oneOrMore><oneOrMore><element name="c"><empty/></element></oneOrMore></oneOrMore>
      </element></start>""")
    assert shape(root) == "e:doc(zeroOrMore(e:a()), zeroOrMore(e:b()), oneOrMore(e:c()))"


def test_mixed_and_list(tmp_path: Path) -> None:
    root = read(tmp_path, """
      <start><element name="doc">
        <mixed><element name="em"><text/></element></mixed>
        <element name="sizes" datatypeLibrary="http://www.w3.org/2001/XMLSchema-datatypes">
          <list><oneOrMore><data type="int"/></oneOrMore></list></element>
      </element></start>""")
    assert shape(root) == "e:doc(mixed(e:em(text)), e:sizes(list(oneOrMore(data:int))))"


def test_data_with_params_and_except(tmp_path: Path) -> None:
    root = read(tmp_path, """
      <start><element name="doc">
        <data type="string">
          <param name="pattern">[a-z]+</param><param name="maxLength">8</param>
          <except><value>root</value><value>admin</value></except>
        </data>
      </element></start>""", 'datatypeLibrary="http://www.w3.org/2001/XMLSchema-datatypes"')
    data = root.children[0]
    assert (data.kind, data.datatype) == ("data", "string")
    assert data.datatype_library == "http://www.w3.org/2001/XMLSchema-datatypes"
    assert data.params == {"pattern": "[a-z]+", "maxLength": "8"}
    assert data.except_ is not None and shape(data.except_) == "choice('root', 'admin')"
    assert data.to_dict()["except"]["kind"] == "choice"


def test_value_types_and_libraries(tmp_path: Path) -> None:
    root = read(tmp_path, """
      <start><element name="doc">
        <attribute name="plain"><value>yes</value></attribute>
        <attribute name="typed"><value type="string"> padded </value></attribute>
        <attribute name="xsd"><value type="int" datatypeLibrary="urn:lib">7</value></attribute>
      </element></start>""", 'datatypeLibrary="urn:inherited"')
    plain, typed, xsd = (attribute.children[0] for attribute in root.children)
    # A value without a type is a token of the built-in library, whatever is inherited.
    assert (plain.value, plain.datatype, plain.datatype_library) == ("yes", "token", "")
    assert (typed.value, typed.datatype, typed.datatype_library) == (
        " padded ", "string", "urn:inherited")
    assert (xsd.value, xsd.datatype, xsd.datatype_library) == ("7", "int", "urn:lib")


def test_datatype_library_is_inherited_but_not_across_include(tmp_path: Path) -> None:
    included = grammar_text(
        '<define name="n"><element name="n"><data type="token"/></element></define>'
    )
    root = read(tmp_path, """
      <start><element name="doc">
        <attribute name="a"><data type="a"/></attribute>
        <element name="inner" datatypeLibrary="urn:inner"><data type="b"/></element>
        <ref name="n"/>
      </element></start>
      <include href="inc.rng"/>""", 'datatypeLibrary="urn:outer"', {"inc.rng": included})
    libraries = [node.datatype_library for node in _all(root) if node.kind == "data"]
    assert libraries == ["urn:outer", "urn:inner", ""]


def test_text_empty_and_not_allowed_branches(tmp_path: Path) -> None:
    root = read(tmp_path, """
      <start><element name="doc">
        <choice><element name="kept"><text/></element><notAllowed/></choice>
        <choice><element name="gone"><notAllowed/></element><element name="b"><text/></element>
        </choice>
        <optional><group><element name="c"><empty/></element><notAllowed/></group></optional>
        <group><empty/><element name="d"><empty/></element></group>
      </element></start>""")
    assert shape(root) == "e:doc(e:kept(text), e:b(text), e:d())"


def test_choice_with_empty_becomes_optional(tmp_path: Path) -> None:
    root = read(tmp_path, """
      <start><element name="doc">
        <choice><empty/><attribute name="a"/></choice>
        <choice><attribute name="b"/><empty/><attribute name="c"/></choice>
      </element></start>""")
    assert shape(root) == "e:doc(optional(@a(text)), optional(choice(@b(text), @c(text))))"


def test_nested_patterns_of_one_kind_are_flattened(tmp_path: Path) -> None:
    root = read(tmp_path, """
      <start><element name="doc">
        <attribute name="v">
          <choice><value>a</value><choice><value>b</value><value>c</value></choice></choice>
        </attribute>
        <interleave><text/><interleave><element name="x"><empty/></element></interleave>
          <group><element name="y"><empty/></element><element name="z"><empty/></element></group>
        </interleave>
      </element></start>""")
    assert shape(root) == (
        "e:doc(@v(choice('a', 'b', 'c')), interleave(text, e:x(), group(e:y(), e:z())))"
    )


def test_an_annotated_pattern_is_not_merged_away(tmp_path: Path) -> None:
    root = read(tmp_path, """
      <start><element name="doc"><choice>
        <value>a</value>
        <choice><a:documentation>The modern ones.</a:documentation>
          <value>b</value><value>c</value></choice>
      </choice></element></start>""")
    assert shape(root) == "e:doc(choice('a', choice('b', 'c')))"
    assert root.children[0].children[1].documentation == "The modern ones."


def test_annotations_on_patterns(tmp_path: Path) -> None:
    root = read(tmp_path, """
      <start><element name="doc" gs:since="1.0">
        <a:documentation>
          The document.

          Second paragraph.
        </a:documentation>
        <attribute name="id" gs:since="2.0"><a:documentation>Its id.</a:documentation>
        </attribute>
        <group gs:since="3.0"><a:documentation>A pair.</a:documentation>
          <element name="x"><empty/></element><element name="y"><empty/></element></group>
        <choice gs:since="4.0"><a:documentation>One of two.</a:documentation>
          <element name="p"><empty/></element><element name="q"><empty/></element></choice>
      </element></start>""")
    assert (root.documentation, root.since) == ("The document.\n\nSecond paragraph.", "1.0")
    attribute, pair, alternatives = root.children
    assert (attribute.documentation, attribute.since) == ("Its id.", "2.0")
    assert (pair.kind, pair.documentation, pair.since) == ("group", "A pair.", "3.0")
    assert (alternatives.kind, alternatives.documentation, alternatives.since) == (
        "choice", "One of two.", "4.0")
    assert root.to_dict()["since"] == "1.0"


def test_define_annotations_apply_where_the_pattern_has_none(tmp_path: Path) -> None:
    root = read(tmp_path, START + """
      <define name="root"><element name="doc">
        <ref name="bare"/><ref name="own"/><ref name="maybe"/></element></define>
      <define name="bare" gs:since="5.0"><a:documentation>From the define.</a:documentation>
        <element name="bare"><empty/></element></define>
      <define name="own"><a:documentation>Not this.</a:documentation>
        <element name="own"><a:documentation>This.</a:documentation><empty/></element></define>
      <define name="maybe"><a:documentation>Wrapped.</a:documentation>
        <optional><element name="maybe"><empty/></element></optional></define>""")
    bare, own, maybe = root.children
    assert (bare.name, bare.documentation, bare.since) == ("bare", "From the define.", "5.0")
    assert (own.name, own.documentation) == ("own", "This.")
    # Through a cardinality wrapper, the documentation lands on the element a reader looks at.
    assert maybe.kind == "optional" and maybe.children[0].documentation == "Wrapped."


def test_include_with_an_overriding_define(tmp_path: Path) -> None:
    library = grammar_text("""
      <start><element name="doc"><ref name="body"/><ref name="tail"/></element></start>
      <define name="body"><element name="old"><empty/></element></define>
      <define name="tail"><element name="tail"><empty/></element></define>""")
    root = read(tmp_path, """
      <include href="lib.rng">
        <define name="body"><element name="new"><empty/></element></define>
      </include>""", files={"lib.rng": library})
    assert shape(root) == "e:doc(e:new(), e:tail())"


def test_include_overriding_start(tmp_path: Path) -> None:
    library = grammar_text("""
      <start><element name="old"><empty/></element></start>
      <define name="x"><element name="x"><empty/></element></define>""")
    root = read(tmp_path, """
      <include href="lib.rng"><start><element name="doc"><ref name="x"/></element></start>
      </include>""", files={"lib.rng": library})
    assert shape(root) == "e:doc(e:x())"


@pytest.mark.parametrize(("method", "expected"), [
    ("choice", "e:doc(choice(e:a(), e:b()))"),
    ("interleave", "e:doc(interleave(e:a(), e:b()))"),
])
def test_combine(tmp_path: Path, method: str, expected: str) -> None:
    root = read(tmp_path, f"""
      <start><element name="doc"><ref name="part"/></element></start>
      <define name="part"><element name="a"><empty/></element></define>
      <define name="part" combine="{method}"><element name="b"><empty/></element></define>""")
    assert shape(root) == expected


def test_combine_choice_across_an_include_replaces_not_allowed(tmp_path: Path) -> None:
    library = grammar_text("""
      <define name="extra"><notAllowed/></define>
      <define name="source"><element name="source"><optional><ref name="extra"/></optional>
        </element></define>""")
    root = read(tmp_path, """
      <start><element name="doc"><ref name="source"/></element></start>
      <include href="lib.rng"/>
      <define name="extra" combine="choice"><element name="driver"><empty/></element></define>
      """, files={"lib.rng": library})
    assert shape(root) == "e:doc(e:source(optional(e:driver())))"


def test_nested_grammar_keeps_its_own_defines(tmp_path: Path) -> None:
    # libvirt's storageSourceExtra pattern: the outer grammar's override must not reach the
    # copy of the library that the nested grammar includes.
    library = grammar_text("""
      <define name="extra"><notAllowed/></define>
      <define name="source"><element name="source"><optional><ref name="extra"/></optional>
        </element></define>""")
    inner = grammar_text(
        '<include href="lib.rng"/><start><element name="domain"><ref name="source"/>'
        "</element></start>"
    )
    root = read(tmp_path, """
      <start><element name="snapshot">
        <ref name="source"/>
        <grammar><include href="inner.rng"/></grammar>
      </element></start>
      <include href="lib.rng"/>
      <define name="extra" combine="choice"><element name="driver"><empty/></element></define>
      """, files={"lib.rng": library, "inner.rng": inner})
    assert shape(root) == "e:snapshot(e:source(optional(e:driver())), e:domain(e:source()))"


def test_an_external_ref_from_many_nested_grammars_reaches_each_ones_parent(
    tmp_path: Path,
) -> None:
    # Each nested grammar is freed once read; a later one may be made at the same address.
    write(tmp_path, "ext.rng", grammar_text("<start><parentRef name='p'/></start>"))
    nested = "".join(f"<grammar><start><externalRef href='ext.rng'/></start><define name='p'>"
                     f"<element name='a{n}'><empty/></element></define></grammar>"
                     for n in range(30))
    root = read(tmp_path, f"<start><element name='r'>{nested}</element></start>")
    assert shape(root) == "e:r(" + ", ".join(f"e:a{n}()" for n in range(30)) + ")"


def test_parent_ref_reaches_the_enclosing_grammar(tmp_path: Path) -> None:
    root = read(tmp_path, """
      <start><element name="doc"><grammar>
        <start><element name="inner"><parentRef name="part"/><ref name="part"/></element></start>
        <define name="part"><element name="nested"><empty/></element></define>
      </grammar></element></start>
      <define name="part"><element name="outer"><empty/></element></define>""")
    assert shape(root) == "e:doc(e:inner(e:outer(), e:nested()))"


def test_external_ref_inherits_ns(tmp_path: Path) -> None:
    write(tmp_path, "part.rng", f'<element name="part" xmlns="{RNG_NS}"><text/></element>')
    model = read_grammar(write(tmp_path, "main.rng", grammar_text(
        '<start><element name="doc"><externalRef href="part.rng"/></element></start>',
        'ns="urn:doc"',
    )))
    part = model.start.children[0]
    assert (part.name, part.namespace) == ("part", "urn:doc")
    assert model.files == (str(tmp_path / "main.rng"), str(tmp_path / "part.rng"))


def test_ns_inheritance_and_prefixed_names(tmp_path: Path) -> None:
    root = read(tmp_path, """
      <start><element name="doc">
        <attribute name="plain"/>
        <attribute name="qualified" ns="urn:attr"/>
        <element name="other" ns="urn:other"><element name="child"><empty/></element></element>
        <element name="q:prefixed" xmlns:q="urn:q"><empty/></element>
        <attribute name="xml:lang"/>
      </element></start>""", 'ns="urn:doc"')
    names = [(n.kind, n.name, n.namespace) for n in _all(root) if n.name is not None]
    assert names == [
        ("element", "doc", "urn:doc"),
        ("attribute", "plain", ""),  # attributes do not inherit ns
        ("attribute", "qualified", "urn:attr"),
        ("element", "other", "urn:other"),
        ("element", "child", "urn:other"),
        ("element", "prefixed", "urn:q"),
        ("attribute", "lang", "http://www.w3.org/XML/1998/namespace"),
    ]


def test_name_classes(tmp_path: Path) -> None:
    root = read(tmp_path, """
      <start><element name="doc">
        <element><anyName><except><name>secret</name></except></anyName><empty/></element>
        <element><nsName ns="urn:x"/><empty/></element>
        <element><choice><name>left</name><name>right</name></choice><empty/></element>
        <element><choice><name>plain</name><name ns="urn:y">far</name></choice><empty/></element>
        <zeroOrMore><attribute><anyName/></attribute></zeroOrMore>
      </element></start>""")
    any_name, ns_name, either, mixed, attributes = root.children
    attribute = attributes.children[0]
    assert (any_name.name, any_name.name_except) == ("*", "secret")
    assert any_name.to_dict()["nameExcept"] == "secret"
    assert (ns_name.name, ns_name.namespace) == ("{urn:x}*", "urn:x")
    assert (either.name, either.namespace) == ("left|right", "")
    assert mixed.name == "plain|{urn:y}far"
    assert (attribute.kind, attribute.name) == ("attribute", "*")


def test_names_are_stripped_of_xml_white_space_only(tmp_path: Path) -> None:
    root = read(tmp_path, """
      <start><element name=" doc&#10;"><element><name>
        xml:lang </name><empty/></element><attribute name="&#9;été"/>
        <ref name=" named "/></element></start>
      <define name="named&#13;"><element name="名前"><empty/></element></define>""")
    assert shape(root) == "e:doc(e:lang(), @été(text), e:名前())"
    with pytest.raises(GrammarError) as caught:  # U+0085 is Unicode white space, not XML's
        read(tmp_path, "<start><element name='&#133;doc'><empty/></element></start>")
    assert caught.value.problem.message.startswith("'\x85doc' is not a valid name")


QNAME = "is not a valid name: an XML NCName, with or without a prefix and a colon before it"


@pytest.mark.parametrize(("pattern", "where", "message"), [
    ("<element name='x&#10;element forged'><empty/></element>", "2:8",
     f"'x\\nelement forged' {QNAME}"),
    ("<element name=''><empty/></element>", "2:8", f"'' {QNAME}"),
    ("<element><name>  </name><empty/></element>", "2:17", f"'' {QNAME}"),
    ("<element name='&#155;31mred'><empty/></element>", "2:8", f"'\\x9b31mred' {QNAME}"),
    ("<element name='x'><attribute name='red&#8238;'/></element>", "2:26",
     f"'red\\u202e' {QNAME}"),
    ("<element name='a:b:c' xmlns:a='urn:a'><empty/></element>", "2:8", f"'a:b:c' {QNAME}"),
    ("<element name=':c'><empty/></element>", "2:8", f"':c' {QNAME}"),
    ("<element name='1st'><empty/></element>", "2:8", f"'1st' {QNAME}"),
    ("<element><anyName><except>\n<name>a b</name></except></anyName><empty/></element>",
     "3:1", f"'a b' {QNAME}"),
    ("<element><nsName ns='urn:x'><except><choice><name>ok</name>\n <name>-no</name></choice>"
     "</except></nsName><empty/></element>", "3:2", f"'-no' {QNAME}"),
    ("<ref name='a b'/>", "2:8", "'a b' is not a valid name: an XML NCName"),
])
def test_fault_a_name_that_is_not_an_xml_name(
    pattern: str, where: str, message: str, tmp_path: Path
) -> None:
    problem = _fault(tmp_path, f"<start>{pattern}</start><define name='a'><empty/></define>")
    assert problem == f"main.rng:{where}: {message}"


def test_fault_a_define_name_that_is_not_an_ncname(tmp_path: Path) -> None:
    problem = _fault(tmp_path, "<start><empty/></start>\n<define name='a:b'><empty/></define>")
    assert problem == "main.rng:3:1: 'a:b' is not a valid name: an XML NCName"


def test_div_is_transparent(tmp_path: Path) -> None:
    root = read(tmp_path, """
      <div><start><element name="doc"><ref name="x"/></element></start></div>
      <div ns="urn:div"><div><define name="x"><element name="x"><empty/></element></define>
      </div></div>""")
    assert shape(root) == "e:doc(e:x())"
    assert root.children[0].namespace == "urn:div"


def test_foreign_elements_and_attributes_are_ignored(tmp_path: Path) -> None:
    root = read(tmp_path, """
      <start><element name="doc" xmlns:v="urn:v" v:serial="4"><v:note>n</v:note>
        <!-- a comment --><empty/></element></start>""")
    assert shape(root) == "e:doc()"


def test_recursion_becomes_a_ref_to_the_element_path(tmp_path: Path) -> None:
    root = read(tmp_path, START + """
      <define name="root"><element name="doc"><ref name="chain"/></element></define>
      <define name="chain"><element name="backingStore">
        <optional><ref name="chain"/></optional></element></define>""")
    assert shape(root) == "e:doc(e:backingStore(optional(ref:doc/backingStore)))"
    paths = [path for path, _, _ in walk_paths(root)]
    assert paths == ["doc", "doc/backingStore"]


def test_recursion_into_the_whole_content_points_at_its_element(tmp_path: Path) -> None:
    root = read(tmp_path, START + """
      <define name="root"><element name="doc"><ref name="any"/></element></define>
      <define name="any"><zeroOrMore><choice><text/>
        <element><anyName/><ref name="any"/></element></choice></zeroOrMore></define>""")
    assert shape(root) == "e:doc(zeroOrMore(choice(text, e:*(ref:doc))))"


def test_recursion_into_part_of_the_content_points_at_its_first_element(
    tmp_path: Path,
) -> None:
    root = read(tmp_path, START + """
      <define name="root"><element name="disk"><element name="source"><empty/></element>
        <ref name="chain"/></element></define>
      <define name="chain"><choice>
        <element name="backingStore"><ref name="chain"/></element>
        <element name="last"><empty/></element></choice></define>""")
    assert shape(root) == (
        "e:disk(e:source(), choice(e:backingStore(ref:disk/backingStore), e:last()))"
    )


def test_shared_define_is_expanded_once_and_reused(tmp_path: Path) -> None:
    root = read(tmp_path, START + """
      <define name="root"><element name="doc"><ref name="x"/><ref name="x"/></element></define>
      <define name="x"><element name="x"><text/></element></define>""")
    first, second = root.children
    assert first is second
    assert root.to_dict()["children"][1] == {"kind": "element", "name": "x",
                                             "children": [{"kind": "text"}]}


def test_files_lists_every_file_read(tmp_path: Path) -> None:
    write(tmp_path, "c.rng", grammar_text('<define name="c"><text/></define>'))
    write(tmp_path, "b.rng", grammar_text('<include href="c.rng"/>'))
    write(tmp_path, "sub_part.rng", f'<element name="p" xmlns="{RNG_NS}"><ref name="c"/></element>')
    main = write(tmp_path, "main.rng", grammar_text(
        '<include href="b.rng"/><start><element name="doc"><externalRef href="sub_part.rng"/>'
        "</element></start>"
    ))
    files = read_grammar(main).files
    assert sorted(files) == sorted(str(tmp_path / name)
                                   for name in ("main.rng", "b.rng", "c.rng", "sub_part.rng"))
    assert all(Path(file).is_absolute() for file in files)


def test_a_pattern_file_without_grammar(tmp_path: Path) -> None:
    path = write(tmp_path, "one.rng", f'<element name="one" xmlns="{RNG_NS}"><text/></element>')
    assert shape(read_grammar(path).start) == "e:one(text)"


def test_since_on_a_ref(tmp_path: Path) -> None:
    root = read(tmp_path, START + """
      <define name="root"><element name="doc"><ref name="x" gs:since="9.1"/></element></define>
      <define name="x"><element name="x"><empty/></element></define>""")
    assert root.children[0].since == "9.1"


def _all(node: Node) -> Iterator[Node]:
    yield node
    for child in node.children:
        yield from _all(child)


# --- faults: one problem, at the file, line and column of the element at fault --------------


def _fault(tmp_path: Path, body: str, files: dict[str, str] | None = None) -> str:
    with pytest.raises(GrammarError) as caught:
        read(tmp_path, body, files=files)
    return str(caught.value.problem).replace(str(tmp_path) + "/", "")


def test_fault_file_does_not_parse(tmp_path: Path) -> None:
    problem = _fault(tmp_path, "<start><element name='a'><empty/></start>")
    assert problem.startswith("main.rng:3:11: ")
    assert "not well-formed XML" in problem


def test_fault_missing_include(tmp_path: Path) -> None:
    problem = _fault(tmp_path, "<start><empty/></start>\n  <include href='gone.rng'/>")
    assert problem == (
        "main.rng:3:3: cannot read 'gone.rng': No such file or directory"
    )


@pytest.mark.parametrize("reference", ["include", "externalRef"])
def test_fault_reference_to_a_symlink_loop(reference: str, tmp_path: Path) -> None:
    # Python 3.11's Path.resolve() raised RuntimeError here; 3.13's opens and gets ELOOP.
    (tmp_path / "l1.rng").symlink_to("l2.rng")
    (tmp_path / "l2.rng").symlink_to("l1.rng")
    body = ("<start><empty/></start>\n  <include href='l1.rng'/>" if reference == "include"
            else "<start>\n  <externalRef href='l1.rng'/></start>")
    expected = "main.rng:3:3: cannot read 'l1.rng': Too many levels of symbolic links"
    assert _fault(tmp_path, body) == expected  # the directory taken out of both paths
    with pytest.raises(GrammarError) as caught:
        read_definitions(tmp_path / "main.rng")
    assert str(caught.value.problem).replace(f"{tmp_path}/", "") == expected


def test_a_grammar_that_is_a_symlink_loop_is_an_os_error(tmp_path: Path) -> None:
    (tmp_path / "main.rng").symlink_to("main.rng")
    for reader in (read_grammar, read_definitions):
        with pytest.raises(OSError) as caught:
            reader(tmp_path / "main.rng")
        assert caught.value.errno == errno.ELOOP
        assert caught.value.filename == str(tmp_path / "main.rng")


def test_fault_undefined_ref(tmp_path: Path) -> None:
    problem = _fault(tmp_path, "<start><element name='a'><ref name='nowhere'/></element></start>")
    assert problem == "main.rng:2:26: reference to undefined pattern 'nowhere'"


def test_fault_located_at_a_start_tag_over_several_lines(tmp_path: Path) -> None:
    problem = _fault(tmp_path, "<start><element name='a'>\n  <ref\n    name='nowhere'/>"
                               "</element></start>")
    assert problem == "main.rng:3:3: reference to undefined pattern 'nowhere'"


def test_fault_parent_ref_outside_a_nested_grammar(tmp_path: Path) -> None:
    problem = _fault(tmp_path, "<start><parentRef name='x'/></start><define name='x'><empty/>"
                               "</define>")
    assert problem == "main.rng:2:8: <parentRef> outside a nested grammar"


def test_fault_two_defines_without_combine(tmp_path: Path) -> None:
    problem = _fault(tmp_path, "<start><ref name='x'/></start>\n"
                               "<define name='x'><empty/></define>\n"
                               "<define name='x'><text/></define>")
    assert problem == "main.rng:4:1: define 'x' is defined twice without combine"


def test_fault_conflicting_combine(tmp_path: Path) -> None:
    problem = _fault(tmp_path, "<start><ref name='x'/></start>\n"
                               "<define name='x' combine='choice'><empty/></define>\n"
                               "<define name='x' combine='interleave'><text/></define>")
    assert problem == "main.rng:4:1: define 'x' combines with both choice and interleave"


def test_fault_override_of_an_absent_define(tmp_path: Path) -> None:
    library = grammar_text("<start><empty/></start>")
    problem = _fault(tmp_path, "<include href='lib.rng'>\n"
                               "  <define name='ghost'><empty/></define></include>",
                     {"lib.rng": library})
    assert problem == (
        "main.rng:3:3: overrides define 'ghost', absent from 'lib.rng'"
    )


def test_fault_recursion_without_an_element(tmp_path: Path) -> None:
    problem = _fault(tmp_path, "<start><ref name='x'/></start>\n"
                               "<define name='x'><choice><empty/><ref name='x'/></choice></define>")
    assert problem == "main.rng:3:34: bad recursive reference to pattern 'x'"


def test_fault_a_define_that_is_only_itself(tmp_path: Path) -> None:
    problem = _fault(tmp_path, "<start><ref name='a'/></start>\n"
                               "<define name='a'><ref name='a'/></define>")
    assert problem == "main.rng:3:18: bad recursive reference to pattern 'a'"


def test_fault_mutual_recursion_without_an_element(tmp_path: Path) -> None:
    problem = _fault(tmp_path, "<start><element name='r'><ref name='a'/></element></start>\n"
                               "<define name='a'><optional><ref name='b'/></optional></define>\n"
                               "<define name='b'><attribute name='x'/><ref name='a'/></define>")
    assert problem == "main.rng:4:39: bad recursive reference to pattern 'a'"


def test_recursion_through_an_element_is_not_a_fault(tmp_path: Path) -> None:
    root = read(tmp_path, "<start><ref name='a'/></start>\n"
                          "<define name='a'><element name='r'><optional><ref name='b'/></optional>"
                          "</element></define><define name='b'><ref name='a'/></define>")
    assert shape(root) == "e:r(optional(ref:r))"


RNG = f'xmlns="{RNG_NS}"'


def test_includes_that_fan_out_are_read_once_each(tmp_path: Path) -> None:
    # Each file includes the next twice: 2**40 inclusions if each were read every time.
    levels = 40
    for n in range(levels):
        start = "<start><element name='r'><ref name='x'/></element></start>" if n == 0 else ""
        write(tmp_path, f"inc{n}.rng",
              f"<grammar {RNG}>{start}<include href='inc{n + 1}.rng'/>"
              f"<include href='inc{n + 1}.rng'/><define name='x' combine='choice'>"
              f"<element name='e{n}'><empty/></element></define></grammar>")
    write(tmp_path, f"inc{levels}.rng",
          f"<grammar {RNG}><define name='x' combine='choice'>"
          "<element name='last'><empty/></element></define></grammar>")
    model = read_grammar(tmp_path / "inc0.rng")
    names = {node.name for _, node, _ in walk_paths(model.start)}
    assert names == {"r", "last", *(f"e{n}" for n in range(levels))}
    assert len(model.files) == levels + 1


def test_a_file_included_twice_still_defines_its_start_twice(tmp_path: Path) -> None:
    write(tmp_path, "lib.rng", grammar_text("<start><element name='a'><empty/></element></start>"))
    problem = _fault(tmp_path, "<include href='lib.rng'/><include href='lib.rng'/>")
    assert problem.endswith("<start> is defined twice without combine")


def test_external_refs_that_fan_out_end_with_a_bounded_error(tmp_path: Path) -> None:
    levels = 40
    for n in range(levels):
        write(tmp_path, f"ext{n}.rng",
              f"<element name='e{n}' {RNG}><externalRef href='ext{n + 1}.rng'/>"
              f"<externalRef href='ext{n + 1}.rng'/></element>")
    write(tmp_path, f"ext{levels}.rng", f"<element name='last' {RNG}><empty/></element>")
    with pytest.raises(GrammarError) as caught:
        read_grammar(tmp_path / "ext0.rng")
    assert "the content model expands to more than" in caught.value.problem.message


@pytest.mark.parametrize("reference", ["externalRef", "include"])
def test_nested_grammars_that_fan_out_end_with_a_bounded_error(
    reference: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each file's element holds two grammars reading the next file; a grammar is a new scope,
    # so no cache serves the second: 2**40 readings if nothing stopped them.
    levels = 40
    for n in range(levels):
        if reference == "externalRef":
            inner = f"<grammar><start><externalRef href='f{n + 1}.rng'/></start></grammar>"
        else:
            inner = f"<grammar><include href='f{n + 1}.rng'/></grammar>"
        write(tmp_path, f"f{n}.rng",
              f"<grammar {RNG}><start><element name='e{n}'>{inner}{inner}</element></start>"
              "</grammar>")
    write(tmp_path, f"f{levels}.rng", f"<grammar {RNG}><start><text/></start></grammar>")
    made = 0

    def counted(*args: Any, **keywords: Any) -> Pattern:
        nonlocal made
        made += 1
        assert made < 100_000, "the fan-out was not stopped"
        return Pattern(*args, **keywords)

    monkeypatch.setattr(loader, "Pattern", counted)
    with pytest.raises(GrammarError) as caught:
        read_grammar(tmp_path / "f0.rng")
    problem = str(caught.value.problem).replace(str(tmp_path) + "/", "")
    # Located at the element being read when the budget ran out, deep in the fan-out.
    assert re.fullmatch(r"f\d+\.rng:1:\d+: the grammar's files are read more than 16 times "
                        r"over \(nested grammars that reference the same files\)", problem), problem


def test_a_library_read_by_several_nested_grammars_is_within_the_budget(tmp_path: Path) -> None:
    # domainsnapshot.rng's way: the same library included by the top grammar and nested ones.
    defines = "".join(f"<define name='d{n}'><element name='x{n}'><text/></element></define>"
                      for n in range(20))
    write(tmp_path, "lib.rng", f"<grammar {RNG}>{defines}</grammar>")
    nested = "".join(f"<element name='n{n}'><grammar><include href='lib.rng'/>"
                     f"<start><ref name='d{n}'/></start></grammar></element>" for n in range(12))
    root = read(tmp_path, f"<include href='lib.rng'/><start><element name='r'>{nested}</element>"
                          "</start>")
    assert shape(root) == "e:r(" + ", ".join(f"e:n{n}(e:x{n}(text))" for n in range(12)) + ")"


def test_defines_that_each_refer_to_the_next_twice_end_with_a_bounded_error(
    tmp_path: Path,
) -> None:
    levels = "".join(f"<define name='d{n}'><ref name='d{n + 1}'/><ref name='d{n + 1}'/></define>"
                     for n in range(60))
    problem = _fault(tmp_path, "<start><element name='r'><ref name='d0'/></element></start>"
                               f"{levels}<define name='d60'><element name='leaf'><empty/>"
                               "</element></define>")
    assert problem == "main.rng:1:1: the content model expands to more than 250000 nodes"


def test_fault_include_loop(tmp_path: Path) -> None:
    write(tmp_path, "loop.rng", grammar_text("<include href='main.rng'/>"))
    problem = _fault(tmp_path, "<start><empty/></start><include href='loop.rng'/>")
    assert problem == "loop.rng:2:1: 'main.rng' includes itself"


def test_fault_grammar_without_start(tmp_path: Path) -> None:
    problem = _fault(tmp_path, "<define name='x'><empty/></define>")
    assert problem == "main.rng:1:1: grammar has no <start>"


def test_fault_not_relax_ng(tmp_path: Path) -> None:
    path = write(tmp_path, "plain.xml", "<doc/>")
    with pytest.raises(GrammarError) as caught:
        read_grammar(path)
    assert str(caught.value.problem) == f"{path}:1:1: <doc> is not a RELAX NG element"


@pytest.mark.parametrize(("read_it", "line"), [(read_grammar, 1499), (read_definitions, 1501)])
def test_fault_too_deep_is_a_problem_not_a_crash(read_it: Any, line: int, tmp_path: Path) -> None:
    chain = "".join(f"<define name='d{n}'><ref name='d{n + 1}'/></define>\n" for n in range(3000))
    main = write(tmp_path, "main.rng", grammar_text(
        f"<start><element name='r'><ref name='d0'/></element></start>\n{chain}"
        "<define name='d3000'><empty/></define>"))
    with pytest.raises(GrammarError) as caught:
        read_it(main)
    problem = str(caught.value.problem).replace(str(tmp_path) + "/", "")
    # At the ref followed last (one define a line, each a level, the element and start too).
    assert problem == (f"main.rng:{line}:22: patterns nest too deeply to read: more than 1500 "
                       "levels, counted through references and files")


def test_legal_deep_grammars_are_read(tmp_path: Path) -> None:
    """Chains jing reads that Python's own recursion limit refused, by path and by definition:
    250 defines each a choice with a reference to the next, 1,000 plain references, and 150
    files each an externalRef to the next."""
    chain = "".join(f"<define name='d{n}'><choice><empty/><attribute name='a{n}'/>"
                    f"<ref name='d{n + 1}'/></choice></define>\n" for n in range(250))
    choices = write(tmp_path, "choices.rng", grammar_text(
        f"<start><element name='x'><ref name='d0'/></element></start>\n{chain}"
        "<define name='d250'><empty/></define>"))
    chain = "".join(f"<define name='d{n}'><ref name='d{n + 1}'/></define>\n" for n in range(1000))
    refs = write(tmp_path, "refs.rng", grammar_text(
        f"<start><element name='x'><ref name='d0'/></element></start>\n{chain}"
        "<define name='d1000'><empty/></define>"))
    for n in range(150):
        inner = f"<externalRef href='f{n + 1}.rng'/>" if n < 149 else "<empty/>"
        write(tmp_path, f"f{n}.rng",
              f"<element name='e{n}' xmlns='{RNG_NS}'><optional>{inner}</optional></element>")
    for grammar in (choices, refs, tmp_path / "f0.rng"):
        start = read_grammar(grammar).start
        assert outline(start).startswith("element ")
        assert read_definitions(grammar).elements
    paths = [path for path, _, _ in walk_paths(read_grammar(tmp_path / "f0.rng").start)]
    assert paths[-1] == "/".join(f"e{n}" for n in range(150))


def test_an_external_ref_chain_too_deep_is_refused_at_the_external_ref(tmp_path: Path) -> None:
    for n in range(600):
        write(tmp_path, f"f{n}.rng", f"<element name='e{n}' xmlns='{RNG_NS}'>\n<optional>"
                                     f"<externalRef href='f{n + 1}.rng'/></optional></element>")
    write(tmp_path, "f600.rng", f"<element name='last' xmlns='{RNG_NS}'><empty/></element>")
    with pytest.raises(GrammarError) as caught:
        read_definitions(tmp_path / "f0.rng")
    problem = str(caught.value.problem).replace(str(tmp_path) + "/", "")
    assert problem == ("f499.rng:2:11: patterns nest too deeply to read: more than 1500 "
                       "levels, counted through references and files")


def test_fault_a_grammar_that_doubles_at_each_level(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("gueststate.rng.build.MAX_NODES", 10_000)
    levels = "".join(
        f"<define name='d{n}'><element name='e{n}'><ref name='d{n + 1}'/><ref name='d{n + 1}'/>"
        "</element></define>"
        for n in range(40)
    )
    problem = _fault(tmp_path, f"<start><ref name='d0'/></start>{levels}"
                               "<define name='d40'><empty/></define>")
    assert problem == "main.rng:1:1: the content model expands to more than 10000 nodes"


def test_fault_a_recursive_grammar_that_doubles_at_each_level(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("gueststate.rng.build.MAX_NODES", 10_000)
    # A define that recurses cannot be shared (its ref targets depend on where it is), so the
    # work itself is bounded.
    levels = "".join(
        f"<define name='d{n}'><element name='e{n}'><ref name='d{n + 1}'/><ref name='d{n + 1}'/>"
        "</element></define>"
        for n in range(40)
    )
    problem = _fault(tmp_path, f"<start><ref name='d0'/></start>{levels}"
                               "<define name='d40'><element name='last'><optional><ref name='d0'/>"
                               "</optional></element></define>")
    assert problem == "main.rng:1:1: the content model expands to more than 10000 nodes"


def test_a_shared_group_flattened_into_many_elements_is_refused_early(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("gueststate.rng.build.MAX_NODES", 10_000)
    flattened: list[int] = []
    content = simplify.content

    def counted(children: list[Node], source: tuple[str, int] | None) -> list[Node] | None:
        body = content(children, source)
        flattened.append(len(body or []))
        return body

    monkeypatch.setattr("gueststate.rng.simplify.content", counted)
    # b0 is a group of 1024 leaves, made once; each of 200 elements copies them as its content:
    # 204,800 items, twenty times the budget.
    levels = "".join(f"<define name='b{n}'><group><ref name='b{n + 1}'/><ref name='b{n + 1}'/>"
                     "</group></define>" for n in range(10))
    elements = "".join(f"<element name='e{n}'><ref name='b0'/></element>" for n in range(200))
    problem = _fault(tmp_path, f"<start><element name='r'>{elements}</element></start>{levels}"
                               "<define name='b10'><element name='leaf'><empty/></element>"
                               "</define>")
    assert problem == "main.rng:1:1: the content model expands to more than 10000 nodes"
    # Refused as soon as the copies pass the budget, not after making all of them.
    assert sum(flattened) <= 10_000 + 1024


def test_a_named_pattern_used_by_many_elements_is_walked_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 1,100 attributes and an element: a named pattern, which each of 300 elements uses.  Count
    # the work of reading by definition: every node a walk visits is an id() call, and every
    # test for a parent already noted compares definitions.
    visits = comparisons = 0

    def counted_id(item: object) -> int:
        nonlocal visits
        visits += 1
        return id(item)

    def counted_eq(self: object, other: object) -> bool:
        nonlocal comparisons
        comparisons += 1
        return self is other

    monkeypatch.setattr(definitions, "id", counted_id, raising=False)
    monkeypatch.setattr(definitions.ElementDefinition, "__eq__", counted_eq)
    monkeypatch.setattr(definitions.NamedPattern, "__eq__", counted_eq)
    attributes = "".join(f"<attribute name='a{n}'/>" for n in range(1100))
    elements = "".join(f"<element name='e{n}'><ref name='shared'/></element>" for n in range(300))
    path = write(tmp_path, "main.rng", grammar_text(
        f"<start><element name='r'>{elements}</element></start><define name='shared'>"
        f"{attributes}<element name='leaf'><empty/></element></define>"))
    found = read_definitions(path)
    assert [pattern.key for pattern in found.patterns] == ["shared"]
    assert [user.key for user in found.patterns[0].used_by] == [f"e{n}" for n in range(300)]
    leaf = found.by_key()["leaf"]
    assert [parent.key for parent in leaf.parents] == [f"e{n}" for n in range(300)]
    assert [pattern.key for pattern in leaf.via] == ["shared"] and not leaf.direct_parents
    # About 3,000 patterns: walking the named pattern for each element was 350,000 visits,
    # and testing each parent or user against those already noted 90,000 comparisons.
    assert visits < 30_000 and comparisons < 300, (visits, comparisons)


def test_missing_grammar_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_grammar(tmp_path / "absent.rng")


def test_default_value_annotation_reads_into_the_attribute(tmp_path: Path) -> None:
    root = read(tmp_path, """
      <start><element name="job" a:defaultValue="ignored-on-elements">
        <optional><attribute name="mode" a:defaultValue="push"><value>push</value></attribute>
        </optional>
        <attribute name="name"/>
      </element></start>""")
    mode, name = root.children
    assert mode.children[0].default == "push"
    assert name.default is None and root.default is None
    assert mode.children[0].to_dict()["default"] == "push"
    assert "default" not in name.to_dict()
    text = outline(root)
    assert 'attribute mode?: "push" (default "push")' in text
    assert "attribute name: text\n" in text


def test_one_pattern_alternative_keeps_its_own_documentation(tmp_path: Path) -> None:
    root = read(tmp_path, """
      <start><element name="disk"><choice>
        <group><a:documentation>Left out.</a:documentation>
          <attribute name="backup"><a:documentation>no.</a:documentation><value>no</value>
          </attribute></group>
        <group><a:documentation>Chosen by libvirt.</a:documentation>
          <optional><attribute name="backup"><a:documentation>yes.</a:documentation>
            <value>yes</value></attribute></optional></group>
        <group><a:documentation>Same words.</a:documentation>
          <element name="same"><a:documentation>Same words.</a:documentation><empty/></element>
        </group>
      </choice></element></start>""")
    (alternatives,) = root.children
    left, chosen, same = alternatives.children
    # The attribute keeps its own words; the alternative around it keeps its label.
    assert (left.kind, left.documentation) == ("group", "Left out.")
    assert left.children[0].documentation == "no."
    assert (chosen.kind, chosen.documentation) == ("optional", "Chosen by libvirt.")
    assert chosen.children[0].documentation == "yes."
    # Nothing to keep apart: no wrapper.
    assert (same.kind, same.documentation) == ("element", "Same words.")
    # The text outline does not show a wrapper kept only for its documentation.
    assert outline(root).splitlines()[1:3] == ["  choice of", '    attribute backup: "no"']


def test_recursion_through_a_content_define_lands_on_the_element_that_recurs(
    tmp_path: Path,
) -> None:
    # storage.rng's source-common -> dataStore -> source -> source-common: the inner source
    # holds a dataStore again, not "the first element source-common made" (slices).
    root = read(tmp_path, """
      <start><element name="disk"><element name="source">
        <attribute name="file"/><ref name="common"/></element></element></start>
      <define name="common">
        <optional><element name="slices"><empty/></element></optional>
        <optional><ref name="store"/></optional></define>
      <define name="store"><element name="dataStore">
        <element name="source"><attribute name="dev"/><ref name="common"/></element>
      </element></define>""")
    assert shape(root) == (
        "e:disk(e:source(@file(text), optional(e:slices()), optional(e:dataStore(e:source("
        "@dev(text), optional(e:slices()), optional(ref:disk/source/dataStore))))))"
    )


@pytest.mark.parametrize("read_it", [read_grammar, read_definitions])
def test_a_grammar_and_its_files_together_are_bounded_in_bytes(
    read_it: Any, tmp_path: Path
) -> None:
    # Three files of 32,000 values, 3.4 MB each: every one within what a file may hold, the
    # three past what a grammar may hold together (26 MB of them took 480 MB to read).
    values = "".join(f"<value>value-{n:05d}-{'q' * 80}</value>" for n in range(32_000))
    for n in range(3):
        write(tmp_path, f"v{n}.rng",
              grammar_text(f"<define name='v{n}'><choice>{values}</choice></define>"))
    includes = "".join(f"<include href='v{n}.rng'/>" for n in range(3))
    attributes = "".join(f"<attribute name='a{n}'><ref name='v{n}'/></attribute>"
                         for n in range(3))
    main = write(tmp_path, "main.rng", grammar_text(
        f"{includes}<start><element name='r'>{attributes}</element></start>"))
    with pytest.raises(GrammarError) as caught:
        read_it(main)
    problem = str(caught.value.problem).replace(str(tmp_path) + "/", "")
    # Located at the include that passes the bound.
    assert problem == (f"main.rng:2:{1 + 2 * len(includes) // 3}: 'v2.rng' takes the grammar's "
                       f"files past the {loader.MAX_GRAMMAR_BYTES} byte limit on all of them "
                       "together")


NAME_CLASS_EXCEPTS = f"""<element name='r' xmlns="{RNG_NS}">
  <element><nsName ns='urn:y'><except><name ns='urn:y'>no</name></except></nsName><empty/>
  </element>
  <element><choice><name>a</name><nsName ns='urn:y'><except><name ns='urn:y'>no</name></except>
    </nsName></choice><text/></element>
  <zeroOrMore><attribute><choice><name>b</name><anyName><except><name>c</name></except>
    </anyName></choice></attribute></zeroOrMore>
</element>"""


def test_name_class_excepts_are_kept_wherever_they_appear(tmp_path: Path) -> None:
    root = read_grammar(write(tmp_path, "except.rng", NAME_CLASS_EXCEPTS)).start
    first, second, attributes = root.children
    # At the top of a name class, the excluded names (with their namespace) are name_except.
    assert (first.name, first.name_except) == ("{urn:y}*", "{urn:y}no")
    assert first.qualified == "{urn:y}* except {urn:y}no"
    # Inside a choice, they are part of the name: only that part of the choice excludes them.
    assert (second.name, second.name_except) == ("a|({urn:y}* except {urn:y}no)", None)
    assert attributes.children[0].name == "b|(* except c)"
    assert [path for path, _, _ in walk_paths(root)] == [
        "r", "r/{urn:y}* except {urn:y}no", "r/a|({urn:y}* except {urn:y}no)",
        "r/@b|(* except c)"]
    assert outline(root).splitlines() == [
        "element r",
        "  element {urn:y}* except {urn:y}no: empty",
        "  element a|({urn:y}* except {urn:y}no): text",
        "  attribute b|(* except c)*: text",
    ]


def test_name_class_excepts_are_kept_by_definition(tmp_path: Path) -> None:
    found = read_definitions(write(tmp_path, "except.rng", NAME_CLASS_EXCEPTS))
    assert [element.key for element in found.elements] == [
        "r", "y:* except y:no", "a|(y:* except y:no)"]
    (attributes,) = [node for node in found.elements[0].content if node.kind == "zeroOrMore"]
    assert attributes.children[0].name == "b|(* except c)"


def test_an_excepted_name_in_a_namespace_of_its_own_keeps_it(tmp_path: Path) -> None:
    grammar = write(tmp_path, "except.rng", f"""<element name='r' xmlns="{RNG_NS}">
      <element><anyName><except><name ns='urn:z'>far</name><nsName ns='urn:w'/></except>
      </anyName><empty/></element></element>""")
    (any_name,) = read_grammar(grammar).start.children
    assert any_name.qualified == "* except {urn:z}far|{urn:w}*"
    assert read_definitions(grammar).elements[1].key == "* except {urn:z}far|{urn:w}*"


def test_an_href_is_a_uri_reference(tmp_path: Path) -> None:
    write(tmp_path, "my part.rng", f"<element name='y' xmlns='{RNG_NS}'><empty/></element>")
    (tmp_path / "sub").mkdir()
    write(tmp_path, "sub/other.rng", f"<element name='z' xmlns='{RNG_NS}'><empty/></element>")
    root = read(tmp_path, "<start><element name='x'><externalRef href='my%20part.rng'/>"
                          "<externalRef href='file:sub/other.rng'/></element></start>")
    assert shape(root) == "e:x(e:y(), e:z())"


def test_an_href_may_leave_the_grammars_folder(tmp_path: Path) -> None:
    # A site's grammar may share files with another (`../common.rng`); only the grammars
    # libxml2 compiles keep to their folder.
    (tmp_path / "site").mkdir()
    write(tmp_path, "common.rng", f"<element name='c' xmlns='{RNG_NS}'><empty/></element>")
    main = write(tmp_path, "site/main.rng", f"""<grammar xmlns='{RNG_NS}'>
      <start><element name='x'><externalRef href='../common.rng'/>
      <externalRef href='file:{tmp_path / "common.rng"}'/></element></start></grammar>""")
    assert shape(read_grammar(main).start) == "e:x(e:c(), e:c())"


@pytest.mark.parametrize("href", [
    "file://host/x.rng", "http://example.org/x.rng", "//host/x.rng", "x.rng#frag", "x.rng?q",
    "x%00.rng", "x%FF.rng", "//[x",
])
def test_an_href_that_is_not_a_local_path_is_refused(href: str, tmp_path: Path) -> None:
    problem = _fault(tmp_path, f"<start><element name='x'><externalRef href='{href}'/>"
                               "</element></start>")
    assert problem == f"main.rng:2:26: href '{href}' is not a path to a local file"


def test_xml_base_is_refused(tmp_path: Path) -> None:
    problem = _fault(tmp_path, "<start><element name='x' xml:base='sub/'>"
                               "<externalRef href='x.rng'/></element></start>")
    assert problem == "main.rng:2:8: xml:base is not allowed in a grammar"
