"""The ``rng-reference`` directive: a grammar's elements as reference sections.

``.. rng-reference:: schemas/domainbackup.rng`` (path relative to the source directory)
renders one section per element reachable from the grammar's start; ``:element: PATH`` renders
only that element and those below it; ``:no-index:`` renders without defining ``xml`` objects
(for a second rendering of the same grammar); ``:by: path``, ``definition`` or ``auto``
chooses between one section per element path (configuration grammars like libvirt's) and an
index with one section per element definition (document grammars where elements recur, like
DocBook), ``auto`` taking paths unless they outnumber definitions :data:`PATHS_PER_DEFINITION`
times.  A legend of the content-model notation comes first.  The grammar and every file it
includes are dependencies of the page, so editing one re-reads exactly the pages that render
it.  A grammar that cannot be read, or an element it does not have, is a located warning, never
a traceback; so is one too large to render (:func:`too_large`), counted before any node is
made.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective
from sphinx.util.typing import OptionSpec

from gueststate.rng import ContentModel, GrammarError, read_grammar
from gueststate.rng.definitions import Definitions, ElementDefinition, read_definitions
from gueststate.rng.model import Node
from gueststate.rng.nesting import room
from gueststate.sphinxext.catalog import render_definitions
from gueststate.sphinxext.domain import XMLDomain
from gueststate.sphinxext.outline import ElementEntry, outline
from gueststate.sphinxext.render import Rendered, legend, page_ids, render
from gueststate.sphinxext.warnings import Subtype, warn

#: The most sections one ``rng-reference`` renders (``xml_reference_max_sections``).  Docutils
#: and Sphinx spend about 10 ms and 0.2 MB on each section however it is made (a build of a
#: flat grammar of 1,000 elements: 11 s and 250 MB; 2,000: 25 s and 430 MB), so a grammar of
#: thousands of elements would hold the build for minutes.  The largest real ones fit: libvirt's
#: domain grammar has 792 element paths and 588 definitions, DocBook 5.0 385 definitions, TEI
#: some 570 elements.
MAX_SECTIONS = 1000
#: Content-model terms (patterns, counted wherever a shared one appears) a reference renders,
#: per section allowed: libvirt's domain grammar by path has 14,000 in 792 sections.
TERMS_PER_SECTION = 20
#: The longest content model of one element: beyond this it is no help to a reader, and docutils
#: slows down with the square of a paragraph's links.  libvirt's longest has 841 terms.
MAX_MODEL_TERMS = 2000
#: ``auto`` renders by definition when element paths outnumber definitions this many times.
PATHS_PER_DEFINITION = 4
_BY = ("auto", "path", "definition")

# Grammars read in this process, keyed by path, with the mtimes of every file they read.
_cache: dict[str, tuple[tuple[tuple[str, int], ...], ContentModel, list[ElementEntry]]] = {}
_definitions: dict[str, tuple[tuple[tuple[str, int], ...], Definitions]] = {}


def load(path: Path) -> tuple[ContentModel, list[ElementEntry]]:
    """Read (or reuse) the grammar at ``path`` and its outline; errors as for read_grammar."""
    key = str(path)
    cached = _cache.get(key)
    if cached is not None and cached[0] == _stamps(cached[1].files):
        return cached[1], cached[2]
    model = read_grammar(path)
    entries = outline(model.start)
    _cache[key] = (_stamps(model.files), model, entries)
    return model, entries


def load_definitions(path: Path) -> Definitions:
    """Read (or reuse) the grammar at ``path`` as element definitions."""
    key = str(path)
    cached = _definitions.get(key)
    if cached is not None and cached[0] == _stamps(cached[1].files):
        return cached[1]
    found = read_definitions(path)
    _definitions[key] = (_stamps(found.files), found)
    return found


def by_path_reads_well(definitions: Definitions) -> bool:
    """Whether the element paths stay within :data:`PATHS_PER_DEFINITION` per definition.

    Counts distinct paths from the roots, a definition already on the path not entered
    again, and stops at the bound: the work is bounded by the bound.
    """
    limit = PATHS_PER_DEFINITION * max(len(definitions.elements), 1)
    children = _children(definitions)
    seen: set[str] = set()
    stack: list[tuple[ElementDefinition, str, frozenset[int]]] = [
        (root, root.name, frozenset()) for root in definitions.roots]
    while stack:
        element, path, above = stack.pop()
        if path in seen:
            continue
        seen.add(path)
        if len(seen) > limit:
            return False
        inside = above | {id(element)}
        stack.extend((child, f"{path}/{child.name}", inside)
                     for child in children.get(id(element), []) if id(child) not in inside)
    return True


def _children(definitions: Definitions) -> dict[int, list[ElementDefinition]]:
    children: dict[int, list[ElementDefinition]] = {}
    for element in definitions.elements:
        for parent in element.parents:
            children.setdefault(id(parent), []).append(element)
    return children


def _below(definitions: Definitions, key: str) -> Definitions | None:
    """Only the definition ``key`` and those it may contain, or None if there is none."""
    first = definitions.by_key().get(key)
    if first is None:
        return None
    children = _children(definitions)
    kept: dict[int, ElementDefinition] = {id(first): first}
    todo = [first]
    while todo:
        for child in children.get(id(todo.pop()), []):
            if id(child) not in kept:
                kept[id(child)] = child
                todo.append(child)
    elements = [element for element in definitions.elements if id(element) in kept]
    return Definitions([first], elements, definitions.patterns, definitions.namespaces,
                       definitions.files)


def too_large(
    sections: int, models: Iterable[tuple[str, list[Node]]], max_sections: int
) -> str | None:
    """Why a reference of ``sections`` sections and these ``(element, content)`` models is too
    large to render, or None.

    Counts each model's patterns, a shared pattern wherever it appears, with one count per
    distinct node (memoised), so a grammar sharing a group 2^14 times is measured, not
    expanded: each model's count is exact, and the models are added up until the bound.
    """
    if sections > max_sections:
        return (f"{sections} sections, more than the {max_sections} of "
                f"xml_reference_max_sections")
    limit = TERMS_PER_SECTION * max(max_sections, 1)
    sizes: dict[int, int] = {}
    total = 0
    for name, content in models:
        terms = sum(_terms(node, sizes) for node in content)
        if terms > MAX_MODEL_TERMS:
            return (f"the content model of <{name}> has {terms} terms, more than the "
                    f"{MAX_MODEL_TERMS} a page shows")
        total += terms
        if total > limit:
            return (f"more than {limit} content-model terms ({TERMS_PER_SECTION} per section "
                    f"of xml_reference_max_sections)")
    return None


def _terms(node: Node, sizes: dict[int, int]) -> int:
    """Patterns of ``node`` as a content model shows them: child elements and references are
    one term, since their content is shown in their own section."""
    size = sizes.get(id(node))
    if size is None:
        size = 1
        if node.kind not in ("element", "ref", "define"):
            size += sum(_terms(child, sizes) for child in node.children)
        sizes[id(node)] = size
    return size


def _stamps(files: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    stamps = []
    for file in files:
        try:
            stamps.append((file, os.stat(file).st_mtime_ns))
        except OSError:
            stamps.append((file, -1))
    return tuple(stamps)


class RngReference(SphinxDirective):
    """Render a RELAX NG grammar, or one element of it, as reference sections."""

    required_arguments = 1
    optional_arguments = 0
    final_argument_whitespace = False
    has_content = False
    option_spec: ClassVar[OptionSpec] = {
        "element": directives.unchanged_required,
        "no-index": directives.flag,
        "by": lambda argument: directives.choice(argument, _BY),
    }

    def run(self) -> list[nodes.Node]:
        relative = self.arguments[0].strip().lstrip("/")
        grammar = Path(self.env.srcdir, relative)
        # Noted even when missing: creating the file then re-reads this page.
        self.env.note_dependency(grammar)
        try:
            # The grammar itself, before any reading: a missing file or a symlink loop is an
            # OSError here on every Python (3.11's Path.resolve raises RuntimeError for a loop).
            os.stat(grammar)
            # The tree is as deep as the reader allows, and so are the walks that render it.
            with room():
                rendered = self._render(grammar, relative)
        except GrammarError as error:
            problem = error.problem
            warn(
                Subtype.GRAMMAR,
                f"cannot read grammar: {problem.message}",
                f"{problem.path}:{problem.line}",
            )
            return []
        except OSError as error:
            reason = error.strerror or str(error)
            if error.filename and Path(os.fsdecode(error.filename)) != grammar:
                reason += f": {os.fsdecode(error.filename)}"  # a file the grammar includes
            warn(
                Subtype.MISSING_FILE,
                f"cannot open grammar {relative}: {reason}",
                self.get_location(),
            )
            return []
        except RecursionError:
            # The readers refuse patterns nested past their own bound; this is the same
            # refusal should the outline or the rendering nest deeper than Python allows.
            warn(Subtype.GRAMMAR, f"cannot render grammar {relative}: its patterns nest too "
                                  f"deeply", self.get_location())
            return []
        except MemoryError:
            # The reader's bounds keep any grammar well within memory; a build allowed less
            # still goes on, with a warning.  What was read is freed by now.
            self._too_large(relative, "not enough memory to read it")
            return []
        if rendered is None:
            return []
        if "no-index" not in self.options:
            domain = self.env.domains[XMLDomain.name]
            assert isinstance(domain, XMLDomain)
            for defined in rendered.objects:
                domain.note_object(
                    defined.objtype, defined.path, defined.node_id, location=self.get_location()
                )
        return [legend(), *rendered.nodes]

    def _render(self, grammar: Path, relative: str) -> Rendered | None:
        """The grammar rendered by path or by definition; None after a warning."""
        by = self.options.get("by") or str(self.config.xml_reference_by)
        if by not in _BY:
            warn(Subtype.GRAMMAR, f"xml_reference_by must be one of {', '.join(_BY)}, "
                                  f"not {by!r}", self.get_location())
            by = "auto"
        definitions = None
        if by != "path":
            definitions = load_definitions(grammar)
            for file in definitions.files:
                self.env.note_dependency(file)
            if by == "auto" and by_path_reads_well(definitions):
                definitions = None
        only = self.options.get("element", "").strip().strip("/")
        indexed = "no-index" not in self.options
        since_format = str(self.config.xml_reference_since)
        if definitions is not None:
            if only:
                definitions = _below(definitions, only)
                if definitions is None:
                    self._unknown(relative, only)
                    return None
            problem = too_large(
                len(definitions.elements) + bool(definitions.patterns),
                [*((e.key, e.content) for e in definitions.elements),
                 *((p.key, [p.content]) for p in definitions.patterns)],
                self._max_sections())
            if problem is not None:
                self._too_large(relative, problem)
                return None
            return render_definitions(definitions, index=indexed,
                                      describe_source=self._describe_source,
                                      since_format=since_format,
                                      ids=page_ids(self.state.document))
        model, entries = load(grammar)
        for file in model.files:
            self.env.note_dependency(file)
        if only:
            entries = [e for e in entries if e.path == only or e.path.startswith(only + "/")]
            if not entries:
                self._unknown(relative, only)
                return None
        problem = too_large(len(entries), ((e.name, [v.content for v in e.variants])
                                           for e in entries), self._max_sections())
        if problem is not None:
            self._too_large(relative, problem)
            return None
        return render(entries, index=indexed, describe_source=self._describe_source,
                      since_format=since_format, ids=page_ids(self.state.document))

    def _max_sections(self) -> int:
        value = self.config.xml_reference_max_sections
        return value if isinstance(value, int) else MAX_SECTIONS

    def _too_large(self, relative: str, problem: str) -> None:
        warn(Subtype.TOO_LARGE, f"grammar {relative} is too large to render: {problem}; "
                                f"rendered nothing", self.get_location())

    def _unknown(self, relative: str, only: str) -> None:
        warn(Subtype.UNKNOWN_ELEMENT, f"grammar {relative} has no element {only}",
             self.get_location())

    def _describe_source(self, file: str, line: int) -> str:
        """``file:line`` relative to the source directory when the file lies inside it."""
        # realpath, not Path.resolve: on Python 3.11 the latter raises RuntimeError on a loop.
        srcdir = os.path.realpath(self.env.srcdir)
        try:
            shown = Path(os.path.realpath(file)).relative_to(srcdir).as_posix()
        except ValueError:
            shown = Path(file).name
        return f"{shown}:{line}"
