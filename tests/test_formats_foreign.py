"""Content the models keep as written (a snapshot's ``<domain>``, its ``<metadata>``) keeps its
names: each prefix as the document writes it, as libvirt (libxml2) writes it back."""

from __future__ import annotations

from pathlib import Path

import pytest

from gueststate.cli import main
from gueststate.formats import from_xml, to_xml

ROOT = Path(__file__).parents[1]

SNAPSHOT = (
    "<domainsnapshot><name>s</name><creationTime>1</creationTime><state>shutoff</state>"
    "<domain type='kvm'><name>g</name><uuid>915688a9-b537-406e-86a0-7223abd2df35</uuid>"
    "<devices><disk type='file' device='disk'><source file='/i/a'/><target dev='vda'/></disk>"
    "</devices><metadata>{}</metadata></domain></domainsnapshot>")


def _checkpoint(description: str) -> str:
    return ("<domaincheckpoint><name>c</name><domain type='kvm'><name>g</name>"
            f"{description}</domain></domaincheckpoint>")


def _written(text: str) -> str:
    """The canonical text of ``text``, checked to be a fixed point."""
    once = to_xml(from_xml(text, "foreign.xml"))
    assert to_xml(from_xml(once, "again.xml")) == once
    return once


@pytest.mark.parametrize(("metadata", "expected"), [
    # The default namespace is bound to the URI too, but an attribute never takes it.
    ("<m xmlns='urn:x' xmlns:q='urn:x' q:a='1'/>",
     '<m xmlns="urn:x" xmlns:q="urn:x" q:a="1"/>'),
    # ... so that with a plain 'a' beside it, 'q:a' written 'a' was an attribute twice.
    ("<m xmlns='urn:x' xmlns:q='urn:x' q:a='1' a='2'/>",
     '<m xmlns="urn:x" xmlns:q="urn:x" q:a="1" a="2"/>'),
    # Two prefixes for one URI: each name keeps its own, the element too.
    ("<q:m xmlns:q='urn:x' xmlns:r='urn:x' r:a='1' q:b='2'><r:n q:c='3'/></q:m>",
     '<q:m xmlns:q="urn:x" xmlns:r="urn:x" r:a="1" q:b="2">\n'
     '        <r:n q:c="3"/>\n      </q:m>'),
    ("<m xmlns='urn:x' xmlns:q='urn:x'><q:n/><n/></m>",
     '<m xmlns="urn:x" xmlns:q="urn:x">\n        <q:n/>\n        <n/>\n      </m>'),
    # A prefix bound again below to another URI: the inner binding names the inner attribute.
    ("<q:m xmlns:q='urn:x' q:a='1'><q:n xmlns:q='urn:y' q:a='2'/></q:m>",
     '<q:m xmlns:q="urn:x" q:a="1">\n        <q:n xmlns:q="urn:y" q:a="2"/>\n'
     '      </q:m>'),
    ("<m xml:space='preserve' xml:lang='fr' lang='de'/>",
     '<m xml:space="preserve" xml:lang="fr" lang="de"/>'),
])
def test_kept_attributes_keep_their_prefix(metadata: str, expected: str) -> None:
    assert f"    <metadata>\n      {expected}\n    </metadata>\n" in _written(
        SNAPSHOT.format(metadata))


def test_xml_lang_keeps_its_prefix_in_a_kept_domain() -> None:
    text = _written(_checkpoint("<description xml:lang='fr' lang='de'>x</description>"))
    assert "    <description xml:lang='fr' lang='de'>x</description>\n" in text


def test_format_in_place_keeps_prefixed_attributes(tmp_path: Path) -> None:
    path = tmp_path / "s.xml"
    path.write_text(SNAPSHOT.format("<m xmlns='urn:x' xmlns:q='urn:x' q:a='1' a='2'/>"))
    assert main(["format", "--in-place", str(path)]) == 0
    assert '<m xmlns="urn:x" xmlns:q="urn:x" q:a="1" a="2"/>' in path.read_text()
    before = path.read_text()
    assert main(["format", "--in-place", str(path)]) == 0
    assert path.read_text() == before


def test_align_redefine_reads_the_domain_with_prefixed_attributes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The snapshot's domain, written again and read by the alignment, had 'a' twice.
    path = tmp_path / "s.xml"
    path.write_text(SNAPSHOT.format("<m xmlns='urn:x' xmlns:q='urn:x' q:a='1' a='2'/>"))
    status = main(["align", "--redefine", "--domain",
                   str(ROOT / "examples/domain/web01.xml"), str(path)])
    out, err = capsys.readouterr()
    assert (status, err) == (0, "")
    assert '<m xmlns="urn:x" xmlns:q="urn:x" q:a="1" a="2"/>' in out
