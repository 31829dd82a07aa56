"""Positions of start tags and attributes: exact on crowded lines, and found in linear time."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree
from scan_count import ScanCount

from gueststate.positions import Position, Positions


def _at(text: str, needle: str, occurrence: int = 1) -> Position:
    """The position of the ``occurrence``-th ``needle`` in ``text``, counted by hand."""
    offset = -1
    for _ in range(occurrence):
        offset = text.index(needle, offset + 1)
    line = text.count("\n", 0, offset) + 1
    return Position(line, offset - (text.rfind("\n", 0, offset) + 1) + 1)


def _parsed(text: str) -> tuple[etree._Element, Positions]:
    return etree.fromstring(text.encode()), Positions(text)


def test_repeated_tags_on_one_line_are_each_found_with_their_attributes() -> None:
    text = "<disks><disk name='a'/><disk name='b'/><disk name='c' type='file'/></disks>"
    root, positions = _parsed(text)
    first, second, third = root
    assert positions.start_tag(root) == Position(1, 1)
    assert positions.start_tag(second) == _at(text, "<disk ", 2)
    assert positions.start_tag(third) == _at(text, "<disk ", 3)
    assert positions.attribute(first, "name") == _at(text, "name=", 1)
    assert positions.attribute(second, "name") == _at(text, "name=", 2)
    assert positions.attribute(third, "name") == _at(text, "name=", 3)
    assert positions.attribute(third, "type") == _at(text, "type=")
    assert positions.attribute(second, "type") is None  # only the third one writes it


def test_a_tag_or_attribute_in_a_comment_cdata_or_value_is_not_counted() -> None:
    text = ("<?xml version='1.0'?>\n<!-- <disks><disk name='x'/> -->\n"
            "<disks><!-- <disk name='y'/> --><![CDATA[<disk name='z'/>]]>"
            "<disk note=\"&lt;disk name='w' > /&gt;\" name='a'/>"
            "<?pi <disk name='v'/>?><disk name='b'/></disks>")
    root, positions = _parsed(text)
    first, second = (child for child in root if isinstance(child.tag, str))
    assert positions.start_tag(root) == Position(3, 1)
    assert positions.start_tag(first) == _at(text, "<disk note")
    assert positions.attribute(first, "note") == _at(text, "note=")
    assert positions.attribute(first, "name") == _at(text, "name='a'")
    assert positions.start_tag(second) == _at(text, "<disk name='b'")
    assert positions.attribute(second, "name") == _at(text, "name='b'")


def test_prefixed_elements_and_namespaced_attributes_as_written() -> None:
    text = ("<root xmlns='urn:default' xmlns:a='urn:x' xmlns:b='urn:x'>"
            "<a:item a:id='1'/><a:item b:id='2' xml:lang='en'/><item id='3'/></root>")
    root, positions = _parsed(text)
    first, second, third = root
    assert positions.start_tag(first) == _at(text, "<a:item", 1)
    assert positions.start_tag(second) == _at(text, "<a:item", 2)
    assert positions.start_tag(third) == _at(text, "<item")
    assert positions.attribute(first, "{urn:x}id") == _at(text, "a:id=")
    assert positions.attribute(second, "{urn:x}id") == _at(text, "b:id=")
    assert positions.attribute(second, "{http://www.w3.org/XML/1998/namespace}lang") == (
        _at(text, "xml:lang="))
    assert positions.attribute(third, "id") == _at(text, "id='3'")
    assert positions.attribute(third, "{urn:default}id") is None  # no prefix, no namespace


def test_names_are_whole_names_not_their_prefixes() -> None:
    text = "<disks><disk names = 'b' name='a'/><diskette/></disks>"
    root, positions = _parsed(text)
    assert positions.start_tag(root[0]) == _at(text, "<disk ")
    assert positions.start_tag(root[1]) == _at(text, "<diskette")
    assert positions.attribute(root[0], "name") == _at(text, "name=")
    assert positions.attribute(root[0], "names") == _at(text, "names =")


def test_a_start_tag_over_several_lines_is_where_it_begins() -> None:
    # lxml's line is where the start tag ends; the tag and each attribute are on their own.
    text = "<disks>\r\n  <disk\r\n    name='a'\n    type='file'/>\n</disks>"
    root, positions = _parsed(text)
    assert root[0].sourceline == 4
    assert positions.start_tag(root[0]) == Position(2, 3)
    assert positions.attribute(root[0], "name") == Position(3, 5)
    assert positions.attribute(root[0], "type") == Position(4, 5)


def test_lines_are_counted_as_libxml2_counts_them() -> None:
    # a lone carriage return ends no line for libxml2, so none here either
    root, positions = _parsed("<a>\r<b/>\r\n<c/></a>")
    assert [child.sourceline for child in root] == [1, 2]
    assert [positions.start_tag(child) for child in root] == [(1, 5), (2, 1)]


def test_another_text_than_the_trees_gives_no_position() -> None:
    root = etree.fromstring(b"<a><b/><c/></a>")
    assert Positions("<a><b/></a>").start_tag(root[0]) is None  # a start tag short
    assert Positions("<a><c/><b/></a>").start_tag(root[0]) is None  # another name there
    assert Positions(b"<a><b/><c/></a>").start_tag(etree.Element("b")) is None


def test_every_attribute_of_a_20000_attribute_line_from_one_scan(
    positions_scans: tuple[ScanCount, ScanCount],
) -> None:
    markup, attribute = positions_scans
    names = [f"x{index}" for index in range(20_000)]
    text = "<root " + " ".join(f"{name}='{index}'" for index, name in enumerate(names)) + "/>"
    root, positions = _parsed(text)

    found = [positions.attribute(root, name) for name in names]

    # the columns: ' x0=' starts at 7, and each attribute after it is len(name='index') + 1 on
    assert found[0] == Position(1, 7)
    expected = 7
    for index, (name, position) in enumerate(zip(names, found, strict=True)):
        assert position == (1, expected), name
        expected += len(f"{name}='{index}'") + 1
    assert positions.start_tag(root) == Position(1, 1)
    # linear: the text was tokenised once, the start tag's attributes read once
    assert (markup.calls, markup.scanned) == (1, len(text))
    assert attribute.calls == 1 and attribute.scanned < len(text)


def test_many_elements_on_one_line_from_one_scan(
    positions_scans: tuple[ScanCount, ScanCount],
) -> None:
    markup, attribute = positions_scans
    text = "<disks>" + "".join(f"<disk name='d{index}'/>" for index in range(5_000)) + "</disks>"
    root, positions = _parsed(text)

    column = len("<disks>") + 1
    for index, disk in enumerate(root):
        assert positions.start_tag(disk) == Position(1, column)
        assert positions.attribute(disk, "name") == Position(1, column + len("<disk "))
        column += len(f"<disk name='d{index}'/>")

    assert (markup.calls, markup.scanned) == (1, len(text))
    assert attribute.calls == 5_000  # once per start tag, each over its own attributes only
    assert attribute.scanned < len(text)


# --- every problem located through the one helper: validation, diagnosis, formats ------------


def _columns_of(text: str, needle: str) -> list[int]:
    return [found.start() + 1 for found in re.finditer(re.escape(needle), text)]


def test_diagnosis_points_at_the_attribute_of_the_element_at_fault() -> None:
    from gueststate import schemas

    text = ("<domainbackup><disks><disk name='vda' backupmode='full'/>"
            "<disk name='vdb' backupmode='partial'/><disk name='vdc' backupmode='sideways'/>"
            "</disks></domainbackup>")
    problems = schemas.validate_bytes(text.encode(), "b.xml").problems
    assert [(p.line, p.column, p.element) for p in problems] == [
        (1, column, f"/domainbackup/disks/disk[{index}]")
        for index, column in enumerate(_columns_of(text, "backupmode=")[1:], 2)
    ]


def test_form_diagnosis_points_at_the_second_of_two_alike_elements() -> None:
    from gueststate import schemas

    text = ("<domainbackup><disks><disk name='vda' backupmode='incremental' incremental='c'/>"
            "<disk name='vdb' backupmode='full' incremental='c'/></disks></domainbackup>")
    (problem,) = schemas.validate_bytes(text.encode(), "b.xml").problems
    assert "attribute 'incremental' is not allowed" in problem.message
    assert (problem.line, problem.column) == (1, _columns_of(text, "incremental=")[1])
    assert problem.element == "/domainbackup/disks/disk[2]"


def test_a_release_refusal_skips_the_attribute_quoted_in_a_comment() -> None:
    from gueststate import schemas

    secret = "<secret type='passphrase' uuid='0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f'/>"
    text = ("<domainbackup><disks><!-- engine='qemu' -->"
            f"<disk name='vda' type='file'><target file='/a'><encryption format='luks'>{secret}"
            "</encryption></target></disk><disk name='vdb' type='file'><target file='/b'>"
            f"<encryption format='luks' engine='qemu'>{secret}</encryption></target></disk>"
            "</disks></domainbackup>")
    (problem,) = schemas.validate_bytes(text.encode(), "b.xml", libvirt_version="7.0.0").problems
    assert problem.message == "engine='qemu': libvirt 7.9.0 or newer"
    assert (problem.line, problem.column) == (1, _columns_of(text, "engine=")[1])


def test_libxml2s_own_problems_are_at_the_element_it_names(tmp_path: Path) -> None:
    from gueststate import schemas

    grammar = tmp_path / "g.rng"
    grammar.write_text(
        "<element name='a' xmlns='http://relaxng.org/ns/structure/1.0'><zeroOrMore>"
        "<element name='b'><attribute name='x'><value>1</value></attribute></element>"
        "</zeroOrMore></element>")
    text = "<a><b x='1'/><b x='1'/><b x='2'/></a>"
    root = etree.fromstring(text.encode())
    (problem,) = schemas.validate_element(grammar, root, "a.xml", text.encode())
    assert (problem.line, problem.column) == (1, _columns_of(text, "<b ")[2])


def test_a_format_refusal_points_at_the_third_alike_element() -> None:
    from gueststate.formats import FormatError, from_xml

    text = ("<domainbackup><disks><disk name='vda'/><disk name='vdb'/>"
            "<disk name='vdc' backup='maybe'/></disks></domainbackup>")
    with pytest.raises(FormatError) as caught:
        from_xml(text, "b.xml", validate=False)
    assert str(caught.value.problem) == (
        f"b.xml:1:{_columns_of(text, '<disk ')[2]}: invalid disk backup value 'maybe'")


def test_a_domain_refusal_names_its_column_too() -> None:
    from gueststate.formats import Domain, FormatError

    text = ("<domain><devices><disk><target dev='vda'/></disk><disk><source file='/f'/></disk>"
            "</devices></domain>")
    with pytest.raises(FormatError) as caught:
        Domain.from_xml(text, "d.xml")
    assert str(caught.value.problem) == (
        f"d.xml:1:{_columns_of(text, '<disk>')[1]}: missing target information for device")



@pytest.mark.parametrize(("codec", "declared"), [
    ("utf-16", None), ("utf-32", None), ("utf-8-sig", None), ("utf-8", None),
    ("iso-8859-1", "ISO-8859-1"), ("utf-16-be", "UTF-16BE"),
    ("utf-16-be", "UTF-16"), ("utf-16-le", "UTF-16"),  # no mark: the first bytes tell the order
])
def test_columns_count_characters_whatever_the_encoding(codec: str, declared: str | None) -> None:
    """A file read as bytes, in any encoding libxml2 reads: a column counts characters from
    the start of the line, as an editor shows them (no byte order mark among them)."""
    declaration = f'<?xml version="1.0" encoding="{declared}"?>\n' if declared else ""
    text = declaration + "<r>\n  <é>ééé</é><d name='x'/>\n</r>"
    data = text.encode(codec)
    root = etree.fromstring(data)
    positions = Positions(data)
    disk = root[1]
    assert positions.start_tag(disk) == _at(text, "<d ")
    assert positions.attribute(disk, "name") == _at(text, "name=")
