"""Whatever stops a grammar being read or rendered is one located warning, never a traceback.

A grammar that is a symlink loop crashed the build on Python 3.11 (``Path.resolve`` raises
``RuntimeError`` there); the reader's own errors, an ``OSError`` of a file the grammar includes
and nesting deeper than Python allows must all end as ``xml`` warnings.
"""

from __future__ import annotations

import errno
import re
from pathlib import Path
from typing import NoReturn

import pytest
from sphinx.testing.util import SphinxTestApp

from gueststate.problems import Problem
from gueststate.rng import GrammarError
from gueststate.sphinxext import reference

RNG = 'xmlns="http://relaxng.org/ns/structure/1.0"'
GOOD = f'<grammar {RNG}><start><element name="x"><empty/></element></start></grammar>'


def _project(tmp_path: Path) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    (source / "conf.py").write_text('extensions = ["myst_parser", "gueststate.sphinxext"]\n'
                                    'exclude_patterns = ["_build"]\n')
    (source / "index.md").write_text("# Reference\n\n```{rng-reference} grammar.rng\n```\n")
    return source


def _warnings(source: Path, tmp_path: Path) -> list[str]:
    app = SphinxTestApp("html", srcdir=source, builddir=tmp_path / "build", freshenv=True)
    try:
        app.build()
    finally:
        app.cleanup()
    text = re.sub(r"\x1b\[[0-9;]*m", "", app.warning.getvalue())
    assert "Traceback" not in text and "Exception" not in text
    return [line for line in text.splitlines() if "WARNING" in line]


def test_a_grammar_that_is_a_symlink_loop_is_a_missing_file(tmp_path: Path) -> None:
    source = _project(tmp_path)
    (source / "l1.rng").symlink_to("l2.rng")
    (source / "l2.rng").symlink_to("l1.rng")
    (source / "grammar.rng").symlink_to("l1.rng")
    (warning,) = _warnings(source, tmp_path)
    assert warning.startswith(f"{source / 'index.md'}:3: WARNING: cannot open grammar "
                              "grammar.rng: Too many levels of symbolic links")
    assert warning.endswith("[xml.missing_file]")


def test_an_include_that_cannot_be_opened_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _project(tmp_path)
    (source / "grammar.rng").write_text(GOOD)
    loop = str(source / "l1.rng")

    def unreadable(path: object) -> NoReturn:
        raise OSError(errno.ELOOP, "Too many levels of symbolic links", loop)

    monkeypatch.setattr(reference, "read_definitions", unreadable)
    (warning,) = _warnings(source, tmp_path)
    assert warning.endswith("WARNING: cannot open grammar grammar.rng: Too many levels of "
                            f"symbolic links: {loop} [xml.missing_file]")


def test_a_grammar_error_is_located_in_the_grammar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _project(tmp_path)
    (source / "grammar.rng").write_text(GOOD)
    include = str(source / "inc.rng")

    def faulty(path: object) -> NoReturn:
        raise GrammarError(Problem(include, 7, 3, "cannot read 'loop.rng'"))

    monkeypatch.setattr(reference, "read_definitions", faulty)
    (warning,) = _warnings(source, tmp_path)
    assert warning == (f"{include}:7: WARNING: cannot read grammar: cannot read 'loop.rng' "
                       "[xml.grammar]")


@pytest.mark.parametrize(("failure", "said"), [
    (RecursionError("maximum recursion depth exceeded"),
     "cannot render grammar grammar.rng: its patterns nest too deeply [xml.grammar]"),
    (MemoryError(), "grammar grammar.rng is too large to render: not enough memory to read it; "
                    "rendered nothing [xml.too_large]"),
])
def test_a_grammar_beyond_pythons_means_is_a_warning(
    failure: BaseException, said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _project(tmp_path)
    (source / "grammar.rng").write_text(GOOD)

    def failing(start: object) -> NoReturn:
        raise failure

    monkeypatch.setattr(reference, "outline", failing)
    (warning,) = _warnings(source, tmp_path)
    assert warning == f"{source / 'index.md'}:3: WARNING: {said}"


def test_a_grammar_whose_files_pass_the_byte_limit_is_located_at_the_include(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _project(tmp_path)
    part = f'<grammar {RNG}><define name="v"><value>{"v" * 1200}</value></define></grammar>'
    (source / "part.rng").write_text(part)
    (source / "grammar.rng").write_text(
        f'<grammar {RNG}>\n<include href="part.rng"/><start><element name="x"><ref name="v"/>'
        "</element></start></grammar>")
    monkeypatch.setattr("gueststate.rng.loader.MAX_GRAMMAR_BYTES", 1000)
    (warning,) = _warnings(source, tmp_path)
    assert warning == (f"{source / 'grammar.rng'}:2: WARNING: cannot read grammar: "
                       f"'{source / 'part.rng'}' takes the grammar's files past the 1000 byte "
                       "limit on all of them together [xml.grammar]")


@pytest.mark.parametrize(("links", "warnings"), [
    (1000, []),  # legal and read (jing reads it), no longer past Python's recursion limit
    (2000, ["grammar.rng:1500: WARNING: cannot read grammar: patterns nest too deeply to read: "
            "more than 1500 levels, counted through references and files [xml.grammar]"]),
])
def test_a_deep_chain_of_references_is_read_or_refused_at_a_ref(
    links: int, warnings: list[str], tmp_path: Path
) -> None:
    source = _project(tmp_path)
    chain = "".join(f"<define name='d{n}'><ref name='d{n + 1}'/></define>\n" for n in range(links))
    (source / "grammar.rng").write_text(
        f"<grammar {RNG}><start><element name='r'><ref name='d0'/></element></start>\n{chain}"
        f"<define name='d{links}'><element name='leaf'><empty/></element></define></grammar>")
    found = [warning.replace(f"{source}/", "") for warning in _warnings(source, tmp_path)]
    assert found == warnings
