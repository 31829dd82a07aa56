"""A problem renders as one compiler-style line."""

from gueststate.problems import Problem


def test_problem_renders_path_line_column_message() -> None:
    problem = Problem("a.xml", 3, 7, "attribute 'x' is not allowed")
    assert str(problem) == "a.xml:3:7: attribute 'x' is not allowed"
    assert problem.as_dict() == {"line": 3, "column": 7, "message": "attribute 'x' is not allowed"}


def test_quoted_line_breaks_stay_on_one_line() -> None:
    problem = Problem("a.xml", 1, 1, "disk 'v\nda' is unknown\r")
    assert str(problem) == "a.xml:1:1: disk 'v\\nda' is unknown\\r"
    assert len(str(problem).splitlines()) == 1
