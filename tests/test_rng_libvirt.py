"""The RELAX NG reader at scale, on grammars no one here wrote.

Debian 12's libvirt0 ships 26 grammars: 18 with a ``<start>`` and 8 modules that only those
include.  Each standalone grammar must read without error, and the element and attribute
names reachable from its start must be exactly those left in ``jing -s`` (jing's own
simplification, which drops whatever is unreachable or ``notAllowed``); so must the values and
the datatypes with their facets.  Our own schemas face the same oracle.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import pytest
from jing import run_jing
from libvirt_schemas import libvirt_schema_dir

from gueststate.rng import Node, read_grammar, walk_paths
from gueststate.xmlsafe import parse_bytes, parse_file

RNG = "{http://relaxng.org/ns/structure/1.0}"
OUR_SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"

#: libvirt 9.0.0's grammars with a <start> of their own.
STANDALONE = (
    "capability.rng", "cpu.rng", "domain.rng", "domainbackup.rng", "domaincaps.rng",
    "domaincheckpoint.rng", "domainsnapshot.rng", "inactiveDomain.rng", "interface.rng",
    "network.rng", "networkport.rng", "nodedev.rng", "nwfilter.rng", "nwfilterbinding.rng",
    "secret.rng", "storagepool.rng", "storagepoolcaps.rng", "storagevol.rng",
)

Name = tuple[str, str, str]  # (element|attribute, namespace, local name)
Value = tuple[str, str, str]  # (type, datatypeLibrary, text)
Datatype = tuple[str, str, tuple[tuple[str, str], ...]]  # (type, datatypeLibrary, params)


@dataclass(frozen=True)
class Inventory:
    """What a grammar allows, counted without regard to structure."""

    names: frozenset[Name]
    values: frozenset[Value]
    datatypes: frozenset[Datatype]


def _has_start(path: Path) -> bool:
    root = parse_file(path).getroot()
    return root.tag == RNG + "grammar" and root.find(f".//{RNG}start") is not None


@functools.cache
def jing_inventory(path: Path) -> Inventory:
    """Names (not those of ``except``), values and datatypes in jing's simplified grammar."""
    run = run_jing("-s", str(path))
    if run.returncode != 0:
        pytest.fail(f"jing -s {path} failed: {run.stdout.decode()} {run.stderr.decode()}")
    root = parse_bytes(run.stdout, f"jing -s {path}").getroot()
    names: set[Name] = set()
    for pattern in root.iter(RNG + "element", RNG + "attribute"):
        kind = pattern.tag.removeprefix(RNG)
        if pattern.get("name") is not None:
            names.add((kind, pattern.get("ns", ""), pattern.get("name", "").strip()))
            continue
        pending = [next(child for child in pattern if isinstance(child.tag, str))]
        while pending:
            name_class = pending.pop()
            if name_class.tag == RNG + "name":
                names.add((kind, name_class.get("ns", ""), (name_class.text or "").strip()))
            elif name_class.tag == RNG + "choice":
                pending.extend(child for child in name_class if isinstance(child.tag, str))
    values = {
        (value.get("type", ""), value.get("datatypeLibrary", ""), value.text or "")
        for value in root.iter(RNG + "value")
    }
    datatypes = {
        (data.get("type", ""), data.get("datatypeLibrary", ""), tuple(sorted(
            (param.get("name", ""), param.text or "") for param in data.findall(RNG + "param")
        )))
        for data in root.iter(RNG + "data")
    }
    return Inventory(frozenset(names), frozenset(values), frozenset(datatypes))


def our_inventory(root: Node) -> Inventory:
    """The same, read back from our tree (``Node.name`` spelling as documented)."""
    names: set[Name] = set()
    values: set[Value] = set()
    datatypes: set[Datatype] = set()
    seen: set[int] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if id(node) in seen:  # subtrees are shared; each is looked at once
            continue
        seen.add(id(node))
        pending.extend(node.children)
        if node.except_ is not None:
            pending.append(node.except_)
        if node.kind == "value":
            values.add((node.datatype or "", node.datatype_library, node.value or ""))
        elif node.kind == "data":
            params = tuple(sorted(node.params.items()))
            datatypes.add((node.datatype or "", node.datatype_library, params))
        elif node.kind in ("element", "attribute") and node.name is not None:
            for part in node.name.split("|"):
                namespace, local = node.namespace, part
                if part.startswith("{"):
                    namespace, _, local = part[1:].partition("}")
                if local != "*":
                    names.add((node.kind, namespace, local))
    return Inventory(frozenset(names), frozenset(values), frozenset(datatypes))


def _compare(path: Path) -> None:
    ours, theirs = our_inventory(read_grammar(path).start), jing_inventory(path)
    for what in ("names", "values", "datatypes"):
        mine, jings = getattr(ours, what), getattr(theirs, what)
        missing, extra = sorted(jings - mine), sorted(mine - jings)
        assert not missing and not extra, (
            f"{path.name}: {len(jings)} {what} in jing -s, {len(mine)} in ours; "
            f"missing {missing}; extra {extra}"
        )


def test_the_standalone_grammars_are_the_ones_with_a_start() -> None:
    directory = libvirt_schema_dir()
    files = sorted(path.name for path in directory.glob("*.rng"))
    assert len(files) == 26
    assert sorted(name for name in files if _has_start(directory / name)) == list(STANDALONE)


@pytest.mark.parametrize("name", STANDALONE)
def test_libvirt_grammar_matches_jing(name: str) -> None:
    _compare(libvirt_schema_dir() / name)


def test_domain_rng_reads_every_file_it_includes() -> None:
    directory = libvirt_schema_dir()
    model = read_grammar(directory / "domain.rng")
    assert {Path(file).name for file in model.files} == {
        "domain.rng", "domainoverrides.rng", "domaincommon.rng", "basictypes.rng",
        "storagecommon.rng", "networkcommon.rng", "cputypes.rng", "nwfilter_params.rng",
        "privatedata.rng",
    }
    assert all(Path(file).is_absolute() for file in model.files)
    assert (model.start.kind, model.start.name) == ("element", "domain")


def test_nested_grammars_keep_their_own_overrides() -> None:
    # storageSourceExtra: domainsnapshot.rng makes it a <driver> with only a type for the
    # snapshot's disks; the <domain> and <inactiveDomain> inside come from nested grammars
    # where domainoverrides.rng makes it the full disk <driver> instead.
    directory = libvirt_schema_dir()
    snapshot = _paths(directory / "domainsnapshot.rng")
    domains = _paths(directory / "domain.rng") | _paths(directory / "inactiveDomain.rng")
    nested = {
        path.removeprefix("domainsnapshot/")
        for path in snapshot
        if path.split("/")[1:2] in (["domain"], ["inactiveDomain"])
    }
    assert nested == domains
    assert "domainsnapshot/disks/disk/driver/@type" in snapshot
    assert "domainsnapshot/disks/disk/driver/@cache" not in snapshot
    assert "domainsnapshot/domain/devices/disk/driver/@cache" in snapshot


def test_backup_push_and_pull_are_alternatives() -> None:
    # What a reader of <domainbackup> must see: push and pull are two alternatives, and only
    # the pull one has a <server>.
    root = read_grammar(libvirt_schema_dir() / "domainbackup.rng").start
    modes = [(node, ancestors) for path, node, ancestors in walk_paths(root)
             if path == "domainbackup/@mode"]
    servers = [ancestors for path, _, ancestors in walk_paths(root)
               if path == "domainbackup/server"]
    assert len(modes) == 2 and len(servers) == 1
    choices = {id(a) for _, ancestors in modes for a in ancestors if a.kind == "choice"}
    assert len(choices) == 1, "both modes hang from one choice"
    (choice,) = (a for a in modes[0][1] if a.kind == "choice")
    by_mode: dict[tuple[str, ...], Node] = {}
    for node, ancestors in modes:
        alternative = ancestors[ancestors.index(choice) + 1]
        by_mode[_values(node)] = alternative
    assert set(by_mode) == {("push",), ("pull",)}
    assert by_mode[("pull",)] in servers[0] and by_mode[("push",)] not in servers[0]


def _values(node: Node) -> tuple[str, ...]:
    return tuple(n.value or "" for n in _descendants(node) if n.kind == "value")


def _descendants(node: Node) -> list[Node]:
    found = [node]
    for child in node.children:
        found.extend(_descendants(child))
    return found


def _paths(grammar: Path) -> set[str]:
    return {path for path, _, _ in walk_paths(read_grammar(grammar).start)}


def test_lxml_schematron_grammar_matches_jing() -> None:
    # Another grammar no one here wrote, with xml:lang (the prefix bound without a declaration).
    import lxml.isoschematron

    _compare(Path(lxml.isoschematron.__file__).parent / "resources/rng/iso-schematron.rng")


OWN = sorted(path for path in OUR_SCHEMAS.glob("*.rng") if _has_start(path))


def test_our_schemas_exist() -> None:
    assert {path.name for path in OWN} >= {
        "domainbackup.rng", "domaincheckpoint.rng", "domainsnapshot.rng"}


@pytest.mark.parametrize("path", OWN, ids=lambda path: path.name)
def test_our_schema_matches_jing(path: Path) -> None:
    _compare(path)
