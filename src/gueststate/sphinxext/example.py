"""The ``xml-example`` directive: show an XML file that the build has just validated.

``.. xml-example:: examples/backup/push-full.xml`` (path relative to the source directory)
renders the file highlighted as XML, under a caption that links to a copy of the file in the
HTML output (same relative path) and says which schema accepted it.  Options:

``:schema:``          a format name (``domainbackup``, ...), ``libvirt-domain`` or the path of a
                      RELAX NG grammar (``.rng``, relative to the source directory); detected
                      from the root element when absent (a ``<domain>`` root means
                      ``libvirt-domain``, a root listed in ``xml_example_formats`` its grammar)
``:invalid:``         the file is a counter-example that must fail with a message containing
                      this text
``:caption:``         text shown before the file name
``:emphasize-lines:`` lines to highlight, as for ``code-block``
``:lineno-start:``    show line numbers starting here

``xml_example_formats`` maps root elements to grammars for formats of your own:
``{"network": "schemas/network.rng", "{http://docbook.org/ns/docbook}article": "db.rng"}``
(a namespaced root in ``{URI}name`` form; grammar paths relative to the source directory).

``xml_example_libvirt_schemas`` (default: Debian's ``/usr/share/libvirt/schemas``) is libvirt's
schema directory: ``<domain>`` examples are validated with its ``domain.rng`` and the
``<domain>`` embedded in checkpoints and snapshots strictly too.  Set it to ``""`` to check
those only for well-formedness (the mark then says so).

Every problem is a warning of type ``xml`` (see :mod:`gueststate.sphinxext.warnings`) located
at the example file's line and column, naming the page that shows it, so ``-W`` fails the
build.  Each example file is a dependency of the page that shows it.  Compiled schemas stay in
the per-process cache of :mod:`gueststate.schemas`; the environment only holds
:class:`ExampleUse` records, which later stages (and the ``xml`` domain) read through
:func:`examples_by_doc` and :func:`examples_using`.
"""

from __future__ import annotations

import codecs
import functools
import os
import re
import shutil
import sys
from collections.abc import Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from lxml import etree
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.environment.collectors import EnvironmentCollector
from sphinx.util import parselinenos
from sphinx.util.docutils import SphinxDirective
from sphinx.util.osutil import relative_uri
from sphinx.util.typing import ExtensionMetadata

from gueststate import schemas, xmlsafe
from gueststate.problems import Problem
from gueststate.sphinxext.warnings import Subtype, warn
from gueststate.sphinxext.xmlpaths import document_paths

#: Schema name for a libvirt ``<domain>`` definition, checked with libvirt's own domain.rng.
LIBVIRT_DOMAIN = "libvirt-domain"
#: Attribute of the build environment holding ``{docname: [ExampleUse, ...]}``.
ENV_ATTRIBUTE = "gueststate_examples"
#: Attribute set on the literal block of every example, so site checks can tell it apart.
NODE_ATTRIBUTE = "xml_example"
#: The most bytes one example shows, and the examples of one page together: highlighting and
#: rendering take some 60 times the text in memory (an 8 MB example took 480 MB).
MAX_SHOWN_BYTES = 256 * 1024
MAX_SHOWN_PER_PAGE = 4 * 1024 * 1024
#: Key of the page's ``env.temp_data`` counting the bytes its examples show.
_SHOWN = "xml_example_shown_bytes"

#: Attribute of the caption's link to the example file.
FILE_ATTRIBUTE = "xml_example_file"


@dataclass(frozen=True)
class ExampleUse:
    """One example shown on one page, as recorded in the build environment."""

    path: str  # the example file, relative to the source directory, with '/' separators
    docname: str
    line: int  # line of the directive in the page
    schema: str | None  # what it was checked against (None: well-formedness only)
    expected_error: str | None  # the ``:invalid:`` text; None for a valid example
    paths: tuple[str, ...]  # element and attribute paths the document uses, sorted

    @property
    def valid(self) -> bool:
        """Whether this is an example (as opposed to a counter-example)."""
        return self.expected_error is None


@dataclass(frozen=True)
class Verdict:
    """What checking one example file found."""

    schema: str | None
    schema_file: str | None  # file name shown in the mark
    problems: tuple[Problem, ...]
    paths: tuple[str, ...]


def examples_by_doc(env: BuildEnvironment) -> dict[str, list[ExampleUse]]:
    """The examples each page shows; complete once every page has been read."""
    data: dict[str, list[ExampleUse]] | None = getattr(env, ENV_ATTRIBUTE, None)
    if data is None:
        data = {}
        setattr(env, ENV_ATTRIBUTE, data)
    return data


def examples_using(env: BuildEnvironment, path: str) -> list[ExampleUse]:
    """The valid examples that use the element or attribute ``path`` (``a/b/@c``), sorted."""
    found = [
        use
        for uses in examples_by_doc(env).values()
        for use in uses
        if use.valid and path in use.paths
    ]
    return sorted(found, key=lambda use: (use.docname, use.line))


def check_example(
    data: bytes, path: str, schema: str | None, libvirt_schemas: Path | None,
    formats: dict[str, Path] | None = None,
) -> Verdict:
    """Parse and validate one example document read from ``path``.

    ``schema`` may be a grammar's path (ending in ``.rng``); ``formats`` maps root elements
    (``name`` or ``{URI}name``) to the grammars of formats this project does not know.
    """
    try:
        tree = xmlsafe.parse_bytes(data, path)
    except xmlsafe.XMLParseError as error:
        return Verdict(schema, None, (error.problem,), ())
    root = tree.getroot()
    # interned, so that the pickled environment stores each path once; a tuple pickles fast
    paths = tuple(sorted(sys.intern(path) for path in document_paths(root)))
    grammar = _grammar_for(root, schema, formats or {})
    if grammar is not None:
        problems = schemas.validate_element(grammar, root, path, data)
        return Verdict(str(grammar), grammar.name, tuple(problems), paths)
    if schema == LIBVIRT_DOMAIN or (schema is None and root.tag == "domain"):
        if libvirt_schemas is None:
            return Verdict(None, None, (), paths)
        problems = schemas.validate_element(libvirt_schemas / "domain.rng", root, path, data)
        return Verdict(LIBVIRT_DOMAIN, "libvirt domain.rng", tuple(problems), paths)
    result = schemas.validate_tree(tree, path, schema, libvirt_schemas, source=data)
    schema_file = schemas.FORMATS.get(result.schema or "")
    return Verdict(result.schema, schema_file, result.problems, paths)


def _grammar_for(
    root: etree._Element, schema: str | None, formats: dict[str, Path]
) -> Path | None:
    """The grammar file a document is checked with, when it is not one of ours."""
    if schema is not None:
        return Path(schema) if schema.endswith(".rng") else None
    tag = root.tag if isinstance(root.tag, str) else ""
    return formats.get(tag)


def _schema_option(argument: str | None) -> str:
    value = (argument or "").strip()
    known = [*schemas.FORMATS, LIBVIRT_DOMAIN]
    if value not in known and not value.endswith(".rng"):
        raise ValueError(
            f"unknown schema {value!r} (known: {', '.join(known)}, or a grammar's .rng path)")
    return value


class XMLExample(SphinxDirective):
    """Show one validated example file."""

    required_arguments = 1
    final_argument_whitespace = False
    option_spec: ClassVar[dict[str, Any]] = {
        "schema": _schema_option,
        "invalid": directives.unchanged_required,
        "caption": directives.unchanged_required,
        "emphasize-lines": directives.unchanged_required,
        "lineno-start": directives.positive_int,
    }

    def run(self) -> list[nodes.Node]:
        page = self.get_location()
        srcdir = _resolved(str(self.env.srcdir))
        file = Path(os.path.realpath(os.path.join(srcdir, self.arguments[0].lstrip("/"))))
        if not file.is_relative_to(srcdir):
            warn(Subtype.MISSING_FILE, f"example {self.arguments[0]} is outside the source "
                  "directory", page)
            return []
        relative = file.relative_to(srcdir).as_posix()
        self.env.note_dependency(file)
        try:
            data = xmlsafe.read_bounded(file)
        except OSError as error:
            warn(Subtype.MISSING_FILE,
                 f"example {relative} cannot be read: {error.strerror or error}", page)
            return []
        expected = self.options.get("invalid")
        libvirt_dir = self.config.xml_example_libvirt_schemas
        schema = self.options.get("schema")
        if schema is not None and schema.endswith(".rng"):
            schema = str(Path(srcdir, schema.lstrip("/")))
        formats = {root: Path(srcdir, grammar.lstrip("/"))
                   for root, grammar in dict(self.config.xml_example_formats).items()}
        for grammar in [*formats.values(), *([Path(schema)] if schema else [])]:
            if grammar.suffix == ".rng":
                self.env.note_dependency(grammar)
        try:
            verdict = check_example(
                data, str(file), schema,
                Path(libvirt_dir) if libvirt_dir else None, formats,
            )
        except schemas.SchemaError as error:
            warn(Subtype.MISSING_FILE, f"example {relative} cannot be checked: {error}", page)
            verdict = Verdict(None, None, (), ())
            warned = True
        else:
            warned = self._report(relative, file, verdict, expected, page)
        if verdict.schema in schemas.FORMATS:
            self._depend_on_grammars()
        self._record(relative, verdict, expected)
        text = self._shown_text(relative, data, page, warned)
        return [self._render(relative, text, verdict, expected)]

    def _shown_text(self, relative: str, data: bytes, page: str, warned: bool) -> str | None:
        """The example's text; None when it is too large for the page, with a warning unless
        the example has had one (one warning an example)."""
        shown = int(self.env.temp_data.get(_SHOWN) or 0)
        if len(data) > MAX_SHOWN_BYTES:
            why = f"more than the {MAX_SHOWN_BYTES:,} an example may show"
        elif shown + len(data) > MAX_SHOWN_PER_PAGE:
            why = f"more than the {MAX_SHOWN_PER_PAGE:,} left for the page's examples"
        else:
            self.env.temp_data[_SHOWN] = shown + len(data)
            return _display_text(data)
        if not warned:
            warn(Subtype.TOO_LARGE,
                 f"example {relative} is not shown: {len(data):,} bytes, {why}", page)
        return None

    def _depend_on_grammars(self) -> None:
        """A schema edit re-reads the pages with examples; noted once per page."""
        grammars = _grammar_files()
        noted = self.env.dependencies.get(self.env.docname, set())
        if grammars and grammars[0] not in noted:
            for grammar in grammars:
                self.env.note_dependency(grammar)

    def _report(
        self, relative: str, file: Path, verdict: Verdict, expected: str | None, page: str
    ) -> bool:
        """Warn when the example is not what the page says it is; whether it did."""
        if expected is None:
            if verdict.problems:
                warn(
                    Subtype.INVALID_EXAMPLE,
                    f"example {relative} is invalid: {_describe(verdict.problems)} "
                    f"(shown at {page})",
                    _where(_best_located(verdict.problems)),
                )
            return bool(verdict.problems)
        if not verdict.problems:
            warn(
                Subtype.UNEXPECTED_VALID,
                f"counter-example {relative} passes "
                f"{verdict.schema_file or 'the well-formedness check'}, "
                f"but should fail with {expected!r} (shown at {page})",
                f"{file}:1",
            )
            return True
        if not any(expected in problem.message for problem in verdict.problems):
            warn(
                Subtype.WRONG_MESSAGE,
                f"counter-example {relative} should fail with {expected!r} but fails with "
                f"{_describe(verdict.problems)} "
                f"(shown at {page})",
                _where(_best_located(verdict.problems)),
            )
            return True
        return False

    def _record(self, relative: str, verdict: Verdict, expected: str | None) -> None:
        _source, line = self.get_source_info()
        use = ExampleUse(
            relative, self.env.docname, line or 0, verdict.schema, expected, verdict.paths
        )
        examples_by_doc(self.env).setdefault(self.env.docname, []).append(use)

    def _render(
        self, relative: str, text: str | None, verdict: Verdict, expected: str | None
    ) -> nodes.container:
        if text is None:  # too large to show
            text, language = "(not shown: too large; the file is linked above)", "none"
        else:
            language = "xml"
        literal = nodes.literal_block(text, text, language=language)
        literal[NODE_ATTRIBUTE] = relative
        self.set_source_info(literal)
        highlight_args: dict[str, Any] = {}
        if "emphasize-lines" in self.options and language == "xml":
            count = len(text.splitlines())
            try:
                lines = parselinenos(self.options["emphasize-lines"], count)
            except ValueError as error:
                raise self.error(f":emphasize-lines: {error}") from None
            highlight_args["hl_lines"] = [number + 1 for number in lines]
        if "lineno-start" in self.options:
            literal["linenos"] = True
            highlight_args["linenostart"] = self.options["lineno-start"]
        literal["highlight_args"] = highlight_args

        link = nodes.reference(relative, relative, internal=False)
        link[FILE_ATTRIBUTE] = relative  # its URI is set per builder, see link_example_files
        caption = nodes.caption("", "")
        if "caption" in self.options:
            caption += nodes.Text(self.options["caption"] + " ")
        caption += link
        mark = _mark(verdict, expected)
        caption += nodes.inline(mark, mark, classes=["xml-example-mark", "no-search"])
        self.set_source_info(caption)

        state = "valid" if expected is None else "counter"
        container = nodes.container(
            "", caption, literal, literal_block=True,
            classes=["literal-block-wrapper", "xml-example", f"xml-example-{state}"],
        )
        self.add_name(container)
        return container


_DECLARED_ENCODING = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def _display_text(data: bytes) -> str:
    """The example as a reader sees it: decoded as the document says.

    The file has been validated first, so a bad one already has its located warning; here it
    only has to be shown without failing (undecodable bytes become U+FFFD).
    """
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(encoding, "replace")
    declared = _DECLARED_ENCODING.match(data)
    if declared:
        # A name Python does not know, or a codec that is no text encoding ("undefined",
        # "rot13"): the parser has already warned about it; show the bytes as UTF-8.
        try:
            codec = codecs.lookup(declared.group(1).decode("ascii"))
            if codec._is_text_encoding:
                return data.decode(codec.name, "replace")
        except (LookupError, UnicodeError):
            pass
    return data.decode("utf-8", "replace")


def _forget_changed_grammars(app: Sphinx) -> None:
    """A build in a process that built before judges examples by the grammars as they are."""
    schemas.forget_changed_grammars()


@functools.cache
def _resolved(directory: str) -> Path:
    """The source directory with links resolved, once per process (it is asked per example)."""
    return Path(os.path.realpath(directory))


@functools.cache
def _grammar_files() -> tuple[Path, ...]:
    return tuple(sorted(schemas.schema_dir().resolve().glob("*.rng")))


def _mark(verdict: Verdict, expected: str | None) -> str:
    if expected is not None:
        matching = [p for p in verdict.problems if expected in p.message]
        shown = matching[0] if matching else None
        if shown is None:
            return f" · counter-example: should fail with “{expected}”"
        where = f" at line {shown.line}" if shown.line > 0 else ""
        return f" · counter-example: fails{where} with “{shown.message}”"
    if verdict.schema_file is None:
        return " · well-formed XML (no schema configured for it)"
    return f" · valid against {verdict.schema_file}"


def _best_located(problems: tuple[Problem, ...]) -> Problem:
    """libxml2 reports some problems without a line; prefer one that has it."""
    return next((problem for problem in problems if problem.line > 0), problems[0])


def _where(problem: Problem) -> str:
    """``path:line[:column]``; libxml2 gives 0 for an unknown line or column."""
    where = f"{problem.path}:{max(problem.line, 1)}"
    return f"{where}:{problem.column}" if problem.column > 0 else where


def _describe(problems: tuple[Problem, ...]) -> str:
    return "; ".join(
        f"line {problem.line}: {problem.message}" if problem.line > 0 else problem.message
        for problem in problems
    )




def link_example_files(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """``doctree-resolved``: point each caption at the copy of its file in the output.

    HTML output gets the example files at the same relative paths as in the source directory
    (see :func:`copy_example_files`); other builders show the file name without a link.
    """
    for link in list(doctree.findall(nodes.reference)):
        if FILE_ATTRIBUTE not in link:
            continue
        if app.builder.format == "html":
            link["refuri"] = relative_uri(app.builder.get_target_uri(docname), link[FILE_ATTRIBUTE])
        else:
            link.replace_self(link.children)


def copy_example_files(app: Sphinx, exception: BaseException | None) -> None:
    """``build-finished``: put every example file shown into the HTML output."""
    if exception is not None or app.builder.format != "html":
        return
    shown = {use.path for uses in examples_by_doc(app.env).values() for use in uses}
    for relative in sorted(shown):
        source = app.srcdir / relative
        if source.is_file():
            _publish(source, app.outdir / relative)


def _publish(source: Path, target: Path) -> None:
    """Hard-link ``source`` at ``target`` (copy it across file systems) unless already there.

    A link costs a twentieth of a copy, which matters with a thousand examples.
    """
    try:
        if target.samefile(source):
            return
        target.unlink()  # an older copy
    except FileNotFoundError:
        target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


class ExampleCollector(EnvironmentCollector):
    """Keeps the environment's example records right across rebuilds and parallel reads."""

    def clear_doc(self, app: Sphinx, env: BuildEnvironment, docname: str) -> None:
        examples_by_doc(env).pop(docname, None)

    def merge_other(
        self, app: Sphinx, env: BuildEnvironment, docnames: Set[str], other: BuildEnvironment
    ) -> None:
        mine = examples_by_doc(env)
        theirs = examples_by_doc(other)
        for docname in docnames:
            if docname in theirs:
                mine[docname] = theirs[docname]

    def process_doc(self, app: Sphinx, doctree: nodes.document) -> None:
        """Nothing to collect: the directive records its examples while the page is read."""


def setup(app: Sphinx) -> ExtensionMetadata:
    """Register the directive, its configuration and its environment collector."""
    app.add_config_value(
        "xml_example_libvirt_schemas", str(schemas.LIBVIRT_SCHEMA_DIR), "env",
        types=frozenset({str}),
    )
    # Root element ("name" or "{URI}name") -> grammar path relative to the source directory.
    app.add_config_value("xml_example_formats", {}, "env", types=frozenset({dict}))
    app.add_directive("xml-example", XMLExample)
    app.add_env_collector(ExampleCollector)
    app.connect("doctree-resolved", link_example_files)
    app.connect("build-finished", copy_example_files)
    app.connect("builder-inited", _forget_changed_grammars)
    return {"version": "1", "env_version": 2, "parallel_read_safe": True,
            "parallel_write_safe": True}
