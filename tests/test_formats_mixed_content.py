"""Canonical output keeps text that sits between the children of a kept element."""

from __future__ import annotations

from gueststate.formats import from_xml, to_xml

CHECKPOINT = """<domaincheckpoint>
  <name>c1</name>
  <domain type='kvm'>
    <name>web01</name>
    <metadata>
      <app:note xmlns:app="urn:app">keep <b>this <i>and</i></b> that</app:note>
      <app:plain xmlns:app="urn:app">
        <app:item>one</app:item>
      </app:plain>
    </metadata>
  </domain>
</domaincheckpoint>
"""


def test_mixed_content_is_written_as_it_is() -> None:
    text = to_xml(from_xml(CHECKPOINT, "mixed.xml"))
    assert '<app:note xmlns:app="urn:app">keep <b>this <i>and</i></b> that</app:note>' in text


def test_element_only_content_is_still_indented() -> None:
    lines = to_xml(from_xml(CHECKPOINT, "mixed.xml")).splitlines()
    assert '      <app:plain xmlns:app="urn:app">' in lines
    assert "        <app:item>one</app:item>" in lines


def test_mixed_content_output_is_a_fixed_point() -> None:
    once = to_xml(from_xml(CHECKPOINT, "mixed.xml"))
    assert to_xml(from_xml(once, "again.xml")) == once
