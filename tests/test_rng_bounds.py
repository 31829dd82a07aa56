"""Grammars beyond libxml2's means are refused, located, before it compiles them.

libxml2 copies each define that is not an element where it is used and recurses through the
patterns: defines that fan out take it minutes, a chain of 20,000 defines overflows its stack.
``rng.bounds`` measures both without expanding content models; ``schemas.compiled`` runs it on
every grammar not ours, whoever names it: the CLI's ``--libvirt-schemas`` and a Sphinx
project's ``xml-example :schema:``.  The grammars are generated here, each on one line, so a
location must name the right element by its column.  A build that would crash or hang fails
through the subprocess's status or timeout.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from test_hostile_files import one_error_line, one_located_warning
from test_hostile_inputs import run_measured
from test_trust_hostile_build import build

from gueststate import rng, schemas
from gueststate.rng.bounds import MAX_CONTENT, MAX_DEPTH

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import debian_archive  # noqa: E402

RNG = 'xmlns="http://relaxng.org/ns/structure/1.0"'


def chain(count: int) -> str:
    """``count`` element defines, each holding the next: libxml2 recurses through them all."""
    defines = "".join(f'<define name="d{i}"><element name="n"><optional><ref name="d{i + 1}"/>'
                      "</optional></element></define>" for i in range(count))
    return (f'<grammar {RNG}><start><ref name="d0"/></start>{defines}'
            f'<define name="d{count}"><empty/></define></grammar>')


def fan(count: int, wrap: str = "choice") -> str:
    """``count`` defines, each referring to the next twice: libxml2 copies the last 2**count
    times.  ``wrap`` is ``choice``, or ``group`` / ``interleave`` of two optionals."""
    twice = ('<ref name="d{0}"/>' if wrap == "choice" else
             '<optional><ref name="d{0}"/></optional>') * 2
    defines = "".join(f'<define name="d{i}"><{wrap}>{twice.format(i + 1)}</{wrap}></define>'
                      for i in range(count))
    return (f'<grammar {RNG}><start><element name="domain"><ref name="d0"/></element></start>'
            f'{defines}<define name="d{count}"><element name="n"><text/></element></define>'
            "</grammar>")


HOSTILE = {
    "chain": (chain(20_000), "definitions nest too deeply for libxml2"),
    "fan-choice": (fan(60), f"takes one element's content past {MAX_CONTENT:,} patterns"),
    "fan-group": (fan(60, "group"), "takes one element's content past"),
}


def test_a_fan_of_interleaves_is_refused_as_illegal_whatever_its_size(tmp_path: Path) -> None:
    # Both parts of each interleave may hold the same element: section 7.4 forbids it, and
    # the reader says so before the size counts.
    path = tmp_path / "grammar.rng"
    path.write_text(fan(60, "interleave"))
    with pytest.raises(schemas.SchemaError) as raised:
        schemas.compiled(path)
    assert "more than one part of an interleave (section 7.4" in raised.value.problem.message


def _blamed_ref(text: str, column: int) -> str:
    """The start of the element at ``column`` of the one-line grammar ``text``."""
    return text[column - 1:].split(">")[0]


@pytest.mark.parametrize("shape", HOSTILE)
def test_compiled_refuses_at_the_ref_that_passes_a_bound(shape: str, tmp_path: Path) -> None:
    text, expect = HOSTILE[shape]
    path = tmp_path / "grammar.rng"
    path.write_text(text)

    with pytest.raises(schemas.SchemaError) as raised:
        schemas.compiled(path)

    problem = raised.value.problem
    assert (problem.path, problem.line) == (str(path), 1), problem
    assert expect in problem.message, problem
    blamed = _blamed_ref(text, problem.column)
    assert blamed.startswith('<ref name="d'), blamed
    name = blamed.split('"')[1]
    assert shape == "chain" or f"reference to '{name}'" in problem.message, problem


def test_grammars_inside_the_bounds_compile(tmp_path: Path) -> None:
    # A chain nesting 3 patterns a level, and a fan-out just below the content bound.
    for name, text in [("chain.rng", chain(MAX_DEPTH // 3 - 10)), ("fan.rng", fan(9))]:
        path = tmp_path / name
        path.write_text(text)
        assert schemas.compiled(path) is not None


def test_a_define_that_reaches_itself_outside_an_element_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "grammar.rng"
    text = (f'<grammar {RNG}><start><element name="r"><ref name="a"/></element></start>'
            '<define name="a"><choice><text/><ref name="b"/></choice></define>'
            '<define name="b"><ref name="a"/></define></grammar>')
    path.write_text(text)
    with pytest.raises(schemas.SchemaError) as raised:
        schemas.compiled(path)
    problem = raised.value.problem
    assert problem.message == "bad recursive reference to pattern 'a'", problem
    assert _blamed_ref(text, problem.column) == '<ref name="a"/'


@pytest.mark.parametrize(("package", "grammar"), [
    ("docbook5-xml", "usr/share/xml/docbook/schema/rng/5.0/docbook.rng"),
    ("xhtml-relaxng", "usr/share/xml/xhtml-relaxng/xhtml.rng"),
    ("libvirt", "domainsnapshot.rng"),
])
def test_real_grammars_are_well_inside_the_bounds(package: str, grammar: str) -> None:
    folder = (debian_archive.schemas("12.9.0") if package == "libvirt"
              else debian_archive.package(package))
    rng.check_bounded(folder / grammar)


@pytest.mark.parametrize("shape", ["chain", "fan-group"])
def test_cli_refuses_a_libvirt_folder_beyond_the_bounds_in_one_located_line(
    shape: str, tmp_path: Path
) -> None:
    text, expect = HOSTILE[shape]
    folder = tmp_path / "libvirt"
    folder.mkdir()
    (folder / "domain.rng").write_text(text)
    document = tmp_path / "snapshot.xml"
    document.write_bytes(b"<domainsnapshot><domain type='kvm'/></domainsnapshot>")

    line = one_error_line(*run_measured(
        ["validate", "--libvirt-schemas", str(folder), str(document)]))

    prefix = f"gueststate: {folder / 'domain.rng'}:1:"
    assert line.startswith(prefix) and expect in line, line
    column = int(line[len(prefix):].split(":")[0])
    assert _blamed_ref(text, column).startswith('<ref name="d'), line


@pytest.mark.parametrize("shape", ["chain", "fan-choice"])
def test_xml_example_with_a_grammar_beyond_the_bounds_is_one_located_warning(
    shape: str, tmp_path: Path
) -> None:
    text, expect = HOSTILE[shape]
    srcdir = tmp_path / "src"
    srcdir.mkdir()
    (srcdir / "grammar.rng").write_text(text)
    (srcdir / "doc.xml").write_text("<n><n/></n>\n" if shape == "chain" else
                                    "<domain><n>x</n></domain>\n")
    (srcdir / "conf.py").write_text('extensions = ["gueststate.sphinxext"]\n')
    (srcdir / "index.rst").write_text(
        "T\n=\n\n.. xml-example:: doc.xml\n   :schema: grammar.rng\n")

    located = one_located_warning(*build(srcdir, tmp_path / "out"))

    assert (located["path"], located["line"]) == (str(srcdir / "index.rst"), "4"), located[0]
    assert f"{srcdir / 'grammar.rng'}:1:" in located["msg"] and expect in located["msg"]
    assert located["msg"].endswith("[xml.missing_file]"), located[0]
