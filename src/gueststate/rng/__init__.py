"""The RELAX NG reader: any grammar in XML syntax to a content-model tree.

>>> model = read_grammar("schemas/domainbackup.rng")  # doctest: +SKIP
>>> model.start.kind, model.start.name  # doctest: +SKIP
('element', 'domainbackup')
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gueststate.problems import Problem
from gueststate.rng.bounds import check_bounds
from gueststate.rng.build import build as _build_tree
from gueststate.rng.errors import GrammarError
from gueststate.rng.loader import load, real_path
from gueststate.rng.model import ANY_NAME, Node, NodeKind, walk_paths
from gueststate.rng.nesting import room

__all__ = ["ANY_NAME", "ContentModel", "GrammarError", "Node", "NodeKind", "check_bounded",
           "read_grammar", "walk_paths"]


@dataclass(frozen=True)
class ContentModel:
    """A grammar's start pattern as a tree, and the absolute path of every file read for it."""

    start: Node
    files: tuple[str, ...]


def read_grammar(path: str | Path) -> ContentModel:
    """Read the grammar at ``path`` and everything it includes or references.

    Raises :class:`GrammarError` for a grammar that cannot be read (its ``problem`` locates the
    fault) and :class:`OSError` when ``path`` itself cannot be opened.  The tree may share
    subtrees between places; treat it as read-only.
    """
    try:
        with room():
            loaded = load(path)
            return ContentModel(_build_tree(loaded.start), loaded.files)
    except RecursionError:  # past what nesting.FRAMES_PER_LEVEL foresaw: still one line
        problem = Problem(real_path(path), 0, 0, "patterns nest too deeply to read")
        raise GrammarError(problem) from None


def check_bounded(path: str | Path) -> None:
    """Refuse the grammar at ``path`` where libxml2's work compiling it would have no bound.

    Only the pattern graph is read, never a content model expanded (see the module
    ``gueststate.rng.bounds``); errors as for :func:`read_grammar`.
    """
    try:
        check_bounds(load(path).start)
    except RecursionError:
        problem = Problem(real_path(path), 0, 0, "patterns nest too deeply to read")
        raise GrammarError(problem) from None
