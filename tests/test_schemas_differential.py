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
MUTANT_COUNT = 20000
XMLLINT_BATCH = 400

# ------------------------------------------------------------------------------------------
# Named cases: constructs that libvirt 11.3.0's schemas accept and 9.0.0's reject
# ------------------------------------------------------------------------------------------


def _elements(root: etree._Element, tag: str) -> Iterable[etree._Element]:
    return (e for e in mutable_elements(root) if e.tag == tag)


def _child_tags(element: etree._Element) -> list[str]:
    return [c.tag for c in element if isinstance(c.tag, str)]


def _parent_tag(element: etree._Element) -> str | None:
    parent = element.getparent()
    return None if parent is None else str(parent.tag)


def _fd_transport(root: etree._Element) -> bool:
    return any(s.get("transport") == "fd" for s in _elements(root, "server"))


def _push_disk_without_type(root: etree._Element) -> bool:
    if root.get("mode") == "pull":
        return False
    return any(
        _parent_tag(disk) == "disks"
        and "type" not in disk.attrib
        and disk.get("backup") != "no"
        and not _child_tags(disk)
        for disk in _elements(root, "disk")
    )


def _revert_disks(root: etree._Element) -> bool:
    return "revertDisks" in _child_tags(root)


def _delete_in_progress(root: etree._Element) -> bool:
    return any(True for _ in _elements(root, "snapshotDeleteInProgress"))


def _luks_any(root: etree._Element) -> bool:
    return any(e.get("format") == "luks-any" for e in _elements(root, "encryption"))


def _several_secrets(root: etree._Element) -> bool:
    return any(_child_tags(e).count("secret") > 1 for e in _elements(root, "encryption"))


def _ivgen_before_cipher(root: etree._Element) -> bool:
    for encryption in _elements(root, "encryption"):
        tags = _child_tags(encryption)
        if "ivgen" in tags and "cipher" in tags and tags.index("ivgen") < tags.index("cipher"):
            return True
    return False


def _data_store(root: etree._Element) -> bool:
    return any(True for _ in _elements(root, "dataStore"))


def _protocol_sources(root: etree._Element, protocol: str) -> list[etree._Element]:
    return [s for s in _elements(root, "source") if s.get("protocol") == protocol]


def _ssh_protocol(root: etree._Element) -> bool:
    return bool(_protocol_sources(root, "ssh"))


def _nbd_reconnect(root: etree._Element) -> bool:
    return any("reconnect" in _child_tags(s) for s in _protocol_sources(root, "nbd"))


def _nfs_without_identity(root: etree._Element) -> bool:
    return any("identity" not in _child_tags(s) for s in _protocol_sources(root, "nfs"))


@dataclass(frozen=True)
class NamedCase:
    """A construct new since libvirt 9.0.0, recognised in a document of one format."""

    name: str
    fmt: str
    present: Callable[[etree._Element], bool]

    def explains(self, root: etree._Element) -> bool:
        return root.tag == self.fmt and self.present(root)


NAMED_CASES = (
    NamedCase("backup server transport='fd' (11.3.0)", "domainbackup", _fd_transport),
    NamedCase("push disk selected with no type", "domainbackup", _push_disk_without_type),
    NamedCase("snapshot <revertDisks>", "domainsnapshot", _revert_disks),
    NamedCase("snapshot <snapshotDeleteInProgress/>", "domainsnapshot", _delete_in_progress),
    NamedCase("encryption format='luks-any'", "domainsnapshot", _luks_any),
    NamedCase("encryption with several <secret>", "domainsnapshot", _several_secrets),
    NamedCase("encryption <ivgen> before <cipher>", "domainsnapshot", _ivgen_before_cipher),
    NamedCase("storage source <dataStore>", "domainsnapshot", _data_store),
    NamedCase("network protocol ssh", "domainsnapshot", _ssh_protocol),
    NamedCase("nbd <reconnect>", "domainsnapshot", _nbd_reconnect),
    NamedCase("nfs source without <identity>", "domainsnapshot", _nfs_without_identity),
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


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> list[Document]:
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
    made = _write_mutants(directory, mutants(roots, MUTANT_COUNT, RANDOM_SEED))
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
    documents: list[Document], oracle_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert len(documents) >= 2000 + len(corpus_files())
    theirs = libvirt_verdicts(oracle_dir, documents)
    explained: Counter[str] = Counter()
    unexplained: list[str] = []
    diverging_corpus: set[str] = set()
    agreeing = Counter[bool]()
    for doc in documents:
        ours = validate_file(doc.path, libvirt_schemas=oracle_dir)
        if doc.fmt not in FORMATS:
            unexplained.append(f"{doc.origin}: not one of our formats (<{doc.fmt}>)")
            continue
        if ours.valid == theirs[doc.path]:
            agreeing[ours.valid] += 1
            continue
        if doc.from_corpus:
            diverging_corpus.add(doc.origin)
        root = xmlsafe.parse_file(doc.path).getroot()
        names = [case.name for case in NAMED_CASES if case.explains(root)]
        if ours.valid and names:
            explained.update(names)
            continue
        detail = "; ".join(str(p) for p in ours.problems[:3]) or "no problem reported"
        unexplained.append(
            f"{doc.origin}\n    file: {doc.path}\n    ours: {'valid' if ours.valid else 'invalid'}"
            f" ({detail})\n    libvirt 9.0.0: {'valid' if theirs[doc.path] else 'invalid'}"
        )
    with capsys.disabled():
        print(f"\n{len(documents)} documents: {agreeing[True]} valid and {agreeing[False]} "
              "invalid by both schema sets; divergences explained by 11.3.0 constructs:")
        for case in NAMED_CASES:
            print(f"  {explained[case.name]:5d}  {case.name}")
    assert not unexplained, f"{len(unexplained)} unexplained divergences:\n" + "\n".join(
        unexplained[:15])
    assert diverging_corpus == CORPUS_DIVERGENCES
    unused = [case.name for case in NAMED_CASES if not explained[case.name]]
    assert not unused, f"named cases that explained nothing (dead or untested): {unused}"


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
