"""The ``xml`` domain: elements and attributes of XML formats, named by path from the root.

Objects are ``element`` (``domainbackup/disks/disk``) and ``attribute``
(``domainbackup/disks/disk/@exportname``).  The ``rng-reference`` directive defines them from
a grammar; the directives ``xml:element`` and ``xml:attribute`` describe one by hand.  The
roles ``xml:element`` and ``xml:attribute`` link to them, ``~`` before the path shows only its
last step; a link that names nothing is warned about by :func:`warn_missing_reference`.  When
pages are written, each reference section's examples placeholder becomes links to the pages
whose examples use the element (as recorded by :mod:`gueststate.sphinxext.example`).  Modelled
on ``sphinx/domains/rst.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Set
from typing import TYPE_CHECKING, Any, ClassVar

from docutils import nodes
from sphinx import addnodes
from sphinx.directives import ObjectDescription
from sphinx.domains import Domain, Index, IndexEntry, ObjType
from sphinx.roles import XRefRole
from sphinx.util.nodes import make_refnode

from gueststate.sphinxext.example import examples_by_doc, examples_using
from gueststate.sphinxext.render import page_ids, xml_examples
from gueststate.sphinxext.warnings import Subtype, warn

if TYPE_CHECKING:
    from sphinx.addnodes import desc_signature, pending_xref
    from sphinx.application import Sphinx
    from sphinx.builders import Builder
    from sphinx.environment import BuildEnvironment
    from sphinx.util.typing import RoleFunction


#: (objtype, path) -> (docname, node id)
Objects = dict[tuple[str, str], tuple[str, str]]


class XMLObject(ObjectDescription[str]):
    """``xml:element PATH`` / ``xml:attribute PATH/@NAME``: describe one object by hand."""

    def handle_signature(self, sig: str, signode: desc_signature) -> str:
        path = sig.strip().strip("/")
        last = path.rsplit("/", 1)[-1]
        if (self.objtype == "attribute") != last.startswith("@") or not last.strip("@"):
            form = "ELEMENT/@NAME" if self.objtype == "attribute" else "a path without @"
            warn(
                Subtype.INVALID_NAME,
                f"an XML {self.objtype} is named {form}, not {path!r}",
                self.get_location(),
            )
            raise ValueError(path)  # Sphinx then shows the text and defines nothing
        parent = path[: len(path) - len(last)]
        if parent:
            signode += addnodes.desc_addname(parent, parent)
        shown = last if self.objtype == "attribute" else f"<{last}>"
        signode += addnodes.desc_name(shown, shown)
        return path

    def add_target_and_index(self, name: str, sig: str, signode: desc_signature) -> None:
        node_id = page_ids(self.state.document).get(self.objtype, name)
        signode["ids"].append(node_id)
        self.state.document.note_explicit_target(signode)
        domain = self.env.domains[XMLDomain.name]
        assert isinstance(domain, XMLDomain)
        domain.note_object(self.objtype, name, node_id, location=signode)
        if "no-index-entry" not in self.options:
            self.indexnode["entries"].append(
                ("single", f"{name} (XML {self.objtype})", node_id, "", None)
            )


class XMLXRefRole(XRefRole):
    """``{xml:element}`` / ``{xml:attribute}``: a leading ``~`` shows only the last step."""

    def process_link(
        self,
        env: BuildEnvironment,
        refnode: nodes.Element,
        has_explicit_title: bool,
        title: str,
        target: str,
    ) -> tuple[str, str]:
        target = target.strip().lstrip("~").strip("/")
        if not has_explicit_title and title.startswith("~"):
            title = target.rsplit("/", 1)[-1]
        elif not has_explicit_title:
            title = target
        return title, target


class XMLIndex(Index):
    """Every element and attribute, grouped by the root element of its format."""

    name = "index"
    localname = "XML element and attribute index"
    shortname = "XML index"

    def generate(
        self, docnames: Iterable[str] | None = None
    ) -> tuple[list[tuple[str, list[IndexEntry]]], bool]:
        wanted = None if docnames is None else set(docnames)
        groups: dict[str, list[IndexEntry]] = {}
        domain = self.domain
        assert isinstance(domain, XMLDomain)
        for (objtype, path), (docname, node_id) in sorted(
            domain.objects.items(), key=lambda item: item[0][1]
        ):
            if wanted is not None and docname not in wanted:
                continue
            root = path.split("/", 1)[0]
            groups.setdefault(root, []).append(
                IndexEntry(path, 0, docname, node_id, objtype, "", "")
            )
        return sorted(groups.items()), False


class XMLDomain(Domain):
    """Elements and attributes of XML formats."""

    name = "xml"
    label = "XML"
    object_types: ClassVar[dict[str, ObjType]] = {
        "element": ObjType("element", "element"),
        "attribute": ObjType("attribute", "attribute"),
    }
    roles: ClassVar[dict[str, RoleFunction | XRefRole]] = {
        "element": XMLXRefRole(warn_dangling=True),
        "attribute": XMLXRefRole(warn_dangling=True),
    }
    directives: ClassVar[dict[str, type[Any]]] = {"element": XMLObject, "attribute": XMLObject}
    indices: ClassVar[list[type[Index]]] = [XMLIndex]
    initial_data: ClassVar[dict[str, Any]] = {"objects": {}}
    #: Bump when the shape of ``self.data`` changes, so pickled environments are discarded.
    data_version = 1

    @property
    def objects(self) -> Objects:
        objects: Objects = self.data.setdefault("objects", {})
        return objects

    def note_object(self, objtype: str, path: str, node_id: str, location: Any = None) -> None:
        """Record that the current document defines ``path``; warn about a second definition."""
        # env.docname, not env.current_document (Sphinx >= 8.2 only): the same on every release
        self._store(objtype, path, self.env.docname, node_id, location)

    def clear_doc(self, docname: str) -> None:
        for key, (doc, _node_id) in list(self.objects.items()):
            if doc == docname:
                del self.objects[key]

    def merge_domaindata(self, docnames: Set[str], otherdata: dict[str, Any]) -> None:
        for (objtype, path), (doc, node_id) in otherdata["objects"].items():
            if doc in docnames:
                self._store(objtype, path, doc, node_id, location=doc)

    def _store(self, objtype: str, path: str, docname: str, node_id: str, location: Any) -> None:
        if (objtype, path) in self.objects:
            other, _ = self.objects[objtype, path]
            warn(
                Subtype.DUPLICATE,
                f"duplicate description of XML {objtype} {path}, other instance in {other}",
                location,
            )
        self.objects[objtype, path] = (docname, node_id)

    def resolve_xref(
        self,
        env: BuildEnvironment,
        fromdocname: str,
        builder: Builder,
        typ: str,
        target: str,
        node: pending_xref,
        contnode: nodes.Element,
    ) -> nodes.reference | None:
        found = self.objects.get((typ, target))
        if found is None:
            return None
        todocname, node_id = found
        return make_refnode(builder, fromdocname, todocname, node_id, contnode, target)

    def resolve_any_xref(
        self,
        env: BuildEnvironment,
        fromdocname: str,
        builder: Builder,
        target: str,
        node: pending_xref,
        contnode: nodes.Element,
    ) -> list[tuple[str, nodes.reference]]:
        results = []
        for objtype in self.object_types:
            found = self.objects.get((objtype, target))
            if found is not None:
                todocname, node_id = found
                ref = make_refnode(builder, fromdocname, todocname, node_id, contnode, target)
                results.append((f"xml:{objtype}", ref))
        return results

    def get_objects(self) -> Iterator[tuple[str, str, str, str, str, int]]:
        for (objtype, path), (docname, node_id) in self.objects.items():
            yield path, path, objtype, docname, node_id, 1

    def get_full_qualified_name(self, node: nodes.Element) -> str | None:
        target = node.get("reftarget")
        return str(target) if target else None


def warn_missing_reference(app: Sphinx, domain: Domain | None, node: pending_xref) -> bool | None:
    """``warn-missing-reference``: our own located warning, or none for generated links."""
    if domain is None or domain.name != XMLDomain.name:
        return None
    if node.get("xml_generated"):
        return True  # a link the reference renderer made to an element rendered elsewhere
    warn(Subtype.UNRESOLVED, f"unknown XML {node['reftype']}: {node['reftarget']}", node)
    return True


def link_examples(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """``doctree-resolved``: turn each examples placeholder into links, or drop it."""
    for placeholder in list(doctree.findall(xml_examples)):
        found = examples_using(app.env, placeholder["path"])
        if not found:
            placeholder.parent.remove(placeholder)
            continue
        paragraph = nodes.paragraph(classes=["xml-examples"])
        paragraph += nodes.strong(text="Examples: ")
        shown: set[str] = set()
        for use in found:
            if use.path in shown:
                continue
            if shown:
                paragraph += nodes.Text(", ")
            shown.add(use.path)
            text = nodes.literal(text=use.path)
            paragraph += make_refnode(app.builder, docname, use.docname, "", text, use.path)
        placeholder.replace_self(paragraph)


#: Attribute of the build environment: which examples use which paths, as last written.
_LINKED = "gueststate_example_links"


def rewrite_when_examples_change(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """``env-get-updated``: pages defining ``xml`` objects, when the examples changed.

    Their sections link to the examples that use each element, and those live on other
    pages: a page re-read for its examples must also rewrite the references.
    """
    now = frozenset(
        (use.docname, use.path, use.valid, use.paths)
        for uses in examples_by_doc(env).values()
        for use in uses
    )
    if getattr(env, _LINKED, None) == now:
        return []
    setattr(env, _LINKED, now)
    domain = env.domains[XMLDomain.name]
    assert isinstance(domain, XMLDomain)
    return sorted({docname for docname, _ in domain.objects.values()})
