"""The ``rng-reference`` directive: a grammar's elements as reference sections.

``.. rng-reference:: schemas/domainbackup.rng`` (path relative to the source directory)
renders one section per element reachable from the grammar's start; ``:element: PATH`` renders
only that element and those below it; ``:no-index:`` renders without defining ``xml`` objects
(for a second rendering of the same grammar).  The grammar and every file it includes are
dependencies of the page, so editing one re-reads exactly the pages that render it.  A grammar
that cannot be read, or an element it does not have, is a located warning, never a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective
from sphinx.util.typing import OptionSpec

from gueststate.rng import ContentModel, GrammarError, read_grammar
from gueststate.sphinxext.domain import XMLDomain
from gueststate.sphinxext.outline import ElementEntry, outline
from gueststate.sphinxext.render import render
from gueststate.sphinxext.warnings import Subtype, warn

# Grammars read in this process, keyed by path, with the mtimes of every file they read.
_cache: dict[str, tuple[tuple[tuple[str, int], ...], ContentModel, list[ElementEntry]]] = {}


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
    }

    def run(self) -> list[nodes.Node]:
        relative = self.arguments[0].strip().lstrip("/")
        grammar = Path(self.env.srcdir, relative)
        # Noted even when missing: creating the file then re-reads this page.
        self.env.note_dependency(grammar)
        try:
            model, entries = load(grammar)
        except GrammarError as error:
            problem = error.problem
            warn(
                Subtype.GRAMMAR,
                f"cannot read grammar: {problem.message}",
                f"{problem.path}:{problem.line}",
            )
            return []
        except OSError as error:
            warn(
                Subtype.MISSING_FILE,
                f"cannot open grammar {relative}: {error.strerror or error}",
                self.get_location(),
            )
            return []
        for file in model.files:
            self.env.note_dependency(file)
        only = self.options.get("element", "").strip().strip("/")
        if only:
            entries = [e for e in entries if e.path == only or e.path.startswith(only + "/")]
            if not entries:
                warn(
                    Subtype.UNKNOWN_ELEMENT,
                    f"grammar {relative} has no element {only}",
                    self.get_location(),
                )
                return []
        indexed = "no-index" not in self.options
        rendered = render(
            entries,
            index=indexed,
            describe_source=self._describe_source,
            since_format=str(self.config.xml_reference_since),
        )
        if indexed:
            domain = self.env.domains[XMLDomain.name]
            assert isinstance(domain, XMLDomain)
            for defined in rendered.objects:
                domain.note_object(
                    defined.objtype, defined.path, defined.node_id, location=self.get_location()
                )
        return rendered.nodes

    def _describe_source(self, file: str, line: int) -> str:
        """``file:line`` relative to the source directory when the file lies inside it."""
        try:
            shown = Path(file).resolve().relative_to(Path(self.env.srcdir).resolve()).as_posix()
        except ValueError:
            shown = Path(file).name
        return f"{shown}:{line}"
