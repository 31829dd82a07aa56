"""The site's ``version-matrix`` directive: what each libvirt release did, from its record.

`make matrix` runs the behaviour probes (``tests/live/behaviours.py``) on every release of the
matrix and writes what each answered into ``kbase/versions.json``; this directive turns that
file into the table of ``kbase/versions``, so the page shows exactly what was observed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective


def _version_key(release: str) -> tuple[int, ...]:
    return tuple(int(part) for part in release.split("."))


def _cell(*children: nodes.Node) -> nodes.entry:
    entry = nodes.entry()
    entry += nodes.paragraph("", "", *children)
    return entry


class VersionMatrix(SphinxDirective):
    """``version-matrix RECORDS``: a table with a row per behaviour and a column per release."""

    required_arguments = 1
    option_spec: ClassVar[dict[str, Any]] = {"class": directives.class_option}

    def run(self) -> list[nodes.Node]:
        path = Path(self.env.relfn2path(self.arguments[0], self.env.docname)[1])
        self.env.note_dependency(str(path))
        records = json.loads(path.read_text(encoding="utf-8"))
        releases = sorted(records["releases"], key=_version_key)
        table = nodes.table(classes=["version-matrix"])
        group = nodes.tgroup(cols=2 + len(releases))
        table += group
        for width in (30, 8, *[62 // max(len(releases), 1)] * len(releases)):
            group += nodes.colspec(colwidth=width)
        head = nodes.row()
        head += _cell(nodes.Text("Behaviour"))
        head += _cell(nodes.Text("Driver"))
        for release in releases:
            qemu = records["releases"][release]["qemu"]
            head += _cell(nodes.Text(f"libvirt {release}"), nodes.inline("", f" (QEMU {qemu})"))
        group += nodes.thead("", head)
        body = nodes.tbody()
        for key, row in records["behaviours"].items():
            line = nodes.row(ids=[f"behaviour-{key}"])
            link = addnodes.pending_xref(
                "", nodes.inline("", row["behaviour"]), refdomain="std", reftype="ref",
                reftarget=row["page"], refexplicit=True, refwarn=True,
            )
            line += _cell(link)
            line += _cell(nodes.Text(row["driver"]))
            for release in releases:
                answer = records["releases"][release]["observed"].get(key, "not observed")
                line += _cell(nodes.strong("", answer) if answer == "allowed"
                              else nodes.literal("", answer))
            body += line
        group += body
        return [table]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("version-matrix", VersionMatrix)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
