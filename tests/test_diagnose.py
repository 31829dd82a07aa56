"""Problems a person can act on: the attribute, element or value at fault, and where it is."""

from __future__ import annotations

import pytest

from gueststate import schemas

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
        b"<domainbackup>\n  <server name='h'/>\n</domainbackup>",
        (2, 3), "<server> in <domainbackup> matches none of the forms", id="server-in-push",
    ),
    pytest.param(
        b"<domainsnapshot>\n  <memory snapshot='external'/>\n</domainsnapshot>",
        (2, 3), "<memory> in <domainsnapshot> matches none", id="external-memory-without-file",
    ),
]


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
