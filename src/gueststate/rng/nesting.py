"""How deep the reader follows patterns inside patterns, through references and files.

The reader's walks recurse, one level per pattern: a chain of 1,000 defines each referring to
the next, or of 150 files each an ``externalRef`` to the next, is a legal grammar (jing reads
it) deeper than Python's 1,000 frames.  So each walk counts the patterns it is inside and
refuses a grammar past :data:`MAX_NESTING`, at the ``ref``, ``externalRef`` or ``include`` it
followed last, and runs within :func:`room`, Python's limit raised to what that depth needs.
Work and memory stay linear: the depth only bounds the stack.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

#: Patterns one inside another, counted across references and files: a chain of 1,490 defines
#: that each refer to the next, of 740 that each hold a choice with the next, or of 490 files
#: that each hold an optional externalRef of the next is read.  Deeper, the C stack (8 MiB)
#: would be at risk on CPython 3.11, and a Sphinx page grows with the square of the depth:
#: those shapes take at most 180 MB to build at this bound (the 490 files' elements are
#: sections whose paths are 490 steps long).
MAX_NESTING = 1_500
#: Python frames a level costs at most, in the loader (a nested ``grammar`` is the deepest:
#: grammar, combined, body, group, patterns, a comprehension and pattern), the builders and
#: the outlines and renderings of their trees.
FRAMES_PER_LEVEL = 10
#: The message of the refusal, wherever it is found.
TOO_DEEP = (f"patterns nest too deeply to read: more than {MAX_NESTING} levels, counted "
            "through references and files")


@contextmanager
def room() -> Iterator[None]:
    """Python's recursion limit raised for :data:`MAX_NESTING` levels more while inside."""
    before = sys.getrecursionlimit()
    raised = before + MAX_NESTING * FRAMES_PER_LEVEL
    sys.setrecursionlimit(raised)
    try:
        yield
    finally:
        if sys.getrecursionlimit() == raised:  # nobody else changed it meanwhile
            sys.setrecursionlimit(before)
