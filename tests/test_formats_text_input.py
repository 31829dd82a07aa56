"""A document given as text is read as the characters it holds, within the limits of bytes;
anything but bytes or text is a TypeError."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gueststate import xmlsafe
from gueststate.formats import Domain, DomainCheckpoint, FormatError, from_xml, to_xml

CAFE = "<domaincheckpoint><name>x</name><description>café</description></domaincheckpoint>"


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "UTF-16", "UTF-8", "US-ASCII", "undefined"])
def test_text_is_read_whatever_encoding_its_declaration_names(encoding: str) -> None:
    # The text is decoded already: applying its declaration again turned "café" into "cafÃ©"
    # (ISO-8859-1), or refused it with a misleading "'?>' expected" (UTF-16).
    model = from_xml(f'<?xml version="1.0" encoding="{encoding}"?>\n{CAFE}')
    assert model.description == "café"
    assert "  <description>café</description>\n" in to_xml(model)


def test_bytes_are_read_as_their_declaration_says() -> None:
    data = f'<?xml version="1.0" encoding="ISO-8859-1"?>\n{CAFE}'.encode("latin-1")
    assert from_xml(data).description == "café"


def test_a_bytearray_is_read_as_bytes() -> None:
    assert from_xml(bytearray(CAFE.encode())).description == "café"


def test_a_problem_in_text_is_located_in_its_characters() -> None:
    line = "<domaincheckpoint><description>café</description><bogus/></domaincheckpoint>"
    with pytest.raises(FormatError) as caught:
        from_xml(f'<?xml version="1.0" encoding="UTF-16"?>\n{line}', "t.xml")
    problem = caught.value.problems[0]
    assert (problem.path, problem.line, problem.column) == ("t.xml", 2, line.index("<bogus") + 1)


def test_a_lone_surrogate_in_text_is_a_located_problem() -> None:
    with pytest.raises(FormatError) as caught:
        from_xml("<domaincheckpoint><name>\ud800</name></domaincheckpoint>", "s.xml")
    problem = caught.value.problems[0]
    assert (problem.path, problem.line) == ("s.xml", 1)
    assert problem.message.startswith("not well-formed XML")


HOSTILE = {
    "too-large": "<domaincheckpoint><name>" + "x" * xmlsafe.MAX_DOCUMENT_BYTES
                 + "</name></domaincheckpoint>",
    "entity": '<!DOCTYPE d [<!ENTITY e "x">]><domaincheckpoint><name>&e;</name>'
              "</domaincheckpoint>",
    "external-dtd": '<!DOCTYPE d SYSTEM "http://127.0.0.1:9/x.dtd"><domaincheckpoint/>',
    "deep": "<domaincheckpoint>" + "<a>" * 300 + "</a>" * 300 + "</domaincheckpoint>",
    "crowded": "<domaincheckpoint " + " ".join(f"a{i}=''" for i in range(2000)) + "/>",
    "siblings": "<domaincheckpoint><disks>" + "<disk name='vda'/>" * 40_000
                + "</disks></domaincheckpoint>",
    "markup": "<domaincheckpoint>" + "<?a?>" * (xmlsafe.MAX_MARKUP + 1) + "</domaincheckpoint>",
}


@pytest.mark.parametrize("name", HOSTILE)
def test_text_is_refused_where_its_bytes_are(name: str) -> None:
    text = HOSTILE[name]
    with pytest.raises(xmlsafe.XMLParseError) as as_bytes:
        xmlsafe.parse_bytes(text.encode(), "h.xml")
    with pytest.raises(xmlsafe.XMLParseError) as as_text:
        xmlsafe.parse_text(text, "h.xml")
    assert as_text.value.problem == as_bytes.value.problem


@pytest.mark.parametrize("reader", [from_xml, DomainCheckpoint.from_xml, Domain.from_xml])
@pytest.mark.parametrize("data", [None, 42, memoryview(b"<domaincheckpoint/>"), ["<a/>"]])
def test_anything_but_bytes_or_text_is_a_type_error(
    reader: Callable[[object], object], data: object
) -> None:
    expected = f"the document must be bytes or str, not {type(data).__name__}"
    with pytest.raises(TypeError, match=f"^{expected}$"):
        reader(data)
