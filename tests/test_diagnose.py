"""Problems a person can act on: the attribute, element or value at fault, and where it is."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from gueststate import schemas, xmlsafe
from gueststate.diagnose import diagnose
from gueststate.diagnose_forms import parts_of
from gueststate.forms import FOR_FITTING
from gueststate.rng import read_grammar
from gueststate.sphinxext.outline import outline

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

CASES = [
    pytest.param(
        b"<domainbackup mode='pull'>\n  <server name='h'/>\n  <disks>\n"
        b"    <disk name='vda' bogus='1'/>\n  </disks>\n</domainbackup>",
        (4, 22), "attribute 'bogus' is not allowed on <disk>", id="unknown-attribute",
    ),
    pytest.param(
        b"<domainbackup mode='pull'>\n  <server name='h'/>\n  <disks>\n"
        b"    <disk name='vda' backupmode='partial'/>\n  </disks>\n</domainbackup>",
        (4, 22), "must be one of full, incremental; got 'partial'", id="value-outside-list",
    ),
    pytest.param(
        b"<domaincheckpoint>\n  <name>nightly</name>\n  <disks>\n    <disc name='vda'/>\n"
        b"  </disks>\n</domaincheckpoint>",
        (4, 5), "element <disc> is not allowed in <disks> (allowed: disk)", id="unknown-child",
    ),
    pytest.param(
        b"<domaincheckpoint>\n  <name>a/b</name>\n</domaincheckpoint>",
        (2, 3), "the text of <name> does not match", id="text-pattern",
    ),
    pytest.param(
        b"<domainbackup mode='pull'>\n  <server name='h' port='-1'/>\n</domainbackup>",
        (2, 20), "attribute 'port' of <server> does not match [0-9]+", id="attribute-pattern",
    ),
    pytest.param(
        b"<domainbackup mode='pull'>\n  <disks>\n    <disk name='vda'/>\n  </disks>\n"
        b"</domainbackup>",
        (1, 1), "<domainbackup mode='pull'> needs a <server> child (form: pull mode)",
        id="pull-without-server",
    ),
    pytest.param(
        b"<domainbackup>\n  <server name='h'/>\n</domainbackup>",
        (1, 1), "<domainbackup> needs mode='pull' to allow <server> (form: pull mode)",
        id="server-without-pull-mode",
    ),
    pytest.param(
        b"<domainsnapshot>\n  <memory snapshot='external'/>\n</domainsnapshot>",
        (2, 3), "<memory snapshot='external'> needs a 'file' attribute",
        id="external-memory-without-file",
    ),
    pytest.param(
        b"<domainbackup mode='pull'>\n  <server transport='unix' socket='/run/s'/>\n  <disks>\n"
        b"    <disk name='vda' type='file'>\n      <scratch file='/s.img'/>\n"
        b"      <driver type='raw'/>\n    </disk>\n  </disks>\n</domainbackup>",
        (6, 15), "<driver type='raw'> is not allowed (allowed: qcow2) (form: pull mode / scratch",
        id="raw-scratch-in-pull-mode",
    ),
]

#: Every counter-example on the site, with the place and words its first problem must have.
COUNTER_EXAMPLES = {
    "backup/disk-by-path.xml": (3, 11, "attribute 'name' of <disk> does not match"),
    "backup/full-with-incremental.xml": (
        3, 52, "attribute 'incremental' is not allowed on <disk type='file' backupmode='full'> "
        "(form: push mode / the copy is written to a file)",
    ),
    "backup/pull-raw-scratch.xml": (
        6, 15, "<driver type='raw'> is not allowed (allowed: qcow2) (form: pull mode / scratch",
    ),
    "backup/push-with-server.xml": (
        2, 3, "element <server> is not allowed in <domainbackup mode='push'> (form: push mode)",
    ),
    "checkpoint/bitmap-on-excluded-disk.xml": (
        4, 38, "attribute 'bitmap' is not allowed on <disk checkpoint='no'>",
    ),
    "checkpoint/name-with-slash.xml": (2, 3, "the text of <name> does not match"),
    "snapshot/external-memory-without-file.xml": (
        3, 3, "<memory snapshot='external'> needs a 'file' attribute (form: memory is saved",
    ),
    "snapshot/network-disk-with-driver.xml": (
        6, 7, "element <driver> is not allowed in <disk type='network'>",
    ),
    "snapshot/raw-overlay.xml": (5, 15, "attribute 'type' of <driver> must be one of cow"),
    "snapshot/startup-policy.xml": (5, 79, "attribute 'startupPolicy' is not allowed on <source>"),
}


@pytest.mark.parametrize(("document", "where", "expected"), CASES)
def test_problem_names_the_fault_and_its_place(
    document: bytes, where: tuple[int, int], expected: str
) -> None:
    result = schemas.validate_bytes(document, "doc.xml")
    assert not result.valid
    located = [(p.line, p.column, p.message) for p in result.problems]
    assert any((line, column) == where and expected in message
               for line, column, message in located), located


def test_open_content_is_not_second_guessed() -> None:
    # Anything goes inside <cookie>; the only fault is the memory element.
    document = (
        b"<domainsnapshot>\n  <memory snapshot='sideways'/>\n"
        b"  <cookie><any><thing at='all'/></any></cookie>\n</domainsnapshot>"
    )
    result = schemas.validate_bytes(document, "doc.xml")
    assert [p.line for p in result.problems] == [2]
    assert "must be one of" in result.problems[0].message


def test_valid_documents_get_no_diagnosis() -> None:
    document = b"<domaincheckpoint><name>nightly</name></domaincheckpoint>"
    assert schemas.validate_bytes(document, "doc.xml").problems == ()


def test_every_counter_example_is_listed() -> None:
    found = {p.relative_to(EXAMPLES / "invalid").as_posix()
             for p in (EXAMPLES / "invalid").rglob("*.xml")}
    assert found == set(COUNTER_EXAMPLES)


@pytest.mark.parametrize("name", sorted(COUNTER_EXAMPLES))
def test_counter_example_names_its_fault(name: str) -> None:
    line, column, expected = COUNTER_EXAMPLES[name]
    result = schemas.validate_file(EXAMPLES / "invalid" / name)
    assert not result.valid
    first = result.problems[0]
    assert (first.line, first.column) == (line, column), first
    assert expected in first.message, first.message


# A grammar of our own making: the diagnosis knows no element by name.
SHAPES = """<element name="shape" xmlns="http://relaxng.org/ns/structure/1.0"
    xmlns:a="http://relaxng.org/ns/compatibility/annotations/1.0">
  <choice>
    <group>
      <a:documentation>Circle: a centre and a radius.</a:documentation>
      <attribute name="kind"><value>circle</value></attribute>
      <attribute name="radius"/>
      <element name="centre"><empty/></element>
    </group>
    <group>
      <a:documentation>Polygon: corners in order.</a:documentation>
      <optional><attribute name="kind"><value>polygon</value></attribute></optional>
      <oneOrMore><element name="corner"><empty/></element></oneOrMore>
    </group>
  </choice>
</element>
"""


@pytest.mark.parametrize(("document", "where", "message"), [
    (b"<shape kind='circle'>\n  <centre/>\n</shape>", (1, 1),
     "<shape kind='circle'> needs a 'radius' attribute (form: circle)"),
    (b"<shape radius='2'>\n  <centre/>\n</shape>", (1, 1),
     "<shape> needs kind='circle' to allow <centre>, 'radius' (form: circle)"),
    (b"<shape kind='polygon'>\n  <corner/>\n  <centre/>\n</shape>", (3, 3),
     "element <centre> is not allowed in <shape kind='polygon'> (form: polygon)"),
    (b"<shape kind='polygon'/>", (1, 1),
     "<shape kind='polygon'> needs a <corner> child (form: polygon)"),
    (b"<shape kind='polygon' radius='1'>\n  <centre/>\n</shape>", (1, 8),
     "<shape kind='polygon'> is not allowed (allowed: circle) (form: circle)"),
])
def test_closest_form_of_any_grammar(
    tmp_path: Path, document: bytes, where: tuple[int, int], message: str
) -> None:
    grammar = tmp_path / "shape.rng"
    grammar.write_text(SHAPES)
    problems = diagnose(xmlsafe.parse_bytes(document, "s.xml"), "s.xml", grammar, document)
    assert [(p.line, p.column, p.message) for p in problems] == [(*where, message)]


def test_a_document_fitting_a_form_gets_no_form_problem(tmp_path: Path) -> None:
    grammar = tmp_path / "shape.rng"
    grammar.write_text(SHAPES)
    document = b"<shape><corner/><corner/></shape>"
    assert diagnose(xmlsafe.parse_bytes(document, "s.xml"), "s.xml", grammar, document) == []


def test_forms_are_bounded(tmp_path: Path) -> None:
    # Ten independent choices of two forms each: 1024 combinations, more than the bound.
    branches = "".join(
        f'<choice><attribute name="a{i}"/><attribute name="b{i}"/></choice>' for i in range(10)
    )
    grammar = tmp_path / "many.rng"
    grammar.write_text(
        '<element name="many" xmlns="http://relaxng.org/ns/structure/1.0">'
        f"{branches}</element>"
    )
    assert len(parts_of(read_grammar(grammar).start)) <= FOR_FITTING.limit
    document = b"<many a0='1' c='2'/>"
    problems = diagnose(xmlsafe.parse_bytes(document, "m.xml"), "m.xml", grammar, document)
    assert problems and all(p.line == 1 for p in problems)


def test_a_message_names_an_undocumented_form_as_the_reference_page_does(
    tmp_path: Path,
) -> None:
    grammar = tmp_path / "shape.rng"
    grammar.write_text(re.sub(r"<a:documentation>.*?</a:documentation>", "", SHAPES))
    page = outline(read_grammar(grammar).start)[0]
    assert [variant.label for variant in page.variants] == ['kind="circle"', "with <corner>"]
    for document, message in [
        (b"<shape kind='circle'>\n  <centre/>\n</shape>",
         "<shape kind='circle'> needs a 'radius' attribute (form: kind=\"circle\")"),
        (b"<shape kind='polygon'/>", "<shape kind='polygon'> needs a <corner> child "
                                     "(form: with <corner>)"),
    ]:
        problems = diagnose(xmlsafe.parse_bytes(document, "s.xml"), "s.xml", grammar, document)
        assert [p.message for p in problems] == [message]


def test_values_outside_every_list_share_one_shape(tmp_path: Path) -> None:
    # Which value lies outside the lists does not change the closest form: one fit serves all.
    from gueststate import diagnose_forms

    grammar = tmp_path / "shape.rng"
    grammar.write_text(SHAPES)
    messages = []
    for kind in ("square", "oval", "circle"):
        document = f"<shape kind='{kind}' radius='1'/>".encode()
        tree = xmlsafe.parse_bytes(document, "s.xml")
        fitter = diagnose_forms._Fitter(
            tree.getroot(), diagnose_forms._listed_values(read_grammar(grammar).start))
        messages.append((kind, fitter.shape[tree.getroot()]))
    (_, square), (_, oval), (_, circle) = messages
    assert square == oval != circle


def test_the_memory_of_shapes_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A corpus of ever new shapes (here, ever more corners) is not remembered for ever.
    import threading

    from gueststate import diagnose_forms

    monkeypatch.setattr(diagnose_forms, "MAX_REMEMBERED", 200_000)
    monkeypatch.setattr(diagnose_forms, "_THREAD", threading.local())
    grammar = tmp_path / "shape.rng"
    grammar.write_text(SHAPES)
    weights, added = [0], []
    for corners in range(1, 300):
        document = f"<shape kind='polygon' radius='1'>{'<corner/>' * corners}</shape>".encode()
        problems = diagnose(xmlsafe.parse_bytes(document, "s.xml"), "s.xml", grammar, document)
        assert [p.message for p in problems] == [
            "attribute 'radius' is not allowed on <shape kind='polygon'> (form: polygon)"]
        weight = diagnose_forms._memory().weight
        added.append(weight - weights[-1] if weight > weights[-1] else weight)
        weights.append(weight)
    assert max(weights) <= 200_000 + max(added)  # the bound, and one document past it
    assert weights[-1] < max(weights)  # it started again


def test_threads_diagnosing_at_once_get_the_messages_of_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each thread remembers shapes of its own: one starting again never misleads another.
    from concurrent.futures import ThreadPoolExecutor

    from gueststate import diagnose_forms

    monkeypatch.setattr(diagnose_forms, "MAX_REMEMBERED", 3_000)  # starting again often
    grammar = tmp_path / "shape.rng"
    grammar.write_text(SHAPES)
    documents = [
        f"<shape{kind}{radius}>{'<corner/>' * corners}{centre}</shape>".encode()
        for corners in range(0, 40)
        for kind in ("", " kind='circle'", " kind='polygon'")
        for radius in ("", " radius='1'")
        for centre in ("", "<centre/>")
    ]

    def messages(document: bytes) -> list[str]:
        tree = xmlsafe.parse_bytes(document, "s.xml")
        return [p.message for p in diagnose(tree, "s.xml", grammar, document)]

    alone = [messages(document) for document in documents]
    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns as often as they can
    try:
        with ThreadPoolExecutor(4) as pool:
            for _ in range(3):
                assert list(pool.map(messages, documents)) == alone
    finally:
        sys.setswitchinterval(switching)


def test_forms_are_forgotten_with_their_grammar(tmp_path: Path) -> None:
    # A grammar read again (sphinx-autobuild, after an edit) must not keep the old one alive.
    import gc

    from gueststate import forms

    grammar = tmp_path / "shape.rng"
    grammar.write_text(SHAPES)
    before = len(forms._KNOWN)
    for _ in range(5):
        start = read_grammar(grammar).start
        labels = [form.labels for form in forms.element_forms(start)]
        assert labels == [("Circle: a centre and a radius.",), ("Polygon: corners in order.",)]
    del start
    gc.collect()
    assert len(forms._KNOWN) == before


def test_a_grammar_changed_on_disk_is_let_go_with_all_worked_out_from_it(
    tmp_path: Path,
) -> None:
    # In a process that builds again (sphinx-autobuild), each edit of a grammar read for a
    # diagnosis must not leave the old content model alive in a cache.
    import gc
    import os
    import weakref

    from gueststate import diagnose as diagnosis

    grammar = tmp_path / "shape.rng"
    grammar.write_text(SHAPES)
    document = b"<shape kind='polygon'/>"  # reaches the fitting of forms
    schemas.compiled(grammar)  # what forget_changed_grammars compares with the disk
    assert diagnose(xmlsafe.parse_bytes(document, "s.xml"), "s.xml", grammar, document)
    old = weakref.ref(diagnosis._start(grammar))

    grammar.write_text(SHAPES.replace("Circle", "Round"))
    os.utime(grammar, ns=(0, 0))  # another modification time, however fast this machine
    schemas.forget_changed_grammars()
    gc.collect()

    assert old() is None
    problems = diagnose(xmlsafe.parse_bytes(document, "s.xml"), "s.xml", grammar, document)
    assert [p.message for p in problems] == [
        "<shape kind='polygon'> needs a <corner> child (form: polygon)"]
