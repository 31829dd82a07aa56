"""Diagnosis stays linear in its input: one scan per line, a bounded number of problems."""

from __future__ import annotations

from gueststate import schemas
from gueststate.diagnose import column_of


def test_many_problems_on_one_line_are_located_from_one_scan_of_it() -> None:
    from gueststate import diagnose as diagnosis

    names = [f"x{index}" for index in range(300)]
    document = ("<domainbackup " + " ".join(f"{name}='1'" for name in names) + "/>").encode()
    diagnosis._names_on.cache_clear()

    result = schemas.validate_bytes(document, "wide.xml")

    problems = result.problems
    assert len(problems) == diagnosis.MAX_PROBLEMS + 1
    assert problems[-1].message == (
        f"too many problems: stopped after the first {diagnosis.MAX_PROBLEMS}"
    )
    text = document.decode()
    for name, problem in zip(names, problems[:-1], strict=False):
        assert problem.message.startswith(f"attribute '{name}' is not allowed")
        assert problem.column == text.index(f" {name}=") + 2
    assert diagnosis._names_on.cache_info().misses == 1  # the line was tokenised once


def test_column_of_finds_tags_and_attributes_not_their_prefixes() -> None:
    lines = ["<disks><disk name='a' names = 'b'/>  <x:y x:z='1'/>"]
    assert column_of(lines, 1, "<disks") == 1
    assert column_of(lines, 1, "<disk") == 8
    assert column_of(lines, 1, "name=") == 14
    assert column_of(lines, 1, "names=") == 23
    assert column_of(lines, 1, "<x:y") == 38
    assert column_of(lines, 1, "x:z=") == 43
    assert column_of(lines, 1, "<dis") == 0
    assert column_of(lines, 2, "<disk") == 0
