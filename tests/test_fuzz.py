"""Fuzzing: random and mutated documents and grammars raise only the documented errors.

Seeds are libvirt's own test documents (``schema_corpus``: from Debian's source package), the
site's examples, the schema tests' seeds and the project's grammars.  A mutation is either a byte
edit (insert, delete, overwrite, duplicate, splice two seeds) or a tree edit (drop, copy, rename
or move an element; add, change or drop an attribute; change text), so that documents reach past
the parser into the validator, its diagnosis, the model and the grammar reader.

Hostile input of issue 15 has its own targets: grammars handed to libxml2 through the hardened
loader (``--libvirt-schemas``), documents on one huge line (an element repeated or attributes
piled up), and special files (FIFOs, symbolic link loops, dangling links) under hostile names.

``make check`` runs a bounded, derandomized budget (11,110 cases, after the regressions given as
``@example``); ``make fuzz`` selects the ``long`` Hypothesis profile (tests/conftest.py), which
multiplies it by :data:`LONG_FACTOR` and draws fresh random cases each run, then runs the same
document properties under atheris (``python tests/test_fuzz.py [libFuzzer options]``), whose
coverage guidance found a bug the structured mutations had missed.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from lxml import etree

from gueststate import cli, formats, schemas, xmlsafe
from gueststate.diagnose import MAX_PROBLEMS
from gueststate.formats import Domain, FormatError
from gueststate.problems import Problem, printable
from gueststate.rng import GrammarError, read_grammar, walk_paths

if __name__ == "__main__":  # run by atheris (`make fuzz`), without pytest's conftest
    sys.path.insert(0, str(Path(__file__).parents[1] / "tools"))
from schema_corpus import corpus_files

REPO = Path(__file__).resolve().parents[1]
LONG_FACTOR = 20


def fuzz_settings(cases: int) -> settings:
    """``cases`` derandomized examples, or ``LONG_FACTOR`` times more random ones under ``long``."""
    long = settings.get_current_profile_name() == "long"
    return settings(
        max_examples=cases * LONG_FACTOR if long else cases,
        derandomize=not long,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


class Seeds(list[bytes]):
    """Seed documents, with a short repr for Hypothesis's reports."""

    def __repr__(self) -> str:
        return f"<{len(self)} seeds>"


def _seed_documents() -> Seeds:
    corpus = corpus_files()
    ours = sorted((REPO / "examples").rglob("*.xml")) + sorted(
        (REPO / "tests" / "schema_seeds").rglob("*.xml"))
    return Seeds(path.read_bytes() for path in corpus + ours)


def _vocabulary(documents: list[bytes]) -> tuple[list[str], list[str], list[str]]:
    """Element names, attribute names and attribute values seen in ``documents``."""
    tags: set[str] = set()
    names: set[str] = set()
    values: set[str] = set()
    for data in documents:
        for element in etree.fromstring(data).iter():
            if isinstance(element.tag, str):
                tags.add(element.tag)
                names.update(element.attrib.keys())
                values.update(element.attrib.values())
    return sorted(tags), sorted(names), sorted(values)


SEEDS = _seed_documents()
GRAMMARS = sorted(path.name for path in (REPO / "schemas").glob("*.rng"))
DOMAIN = Domain.from_xml((REPO / "examples" / "domain" / "web01.xml").read_bytes())
TAGS, ATTRIBUTES, VALUES = _vocabulary(SEEDS)
RNG_TAGS, RNG_ATTRIBUTES, RNG_VALUES = _vocabulary(
    [(REPO / "schemas" / name).read_bytes() for name in GRAMMARS]
)
xml_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), include_characters="\n\t "),
    max_size=12,
)
short_names = st.from_regex(r"[a-z]{1,8}", fullmatch=True)


@st.composite
def byte_mutants(draw: st.DrawFn, seeds: Seeds) -> bytes:
    """A seed with one to four byte edits."""
    data = bytearray(seeds[draw(st.integers(0, len(seeds) - 1))])
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        size = draw(st.integers(1, 16))
        edit = draw(st.sampled_from(["insert", "delete", "overwrite", "duplicate", "splice"]))
        if edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=size))
        elif edit == "delete":
            del data[at:at + size]
        elif edit == "overwrite":
            data[at:at + size] = draw(st.binary(min_size=size, max_size=size))
        elif edit == "duplicate":
            data[at:at] = data[at:at + size * 8]
        else:
            other = seeds[draw(st.integers(0, len(seeds) - 1))]
            data = data[:at] + bytearray(other[draw(st.integers(0, len(other))):])
    return bytes(data)


@st.composite
def tree_mutants(
    draw: st.DrawFn, seeds: Seeds, tags: list[str], attributes: list[str], values: list[str]
) -> bytes:
    """A seed with one to four edits of its element tree, serialised again."""
    root = etree.fromstring(seeds[draw(st.integers(0, len(seeds) - 1))])
    for _ in range(draw(st.integers(1, 4))):
        elements = [e for e in root.iter() if isinstance(e.tag, str)]
        element = draw(st.sampled_from(elements))
        edit = draw(st.sampled_from(["drop", "copy", "rename", "move", "set", "unset", "text"]))
        parent = element.getparent()
        if edit == "drop" and parent is not None:
            parent.remove(element)
        elif edit == "copy" and parent is not None:
            copy = etree.fromstring(etree.tostring(element))
            parent.insert(draw(st.integers(0, len(parent))), copy)
        elif edit == "rename":
            element.tag = draw(st.sampled_from(tags) | short_names)
        elif edit == "move" and parent is not None:
            target = draw(st.sampled_from(elements))
            if element not in target.iterancestors() and target is not element:
                target.append(element)
        elif edit == "set":
            name = draw(st.sampled_from(attributes) | short_names)
            element.set(name, draw(st.sampled_from(values) | xml_text))
        elif edit == "unset" and element.attrib:
            del element.attrib[draw(st.sampled_from(sorted(element.attrib.keys())))]
        elif edit == "text":
            element.text = draw(xml_text)
    return bytes(etree.tostring(root))


documents = st.one_of(
    st.binary(max_size=256),
    byte_mutants(SEEDS),
    tree_mutants(SEEDS, TAGS, ATTRIBUTES, VALUES),
    tree_mutants(SEEDS, TAGS, ATTRIBUTES, VALUES),
)


@st.composite
def grammar_mutants(draw: st.DrawFn) -> tuple[str, bytes]:
    """One of our grammar files, mutated like a document (names from RELAX NG's vocabulary)."""
    name = draw(st.sampled_from(GRAMMARS))
    seed = Seeds([(REPO / "schemas" / name).read_bytes()])
    data = draw(byte_mutants(seed) | tree_mutants(seed, RNG_TAGS, RNG_ATTRIBUTES, RNG_VALUES))
    return name, data


def assert_located(problem: Problem, path: str) -> None:
    """A problem the CLI can print as one ``path:line:column: message`` line."""
    assert isinstance(problem, Problem)
    assert problem.path == path
    assert problem.line >= 0 and problem.column >= 0
    assert problem.message.strip() and "\n" not in str(problem), repr(problem)


@fuzz_settings(4000)
@given(data=documents)
@example(data=b"<domaincheckpoint>\n<!-- a -- b\n-->\n</domaincheckpoint>")  # libxml2 quotes lines
def test_parser_raises_only_parse_errors(data: bytes) -> None:
    check_parser(data)


def check_parser(data: bytes) -> None:
    """The hardened parser returns a tree without entities or raises a located XMLParseError."""
    try:
        tree = xmlsafe.parse_bytes(data, "doc.xml")
    except xmlsafe.XMLParseError as error:
        assert_located(error.problem, "doc.xml")
    else:
        dtd = tree.docinfo.internalDTD
        assert dtd is None or not list(dtd.iterentities())


@fuzz_settings(3500)
@given(data=documents, schema=st.sampled_from([None, *schemas.FORMATS]))
@example(data=b"<n:domainbackup xmlns:n='urn:x'/>", schema="domainbackup")  # prefix in XPath
@example(data=b"<domaincheckpoint><name>\r</name></domaincheckpoint>", schema=None)
def test_validator_returns_located_problems(data: bytes, schema: str | None) -> None:
    event(check_validator(data, schema))


def check_validator(data: bytes, schema: str | None) -> str:
    """The validator never raises; each problem it returns fits on one located line."""
    result = schemas.validate_bytes(data, "doc.xml", schema)
    assert result.valid == (not result.problems)
    for problem in result.problems:
        assert_located(problem, "doc.xml")
    return "valid" if result.valid else "invalid"


@fuzz_settings(2500)
@given(data=documents, validate=st.booleans())
@example(  # whitespace-only text in an embedded element must not grow on each round trip
    data=(REPO / "examples" / "checkpoint" / "redefine.xml").read_bytes().replace(
        b"</domain>", b"<devices><memballoon model='virtio'>\n  </memballoon></devices></domain>"),
    validate=False,
)
@example(  # multi-line text in an embedded element is content: kept as written (found by atheris)
    data=(REPO / "examples" / "checkpoint" / "redefine.xml").read_bytes().replace(
        b"</domain>", b"<description>\n  A web server\n</description></domain>"),
    validate=False,
)
def test_model_raises_only_format_errors(data: bytes, validate: bool) -> None:
    event(check_model(data, validate))


def check_model(data: bytes, validate: bool) -> str:
    """The model raises only FormatError, and its canonical output is a fixed point."""
    try:
        model = formats.from_xml(data, "doc.xml", validate=validate)
    except FormatError:
        return "refused"
    text = formats.to_xml(model)
    assert formats.to_xml(formats.from_xml(text, "canonical.xml", validate=False)) == text
    # libvirt's semantic messages quote values as they are, newlines included.
    assert all(problem.path == "doc.xml" for problem in formats.check(model, "doc.xml"))
    with contextlib.suppress(FormatError):
        formats.align(model, DOMAIN, suffix="fuzz")
    return "modelled"


@pytest.fixture(scope="module")
def grammar_dir() -> Iterator[Path]:
    """A private copy of schemas/, so that a mutated grammar still finds what it includes."""
    directory = Path(tempfile.mkdtemp(prefix="gueststate-fuzz-"))
    shutil.copytree(REPO / "schemas", directory / "schemas")
    yield directory / "schemas"
    shutil.rmtree(directory)


@fuzz_settings(600)
@given(mutant=grammar_mutants(), entry=st.sampled_from(GRAMMARS))
def test_grammar_reader_raises_only_grammar_errors(
    grammar_dir: Path, mutant: tuple[str, bytes], entry: str
) -> None:
    name, data = mutant
    original = (REPO / "schemas" / name).read_bytes()
    (grammar_dir / name).write_bytes(data)
    try:
        model = read_grammar(grammar_dir / entry)
    except GrammarError as error:
        event("refused")
        assert_located(error.problem, error.problem.path)
    else:
        event("read")
        assert all(isinstance(path, str) for path, _, _ in walk_paths(model.start))
    finally:
        (grammar_dir / name).write_bytes(original)


@fuzz_settings(300)
@given(mutant=grammar_mutants(), entry=st.sampled_from(GRAMMARS))
def test_grammars_for_libxml2_compile_or_raise_schema_errors(
    grammar_dir: Path, mutant: tuple[str, bytes], entry: str
) -> None:
    """What ``--libvirt-schemas`` reads: the hardened loader, then libxml2, never a hang."""
    name, data = mutant
    original = (REPO / "schemas" / name).read_bytes()
    (grammar_dir / name).write_bytes(data)
    try:
        with time_limit(30):
            schemas.compiled.__wrapped__(grammar_dir / entry)  # not the per-process cache
        event("compiled")
    except schemas.SchemaError as error:
        event("refused")
        assert_located(error.problem, error.problem.path)
    finally:
        (grammar_dir / name).write_bytes(original)


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Fail instead of hanging: a blocked open or an endless loop raises after ``seconds``."""
    def expire(signum: int, frame: object) -> None:
        raise AssertionError(f"no answer after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@st.composite
def one_line_documents(draw: st.DrawFn, seeds: Seeds) -> bytes:
    """A seed (maybe mutated) on one huge line: an element repeated, or attributes piled up."""
    data = draw(st.sampled_from(seeds) | tree_mutants(seeds, TAGS, ATTRIBUTES, VALUES))
    try:
        root = etree.fromstring(data)
    except etree.XMLSyntaxError:
        return data.replace(b"\n", b" ")
    for element in root.iter():
        element.tail = None if (element.tail or "").strip() == "" else element.tail
        if len(element) and (element.text or "").strip() == "":
            element.text = None
    elements = [e for e in root.iter() if isinstance(e.tag, str)]
    element = draw(st.sampled_from(elements))
    count = draw(st.integers(1, 3000))
    if draw(st.booleans()) and element.getparent() is not None:
        parent = element.getparent()
        at = parent.index(element)
        for _ in range(count):
            parent.insert(at, etree.fromstring(etree.tostring(element, with_tail=False)))
    else:
        name = draw(st.sampled_from(ATTRIBUTES) | short_names)
        for index in range(count):
            element.set(f"{name}{index}", draw(st.sampled_from(VALUES)))
    return bytes(etree.tostring(root)).replace(b"\n", b" ")


@fuzz_settings(60)
@given(data=one_line_documents(SEEDS), schema=st.sampled_from([None, *schemas.FORMATS]))
def test_huge_single_lines_give_bounded_located_problems(data: bytes, schema: str | None) -> None:
    event(check_validator(data, schema))
    result = schemas.validate_bytes(data, "doc.xml", schema)
    assert len(result.problems) <= MAX_PROBLEMS + 1
    longest = max(len(line) for line in data.decode("utf-8", "replace").splitlines() or [""])
    assert all(problem.column <= longest + 1 for problem in result.problems)


#: File names as bytes: anything but '/' and NUL, never '.' or '..'.
hostile_names = st.binary(min_size=1, max_size=24).map(
    lambda raw: raw.replace(b"/", b"_").replace(b"\0", b"_")
).filter(lambda raw: raw not in (b".", b".."))


@fuzz_settings(150)
@given(name=hostile_names, kind=st.sampled_from(["document", "fifo", "loop", "dangling"]),
       data=documents, output=st.sampled_from(["text", "json"]))
@example(name=b"doc\nFORGED:9:9: ok\x1b[2J\xff.xml", kind="document",
         data=b"<domainbackup><x/></domainbackup>", output="text")
def test_cli_reports_any_file_in_lines_no_name_can_forge(
    name: bytes, kind: str, data: bytes, output: str
) -> None:
    """Special files and hostile names: exit 0, 1 or 2, escaped one-line reports, valid JSON."""
    with tempfile.TemporaryDirectory(prefix="gueststate-fuzz-") as folder:
        path = os.path.join(os.fsencode(folder), name)
        if kind == "document":
            with open(path, "wb") as stream:
                stream.write(data)
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "loop":
            os.symlink(name, path)
        else:
            os.symlink(b"absent", path)
        shown = printable(os.fsdecode(path))
        out, err = io.StringIO(), io.StringIO()
        with time_limit(30), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = cli.main(["validate", "--format", output, os.fsdecode(path)])
    event(f"{kind}: exit {status}")
    assert status in (0, 1, 2)
    assert (status == 2) == (kind != "document")
    for line in err.getvalue().splitlines():
        assert line.isprintable() and line.startswith(f"gueststate: {shown}: cannot read: ")
    assert len(err.getvalue().splitlines()) == (1 if status == 2 else 0)
    if output == "json":
        files = json.loads(out.getvalue().encode("utf-8"))["files"] if out.getvalue() else []
        for file in files:
            file["path"].encode("utf-8")  # no lone surrogate: valid UTF-8 for any reader
    else:
        for line in out.getvalue().splitlines():
            assert line.isprintable() and line.startswith(f"{shown}:"), line


def atheris_one_input(data: bytes) -> None:
    """The document properties above, on one input from atheris."""
    check_parser(data)
    check_validator(data, None)
    check_model(data, validate=False)


def main(argv: list[str]) -> None:
    """Coverage-guided fuzzing of the documents properties, seeded with :data:`SEEDS`."""
    try:
        atheris = importlib.import_module("atheris")
    except ImportError:
        sys.exit("tests/test_fuzz.py: atheris is not installed (pip install atheris)")
    seeds = Path(tempfile.mkdtemp(prefix="gueststate-atheris-"))
    for number, data in enumerate(SEEDS):
        (seeds / f"seed-{number:03}.xml").write_bytes(data)
    atheris.instrument_all()
    atheris.Setup([*argv, "-max_len=16384", str(seeds)], atheris_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
