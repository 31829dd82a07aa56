"""Element definitions to docutils nodes: an index of elements and one section per definition.

For grammars whose elements recur everywhere (DocBook, XHTML), like the element references of
TEI and DocBook: each :class:`~gueststate.rng.definitions.ElementDefinition` is one section
saying what it may contain (child elements are links to their own sections), which elements
contain it and where the grammar defines it.  Objects are named by the definition's key
(``para``, ``dc:title``, ``source[2]`` for a second definition of ``<source>``) and attributes
by ``KEY/@NAME`` (``para/@xml:lang``).  Built without a Sphinx build, like :mod:`.render`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from docutils import nodes
from sphinx import addnodes

from gueststate.forms import uses
from gueststate.rng.definitions import Definitions, ElementDefinition, NamedPattern
from gueststate.rng.model import Node
from gueststate.sphinxext.render import (
    DefinedObject,
    Ids,
    Rendered,
    describe_value,
    expression,
    field_item,
    joined,
    make_table,
    xref,
)


def render_definitions(
    definitions: Definitions,
    *,
    index: bool = True,
    describe_source: Callable[[str, int], str] | None = None,
    since_format: str = "{}",
    ids: Ids | None = None,
) -> Rendered:
    """The namespaces, an index of the elements, then one section per definition.

    ``ids`` gives the page's ids (see :class:`~gueststate.sphinxext.render.Ids`).
    """
    out = Rendered()
    elements = definitions.elements
    if not elements:
        return out
    ids = Ids() if ids is None else ids
    for element in elements:  # in document order, before any section asks
        ids.get("element", element.key)
    # Define names that read the same (db.para, db-para) get entries of their own, as paths do.
    refids = {pattern.key: ids.get("pattern", pattern.key) for pattern in definitions.patterns}
    if definitions.namespaces:
        out.nodes.append(_namespaces(definitions.namespaces))
    out.nodes.append(_element_index(elements))
    names = Counter(element.name for element in elements)
    groups = {pattern.key: pattern for pattern in definitions.patterns if pattern.attributes}
    for element in elements:
        out.nodes.append(_section(element, names[element.name] > 1, index, describe_source,
                                  since_format, out.objects, groups, ids, refids))
    if definitions.patterns:
        out.nodes.append(_patterns(definitions.patterns, describe_source, index, ids, refids))
    return out


def pattern_id(key: str) -> str:
    """The HTML id of a named pattern's entry, unless another one reads the same (see
    :class:`~gueststate.sphinxext.render.Ids`)."""
    return nodes.make_id(f"xml pattern {key}")


def _patterns(
    patterns: list[NamedPattern],
    describe_source: Callable[[str, int], str] | None,
    index: bool,
    ids: Ids,
    refids: dict[str, str],
) -> nodes.section:
    """The named patterns element contents refer to, one definition-list item each."""
    # "xml-named-patterns", or another id when the page renders a second grammar by definition
    section = nodes.section(ids=[ids.get("named", "patterns")], classes=["xml-patterns"])
    section += nodes.title(text="Named patterns")
    section += nodes.paragraph(text="Groups of content that many elements share, "
                                    "named as the grammar names them.")
    listing = nodes.definition_list()
    for pattern in patterns:
        # The id on the term: HTML writers drop the ids of a definition-list item, which
        # left every link to a named pattern pointing nowhere.
        term = nodes.term("", "", nodes.literal(text=pattern.key), ids=[refids[pattern.key]])
        if describe_source is not None and pattern.source is not None:
            term += nodes.Text(f" ({describe_source(*pattern.source)})")
        definition = nodes.definition()
        if pattern.attributes:
            # The rows are where the elements using the group define these attributes.
            table = _attributes([pattern.content], pattern.key, index, [], ids)
            if table is not None:
                definition += table
            inner = _groups_in([pattern.content], {p.key: p for p in patterns if p.attributes})
            if inner:
                also = nodes.paragraph(text="Also the attributes of ")
                also.extend(joined(([_pattern_link(key, refids)] for key in inner), ", "))
                definition += also
        else:
            body = nodes.paragraph()
            body.extend(content_expression([pattern.content], {}, refids))
            definition += body
        if pattern.used_by:
            used = nodes.paragraph(text="Used by ")
            used.extend(joined(([_user_link(user, refids)] for user in pattern.used_by), ", "))
            definition += used
        item = nodes.definition_list_item("", term, definition)
        listing += item
    section += listing
    return section


def _namespaces(namespaces: dict[str, str]) -> nodes.Node:
    """A table of the prefixes names are shown with and the namespaces they stand for."""
    rows: list[list[list[nodes.Node]]] = [
        [[nodes.literal(text=prefix) if prefix else nodes.Text("(none)")],
         [nodes.literal(text=uri)]]
        for prefix, uri in namespaces.items()
    ]
    box = nodes.container(classes=["xml-namespaces"])
    box += nodes.rubric(text="Namespaces")
    box += make_table(["Prefix", "Namespace"], rows, [[] for _ in rows])
    return box


def _element_index(elements: list[ElementDefinition]) -> nodes.Node:
    """Every element, alphabetically, each a link to its section."""
    ordered = sorted(elements, key=lambda element: (element.name.lower(), element.key))
    links: list[list[nodes.Node]] = [
        [xref("element", element.key, _title_tag(element), code=False)] for element in ordered]
    box = nodes.container(classes=["xml-element-index"])
    box += nodes.rubric(text=f"Elements ({len({element.name for element in elements})})")
    paragraph = nodes.paragraph()
    paragraph.extend(joined(links, ", "))
    box += paragraph
    return box


def _title_tag(element: ElementDefinition) -> str:
    number = element.key[len(element.name):]
    return f"<{element.name}>{number}"


def _section(
    element: ElementDefinition,
    several: bool,
    index: bool,
    describe_source: Callable[[str, int], str] | None,
    since_format: str,
    objects: list[DefinedObject],
    groups: dict[str, NamedPattern],
    ids: Ids,
    refids: dict[str, str],
) -> nodes.section:
    section_id = ids.get("element", element.key)
    section = nodes.section(ids=[section_id], classes=["xml-element"])
    title = f"<{element.name}>"
    if several and element.parents:
        title += f" in <{element.parents[0].name}>"
    elif several:
        title = _title_tag(element)
    section += nodes.title("", "", nodes.literal(text=title))
    objects.append(DefinedObject("element", element.key, section_id))
    if index:
        section += addnodes.index(entries=[_index_entry("element", element.key, section_id)])
    if element.documentation:
        section += nodes.paragraph(text=element.documentation)
    facts = nodes.field_list(classes=["xml-facts"])
    if element.namespace:
        facts += field_item("Namespace", [nodes.literal(text=element.namespace)])
    if element.since:
        facts += field_item("Since", [nodes.Text(since_format.format(element.since))])
    if element.parents:
        facts += field_item("Contained by", _containers(element, groups, refids))
    else:
        facts += field_item("Contained by", [nodes.Text("nothing: a root element")])
    facts += field_item("Content", content_expression(element.content, groups, refids))
    if describe_source is not None:
        facts += field_item("Defined at",
                            [nodes.literal(text=describe_source(*element.source))])
    section += facts
    table = _attributes(element.content, element.key, index, objects, ids)
    shared = _groups_in(element.content, groups)
    if table is not None or shared:
        section += nodes.rubric(text="Attributes")
    if table is not None:
        section += table
    if shared:
        paragraph = nodes.paragraph()
        paragraph += nodes.Text("Also the attributes of " if table is not None else
                                "The attributes of ")
        paragraph.extend(joined(([_pattern_link(key, refids)] for key in shared), ", "))
        paragraph += nodes.Text(".")
        section += paragraph
        defined = {obj.path for obj in objects if obj.path.startswith(element.key + "/@")}
        for key in shared:
            # Each one is an object of this element, defined at the shared row (the first
            # row met, when alternatives of the element share an attribute name).
            for (kind, path), _ in uses(groups[key].content, key).items():
                own = f"{element.key}/@{path.rsplit('/@', 1)[-1]}"
                if kind == "attribute" and own not in defined:
                    defined.add(own)
                    objects.append(DefinedObject("attribute", own, ids.get("attribute", path)))
    return section


def _containers(
    element: ElementDefinition, groups: dict[str, NamedPattern], refids: dict[str, str]
) -> list[nodes.Node]:
    """The parents that name it, then the named patterns that do (each a link)."""
    links: list[list[nodes.Node]] = [
        [xref("element", parent.key, _title_tag(parent), code=False)]
        for parent in element.direct_parents]
    via = [pattern.key for pattern in element.via if pattern.key not in groups]
    if via:
        words = "any element allowing " if not links else "and any element allowing "
        links.append([nodes.Text(words),
                      *joined(([_pattern_link(key, refids)] for key in via), ", ")])
    return joined(links, ", ")


def _groups_in(content: list[Node], groups: dict[str, NamedPattern]) -> list[str]:
    """The attribute groups ``content`` uses, those they use included, in order."""
    found: dict[str, None] = {}
    seen: set[int] = set()
    stack = list(reversed(content))
    while stack:
        node = stack.pop()
        if id(node) in seen or node.kind in ("ref", "attribute"):
            continue
        seen.add(id(node))
        if node.kind == "define" and node.name in groups:
            found.setdefault(node.name)
            stack.append(groups[node.name].content)
        else:
            stack.extend(reversed(node.children))
    return list(found)


def _user_link(user: ElementDefinition | NamedPattern, refids: dict[str, str]) -> nodes.Node:
    if isinstance(user, NamedPattern):
        return _pattern_link(user.key, refids)
    return xref("element", user.key, _title_tag(user), code=False)


def _pattern_link(key: str, refids: dict[str, str]) -> nodes.Node:
    return nodes.reference("", "", nodes.literal(text=key), internal=True,
                           refid=refids.get(key) or pattern_id(key))


def _index_entry(objtype: str, name: str, node_id: str) -> tuple[str, str, str, str, None]:
    return ("single", f"{name} (XML {objtype})", node_id, "", None)


def _attributes(
    content: list[Node], owner: str, index: bool, objects: list[DefinedObject], ids: Ids
) -> nodes.table | None:
    """One row per attribute of ``owner``: how often, what it holds, default and meaning."""
    counts = uses(Node("group", children=list(content)), owner)
    rows: list[list[list[nodes.Node]]] = []
    row_ids: list[list[str]] = []
    for (kind, path), (occurs, defined) in counts.items():
        if kind != "attribute":
            continue
        node_id = ids.get("attribute", path)
        objects.append(DefinedObject("attribute", path, node_id))
        name_cell: list[nodes.Node] = [nodes.literal(text=path.rsplit("/@", 1)[-1])]
        if index:
            name_cell.append(addnodes.index(entries=[_index_entry("attribute", path, node_id)]))
        values = joined((describe_value(node) for node in defined), " | ")
        default = next((node.default for node in defined if node.default is not None), None)
        meaning = next((node.documentation for node in defined if node.documentation), None)
        rows.append([
            name_cell,
            [nodes.Text(occurs.describe())],
            values,
            [nodes.literal(text=default, classes=["xml-value"])] if default is not None else [],
            [nodes.Text(meaning)] if meaning else [],
        ])
        row_ids.append([node_id])
    if not rows:
        return None
    return make_table(["Attribute", "Use", "Value", "Default", "Meaning"], rows, row_ids)




def content_expression(
    content: list[Node], groups: dict[str, NamedPattern], refids: dict[str, str] | None = None
) -> list[nodes.Node]:
    """An element's content without its attributes, compact-syntax style, children linked.

    ``groups``: the named attribute groups, left out like the attributes themselves;
    ``refids``: the ids of the named patterns' entries, by key.
    """
    known = refids or {}

    def named(node: Node) -> list[nodes.Node] | None:
        """A child element (a link to its entry) or a named pattern (a link to its section)."""
        if node.kind == "ref":
            return [xref("element", node.target or "", f"<{node.name}>", code=False)]
        if node.kind == "define":
            return [_pattern_link(node.name or "", known)]
        return None

    memo: dict[int, Node | None] = {}
    for group in groups.values():
        memo[id(group.content)] = None
    stripped = _strip(Node("group", children=list(content)), memo, set(groups))
    if stripped is None:
        return [nodes.Text("empty")]
    return expression(stripped, named)


def _strip(node: Node, memo: dict[int, Node | None], groups: set[str]) -> Node | None:
    """``node`` without attributes (``None`` when nothing else is left); shared parts once."""
    if id(node) in memo:
        return memo[id(node)]
    kept: Node | None
    if node.kind in ("attribute", "empty") or (node.kind == "define" and node.name in groups):
        kept = None
    elif node.kind in ("ref", "define", "text", "data", "value", "notAllowed"):
        kept = node
    else:
        children = [part for child in node.children if (part := _strip(child, memo, groups))]
        if not children:
            kept = Node("text") if node.kind == "mixed" else None
        elif node.kind in ("group", "interleave") and len(children) == 1:
            kept = children[0]
        else:
            kept = Node(node.kind, children=children)
    memo[id(node)] = kept
    return kept
