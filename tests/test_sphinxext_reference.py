"""The rng-reference directive and the pure content model -> docutils rendering behind it."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from docutils import nodes
from sphinx import addnodes
from sphinx.testing.util import SphinxTestApp

from gueststate.forms import Occurs, uses
from gueststate.rng import read_grammar, walk_paths
from gueststate.rng.model import Node, unique_nodes
from gueststate.sphinxext.outline import outline, repeats
from gueststate.sphinxext.render import (
    content_model,
    describe_value,
    label_nodes,
    object_id,
    render,
    short_labels,
)

ROOTS = Path(__file__).parent / "roots"
SCHEMAS = Path(__file__).parents[1] / "schemas"


# -- hand-built content models -------------------------------------------------------------


def element(name: str, *children: Node, doc: str | None = None) -> Node:
    return Node("element", name=name, children=list(children), documentation=doc)


def attribute(name: str, *children: Node, doc: str | None = None) -> Node:
    return Node("attribute", name=name, children=list(children), documentation=doc)


def pattern(kind: str, *children: Node, doc: str | None = None) -> Node:
    return Node(kind, children=list(children), documentation=doc)  # type: ignore[arg-type]


def value(text: str) -> Node:
    return Node("value", value=text)


def backup_like() -> Node:
    """A push/pull root whose <disk> differs between the two modes."""
    push_disk = element("disk", attribute("name"), element("target", attribute("file")))
    pull_disk = element(
        "disk", attribute("name"), pattern("optional", attribute("exportname")), element("scratch")
    )
    push = pattern(
        "group",
        pattern("optional", attribute("mode", value("push"))),
        element("disks", pattern("oneOrMore", push_disk)),
        doc="Push mode: libvirt writes the copies.",
    )
    pull = pattern(
        "group",
        attribute("mode", value("pull")),
        element("server"),
        element("disks", pattern("oneOrMore", pull_disk)),
        doc="Pull mode: a client reads the copies.",
    )
    return element("domainbackup", pattern("choice", push, pull), doc="A backup job.")


def by_path(root: Node) -> dict[str, object]:
    return {entry.path: entry for entry in outline(root)}


def test_outline_has_one_entry_per_element_path() -> None:
    root = backup_like()
    expected = {path for path, node, _ in walk_paths(root) if node.kind == "element"}
    assert set(by_path(root)) == expected


def test_labelled_choice_splits_the_root_into_forms() -> None:
    entry = next(e for e in outline(backup_like()) if e.path == "domainbackup")
    assert [v.label for v in entry.variants] == [
        "Push mode: libvirt writes the copies.",
        "Pull mode: a client reads the copies.",
    ]
    push, pull = entry.variants
    assert [(u.path, u.occurs) for u in push.attributes] == [("domainbackup/@mode", Occurs(0, 1))]
    assert [(u.path, u.occurs) for u in pull.attributes] == [("domainbackup/@mode", Occurs(1, 1))]
    assert [u.name for u in pull.children] == ["server", "disks"]


def test_same_path_from_two_modes_is_one_entry_with_two_forms() -> None:
    entries = by_path(backup_like())
    disk = entries["domainbackup/disks/disk"]
    assert [v.label for v in disk.variants] == [  # type: ignore[attr-defined]
        "Push mode: libvirt writes the copies.",
        "Pull mode: a client reads the copies.",
    ]
    assert disk.attribute_paths() == [  # type: ignore[attr-defined]
        "domainbackup/disks/disk/@name",
        "domainbackup/disks/disk/@exportname",
    ]
    # <disks> itself looks the same in both modes: one form, no labels to show.
    assert len(entries["domainbackup/disks"].variants) == 1  # type: ignore[attr-defined]


def test_unlabelled_alternatives_are_named_by_their_fixed_attribute() -> None:
    root = element(
        "disk",
        pattern(
            "choice",
            pattern("group", attribute("type", value("file")), attribute("file")),
            pattern("group", attribute("type", value("block")), attribute("dev")),
        ),
    )
    (entry,) = outline(root)
    assert [v.label for v in entry.variants] == ['type="file"', 'type="block"']


def test_occurrences_follow_the_cardinality_patterns() -> None:
    root = element(
        "top",
        pattern("optional", element("maybe")),
        pattern("zeroOrMore", element("many")),
        pattern("oneOrMore", element("some")),
        element("one"),
        pattern("choice", element("left"), pattern("group", element("left"), element("right"))),
    )
    counts = uses(Node("group", children=root.children), "top")
    words = {path.rsplit("/", 1)[-1]: occurs.describe() for (_, path), (occurs, _) in
             counts.items()}
    assert words == {
        "maybe": "optional",
        "many": "zero or more",
        "some": "one or more",
        "one": "required",
        "left": "required",
        "right": "optional",
    }


def test_alternatives_without_labels_are_named_by_what_only_they_require() -> None:
    root = element(
        "disk",
        pattern("choice",
                pattern("group", element("source"), element("target")),
                pattern("group", element("target"), Node("attribute", name="port",
                                                         children=[Node("text")]))),
    )
    entry = outline(root)[0]
    assert [v.label for v in entry.variants] == ["with <source>", "with port"]


def test_recursion_is_a_link_back_and_a_parent_of_itself() -> None:
    item = element("item", pattern("zeroOrMore", Node("ref", target="list/item")))
    entries = by_path(element("list", pattern("zeroOrMore", item)))
    assert entries["list/item"].parents == ["list", "list/item"]  # type: ignore[attr-defined]
    (variant,) = entries["list/item"].variants  # type: ignore[attr-defined]
    text = "".join(n.astext() for n in content_model(variant.content, "list/item"))
    assert text == "<item> (recursive)*"


def test_content_model_reads_like_compact_syntax() -> None:
    content = pattern(
        "group",
        attribute("ignored"),
        pattern("interleave", element("a"), pattern("optional", element("b"))),
        pattern("choice", element("c"), Node("text")),
    )
    parts = content_model(content, "top")
    assert "".join(n.astext() for n in parts) == "(<a> & <b>?), (<c> | text)"
    links = [n for n in parts if isinstance(n, addnodes.pending_xref)]
    assert [link["reftarget"] for link in links] == ["top/a", "top/b", "top/c"]
    assert all(link["reftype"] == "element" for link in links)


def test_empty_content_says_so() -> None:
    assert [n.astext() for n in content_model(pattern("group", attribute("x")), "p")] == ["empty"]


def test_values_show_datatype_facets_and_choices() -> None:
    data = Node("data", datatype="unsignedInt", params={"pattern": "[0-9]+", "maxInclusive": "9"})
    assert "".join(n.astext() for n in describe_value(attribute("n", data))) == (
        "unsignedInt (matching [0-9]+, at most 9)"
    )
    choice = pattern("choice", value("yes"), value("no"))
    assert "".join(n.astext() for n in describe_value(attribute("b", choice))) == "yes | no"
    assert "".join(n.astext() for n in describe_value(attribute("t"))) == "text"


def test_a_long_pattern_is_told_in_the_words_of_its_documentation() -> None:
    long = "(" + "[0-9A-Fa-f]{1,4}:" * 7 + ")"
    spelled = Node("data", datatype="string", params={"pattern": long})
    assert long in "".join(n.astext() for n in describe_value(spelled))
    told = Node("data", datatype="string", params={"pattern": long},
                documentation="An IPv6 address.")
    assert "".join(n.astext() for n in describe_value(told)) == "string (An IPv6 address)"
    short = Node("data", datatype="string", params={"pattern": "[0-9]+"}, documentation="Digits.")
    assert "".join(n.astext() for n in describe_value(short)) == "string (matching [0-9]+)"


def test_render_makes_a_section_per_element_and_a_row_per_attribute() -> None:
    root = backup_like()
    rendered = render(outline(root))
    sections = [n for n in rendered.nodes if isinstance(n, nodes.section)]
    paths = [path for path, node, _ in walk_paths(root)]
    element_paths = {p for p in paths if "@" not in p}
    assert {s["ids"][0] for s in sections} == {object_id("element", p) for p in element_paths}
    row_ids = {i for s in sections for row in s.findall(nodes.row) for i in row["ids"]}
    assert row_ids == {object_id("attribute", p) for p in paths if "@" in p}
    defined = {(o.objtype, o.path) for o in rendered.objects}
    assert defined == {("element", p) for p in element_paths} | {
        ("attribute", p) for p in paths if "@" in p
    }


def test_forms_are_side_by_side_with_not_allowed_where_absent() -> None:
    rendered = render(outline(backup_like()))
    disk = next(
        s
        for s in rendered.nodes
        if s["ids"] == [object_id("element", "domainbackup/disks/disk")]
    )
    tables = list(disk.findall(nodes.table))
    attributes = next(t for t in tables if "Attribute" in t.next_node(nodes.thead).astext())
    header = [e.astext() for e in attributes.next_node(nodes.thead).findall(nodes.entry)]
    # No row has a version: no Since column.
    assert header == ["Attribute", "Push mode", "Pull mode", "Meaning"]
    rows = [[e.astext() for e in row.findall(nodes.entry)] for row in attributes.findall(nodes.row)]
    assert ["exportname", "not allowed", "optional: text", ""] in rows


def test_since_reads_as_configured() -> None:
    root = Node("element", name="top", since="6.0.0")
    (section,) = render(outline(root), since_format="libvirt {}").nodes
    fields = {f[0].astext(): f[1].astext() for f in section.findall(nodes.field)}
    assert fields["Since"] == "libvirt 6.0.0"
    (section,) = render(outline(root)).nodes
    assert {f[0].astext(): f[1].astext() for f in section.findall(nodes.field)}["Since"] == "6.0.0"


def test_forms_with_the_same_content_show_it_once() -> None:
    root = element(
        "disk",
        pattern(
            "choice",
            pattern("group", attribute("type", value("file")), attribute("file")),
            pattern("group", attribute("type", value("block")), attribute("dev")),
        ),
    )
    (section,) = render(outline(root)).nodes
    fields = {f[0].astext(): f[1].astext() for f in section.findall(nodes.field)}
    assert fields["Forms"] == '2: type="file"; type="block"'
    assert fields["Content"] == "empty"
    headers = [t.next_node(nodes.thead).astext().split() for t in section.findall(nodes.table)]
    assert headers == [["Attribute", 'type="file"', 'type="block"', "Meaning"]]


def test_a_recursive_child_row_borrows_the_meaning_of_its_element() -> None:
    item = element("item", pattern("zeroOrMore", Node("ref", target="list/item")), doc="An item.")
    sections = render(outline(element("list", pattern("zeroOrMore", item)))).nodes
    rows = [[e.astext() for e in r.findall(nodes.entry)] for r in sections[1].findall(nodes.row)]
    assert rows[1] == ["<item>", "zero or more", "An item."]


def test_render_without_index_has_no_index_entries() -> None:
    rendered = render(outline(backup_like()), index=False)
    assert not any(
        isinstance(n, addnodes.index) for s in rendered.nodes for n in s.findall(addnodes.index)
    )


def test_defaults_have_a_column_only_where_an_attribute_has_one() -> None:
    mode = attribute("mode", value("push"))
    mode.default = "push"
    root = element("job", pattern("optional", mode), attribute("name"))
    (section,) = render(outline(root)).nodes
    (table,) = section.findall(nodes.table)
    header = [e.astext() for e in table.next_node(nodes.thead).findall(nodes.entry)]
    assert header == ["Attribute", "Use", "Value", "Default", "Meaning"]
    rows = [[e.astext() for e in r.findall(nodes.entry)] for r in table.findall(nodes.row)]
    assert rows[1:] == [["mode", "optional", "push", "push", ""],
                        ["name", "required", "text", "", ""]]
    (plain,) = render(outline(element("job", attribute("name")))).nodes
    assert "Default" not in plain.next_node(nodes.thead).astext()


def test_definitions_that_alternatives_cannot_tell_apart_go_by_their_meaning() -> None:
    root = element(
        "source",
        pattern(
            "choice",
            element("identity", attribute("keyfile"), doc="Log in with a key."),
            element("identity", attribute("user"), doc="Open the image as this user."),
        ),
    )
    identity = by_path(root)["source/identity"]
    assert [v.label for v in identity.variants] == [  # type: ignore[attr-defined]
        "Log in with a key.",
        "Open the image as this user.",
    ]


@pytest.mark.parametrize("name", ["domainbackup", "domaincheckpoint", "domainsnapshot"])
def test_every_form_of_our_schemas_has_a_label_a_person_reads(name: str) -> None:
    entries = outline(read_grammar(SCHEMAS / f"{name}.rng").start)
    labels = [(e.path, v.label) for e in entries if len(e.variants) > 1 for v in e.variants]
    assert labels, "every schema of ours has elements with several forms"
    assert [pair for pair in labels if not pair[1] or "form " in pair[1]] == []
    for entry in entries:
        assert len({v.label for v in entry.variants}) == len(entry.variants), entry.path


def test_backup_labels_name_the_alternatives_of_the_schema() -> None:
    entries = by_path(read_grammar(SCHEMAS / "domainbackup.rng").start)
    server = entries["domainbackup/server"]
    assert short_labels(server.variants) == [  # type: ignore[attr-defined]
        "Listen on a TCP port",
        "Listen on a UNIX socket",
        "Serve on a socket the client passed in with virDomainFDAssociate",
    ]
    # The disk's forms sit in either mode: each says which first.
    disk = entries["domainbackup/disks/disk"]
    assert short_labels(disk.variants) == [  # type: ignore[attr-defined]
        "Push mode / The disk is not backed up",
        "Push mode / The disk is backed up to a file whose name libvirt chooses",
        "Push mode / The copy is written to a file",
        "Push mode / The copy is written to a block device",
        "Pull mode / The disk is not exported",
        "Pull mode / Scratch space in a file, given or chosen by libvirt",
        "Pull mode / Scratch space on a block device",
    ]
    # Two definitions of <target>, each named by what it says it is.
    target = entries["domainbackup/disks/disk/target"]
    assert [v.label for v in target.variants] == [  # type: ignore[attr-defined]
        "The file to write the copy to.",
        "The block device to write the copy to.",
    ]
    secret = entries["domainbackup/disks/disk/target/encryption/secret"]
    assert [v.label for v in secret.variants] == [  # type: ignore[attr-defined]
        "with uuid",
        "with usage",
    ]


def test_snapshot_memory_forms_are_its_values_and_its_file() -> None:
    entries = by_path(read_grammar(SCHEMAS / "domainsnapshot.rng").start)
    memory = entries["domainsnapshot/memory"]
    assert [v.label for v in memory.variants] == [  # type: ignore[attr-defined]
        'snapshot="no" or "internal"',
        "Memory is saved to a file of its own.",
    ]
    identity = entries["domainsnapshot/disks/disk/source/identity"]
    assert [v.label for v in identity.variants] == [  # type: ignore[attr-defined]
        "with keyfile",
        "with agentsock",
        "The user and group the image is opened as.",
    ]


@pytest.mark.parametrize(
    ("name", "path", "default"),
    [
        ("domainbackup", "domainbackup/@mode", "push"),
        ("domainbackup", "domainbackup/server/@transport", "tcp"),
        ("domainbackup", "domainbackup/disks/disk/@backup", "yes"),
        ("domaincheckpoint", "domaincheckpoint/disks/disk/@checkpoint", "bitmap"),
        ("domainsnapshot", "domainsnapshot/memory/@snapshot", "external"),
        ("domainsnapshot", "domainsnapshot/disks/disk/@snapshot", "external"),
        ("domainsnapshot", "domainsnapshot/disks/disk/@type", "file"),
    ],
)
def test_defaults_of_the_fact_sheet_reach_the_reference(name: str, path: str, default: str) -> None:
    entries = outline(read_grammar(SCHEMAS / f"{name}.rng").start)
    entry = next(e for e in entries if e.path == path.rsplit("/", 1)[0])
    (section,) = render([entry]).nodes
    table = next(t for t in section.findall(nodes.table) if object_id("attribute", path) in
                 [i for r in t.findall(nodes.row) for i in r["ids"]])
    header = [e.astext() for e in table.next_node(nodes.thead).findall(nodes.entry)]
    rows = [[e.astext() for e in r.findall(nodes.entry)] for r in table.findall(nodes.row)]
    first = next(i for i, r in enumerate(table.findall(nodes.row))
                 if object_id("attribute", path) in r["ids"])
    own = [rows[first], *itertools.takewhile(lambda r: r[0] == "", rows[first + 1:])]
    # The default stands on the row of the optional form that it belongs to, nowhere else.
    assert [r[header.index("Default")] for r in own if r[header.index("Default")]] == [default]
    (with_default,) = [r for r in own if r[header.index("Default")]]
    if "Use" in header:  # one row per way of using it (else one column per form)
        assert with_default[header.index("Use")] == "optional"


def disk_holder(name: str) -> Node:
    """``name`` holding a <disk> with a <source> defined the same way wherever it is."""
    source = element("source", attribute("file"), doc="Where the data is.")
    return element(name, element("disk", attribute("name"), source, element("note")))


def test_a_repeated_part_is_shown_once_and_linked_from_its_other_places() -> None:
    root = element("snapshot", disk_holder("disks"), disk_holder("revertDisks"))
    entries = outline(root)
    assert repeats(entries) == {
        "snapshot/revertDisks/disk": "snapshot/disks/disk",
        "snapshot/revertDisks/disk/source": "snapshot/disks/disk/source",
        "snapshot/revertDisks/disk/note": "snapshot/disks/disk/note",
    }
    rendered = render(entries)
    by_id = {section["ids"][0]: section for section in rendered.nodes}
    assert object_id("element", "snapshot/revertDisks/disk/source") not in by_id
    assert object_id("element", "snapshot/revertDisks/disk/note") not in by_id
    stub = by_id[object_id("element", "snapshot/revertDisks/disk")]
    fields = {f[0].astext(): f[1] for f in stub.findall(nodes.field)}
    (link,) = fields["Defined as"].findall(addnodes.pending_xref)
    assert link["reftarget"] == "snapshot/disks/disk"
    assert not list(stub.findall(nodes.table))
    full = by_id[object_id("element", "snapshot/disks/disk")]
    also = {f[0].astext(): f[1] for f in full.findall(nodes.field)}["Also at"]
    assert [x["reftarget"] for x in also.findall(addnodes.pending_xref)] == [
        "snapshot/revertDisks/disk"
    ]
    defined = {(o.objtype, o.path): o.node_id for o in rendered.objects}
    assert defined["element", "snapshot/revertDisks/disk/source"] == object_id(
        "element", "snapshot/disks/disk/source"
    )
    assert defined["attribute", "snapshot/revertDisks/disk/source/@file"] == object_id(
        "attribute", "snapshot/disks/disk/source/@file"
    )
    assert defined["attribute", "snapshot/revertDisks/disk/@name"] == object_id(
        "attribute", "snapshot/disks/disk/@name"
    )


def test_a_repeated_leaf_is_shown_in_full_wherever_it_is() -> None:
    root = element("top", element("a", element("note")), element("b", element("note")))
    assert repeats(outline(root)) == {}


def test_parts_that_differ_anywhere_are_not_repeats() -> None:
    other = disk_holder("revertDisks")
    other.children[0].children[1].documentation = "Somewhere else."
    entries = outline(element("snapshot", disk_holder("disks"), other))
    assert repeats(entries) == {}


def test_the_shallowest_of_equal_parts_is_shown_in_full() -> None:
    deep = element("outer", disk_holder("disks"))
    entries = outline(element("top", deep, disk_holder("disks")))
    assert repeats(entries)["top/outer/disks/disk"] == "top/disks/disk"


def test_snapshot_reference_shows_the_revert_disks_once() -> None:
    entries = outline(read_grammar(SCHEMAS / "domainsnapshot.rng").start)
    shown_at = repeats(entries)
    below = [e.path for e in entries if e.path.startswith("domainsnapshot/revertDisks/disk/")]
    for path in below:
        twin = path.replace("/revertDisks/", "/disks/")
        assert shown_at[path] == shown_at.get(twin, twin)
    sections = {s["ids"][0]: s for s in render(entries).nodes}
    assert not set(sections) & {object_id("element", path) for path in below}
    stub = sections[object_id("element", "domainsnapshot/revertDisks/disk")]
    assert "xml-repeat" in stub["classes"] and not list(stub.findall(nodes.table))


def many_forms() -> Node:
    """Five forms of <disk>: the first two under "Push", the others under "Pull"."""
    def form(doc: str, *children: Node) -> Node:
        return pattern("group", *children, doc=doc)

    kind = attribute("type", value("file"), doc="file, the default.")
    kind.default = "file"
    late = attribute("type", value("block"), doc="block.")
    late.since = "2.0"
    push = pattern("choice",
                   form("Push to a file.", pattern("optional", kind)),
                   form("Push to a device.", late, attribute("dev")))
    pull = pattern("choice",
                   form("Pull to a file.", pattern("optional", kind), attribute("export")),
                   form("Pull to a device.", late, attribute("export")),
                   form("Pull nothing.", attribute("export")))
    return element("disk", pattern("choice", form("Push: copies.", push),
                                   form("Pull: exports.", pull)))


def test_many_forms_name_the_forms_of_each_row_in_few_words() -> None:
    (section,) = render(outline(many_forms()), since_format="v{}").nodes
    (table,) = section.findall(nodes.table)
    header = [e.astext() for e in table.next_node(nodes.thead).findall(nodes.entry)]
    assert header == ["Attribute", "Forms", "Use", "Value", "Default", "Since", "Meaning"]
    rows = [[e.astext() for e in r.findall(nodes.entry)] for r in table.findall(nodes.row)][1:]
    assert rows == [
        # Each way of using type is a row with its own default, version and meaning.
        ["type", "Push / Push to a file; Pull / Pull to a file", "optional", "file", "file", "",
         "file, the default."],
        ["", "Push / Push to a device; Pull / Pull to a device", "required", "block", "", "v2.0",
         "block."],
        ["dev", "Push / Push to a device", "required", "text", "", "", ""],
        # The forms a row names are those of one alternative: named by that alternative.
        ["export", "Pull", "required", "text", "", "", ""],
    ]


def test_the_last_row_of_an_attribute_in_every_form_says_all_others() -> None:
    root = element("disk", pattern(
        "choice",
        pattern("group", attribute("backup", value("no")), doc="Left out."),
        pattern("group", attribute("backup", value("yes")), attribute("a"), doc="One."),
        pattern("group", attribute("backup", value("yes")), attribute("b"), doc="Two."),
        pattern("group", attribute("backup", value("yes")), attribute("c"), doc="Three."),
        pattern("group", attribute("backup", value("yes")), attribute("d"), doc="Four."),
    ))
    (section,) = render(outline(root)).nodes
    (table,) = section.findall(nodes.table)
    rows = [[e.astext() for e in r.findall(nodes.entry)] for r in table.findall(nodes.row)]
    assert rows[1][:4] == ["backup", "Left out", "required", "no"]
    assert rows[2][:4] == ["", "all others", "required", "yes"]


def test_side_by_side_a_version_of_one_form_stays_in_its_column() -> None:
    root = element("server", pattern(
        "choice",
        pattern("group", attribute("transport", value("unix"), doc="unix"), doc="UNIX."),
        pattern("group", Node("attribute", name="transport", since="11.3.0",
                              children=[value("fd")], documentation="fd."), doc="FD."),
    ))
    (section,) = render(outline(root), since_format="libvirt {}").nodes
    (table,) = section.findall(nodes.table)
    header = [e.astext() for e in table.next_node(nodes.thead).findall(nodes.entry)]
    assert header == ["Attribute", "UNIX", "FD", "Meaning"]
    row = [e.astext() for e in list(table.findall(nodes.row))[1].findall(nodes.entry)]
    # What each form's definition says is quoted, in order, each a sentence.
    assert row == ["transport", "required: unix", "required: fd (since libvirt 11.3.0)",
                   "unix. fd."]


def test_parents_that_read_the_same_say_where_they_are() -> None:
    root = element("a", element("x", pattern("optional", element("a", Node("ref", target="a/x")))))
    sections = {s["ids"][0]: s for s in render(outline(root)).nodes}
    fields = {f[0].astext(): f[1].astext() for f in sections[object_id("element", "a/x")].findall(
        nodes.field)}
    assert fields["Contained by"] == "<a>, <a> in <x>"


def test_a_child_row_says_what_the_child_is_not_what_each_definition_says() -> None:
    root = element("disk", pattern(
        "choice",
        element("source", attribute("file"), doc="A file."),
        element("source", attribute("dev"), doc="A device."),
        element("source", attribute("url"), doc="A URL."),
    ))
    (disk, _) = render(outline(root)).nodes
    rows = [[e.astext() for e in r.findall(nodes.entry)] for r in disk.findall(nodes.row)]
    assert rows[1] == ["<source>", "required", "A file."]


# -- the directive in a build --------------------------------------------------------------


def section_ids(doctree: nodes.document) -> set[str]:
    found = set()
    for section in doctree.findall(nodes.section):
        if "xml-element" in section["classes"]:
            found.update(section["ids"])
    return found


def test_backup_page_defines_every_element_and_attribute_at_a_section_or_row(
    formats_app: SphinxTestApp,
) -> None:
    app = formats_app
    paths = [path for path, _, _ in walk_paths(read_grammar(SCHEMAS / "domainbackup.rng").start)]
    doctree = app.env.get_doctree("backup")
    sections = section_ids(doctree)
    row_ids = {i for row in doctree.findall(nodes.row) for i in row["ids"]}
    objects = app.env.domains["xml"].objects  # type: ignore[attr-defined]
    for path in paths:
        objtype = "attribute" if "@" in path else "element"
        docname, node_id = objects[objtype, path]
        assert docname == "backup"
        assert node_id in (row_ids if objtype == "attribute" else sections), path
    assert "domainbackup/disks/disk/@exportbitmap" in paths
    # The scratch's <seclabel> is the target's: a short section, nothing below it of its own.
    scratch, target = "domainbackup/disks/disk/scratch", "domainbackup/disks/disk/target"
    assert object_id("element", f"{scratch}/seclabel") in sections
    assert object_id("element", f"{scratch}/seclabel/label") not in sections
    assert objects["element", f"{scratch}/seclabel/label"] == (
        "backup", object_id("element", f"{target}/seclabel/label")
    )
    assert objects["attribute", f"{scratch}/seclabel/@model"] == (
        "backup", object_id("attribute", f"{target}/seclabel/@model")
    )


def test_sections_link_to_the_examples_that_use_them(formats_app: SphinxTestApp) -> None:
    html = (formats_app.outdir / "backup.html").read_text(encoding="utf-8")
    scratch_section = html.split(f'id="{object_id("element", "domainbackup/disks/disk/scratch")}"')
    assert 'href="example.html"' in scratch_section[1].split("</section>")[0]
    target = html.split(f'id="{object_id("element", "domainbackup/disks/disk/target")}"')
    assert 'href="example.html"' not in target[1].split("</section>")[0]


@pytest.mark.sphinx("html", testroot="reference", freshenv=True)
def test_myst_and_rest_render_the_same(app: SphinxTestApp) -> None:
    app.build()
    assert app.statuscode == 0, app.warning.getvalue()
    myst, rest = app.env.get_doctree("myst"), app.env.get_doctree("rest")
    assert section_ids(myst) == section_ids(rest) != set()

    def text(doctree: nodes.document) -> list[str]:
        for entry in list(doctree.findall(addnodes.index)):
            entry.parent.remove(entry)  # the reST page indexes, the MyST one does not
        return [s.astext() for s in doctree.findall(nodes.section) if "xml-element" in s["classes"]]

    assert text(myst) == text(rest)
    # Only the reST page defines objects: the MyST one says :no-index:.
    documented = {docname for _, _, _, docname, _, _ in app.env.domains["xml"].get_objects()}
    assert documented == {"rest"}


@pytest.mark.sphinx("html", testroot="reference", freshenv=True)
def test_grammar_and_its_includes_are_dependencies(app: SphinxTestApp) -> None:
    app.build()
    root = Path(app.srcdir)
    assert {root / "sample.rng", root / "common.rng"} <= set(app.env.dependencies["rest"])
    assert "subtree" in app.env.dependencies and "index" not in app.env.dependencies


@pytest.mark.sphinx("html", testroot="reference", freshenv=True)
def test_element_option_renders_that_subtree_only(app: SphinxTestApp) -> None:
    app.build()
    assert section_ids(app.env.get_doctree("subtree")) == {
        object_id("element", "mirror/source"),
        object_id("element", "mirror/source/owner"),
    }


def located_warnings(app: SphinxTestApp, file: str) -> list[str]:
    text = re.sub(r"\x1b\[[0-9;]*m", "", app.warning.getvalue())
    return [line for line in text.splitlines() if file in line and "WARNING" in line]


@pytest.mark.sphinx("html", testroot="reference-problems", freshenv=True)
def test_problems_are_located_warnings_without_traceback(app: SphinxTestApp) -> None:
    app.build()
    root = Path(app.srcdir)
    output = app.warning.getvalue()
    assert "Traceback" not in output
    malformed = located_warnings(app, "malformed.rng")
    assert len(malformed) == 1, output
    assert malformed[0].startswith(f"{root / 'malformed.rng'}:5: WARNING: cannot read grammar")
    assert malformed[0].endswith("[xml.grammar]")
    undefined = located_warnings(app, "undefined.rng")
    assert len(undefined) == 1, output
    assert undefined[0].startswith(f"{root / 'undefined.rng'}:3: WARNING:")
    assert "nowhere" in undefined[0]
    unknown = located_warnings(app, "unknown.md")
    assert len(unknown) == 1, output
    assert unknown[0].startswith(f"{root / 'unknown.md'}:3: WARNING: grammar good.rng has no")
    assert unknown[0].endswith("[xml.unknown_element]")
    missing = located_warnings(app, "missing.md")
    assert len(missing) == 1 and missing[0].endswith("[xml.missing_file]"), output


@pytest.mark.sphinx("html", testroot="reference-problems", freshenv=True, warningiserror=True)
def test_problems_fail_a_strict_build(app: SphinxTestApp) -> None:
    app.build()
    assert app.statuscode == 1


def test_touching_a_grammar_rereads_only_the_pages_that_render_it(
    make_app: type[SphinxTestApp], tmp_path: Path
) -> None:
    srcdir = tmp_path / "incremental"
    shutil.copytree(ROOTS / "test-reference-incremental", srcdir)
    app = make_app("html", srcdir=srcdir, builddir=tmp_path / "_build", freshenv=True)
    app.build()
    assert app.statuscode == 0, app.warning.getvalue()

    def touch(name: str) -> list[str]:
        time.sleep(0.05)  # newer than the last read, older than the next one
        now = time.time()
        os.utime(srcdir / name, (now, now))
        return sorted(app.builder.read())

    assert touch("alpha.rng") == ["alpha"]
    assert touch("beta.rng") == ["beta"]
    assert touch("shared.rng") == ["alpha", "beta"]


def test_reference_links_follow_examples_changed_on_another_page(
    make_app: type[SphinxTestApp], tmp_path: Path
) -> None:
    # The pages name ../../../schemas: keep that layout in the copy.
    srcdir = tmp_path / "a" / "b" / "formats"
    shutil.copytree(ROOTS / "test-reference-formats", srcdir)
    shutil.copytree(SCHEMAS, tmp_path / "schemas")
    builddir = tmp_path / "_build"

    def sections_linking_the_example() -> set[str]:
        app = make_app("html", srcdir=srcdir, builddir=builddir)
        try:
            app.build()
        finally:
            app.cleanup()
        assert app.statuscode == 0, app.warning.getvalue()
        html = (app.outdir / "backup.html").read_text(encoding="utf-8")
        found = set()
        for part in html.split('<section class="xml-element" id="')[1:]:
            section_id, body = part.split('"', 1)
            if 'href="example.html"' in body.split("<section")[0]:
                found.add(section_id)
        return found

    scratch = object_id("element", "domainbackup/disks/disk/scratch")
    target = object_id("element", "domainbackup/disks/disk/target")
    first = sections_linking_the_example()
    assert scratch in first and target not in first
    (srcdir / "push.xml").write_text(
        '<domainbackup><disks><disk name="vda" type="file">'
        '<target file="/var/tmp/vda.copy"/></disk></disks></domainbackup>\n',
        encoding="utf-8",
    )
    page = srcdir / "example.md"
    time.sleep(0.05)
    page.write_text(page.read_text(encoding="utf-8").replace("pull.xml", "push.xml"), "utf-8")
    second = sections_linking_the_example()  # only example.md is read again
    assert target in second and scratch not in second


def test_attribute_values_in_labels_are_code_that_quotes_cannot_curl() -> None:
    parts = label_nodes('External / snapshot="no" or "internal"; type="file"')
    assert [(type(p).__name__, p.astext()) for p in parts] == [
        ("Text", "External / "),
        ("literal", 'snapshot="no" or "internal"'),
        ("Text", "; "),
        ("literal", 'type="file"'),
    ]
    assert [p.astext() for p in label_nodes("Push mode")] == ["Push mode"]


class _CountedChildren(list[Node]):
    """A children list that counts how often it is walked: work shown without timing it."""

    walks = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        _CountedChildren.walks += 1
        return super().__iter__()


def test_repeats_describe_a_shared_subtree_once_not_once_per_entry() -> None:
    # A chain of elements whose innermost holds a group of one shared element many times:
    # comparing a full copy of every entry's subtree cost depth x width (816 MB at 300 x 2^14).
    depth, width = 60, 500
    leaf = element("leaf", attribute("id"))
    inner: Node = element(f"n{depth}", pattern("group", *[leaf] * width))
    for level in reversed(range(depth)):
        inner = element(f"n{level}", attribute("a"), inner)
    distinct = list(unique_nodes(inner))
    for node in distinct:
        node.children = _CountedChildren(node.children)
    entries = outline(inner)
    assert len(entries) == depth + 2
    _CountedChildren.walks = 0
    assert repeats(entries) == {}
    assert _CountedChildren.walks <= 2 * len(distinct)


@pytest.mark.parametrize(("by", "shown"), [
    ("path", ["<{urn:y}* except {urn:y}no>", "<a|({urn:y}* except {urn:y}no)>",
              "b|(* except c)"]),
    ("definition", ["<y:* except y:no>", "<a|(y:* except y:no)>", "b|(* except c)"]),
])
def test_name_class_excepts_are_rendered(by: str, shown: list[str], tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "conf.py").write_text('extensions = ["gueststate.sphinxext"]\n')
    (source / "index.rst").write_text(f"T\n=\n\n.. rng-reference:: except.rng\n   :by: {by}\n")
    rng = "http://relaxng.org/ns/structure/1.0"
    (source / "except.rng").write_text(f"""<element name='r' xmlns="{rng}">
      <element><nsName ns='urn:y'><except><name ns='urn:y'>no</name></except></nsName><empty/>
      </element>
      <element><choice><name>a</name><nsName ns='urn:y'><except><name ns='urn:y'>no</name>
        </except></nsName></choice><text/></element>
      <zeroOrMore><attribute><choice><name>b</name><anyName><except><name>c</name></except>
        </anyName></choice></attribute></zeroOrMore></element>""")
    app = SphinxTestApp("html", srcdir=source, builddir=tmp_path / "build", freshenv=True)
    try:
        app.build()
    finally:
        app.cleanup()
    assert app.warning.getvalue() == ""
    page = (app.outdir / "index.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", "", page).replace("&lt;", "<").replace("&gt;", ">")
    for name in shown:
        assert name in text, name
