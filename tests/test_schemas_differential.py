"""Our schemas against libvirt's own, on libvirt's corpus and thousands of mutants of it.

The oracle is libvirt 9.0.0's schema set (Debian's libvirt0, see ``libvirt_schemas.py``),
run through ``xmllint --relaxng``.  Our schemas describe libvirt 11.3.0, so some verdicts
must differ: every difference has to be one where 11.3.0 accepts a construct that 9.0.0 did
not know, and has to be recognised by one of the named cases below.  Any other difference
fails the test with the document and the edits that produced it.

Both sides check an embedded ``<domain>``/``<inactiveDomain>`` with the same libvirt
``domain.rng``/``inactiveDomain.rng``: ours through strict mode (``libvirt_schemas=``).
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
from libvirt_schemas import libvirt_schema_dir
from lxml import etree
from schema_corpus import case_id, corpus_files
from schema_mutants import Mutant, mutable_elements, mutants

from gueststate import xmlsafe
from gueststate.schemas import FORMATS, validate_file

SEEDS_DIR = Path(__file__).resolve().parent / "schema_seeds"
RANDOM_SEED = 20251126
MUTANT_COUNT = 15000
XMLLINT_BATCH = 400
RELAX_NG = "http://relaxng.org/ns/structure/1.0"

# ------------------------------------------------------------------------------------------
# Named cases: constructs that libvirt 11.3.0's schemas accept and 9.0.0's reject
# ------------------------------------------------------------------------------------------


def _elements(root: etree._Element, tag: str) -> list[etree._Element]:
    return [e for e in mutable_elements(root) if e.tag == tag]


def _child_tags(element: etree._Element) -> list[str]:
    return [str(c.tag) for c in element if isinstance(c.tag, str)]


def _parent_tag(element: etree._Element) -> str | None:
    parent = element.getparent()
    return None if parent is None else str(parent.tag)


def _remove(element: etree._Element) -> None:
    parent = element.getparent()
    if parent is not None:
        parent.remove(element)


def _protocol_sources(root: etree._Element, protocol: str) -> list[etree._Element]:
    return [s for s in _elements(root, "source") if s.get("protocol") == protocol]


def _fd_servers(root: etree._Element) -> list[etree._Element]:
    return [s for s in _elements(root, "server") if s.get("transport") == "fd"]


def _serve_on_unix_socket(server: etree._Element) -> None:
    server.attrib.pop("fdgroup", None)
    server.set("transport", "unix")
    if "socket" not in server.attrib:
        server.set("socket", "/run/gueststate-test.sock")


def _plain_push_disks(root: etree._Element) -> list[etree._Element]:
    if root.get("mode") == "pull":
        return []
    return [
        disk for disk in _elements(root, "disk")
        if _parent_tag(disk) == "disks" and "type" not in disk.attrib
        and disk.get("backup") != "no" and not _child_tags(disk)
    ]


def _revert_disks(root: etree._Element) -> list[etree._Element]:
    return [c for c in root if c.tag == "revertDisks"]


def _luks_any(root: etree._Element) -> list[etree._Element]:
    return [e for e in _elements(root, "encryption") if e.get("format") == "luks-any"]


def _several_secrets(root: etree._Element) -> list[etree._Element]:
    return [e for e in _elements(root, "encryption") if _child_tags(e).count("secret") > 1]


def _keep_first_secret(encryption: etree._Element) -> None:
    for secret in encryption.findall("secret")[1:]:
        encryption.remove(secret)


def _ivgen_before_cipher(root: etree._Element) -> list[etree._Element]:
    found = []
    for encryption in _elements(root, "encryption"):
        tags = _child_tags(encryption)
        if "ivgen" in tags and "cipher" in tags and tags.index("ivgen") < tags.index("cipher"):
            found.append(encryption)
    return found


def _cipher_first(encryption: etree._Element) -> None:
    cipher, ivgen = encryption.find("cipher"), encryption.find("ivgen")
    if cipher is not None and ivgen is not None:
        cipher.addnext(ivgen)


def _ssh_sources(root: etree._Element) -> list[etree._Element]:
    return _protocol_sources(root, "ssh")


def _remove_disk_of(source: etree._Element) -> None:
    disk = next((a for a in source.iterancestors() if a.tag == "disk"), source)
    _remove(disk)


def _nbd_reconnects(root: etree._Element) -> list[etree._Element]:
    return [r for s in _protocol_sources(root, "nbd") for r in s if r.tag == "reconnect"]


def _nfs_without_identity(root: etree._Element) -> list[etree._Element]:
    return [s for s in _protocol_sources(root, "nfs") if "identity" not in _child_tags(s)]


@dataclass(frozen=True)
class NamedCase:
    """A construct new since libvirt 9.0.0, and how to write the same document without it.

    ``sites`` finds the construct in a document of format ``fmt``; ``downgrade`` rewrites
    one site the way a 9.0.0 user would have written it (or drops it).  A divergence counts as
    explained only if the document is still judged alike by both sides once downgraded.
    """

    name: str
    fmt: str
    sites: Callable[[etree._Element], list[etree._Element]]
    downgrade: Callable[[etree._Element], None]

    def found_in(self, root: etree._Element) -> bool:
        return root.tag == self.fmt and bool(self.sites(root))

    def rewrite(self, root: etree._Element) -> None:
        for site in self.sites(root):
            self.downgrade(site)


def _set_luks(encryption: etree._Element) -> None:
    encryption.set("format", "luks")


def _set_file_type(disk: etree._Element) -> None:
    disk.set("type", "file")


def _add_identity(source: etree._Element) -> None:
    etree.SubElement(source, "identity")


NAMED_CASES = (
    NamedCase("backup server transport='fd' (11.3.0)", "domainbackup", _fd_servers,
              _serve_on_unix_socket),
    NamedCase("push disk selected with no type", "domainbackup", _plain_push_disks,
              _set_file_type),
    NamedCase("snapshot <revertDisks>", "domainsnapshot", _revert_disks, _remove),
    NamedCase("snapshot <snapshotDeleteInProgress/>", "domainsnapshot",
              lambda root: _elements(root, "snapshotDeleteInProgress"), _remove),
    NamedCase("encryption format='luks-any'", "domainsnapshot", _luks_any, _set_luks),
    NamedCase("encryption with several <secret>", "domainsnapshot", _several_secrets,
              _keep_first_secret),
    NamedCase("encryption <ivgen> before <cipher>", "domainsnapshot", _ivgen_before_cipher,
              _cipher_first),
    NamedCase("storage source <dataStore>", "domainsnapshot",
              lambda root: _elements(root, "dataStore"), _remove),
    NamedCase("network protocol ssh", "domainsnapshot", _ssh_sources, _remove_disk_of),
    NamedCase("nbd <reconnect>", "domainsnapshot", _nbd_reconnects, _remove),
    NamedCase("nfs source without <identity>", "domainsnapshot", _nfs_without_identity,
              _add_identity),
)


#: Corpus documents that libvirt 9.0.0's schemas reject although 11.3.0's accept them.
CORPUS_DIVERGENCES = {
    "domainbackupxml2xmlin/backup-pull-fd.xml",
    "domainbackupxml2xmlout/backup-pull-fd.xml",
    "domainbackupxml2xmlin/backup-push.xml",
}

# ------------------------------------------------------------------------------------------
# The documents compared
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """A file to validate both ways, and where it came from."""

    path: Path
    fmt: str
    origin: str
    from_corpus: bool = False


def _seed_documents() -> list[tuple[str, Path]]:
    seeds = [(case_id(p), p) for p in corpus_files() if "-invalid." not in p.name]
    extra = sorted(SEEDS_DIR.glob("*.xml"))
    if not extra:
        pytest.fail(f"no seed documents in {SEEDS_DIR}")
    seeds += [(f"seeds/{p.name}", p) for p in extra]
    return seeds


def _write_mutants(directory: Path, batch: Iterable[Mutant]) -> list[Document]:
    documents = []
    for number, mutant in enumerate(batch):
        root = xmlsafe.parse_bytes(mutant.data, mutant.seed).getroot()
        path = directory / f"mutant-{number:05d}.xml"
        path.write_bytes(mutant.data)
        documents.append(Document(path, str(root.tag), mutant.description))
    return documents


@pytest.fixture(scope="module")
def oracle_dir() -> Path:
    if shutil.which("xmllint") is None:
        pytest.fail("xmllint is missing: install Debian's libxml2-utils")
    return libvirt_schema_dir()


def enumerated_values(oracle: Path) -> list[str]:
    """Every ``<value>`` of libvirt's grammars for these formats and their storage parts."""
    values: set[str] = set()
    for name in (*FORMATS.values(), "storagecommon.rng", "basictypes.rng"):
        grammar = xmlsafe.parse_file(oracle / name)
        values.update(v.text or "" for v in grammar.iter(f"{{{RELAX_NG}}}value"))
    return sorted(values)


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory, oracle_dir: Path) -> list[Document]:
    seeds = _seed_documents()
    roots = [(name, xmlsafe.parse_file(path).getroot()) for name, path in seeds]
    corpus = [
        Document(path, str(xmlsafe.parse_file(path).getroot().tag), case_id(path), True)
        for path in corpus_files()
    ]
    own_seeds = [
        Document(path, str(root.tag), name)
        for (name, path), (_, root) in zip(seeds, roots, strict=True)
        if name.startswith("seeds/")
    ]
    directory = tmp_path_factory.mktemp("mutants")
    batch = mutants(roots, MUTANT_COUNT, RANDOM_SEED, enumerated_values(oracle_dir))
    made = _write_mutants(directory, batch)
    return corpus + own_seeds + made


# ------------------------------------------------------------------------------------------
# Verdicts
# ------------------------------------------------------------------------------------------


def xmllint_verdicts(schema: Path, files: list[Path]) -> dict[Path, bool]:
    """Run one xmllint per batch of files; True where it says ``FILE validates``."""
    verdicts: dict[Path, bool] = {}
    for start in range(0, len(files), XMLLINT_BATCH):
        batch = files[start:start + XMLLINT_BATCH]
        run = subprocess.run(
            ["xmllint", "--noout", "--relaxng", str(schema), *map(str, batch)],
            capture_output=True, text=True, timeout=300,
        )
        for line in run.stderr.splitlines():
            if line.endswith(" validates"):
                verdicts[Path(line.removesuffix(" validates"))] = True
            elif line.endswith(" fails to validate"):
                verdicts[Path(line.removesuffix(" fails to validate"))] = False
        missing = [f for f in batch if f not in verdicts]
        if missing:
            pytest.fail(f"xmllint gave no verdict for {missing[0]} (exit {run.returncode}):\n"
                        + run.stderr[-2000:])
    return verdicts


def libvirt_verdicts(oracle: Path, docs: list[Document]) -> dict[Path, bool]:
    verdicts: dict[Path, bool] = {}
    for fmt, schema in FORMATS.items():
        files = [d.path for d in docs if d.fmt == fmt]
        verdicts.update(xmllint_verdicts(oracle / schema, files))
    return verdicts


# ------------------------------------------------------------------------------------------
# Tests
# ------------------------------------------------------------------------------------------


def test_verdicts_match_libvirt_9_except_named_11_3_constructs(
    documents: list[Document], oracle_dir: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert len(documents) >= 2000 + len(corpus_files())
    assert all(doc.fmt in FORMATS for doc in documents)
    theirs = libvirt_verdicts(oracle_dir, documents)
    explained: Counter[str] = Counter()
    unexplained: list[str] = []
    agreeing: Counter[bool] = Counter()
    diverging_corpus: set[str] = set()
    downgraded: list[tuple[Document, Document, list[str]]] = []
    for doc in documents:
        ours = validate_file(doc.path, libvirt_schemas=oracle_dir)
        if ours.valid == theirs[doc.path]:
            agreeing[ours.valid] += 1
            continue
        if doc.from_corpus:
            diverging_corpus.add(doc.origin)
        root = xmlsafe.parse_file(doc.path).getroot()
        cases = [case for case in NAMED_CASES if case.found_in(root)]
        if not ours.valid or not cases:
            unexplained.append(_divergence(doc, ours.valid, theirs[doc.path], ours.problems))
            continue
        for case in cases:
            case.rewrite(root)
        path = tmp_path / f"downgraded-{len(downgraded):05d}.xml"
        path.write_bytes(etree.tostring(root))
        downgraded.append((doc, Document(path, doc.fmt, doc.origin), [c.name for c in cases]))

    theirs.update(libvirt_verdicts(oracle_dir, [older for _, older, _ in downgraded]))
    for doc, older, names in downgraded:
        ours = validate_file(older.path, libvirt_schemas=oracle_dir)
        if ours.valid == theirs[older.path]:
            explained.update(names)
        else:
            unexplained.append(
                _divergence(doc, True, False, ())
                + f"\n    still diverging once downgraded ({', '.join(names)}): {older.path}"
                f"\n    ours: {'valid' if ours.valid else 'invalid'}, libvirt 9.0.0: "
                f"{'valid' if theirs[older.path] else 'invalid'}"
            )

    with capsys.disabled():
        print(f"\n{len(documents)} documents: {agreeing[True]} valid and {agreeing[False]} "
              f"invalid by both schema sets; {len(downgraded)} accepted only by ours, "
              "explained by 11.3.0 constructs:")
        for case in NAMED_CASES:
            print(f"  {explained[case.name]:5d}  {case.name}")
    assert not unexplained, f"{len(unexplained)} unexplained divergences:\n" + "\n".join(
        unexplained[:15])
    assert diverging_corpus == CORPUS_DIVERGENCES
    unused = [case.name for case in NAMED_CASES if not explained[case.name]]
    assert not unused, f"named cases that explained nothing (dead or untested): {unused}"


def _divergence(
    doc: Document, ours: bool, theirs: bool, problems: Iterable[object]
) -> str:
    detail = "; ".join(str(p) for p in list(problems)[:3]) or "no problem reported"
    return (
        f"{doc.origin}\n    file: {doc.path}\n    ours: {'valid' if ours else 'invalid'}"
        f" ({detail})\n    libvirt 9.0.0: {'valid' if theirs else 'invalid'}"
    )


@pytest.mark.parametrize(
    ("name", "embedded"),
    [
        ("qemudomaincheckpointxml2xmlout/redefine.xml", "domain"),
        ("qemudomainsnapshotxml2xmlout/full_domain.xml", "domain"),
        ("qemudomainsnapshotxml2xmlout/memory-snapshot-inactivedomain.xml", "inactiveDomain"),
    ],
)
def test_strict_mode_rejects_embedded_definition_libvirt_rejects(
    name: str, embedded: str, oracle_dir: Path, tmp_path: Path
) -> None:
    (original,) = [p for p in corpus_files() if case_id(p) == name]
    assert validate_file(original, libvirt_schemas=oracle_dir).valid
    tree = xmlsafe.parse_file(original)
    definition = tree.getroot().find(embedded)
    assert definition is not None
    definition.set("type", "no-such-hypervisor")
    broken = tmp_path / original.name
    tree.write(str(broken))

    assert validate_file(broken).valid, "open content by default"
    strict = validate_file(broken, libvirt_schemas=oracle_dir)
    assert not strict.valid
    assert any(f"embedded <{embedded}>" in p.message for p in strict.problems), strict.problems
    schema = oracle_dir / FORMATS[str(tree.getroot().tag)]
    assert xmllint_verdicts(schema, [broken]) == {broken: False}
