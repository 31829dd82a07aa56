"""Diagnosis stays linear in its input: one scan of the text, a bounded number of problems."""

from __future__ import annotations

from scan_count import ScanCount

from gueststate import diagnose, schemas, xmlsafe


def test_many_problems_on_one_line_are_located_from_one_scan_of_it(
    positions_scans: tuple[ScanCount, ScanCount],
) -> None:
    markup, attributes = positions_scans
    names = [f"x{index}" for index in range(xmlsafe.MAX_ATTRIBUTES - 1)]
    text = "<domainbackup " + " ".join(f"{name}='1'" for name in names) + "/>"

    problems = schemas.validate_bytes(text.encode(), "wide.xml").problems

    assert len(problems) == diagnose.MAX_PROBLEMS + 1
    assert problems[-1].message == (
        f"too many problems: stopped after the first {diagnose.MAX_PROBLEMS}"
    )
    for name, problem in zip(names, problems[:-1], strict=False):
        assert problem.message.startswith(f"attribute '{name}' is not allowed")
        assert problem.column == text.index(f" {name}=") + 2
    # the text was tokenised once, the start tag's attributes read once
    assert (markup.calls, attributes.calls) == (1, 1)
