"""Grammars RELAX NG refuses though they read like any other (its sections 3, 4.16 and 7), and
legal grammars that look like them: the reader agrees with jing on each."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from jing import run_jing

from gueststate.rng import GrammarError, read_grammar
from gueststate.rng.nameclasses import overlap
from gueststate.rng.patterns import NameClass

RNG_NS = "http://relaxng.org/ns/structure/1.0"
XSD = "http://www.w3.org/2001/XMLSchema-datatypes"


def grammar(body: str) -> str:
    """A grammar of ``body`` (from line 2), XML Schema's datatypes by default."""
    return f'<grammar xmlns="{RNG_NS}" datatypeLibrary="{XSD}">\n{body}\n</grammar>\n'


def element(content: str) -> str:
    """A grammar whose start is ``<element name="r">`` on line 2, ``content`` from line 3."""
    return grammar(f'<start><element name="r">\n{content}\n</element></start>')


def case_text(name: str) -> str:
    """The grammar of a case of :data:`ILLEGAL` or :data:`LEGAL`, its defines added."""
    if name in LEGAL:
        return LEGAL[name]
    text, _, defines = ILLEGAL[name]
    return text.replace("\n</grammar>", "\n" + "\n".join(defines.values()) + "\n</grammar>")


@pytest.fixture(scope="module")
def jing_refuses(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bool]:
    """Whether jing refuses each case: every case is checked against the oracle, in parallel
    (a Java start each)."""
    folder = tmp_path_factory.mktemp("jing")
    names = [*ILLEGAL, *LEGAL]

    def refuses(index: int) -> bool:
        path = folder / f"case{index}.rng"
        path.write_text(case_text(names[index]), encoding="utf-8")
        return run_jing("-i", str(path)).returncode != 0

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(names, pool.map(refuses, range(len(names))), strict=True))


ILLEGAL = {
    # section 7.1: prohibited paths, reported at the pattern that forbids, as jing does
    "attribute//attribute, through a define": (
        element('<attribute name="a">\n  <ref name="b"/></attribute>'),
        "3:1: an attribute pattern must not be inside an attribute (section 7.1 of RELAX NG "
        "prohibits attribute//attribute)",
        {"define": '<define name="b"><attribute name="c"/></define>'},
    ),
    "attribute//element": (
        element('<attribute name="a">\n  <element name="e"><empty/></element></attribute>'),
        "3:1: an element pattern must not be inside an attribute (section 7.1 of RELAX NG "
        "prohibits attribute//element)", {},
    ),
    "repeated group of attributes": (
        element('<oneOrMore>\n  <attribute name="a"/>\n  <element name="e"><empty/></element>\n'
                "</oneOrMore>"),
        "3:1: a group or interleave of attributes must not be repeated (section 7.1 of RELAX NG "
        "prohibits oneOrMore//group//attribute and oneOrMore//interleave//attribute)", {},
    ),
    "repeated interleave of attributes": (
        element('<zeroOrMore><interleave>\n  <attribute name="a"/>\n  <attribute name="b"/>\n'
                "</interleave></zeroOrMore>"),
        "3:1: a group or interleave of attributes must not be repeated (section 7.1 of RELAX NG "
        "prohibits oneOrMore//group//attribute and oneOrMore//interleave//attribute)", {},
    ),
    "list//list": (
        element('<list>\n  <list><data type="int"/></list></list>'),
        "3:1: a list pattern must not be inside a list (section 7.1 of RELAX NG prohibits "
        "list//list)", {},
    ),
    "list//attribute": (
        element('<list>\n  <attribute name="a"/></list>'),
        "3:1: an attribute pattern must not be inside a list (section 7.1 of RELAX NG prohibits "
        "list//attribute)", {},
    ),
    "list//element": (
        element('<list>\n  <element name="e"><empty/></element></list>'),
        "3:1: an element pattern must not be inside a list (section 7.1 of RELAX NG prohibits "
        "list//element)", {},
    ),
    "list//text": (
        element("<list>\n  <text/></list>"),
        "3:1: a text pattern must not be inside a list (section 7.1 of RELAX NG prohibits "
        "list//text)", {},
    ),
    "list//interleave": (
        element('<list>\n  <interleave><data type="int"/><data type="int"/></interleave>'
                "</list>"),
        "3:1: an interleave pattern must not be inside a list (section 7.1 of RELAX NG "
        "prohibits list//interleave)", {},
    ),
    "data/except//attribute": (
        element('<data type="string">\n  <except><attribute name="a"/></except></data>'),
        "3:1: an attribute pattern must not be inside an except (section 7.1 of RELAX NG "
        "prohibits data/except//attribute)", {},
    ),
    "data/except//text": (
        element('<data type="string">\n  <except><text/></except></data>'),
        "3:1: a text pattern must not be inside an except (section 7.1 of RELAX NG prohibits "
        "data/except//text)", {},
    ),
    "data/except//empty, through optional": (
        element('<data type="string">\n  <except><optional><value>a</value></optional>'
                "</except></data>"),
        "3:1: an empty pattern must not be inside an except (section 7.1 of RELAX NG prohibits "
        "data/except//empty)", {},
    ),
    "start//data": (
        grammar('<start>\n  <data type="string"/></start>'),
        "3:3: a data pattern must not be inside a start (section 7.1 of RELAX NG prohibits "
        "start//data)", {},
    ),
    "start//group": (
        grammar('<start>\n  <group><element name="a"><empty/></element>'
                '<element name="b"><empty/></element></group></start>'),
        "3:3: a group pattern must not be inside a start (section 7.1 of RELAX NG prohibits "
        "start//group)", {},
    ),
    "start//empty, through optional": (
        grammar('<start>\n  <optional><element name="a"><empty/></element></optional></start>'),
        "3:3: an empty pattern must not be inside a start (section 7.1 of RELAX NG prohibits "
        "start//empty)", {},
    ),
    # section 7.2: string sequences
    "group of data and an element": (
        element('<group>\n  <data type="int"/><element name="e"><empty/></element></group>'),
        "3:1: a group with data, a value or a list must hold nothing else but attributes "
        "(section 7.2 of RELAX NG)", {},
    ),
    "element of a value and text": (
        element("<value>a</value>\n<text/>"),
        "2:8: a group with data, a value or a list must hold nothing else but attributes "
        "(section 7.2 of RELAX NG)", {},
    ),
    "repeated data": (
        element('<oneOrMore>\n  <data type="int"/></oneOrMore>'),
        "3:1: a repeated data, value or list pattern must be inside a list (section 7.2 of "
        "RELAX NG)", {},
    ),
    # section 7.3: duplicate attributes
    "one attribute twice": (
        element('<attribute name="a"/>\n<optional><attribute name="a"/></optional>'),
        "2:8: duplicate attribute 'a' (section 7.3 of RELAX NG)", {},
    ),
    "an attribute and anyName": (
        element('<group>\n  <attribute name="a"/>\n  <zeroOrMore><attribute><anyName/>'
                "</attribute></zeroOrMore></group>"),
        "3:1: duplicate attribute 'a' (section 7.3 of RELAX NG)", {},
    ),
    "anyName attribute outside oneOrMore": (
        element("<optional>\n  <attribute><anyName/></attribute></optional>"),
        "4:3: an attribute of anyName or nsName must be inside oneOrMore or zeroOrMore "
        "(section 7.3)", {},
    ),
    # section 7.4: interleave
    "interleave of one element name twice": (
        element('<interleave>\n  <element name="a"><empty/></element>\n'
                '  <element name="a"><text/></element></interleave>'),
        "3:1: the element 'a' can occur in more than one part of an interleave (section 7.4 of "
        "RELAX NG)", {},
    ),
    "interleave of an element and nsName": (
        element('<interleave>\n  <element name="a"><empty/></element>\n'
                '  <element><nsName ns=""/><empty/></element></interleave>'),
        "3:1: the element 'a' can occur in more than one part of an interleave (section 7.4 of "
        "RELAX NG)", {},
    ),
    "text in two parts of an interleave": (
        element('<interleave>\n  <group><text/><element name="y"><empty/></element></group>\n'
                "  <text/></interleave>"),
        "3:1: more than one part of an interleave holds text (section 7.4 of RELAX NG)", {},
    ),
    "mixed inside mixed": (
        element('<mixed>\n  <mixed><element name="e"><empty/></element></mixed></mixed>'),
        "3:1: more than one part of an interleave holds text (section 7.4 of RELAX NG)", {},
    ),
    # section 4.16: name classes
    "anyName inside the except of nsName": (
        element('<zeroOrMore><attribute><nsName ns="u"><except>\n  <anyName/>'
                "</except></nsName></attribute></zeroOrMore>"),
        "4:3: an <except> inside <nsName> must not contain <anyName> (section 4.16)", {},
    ),
    "anyName inside the except of anyName": (
        element('<element><anyName><except>\n  <choice><name>a</name><anyName/></choice>'
                "</except></anyName><empty/></element>"),
        "4:25: an <except> inside <anyName> must not contain <anyName> (section 4.16)", {},
    ),
    "attribute named xmlns": (
        element('<attribute name="xmlns"/>'),
        "3:1: an attribute must not be named 'xmlns' (section 4.16)", {},
    ),
    "attribute in the xmlns namespace": (
        element('<zeroOrMore>\n  <attribute><nsName ns="http://www.w3.org/2000/xmlns"/>'
                "</attribute></zeroOrMore>"),
        "4:3: an attribute must not be in the namespace 'http://www.w3.org/2000/xmlns' "
        "(section 4.16)", {},
    ),
    # section 3: syntax
    "attribute with two patterns": (
        element('<attribute name="a">\n  <text/><text/></attribute>'),
        "3:1: an attribute must contain at most one pattern", {},
    ),
    "text in element": (
        element("hello\n<empty/>"),
        "2:8: <element> holds patterns: text other than white space is not allowed in it", {},
    ),
    "element inside value": (
        element("<value>a\n  <foo/>b</value>"),
        "4:3: <value> holds a string, not elements", {},
    ),
    "element inside name": (
        grammar("<start><element>\n  <name>x<empty/></name><empty/></element></start>"),
        "3:10: <name> holds a string, not elements", {},
    ),
    "unqualified foreign attribute": (
        element('<empty\n  foo="1"/>'),
        "3:1: <empty> has no attribute 'foo'", {},
    ),
    "param after except": (
        element('<data type="string">\n  <except><value>a</value></except>\n'
                '  <param name="minLength">1</param></data>'),
        "5:3: <param> is not allowed after <except>", {},
    ),
    "empty except of anyName": (
        element("<element><anyName>\n  <except/></anyName><empty/></element>"),
        "4:3: <except> needs a name class inside", {},
    ),
    # datatype libraries
    "built-in type other than string or token": (
        element('<data datatypeLibrary=""\n  type="integer"/>'),
        "3:1: datatype 'integer' is not built in: the built-in library has only 'string' and "
        "'token'", {},
    ),
    "built-in type with a parameter": (
        element('<data datatypeLibrary="" type="string">\n'
                '  <param name="length">1</param></data>'),
        "3:1: a built-in datatype takes no parameters", {},
    ),
    "unknown XML Schema type": (
        element('<data type="anySimpleType"/>'),
        "3:1: datatype 'anySimpleType' is not one of XML Schema's", {},
    ),
}

LEGAL = {
    "attribute inside oneOrMore, no group": element(
        '<oneOrMore><attribute name="a"/></oneOrMore>'),
    "attribute and empty in a repeated group": element(
        '<oneOrMore><group><attribute name="a"/><empty/></group></oneOrMore>'),
    "a repeated group of elements": element(
        '<oneOrMore><group><element name="a"><empty/></element>'
        '<element name="b"><empty/></element></group></oneOrMore>'),
    "interleave of disjoint names": element(
        '<interleave><element name="a"><empty/></element><element name="b"><empty/></element>'
        '<element><anyName><except><name>a</name><name>b</name></except></anyName><empty/>'
        "</element></interleave>"),
    "list of data": element(
        '<list><oneOrMore><data type="int"/></oneOrMore><value>x</value></list>'),
    "start with a choice of elements": grammar(
        '<start><choice><element name="a"><empty/></element><ref name="b"/></choice></start>'
        '<define name="b"><element name="b"><empty/></element></define>'),
    "start with notAllowed and an element": grammar(
        '<start><choice><notAllowed/><group><element name="a"><empty/></element><empty/></group>'
        "</choice></start>"),
    "one attribute name in two branches of a choice": element(
        '<choice><attribute name="a"/><attribute name="a"><value>x</value></attribute>'
        "</choice>"),
    "a duplicate attribute next to notAllowed": element(
        '<attribute name="a"/><group><attribute name="a"/><notAllowed/></group>'),
    "data, attributes and nothing else": element(
        '<attribute name="a"/><data type="int"/><optional><attribute name="b"/></optional>'),
    "anyName attribute except a named one, repeated": element(
        '<attribute name="a"/><zeroOrMore><attribute><anyName><except><name>a</name>'
        "</except></anyName></attribute></zeroOrMore>"),
    "data except a choice of values": element(
        '<data type="string"><param name="minLength">1</param>'
        "<except><choice><value>a</value><value>b</value></choice></except></data>"),
    "mixed content": element('<mixed><zeroOrMore><element name="b"><text/></element>'
                             "</zeroOrMore></mixed>"),
    "built-in token and string": element(
        '<attribute name="a"><data datatypeLibrary="" type="token"/></attribute>'
        '<value datatypeLibrary="" type="string">x</value>'),
    "foreign elements and attributes": element(
        '<a:doc xmlns:a="urn:a">any <b>text</b></a:doc><empty xmlns:a="urn:a" a:note="n"/>'),
    "an element whose content is notAllowed": element(
        '<data type="int"/><element name="e"><empty/></element><notAllowed/>'),
}


@pytest.mark.parametrize("name", ILLEGAL)
def test_illegal_grammars_are_refused_where_they_go_wrong(
    tmp_path: Path, jing_refuses: dict[str, bool], name: str
) -> None:
    assert jing_refuses[name], f"jing reads {name!r}: the case is not illegal"
    path = tmp_path / "main.rng"
    path.write_text(case_text(name), encoding="utf-8")
    expected = ILLEGAL[name][1]
    with pytest.raises(GrammarError) as raised:
        read_grammar(path)
    assert str(raised.value.problem) == f"{path}:{expected}"


@pytest.mark.parametrize("name", LEGAL)
def test_legal_look_alikes_are_read(
    tmp_path: Path, jing_refuses: dict[str, bool], name: str
) -> None:
    assert not jing_refuses[name], f"jing refuses {name!r}: the case is not legal"
    path = tmp_path / "main.rng"
    path.write_text(case_text(name), encoding="utf-8")
    read_grammar(path)


def test_name_classes_overlap_only_on_a_shared_name() -> None:
    def name(local: str, namespace: str = "") -> NameClass:
        return NameClass("name", local=local, namespace=namespace)

    any_but_a = NameClass("anyName", except_=name("a"))
    assert overlap(any_but_a, name("a")) is None
    assert overlap(any_but_a, name("b")) == ("", "b")
    assert overlap(NameClass("nsName", namespace="u"), name("a")) is None
    assert overlap(NameClass("nsName", namespace="u"), name("a", "u")) == ("u", "a")
    either = NameClass("choice", children=[name("x"), NameClass("nsName", namespace="v")])
    assert overlap(either, NameClass("anyName", except_=name("x"))) == ("v", "\x00")
