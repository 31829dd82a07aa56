"""Content model to docutils nodes: one section per element, built without a Sphinx build.

:func:`render` turns the entries of :func:`~gueststate.sphinxext.outline.outline` into sections
(path, meaning, content model, attribute table, child elements, contained by) and lists the
objects it defines, so the directive can register them with the ``xml`` domain.  A part defined
exactly like another (see :func:`~gueststate.sphinxext.outline.repeats`) is a short section
that links to it; what lies below it defines its objects at the sections shown in full.  Links
between elements are ``pending_xref`` nodes of that domain, marked ``xml_generated`` so a link
to an element rendered nowhere stays plain text instead of warning.
"""

from __future__ import annotations

import hashlib
import re
import weakref
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from docutils import nodes
from sphinx import addnodes

from gueststate.forms import join_path, lead, step_name
from gueststate.rng.model import Node
from gueststate.sphinxext.outline import ElementEntry, Use, Variant, repeats


class xml_examples(nodes.General, nodes.Element):
    """Placeholder for the examples that show an element, filled in when the page is written."""


@dataclass(frozen=True)
class DefinedObject:
    """An ``xml`` domain object a rendered page defines."""

    objtype: str  # "element" or "attribute"
    path: str
    node_id: str


@dataclass
class Rendered:
    """The nodes of a reference and the objects they define."""

    nodes: list[nodes.Node] = field(default_factory=list)
    objects: list[DefinedObject] = field(default_factory=list)


def object_id(objtype: str, path: str) -> str:
    """The HTML id of an element or attribute, derived from its path (never its position).

    Readable from the path (``xml-element-domainbackup-disks``); a path with characters the
    readable form drops (``x/日`` would read ``xml-element-x``) ends in a hash of the exact
    path instead, so it can never take the id of another.  Paths that differ only in
    punctuation or case (``a.b``, ``a_b``, ``A_B``) are told apart by :class:`Ids`.
    """
    readable = path.replace("*", "any").replace("@", "attr-").replace("|", "-or-")
    plain = nodes.make_id(f"xml {objtype} {readable}")
    return plain if path.isascii() else _hashed(plain, path)


def _hashed(plain: str, path: str) -> str:
    digest = hashlib.blake2s(path.encode("utf-8", "surrogatepass"), digest_size=4).hexdigest()
    return f"{plain}-{digest}"


class Ids:
    """The HTML ids of one rendering's objects: each path's :func:`object_id`, unless another
    path met earlier has it, then that id with a hash of the exact path.

    ``x/a.b``, ``x/a-b`` and ``x/a_b`` all read ``xml-element-x-a-b``: the first keeps it, so
    ordinary names keep the ids other pages link to, and the others stay stable as long as
    the paths do.  ``taken``: the ids the page already has, shared with (and added to by)
    every rendering on it, so a second rendering of a grammar gets ids of its own.
    """

    def __init__(self, taken: set[str] | None = None) -> None:
        self._ids: dict[tuple[str, str], str] = {}
        self._taken = set() if taken is None else taken

    def get(self, objtype: str, path: str) -> str:
        """The id of ``path``, the same every time it is asked for."""
        key = (objtype, path)
        node_id = self._ids.get(key)
        if node_id is None:
            plain = node_id = object_id(objtype, path)
            salt = 0
            while node_id in self._taken:
                salt += 1
                node_id = _hashed(plain, path if salt == 1 else f"{path}#{salt}")
            self._taken.add(node_id)
            self._ids[key] = node_id
        return node_id


_pages: weakref.WeakKeyDictionary[nodes.document, set[str]] = weakref.WeakKeyDictionary()


def page_ids(document: nodes.document) -> Ids:
    """:class:`Ids` for one rendering on the page being read, which knows the ids of every
    rendering before it and of the page's own targets, so two grammars (or a grammar and a
    hand-written ``xml:element``) on one page never share an id."""
    taken = _pages.setdefault(document, set())
    taken.update(document.ids)
    return Ids(taken)


@dataclass(frozen=True)
class _Style:
    """What stays the same for every section of one rendering."""

    index: bool
    describe_source: Callable[[str, int], str] | None
    since_format: str
    meanings: dict[str, str]  # element path -> its documentation, for rows naming it
    ids: Ids


def render(
    entries: Iterable[ElementEntry],
    *,
    index: bool = True,
    describe_source: Callable[[str, int], str] | None = None,
    since_format: str = "{}",
    ids: Ids | None = None,
) -> Rendered:
    """One section per entry.

    ``index`` adds general-index entries for every object; ``describe_source(file, line)``
    names where each element is defined; ``since_format`` shows a ``since`` version
    (``"libvirt {}"``); ``ids`` gives the page's ids (a page rendering several grammars
    shares one).
    """
    entries = list(entries)
    meanings = {entry.path: entry.documentation for entry in entries if entry.documentation}
    shown_at = repeats(entries)
    ids = Ids() if ids is None else ids
    for entry in entries:  # ids in document order, whatever order the sections ask for them
        if entry.path.rpartition("/")[0] in shown_at and entry.path in shown_at:
            continue
        ids.get("element", entry.path)
        for path in entry.attribute_paths():
            ids.get("attribute", path)
    style = _Style(index, describe_source, since_format, meanings, ids)
    names = Counter(entry.name for entry in entries)
    out = Rendered()
    for entry in entries:
        parent = entry.path.rpartition("/")[0]
        if parent in shown_at and entry.path in shown_at:
            # Inside a repeated part: its objects are those of the entry shown in full.
            _note_repeated(entry, shown_at[entry.path], out.objects, ids)
            continue
        title = f"<{entry.name}>"
        if names[entry.name] > 1 and entry.parents:
            title += f" in <{entry.parents[0].rsplit('/', 1)[-1]}>"
        if entry.path in shown_at:
            out.nodes.append(_repeat_section(entry, title, shown_at[entry.path], style, out))
            continue
        repeated_at = [path for path, same in shown_at.items()
                       if same == entry.path and path.rpartition("/")[0] not in shown_at]
        out.nodes.append(_section(entry, title, style, out.objects, repeated_at))
    return out


#: What the marks of a content model mean, shown once above every reference.
LEGEND = (
    ("a, b", "a then b, in this order"),
    ("a & b", "a and b, in any order"),
    ("a | b", "a or b"),
    ("a?", "a, optional"),
    ("a*", "zero or more a"),
    ("a+", "one or more a"),
)


def legend() -> nodes.paragraph:
    """One line that says how to read a content model: ``a, b`` in order, ``a | b`` either."""
    parts = [[nodes.literal(text=mark), nodes.Text(f": {meaning}")] for mark, meaning in LEGEND]
    paragraph = nodes.paragraph(classes=["xml-legend"])
    paragraph += nodes.Text("Content models read: ")
    paragraph.extend(joined(parts, "; "))
    paragraph += nodes.Text(".")
    return paragraph


def _note_repeated(
    entry: ElementEntry, same: str, objects: list[DefinedObject], ids: Ids
) -> None:
    """Define ``entry`` and its attributes at the sections and rows of the entry ``same``."""
    objects.append(DefinedObject("element", entry.path, ids.get("element", same)))
    objects.extend(_attributes_at(entry, same, ids))


def _attributes_at(entry: ElementEntry, same: str, ids: Ids) -> list[DefinedObject]:
    """The attributes of ``entry``, defined at the rows of the entry ``same``."""
    return [
        DefinedObject(
            "attribute", path, ids.get("attribute", join_path(same, path.rsplit("/", 1)[-1]))
        )
        for path in entry.attribute_paths()
    ]


def _repeat_section(
    entry: ElementEntry, title: str, same: str, style: _Style, out: Rendered
) -> nodes.section:
    """A short section for an element defined exactly like the one at ``same``: a link there."""
    section = _new_section(entry, title, style, out.objects, "xml-repeat")
    facts = nodes.field_list(classes=["xml-facts"])
    facts += field_item("Path", [nodes.literal(text=entry.path)])
    if entry.since:
        facts += field_item("Since", [nodes.Text(style.since_format.format(entry.since))])
    facts += field_item("Contained by", _parent_links(entry.parents))
    facts += field_item("Defined as", [
        xref("element", same, same),
        nodes.Text(": the same attributes, content and child elements, described there."),
    ])
    section += facts
    out.objects.extend(_attributes_at(entry, same, style.ids))
    section += xml_examples(path=entry.path)
    return section


def _section(
    entry: ElementEntry,
    title: str,
    style: _Style,
    objects: list[DefinedObject],
    repeated_at: list[str],
) -> nodes.section:
    section = _new_section(entry, title, style, objects)
    section += _facts(entry, style, repeated_at)
    attributes = entry.attribute_paths()
    if attributes:
        section += nodes.rubric(text="Attributes")
        section += _uses_table(entry, "attribute", attributes, style, objects)
    children = entry.child_paths()
    if children:
        section += nodes.rubric(text="Child elements")
        section += _uses_table(entry, "element", children, style, [])
    section += xml_examples(path=entry.path)
    return section


def _new_section(
    entry: ElementEntry, title: str, style: _Style, objects: list[DefinedObject], *classes: str
) -> nodes.section:
    """The section of ``entry`` with its title, index entry and documentation; defines it."""
    section_id = style.ids.get("element", entry.path)
    section = nodes.section(ids=[section_id], classes=["xml-element", *classes])
    section += nodes.title("", "", nodes.literal(text=title))
    objects.append(DefinedObject("element", entry.path, section_id))
    if style.index:
        section += addnodes.index(entries=[_index_entry("element", entry.path, section_id)])
    if entry.documentation:
        section += nodes.paragraph(text=entry.documentation)
    return section


def _index_entry(objtype: str, path: str, node_id: str) -> tuple[str, str, str, str, None]:
    return ("single", f"{path} (XML {objtype})", node_id, "", None)


def _facts(entry: ElementEntry, style: _Style, repeated_at: list[str]) -> nodes.Element:
    facts = nodes.field_list(classes=["xml-facts"])
    facts += field_item("Path", [nodes.literal(text=entry.path)])
    if entry.since:
        facts += field_item("Since", [nodes.Text(style.since_format.format(entry.since))])
    if entry.parents:
        facts += field_item("Contained by", _parent_links(entry.parents))
    else:
        facts += field_item("Contained by", [nodes.Text("nothing: this is the root element")])
    if repeated_at:
        also: list[nodes.Node] = [xref("element", path, path) for path in repeated_at]
        facts += field_item("Also at", joined(([link] for link in also), ", "))
    models = [content_model(variant.content, entry.path) for variant in entry.variants]
    contents = len({_text(model) for model in models})  # several: a table tells them apart
    if contents > 1:
        # The table of forms and their content below names them.
        facts += field_item("Forms", [nodes.Text(f"{len(entry.variants)}, below")])
    elif len(entry.variants) > 1:
        labels = "; ".join(_full_labels(entry.variants))
        facts += field_item("Forms", label_nodes(f"{len(entry.variants)}: {labels}"))
    if contents == 1:
        facts += field_item("Content", models[0])
    if entry.node.source and style.describe_source is not None:
        file, line = entry.node.source
        facts += field_item("Defined at", [nodes.literal(text=style.describe_source(file, line))])
    if contents > 1:
        rows: list[list[list[nodes.Node]]] = [
            [label_nodes(label), model]
            for label, model in zip(short_labels(entry.variants), models, strict=True)
        ]
        return _wrap(facts, make_table(["Form", "Content"], rows, [[] for _ in rows]))
    return facts


def _text(parts: list[nodes.Node]) -> str:
    return "".join(part.astext() for part in parts)


def _wrap(*parts: nodes.Node) -> nodes.container:
    box = nodes.container(classes=["xml-forms"])
    box.extend(parts)
    return box


def field_item(name: str, body: list[nodes.Node]) -> nodes.field:
    paragraph = nodes.paragraph()
    paragraph.extend(body)
    return nodes.field("", nodes.field_name(text=name), nodes.field_body("", paragraph))


def _full_labels(variants: list[Variant]) -> list[str]:
    return [(v.label or f"form {i + 1}").rstrip(".") for i, v in enumerate(variants)]


def short_labels(variants: list[Variant]) -> list[str]:
    """Labels short enough for a column header, still telling every form apart.

    A label's lead-in before a colon stands for it (``Push mode: libvirt writes ...`` is
    ``Push mode``), first for the whole label, then for each of its `` / `` parts.
    """
    full = _full_labels(variants)
    for candidate in (
        [lead(label) for label in full],
        [" / ".join(lead(part) for part in label.split(" / ")) for label in full],
    ):
        if len(set(candidate)) == len(candidate):
            return candidate
    return full


def _parent_links(parents: list[str]) -> list[nodes.Node]:
    """Links to the parents, ``<source> in <dataStore>`` where two would read the same."""
    tags = [_tag(path) for path in parents]
    shown = [
        f"{tag} in {_tag(path.rsplit('/', 1)[0])}" if tags.count(tag) > 1 and "/" in path else tag
        for tag, path in zip(tags, parents, strict=True)
    ]
    links: list[nodes.Node] = [xref("element", p, t) for p, t in zip(parents, shown, strict=True)]
    return joined(([link] for link in links), ", ")


#: ``type="file"`` or ``snapshot="no" or "internal"`` inside a label: XML, shown as code.
_XML_IN_LABEL = re.compile(r'[\w:.-]+="[^"]*"(?: or "[^"]*")*')


def label_nodes(label: str) -> list[nodes.Node]:
    """A label as text, the attribute values in it as code (never curled into smart quotes)."""
    out: list[nodes.Node] = []
    end = 0
    for match in _XML_IN_LABEL.finditer(label):
        if match.start() > end:
            out.append(nodes.Text(label[end:match.start()]))
        out.append(nodes.literal(text=match.group(), classes=["xml-value"]))
        end = match.end()
    if end < len(label):
        out.append(nodes.Text(label[end:]))
    return out


def _tag(path: str) -> str:
    return f"<{path.rsplit('/', 1)[-1]}>"


def xref(objtype: str, path: str, text: str, *, code: bool = True) -> addnodes.pending_xref:
    """A generated link to an ``xml`` object; unresolved, it quietly stays text.

    ``code=False`` shows the text plain: a third of the HTML, for pages with thousands of
    links (the element references of document grammars).
    """
    ref = addnodes.pending_xref(
        "",
        nodes.literal(text=text) if code else nodes.Text(text),
        refdomain="xml",
        reftype=objtype,
        reftarget=path,
        refexplicit=True,
        refwarn=False,
    )
    ref["xml_generated"] = True
    return ref


def joined(groups: Iterable[list[nodes.Node]], separator: str) -> list[nodes.Node]:
    """The nodes of every group in order, with ``separator`` text between two groups."""
    out: list[nodes.Node] = []
    for i, group in enumerate(groups):
        if i:
            out.append(nodes.Text(separator))
        out.extend(group)
    return out


#: Up to this many forms, an element's attributes and children show one column per form.
SIDE_BY_SIDE_MAX = 4


@dataclass(frozen=True)
class _Notes:
    """What a row says beside the use itself."""

    default: str | None
    since: str | None
    meaning: str | None


def _uses_table(
    entry: ElementEntry,
    kind: str,
    paths: list[str],
    style: _Style,
    objects: list[DefinedObject],
) -> nodes.table:
    """Attributes or child elements, one column per form when there are a few forms.

    With more forms, each way the forms use an attribute or child is a row that names those
    forms and gives that way's default, version and meaning.  The Default and Since columns
    appear only when some row fills them.
    """
    forms = entry.variants
    labels = short_labels(forms)
    columns = 1 < len(forms) <= SIDE_BY_SIDE_MAX
    body: list[tuple[list[list[nodes.Node]], _Notes, list[str]]] = []
    for path in paths:
        per_form = [_use_in(variant, kind, path) for variant in forms]
        present = [use for use in per_form if use is not None]
        name_cell, ids = _name_cell(kind, path, present[0].name, style, objects)
        if columns or len(forms) == 1:
            notes = _notes([node for use in present for node in use.nodes], kind, path, style)
            if columns:
                cells = [_form_cell(kind, use, notes.since, style) for use in per_form]
            else:
                cells = _use_cells(kind, present[0])
            body.append(([name_cell, *cells], notes, ids))
            continue
        groups: dict[str, tuple[Use, list[int]]] = {}
        for position, use in enumerate(per_form):
            if use is not None:
                key = "|".join(_text(cell) for cell in _use_cells(kind, use))
                groups.setdefault(key, (use, []))[1].append(position)
        covered = sum(len(chosen) for _, chosen in groups.values()) == len(forms)
        said = _Notes(None, None, None)
        for row, (use, chosen) in enumerate(groups.values()):
            rest = covered and row == len(groups) - 1 and row > 0
            where = label_nodes(_which_forms(chosen, forms, labels, rest))
            notes = _notes(use.nodes, kind, path, style)
            shown = _Notes(
                notes.default,
                notes.since if notes.since != said.since else None,
                notes.meaning if notes.meaning != said.meaning else None,
            )
            said = notes
            cells = [name_cell if row == 0 else [], where, *_use_cells(kind, use)]
            body.append((cells, shown, ids if row == 0 else []))
    headers = ["Attribute" if kind == "attribute" else "Element"]
    if columns:
        headers += labels
    elif len(forms) > 1:
        headers.append("Forms")
    if not columns:
        headers += ["Use", "Value"] if kind == "attribute" else ["Occurs"]
    with_default = any(notes.default is not None for _, notes, _ in body)
    with_since = any(notes.since for _, notes, _ in body)
    headers += ["Default"] * with_default + ["Since"] * with_since + ["Meaning"]
    rows: list[list[list[nodes.Node]]] = []
    for cells, notes, _ in body:
        tail: list[list[nodes.Node]] = []
        if with_default:
            tail.append([nodes.literal(text=notes.default, classes=["xml-value"])]
                        if notes.default is not None else [])
        if with_since:
            tail.append([nodes.Text(style.since_format.format(notes.since))]
                        if notes.since else [])
        tail.append([nodes.Text(notes.meaning)] if notes.meaning else [])
        rows.append(cells + tail)
    return make_table(headers, rows, [ids for _, _, ids in body])


def _name_cell(
    kind: str, path: str, name: str, style: _Style, objects: list[DefinedObject]
) -> tuple[list[nodes.Node], list[str]]:
    """The first cell of a row and the ids it defines (an attribute's row is its target)."""
    if kind != "attribute":
        return [xref("element", path, f"<{name}>")], []
    node_id = style.ids.get("attribute", path)
    objects.append(DefinedObject("attribute", path, node_id))
    cell: list[nodes.Node] = [nodes.literal(text=name)]
    if style.index:
        cell.append(addnodes.index(entries=[_index_entry(kind, path, node_id)]))
    return cell, [node_id]


def _notes(defined: list[Node], kind: str, path: str, style: _Style) -> _Notes:
    """Default, version and meaning of these definitions; a version only if they all agree.

    Definitions that say different things (``no: ...`` and ``bitmap (the default).``) are
    all quoted, in order.
    """
    default = next((node.default for node in defined if node.default is not None), None)
    versions = {node.since for node in defined}
    since = versions.pop() if len(versions) == 1 else None
    said = list(dict.fromkeys(node.documentation for node in defined if node.documentation))
    if kind == "element":
        # An element's own section tells its forms apart; its row says what it is.
        meaning = style.meanings.get(path) or next(iter(said), None)
    else:
        meaning = " ".join(text if text[-1] in ".!?" else text + "." for text in said) or None
    return _Notes(default, since, meaning)


def _which_forms(chosen: list[int], forms: list[Variant], labels: list[str], rest: bool) -> str:
    """The forms at ``chosen`` in few words: all, the alternative they share, or their labels.

    ``rest``: the rows above named every other form, so "all others" says it.
    """
    if len(chosen) == len(forms):
        return "all"
    within: dict[str, set[int]] = {}
    for position, form in enumerate(forms):
        for context, own in form.origins:
            for label in (*context, *own[:-1]):
                within.setdefault(label, set()).add(position)
    for label, members in within.items():
        if members == set(chosen):
            return lead(label).rstrip(".")
    if rest:
        return "all others"
    return "; ".join(labels[position] for position in chosen)


def _use_in(variant: Variant, kind: str, path: str) -> Use | None:
    pool = variant.attributes if kind == "attribute" else variant.children
    return next((use for use in pool if use.path == path), None)


def _use_cells(kind: str, use: Use) -> list[list[nodes.Node]]:
    """How often a child or attribute occurs and, for an attribute, what it holds."""
    cells: list[list[nodes.Node]] = [[nodes.Text(use.occurs.describe())]]
    if kind == "attribute":
        cells.append(_values(use.nodes))
    return cells


def _form_cell(kind: str, use: Use | None, since: str | None, style: _Style) -> list[nodes.Node]:
    """One form's use in a column of its own; a version of its own when the row has none."""
    if use is None:
        return [nodes.Text("not allowed")]
    cell: list[nodes.Node] = [nodes.Text(use.occurs.describe())]
    if kind == "attribute":
        cell.append(nodes.Text(": "))
        cell.extend(_values(use.nodes))
    own = {node.since for node in use.nodes}
    if since is None and len(own) == 1 and (version := own.pop()):
        cell.append(nodes.Text(f" (since {style.since_format.format(version)})"))
    return cell


def make_table(
    headers: list[str], rows: list[list[list[nodes.Node]]], row_ids: list[list[str]]
) -> nodes.table:
    table = nodes.table(classes=["xml-table"])
    group = nodes.tgroup(cols=len(headers))
    table += group
    for _ in headers:
        group += nodes.colspec(colwidth=1)
    head = nodes.thead()
    head += _row([label_nodes(header) for header in headers], [])
    group += head
    body = nodes.tbody()
    for cells, ids in zip(rows, row_ids, strict=True):
        body += _row(cells, ids)
    group += body
    return table


def _row(cells: list[list[nodes.Node]], ids: list[str]) -> nodes.row:
    row = nodes.row(ids=list(ids))
    for cell in cells:
        paragraph = nodes.paragraph()
        paragraph.extend(cell)
        row += nodes.entry("", paragraph)
    return row


def _values(definitions: list[Node]) -> list[nodes.Node]:
    """What an attribute may hold, over all its definitions in one form."""
    described: list[list[nodes.Node]] = []
    seen: set[str] = set()
    for attribute in definitions:
        parts = describe_value(attribute)
        key = "".join(part.astext() for part in parts)
        if key not in seen:
            seen.add(key)
            described.append(parts)
    out: list[nodes.Node] = []
    for i, parts in enumerate(described):
        if i:
            out.append(nodes.Text(" | "))
        out.extend(parts)
    return out


_FACETS = {
    "minInclusive": "at least {}",
    "maxInclusive": "at most {}",
    "minExclusive": "more than {}",
    "maxExclusive": "less than {}",
    "length": "exactly {} characters",
    "minLength": "at least {} characters",
    "maxLength": "at most {} characters",
}


def describe_value(node: Node) -> list[nodes.Node]:
    """A value pattern in words: literal values, datatypes with their facets, text."""
    if node.kind == "attribute":
        if not node.children:
            return [nodes.Text("text")]
        return _sequence(node.children, ", ")
    if node.kind == "value":
        value: list[nodes.Node] = [nodes.literal(text=node.value or "", classes=["xml-value"])]
        return value + [nodes.Text(f" (since {node.since})")] * bool(node.since)
    if node.kind == "data":
        return _data(node)
    if node.kind == "text":
        return [nodes.Text("text")]
    if node.kind == "empty":
        return [nodes.Text("empty")]
    if node.kind == "notAllowed":
        return [nodes.Text("nothing")]
    if node.kind == "choice":
        return _sequence(node.children, " | ")
    if node.kind == "list":
        return [nodes.Text("a blank-separated list of "), *_sequence(node.children, ", ")]
    if node.kind in ("optional", "zeroOrMore", "oneOrMore"):
        return [*_sequence(node.children, ", "), nodes.Text(MARKS[node.kind])]
    return _sequence(node.children, ", ")


def _sequence(children: list[Node], separator: str) -> list[nodes.Node]:
    return joined((describe_value(child) for child in children), separator)


#: A pattern longer than this is described by its documentation, where it has some.
LONG_PATTERN = 60


def _data(node: Node) -> list[nodes.Node]:
    out: list[nodes.Node] = [nodes.literal(text=node.datatype or "token")]
    facets: list[list[nodes.Node]] = []
    for name, value in node.params.items():
        if name == "pattern" and len(value) > LONG_PATTERN and node.documentation:
            # Two hundred characters of IPv6 regular expression help nobody; the words do.
            facets.append([nodes.Text(node.documentation.rstrip("."))])
        elif name == "pattern":
            facets.append([nodes.Text("matching "), nodes.literal(text=value)])
        elif name in _FACETS:
            facets.append([nodes.Text(_FACETS[name].format(value))])
        else:
            facets.append([nodes.Text(f"{name} {value}")])
    if facets:
        out += [nodes.Text(" ("), *joined(facets, ", "), nodes.Text(")")]
    if node.except_ is not None:
        out.append(nodes.Text(" except "))
        out.extend(describe_value(node.except_))
    return out


def content_model(content: Node, parent_path: str) -> list[nodes.Node]:
    """The element's content without its attributes, in compact-syntax style with links."""
    stripped = without_attributes(content)
    if stripped is None:
        return [nodes.Text("empty")]
    return _expression(stripped, parent_path, nested=False)


def without_attributes(node: Node) -> Node | None:
    if node.kind == "attribute":
        return None
    if node.kind in ("element", "ref", "text", "data", "value", "notAllowed"):
        return node
    if node.kind == "empty":
        return None
    children = [kept for child in node.children if (kept := without_attributes(child))]
    if not children:
        return Node("text") if node.kind == "mixed" else None
    if node.kind in ("group", "interleave") and len(children) == 1:
        return children[0]
    copy = Node(node.kind, children=children)
    return copy


def _expression(node: Node, parent_path: str, *, nested: bool) -> list[nodes.Node]:
    def named(node: Node) -> list[nodes.Node] | None:
        if node.kind == "element":
            return [xref("element", join_path(parent_path, step_name(node)),
                         f"<{node.qualified}>")]
        if node.kind == "ref" and node.target:
            return [xref("element", node.target, _tag(node.target)), nodes.Text(" (recursive)")]
        return None

    return expression(node, named, nested=nested)


#: The content-model notation, which :func:`legend` explains and every expression uses.
MARKS = {"optional": "?", "zeroOrMore": "*", "oneOrMore": "+"}
SEPARATORS = {"group": ", ", "interleave": " & ", "choice": " | "}
_WRAPPERS = {"mixed": "text mixed with ", "list": "a list of "}


def expression(
    node: Node, named: Callable[[Node], list[nodes.Node] | None], *, nested: bool = False
) -> list[nodes.Node]:
    """``node`` in the content-model notation; ``named`` renders what stands for an element or
    a named pattern (a link), and returns None for every other node."""
    linked = named(node)
    if linked is not None:
        return linked
    if node.kind == "text":
        return [nodes.Text("text")]
    if node.kind in ("data", "value"):
        return describe_value(node)
    if node.kind == "notAllowed":
        return [nodes.Text("nothing")]
    if node.kind in MARKS:
        return [*expression(_single(node), named, nested=True), nodes.Text(MARKS[node.kind])]
    if node.kind in _WRAPPERS:
        return [nodes.Text(_WRAPPERS[node.kind]), *expression(_single(node), named, nested=True)]
    terms: list[list[nodes.Node]] = []
    for child in node.children:
        term = expression(child, named, nested=True)
        if node.kind != "choice" or _text(term) not in {_text(t) for t in terms}:
            terms.append(term)  # alternatives that read the same are shown once
    if len(terms) == 1:
        return terms[0]
    parts = joined(terms, SEPARATORS.get(node.kind, ", "))
    if nested:
        return [nodes.Text("("), *parts, nodes.Text(")")]
    return parts


def _single(node: Node) -> Node:
    """The one pattern inside ``node``: its child, or a group of its children."""
    return node.children[0] if len(node.children) == 1 else Node("group", children=node.children)
