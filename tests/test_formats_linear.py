"""The format model stays linear in its input: work counted, not timed.

Each test counts the work that grew with the square of the input before, in a way that does
not depend on the machine: the nodes lxml hands to Python, the namespaces it gathers for them,
the disks a rule is shown.
"""

from __future__ import annotations

import pytest
from lxml import etree

from gueststate.formats import DomainCheckpoint, DomainSnapshot, backup, checkpoint, from_xml
from gueststate.formats import snapshot as snapshot_module
from gueststate.formats.canonical import RawElement
from gueststate.formats.common import Source
from gueststate.formats.rules import Listed


class _CountedComment(etree.CommentBase):
    """A comment that counts the times lxml hands one to Python."""

    handed = 0

    def _init(self) -> None:
        _CountedComment.handed += 1


class _CountedElement(etree.ElementBase):
    """An element that counts the namespaces lxml gathers when asked for the ones in scope
    (from the element and every ancestor)."""

    gathered = 0

    @property
    def nsmap(self) -> dict[str | None, str]:
        found: dict[str | None, str] = super().nsmap
        _CountedElement.gathered += len(found)
        return found


def _counting(text: str) -> etree._Element:
    """``text`` parsed so that the comments handed to Python and the namespaces gathered for
    the elements are counted."""
    parser = etree.XMLParser()
    parser.set_element_class_lookup(
        etree.ElementDefaultClassLookup(element=_CountedElement, comment=_CountedComment))
    root = etree.fromstring(text, parser)
    _CountedComment.handed = _CountedElement.gathered = 0
    return root


def test_text_among_comments_is_read_without_visiting_them() -> None:
    # lxml's itertext() visits every comment, in time growing with the square of their
    # number: 200,000 empty comments in one <description> took 4 s, a million over a minute.
    root = _counting(
        "<domaincheckpoint><name>c" + "<!---->" * 1000 + "1</name><description>a<!--x-->"
        "<b>b<!---->c</b>d<?pi e?>f<![CDATA[<g>]]></description></domaincheckpoint>")

    model = DomainCheckpoint.from_element(root, Source("comments.xml"))

    # libvirt's reading: the text of the element and of its children, comments left out
    assert (model.name, model.description) == ("c1", "abcdf<g>")
    assert _CountedComment.handed == 0


def test_a_scaled_size_among_comments_is_read_without_visiting_them() -> None:
    root = _counting(
        "<domainsnapshot><disks><disk name='vda' snapshot='external'><driver type='qcow2'>"
        "<metadata_cache><max_size unit='KiB'>1" + "<!---->" * 1000 + "6</max_size>"
        "</metadata_cache></driver><source file='/new'/></disk></disks></domainsnapshot>")

    model = DomainSnapshot.from_element(root, Source("comments.xml"))

    assert model.disks[0].metadata_cache_max_size == 16 * 1024
    assert _CountedComment.handed == 0


def test_kept_content_is_written_without_gathering_each_elements_namespaces() -> None:
    # The writer asked lxml for the namespaces in scope of every element it wrote: 2,000
    # prefixes declared around 20,000 elements in a <metadata> took 16 s to format.
    def gathered(namespaces: int, elements: int) -> int:
        declarations = " ".join(f"xmlns:p{i}='urn:{i}'" for i in range(namespaces))
        root = _counting(f"<metadata {declarations}><p0:m>" + "<p0:x p1:a='1'/>" * elements
                         + "</p0:m></metadata>")
        kept = RawElement.from_element(root)
        assert kept.xml.count('\n    <p0:x p1:a="1"/>') == elements
        return _CountedElement.gathered

    assert gathered(100, 200) > 0
    assert gathered(200, 400) <= 2.5 * gathered(100, 200)  # twice the document, twice the work


#: Each format's document of ``n`` disks.
DISK_LISTS = {
    "snapshot": (snapshot_module, lambda n: "<domainsnapshot><disks>" + "".join(
        f"<disk name='/i/{i}' snapshot='external'><source file='/o/{i}'/></disk>"
        for i in range(n)) + "</disks></domainsnapshot>"),
    "checkpoint": (checkpoint, lambda n: "<domaincheckpoint><disks>" + "".join(
        f"<disk name='vd{i}' checkpoint='bitmap'/>" for i in range(n))
        + "</disks></domaincheckpoint>"),
    "backup": (backup, lambda n: "<domainbackup><disks>" + "".join(
        f"<disk name='vd{i}' type='file'><target file='/o/{i}'/></disk>" for i in range(n))
        + "</disks></domainbackup>"),
}


@pytest.mark.parametrize("name", DISK_LISTS)
def test_parsing_shows_each_disk_to_its_rules_alone(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each disk was judged in a definition of the disks read so far, built anew for every
    # disk: 32,000 snapshot disks took 10-13 s to format.  Count the disks the rules were shown.
    module, document = DISK_LISTS[name]
    shown: list[int] = []
    enforce = module.enforce

    def counting(rules: object, part: object, *args: object) -> None:
        if isinstance(part, Listed):
            shown.append(len(part.definition.disks))
        enforce(rules, part, *args)

    monkeypatch.setattr(module, "enforce", counting)

    def work(disks: int) -> int:
        shown.clear()
        assert len(from_xml(document(disks), validate=False).disks) == disks
        return sum(shown)

    assert work(200) > 0
    assert work(400) <= 2.5 * work(200)  # twice the disks, about twice the work
