"""A problem renders as one compiler-style line."""

from gueststate.problems import MAX_MESSAGE, Problem


def test_problem_renders_path_line_column_message() -> None:
    problem = Problem("a.xml", 3, 7, "attribute 'x' is not allowed")
    assert str(problem) == "a.xml:3:7: attribute 'x' is not allowed"
    assert problem.as_dict() == {
        "line": 3, "column": 7, "element": "", "message": "attribute 'x' is not allowed",
    }


def test_quoted_line_breaks_stay_on_one_line() -> None:
    problem = Problem("a.xml", 1, 1, "disk 'v\nda' is unknown\r")
    assert str(problem) == "a.xml:1:1: disk 'v\\nda' is unknown\\r"
    assert len(str(problem).splitlines()) == 1


def test_hostile_path_and_message_cannot_forge_lines_or_reach_the_terminal() -> None:
    path = "a\nb.xml:9:9: forged\x1b[2J" + "\udcff" + "\\n"
    problem = Problem(path, 1, 2, "value '\x1b]0;t\x07' in [a-z\\-]+")
    shown = str(problem)
    assert shown == (
        "a\\nb.xml:9:9: forged\\x1b[2J\\xff\\\\n:1:2: value '\\x1b]0;t\\x07' in [a-z\\-]+"
    )
    assert shown.isprintable()
    shown.encode("utf-8")  # no lone surrogate left


def test_json_path_is_valid_unicode_for_undecodable_names() -> None:
    from gueststate.problems import unicode_path

    assert unicode_path("ok-é.xml") == "ok-é.xml"
    assert unicode_path("bad-\udcff.xml") == "bad-\\xff.xml"


def test_problem_at_an_element_names_its_line_column_and_path() -> None:
    from lxml import etree

    from gueststate.positions import Positions
    from gueststate.problems import problem_at

    text = b"<a>\n  <b/>\n  <b x='1'/>\n</a>"
    root = etree.fromstring(text)
    second = root[1]
    positions = Positions(text)

    assert problem_at("f.xml", second, "m", positions=positions) == Problem(
        "f.xml", 3, 3, "m", "/a/b[2]"
    )
    assert problem_at("f.xml", second, "m", positions=positions, attribute="x").column == 6
    # an attribute the start tag does not write: the problem is at the element
    assert problem_at("f.xml", second, "m", positions=positions, attribute="y").column == 3
    assert problem_at("f.xml", None, "m") == Problem("f.xml", 0, 0, "m")
    assert problem_at("f.xml", second, "m").as_dict() == {
        "line": 3, "column": 0, "element": "/a/b[2]", "message": "m",
    }


def test_library_errors_share_one_base_carrying_problems() -> None:
    from gueststate import schemas, xmlsafe
    from gueststate.problems import GueststateError

    try:
        xmlsafe.parse_bytes(b"<a>", "broken.xml")
    except GueststateError as error:
        assert isinstance(error, xmlsafe.XMLParseError)
        assert error.problems == (error.problem,)
        assert error.problem.path == "broken.xml" and error.problem.line == 1
    else:
        raise AssertionError("malformed XML was accepted")
    missing = schemas.SchemaError("schema not found", "/nowhere/domain.rng")
    assert isinstance(missing, GueststateError)
    assert str(missing) == "/nowhere/domain.rng: schema not found"
    assert missing.problem == Problem("/nowhere/domain.rng", 0, 0, "schema not found")


def test_a_message_quoting_megabytes_is_cut_to_a_line_that_says_so() -> None:
    message = "value 'x" + "x" * 5_000_000 + "'"
    problem = Problem("a.xml", 3, 7, message)
    assert problem.message == message[:MAX_MESSAGE] + f"... ({len(message)} characters in all)"
    assert Problem("a.xml", 3, 7, "x" * MAX_MESSAGE).message == "x" * MAX_MESSAGE
