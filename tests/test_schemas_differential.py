"""Validation for a libvirt release against that release's own schemas, on thousands of mutants.

For each release the project checks, libvirt's schema set comes from Debian's package of it
(``tools/debian_archive.py``) and is run through ``xmllint --relaxng``; ours is
:func:`gueststate.schemas.validate_file` with ``libvirt_version=`` that release (our schemas
pruned by their ``gs:since`` annotations) and strict mode on the same release's ``domain.rng``.
The documents are libvirt's corpus, our seeds, our valid examples and mutants of them all, so
they use what 8.x to 12.x added and break it in small ways.  Every verdict must agree: our
schemas keep no intentional difference from libvirt's today.  A disagreement fails the test
with the document and the edits that produced it.

Both sides check an embedded ``<domain>``/``<inactiveDomain>`` with the same libvirt
``domain.rng``/``inactiveDomain.rng``: ours through strict mode (``libvirt_schemas=``).
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from schema_corpus import case_id, corpus_files
from schema_mutants import mutants

from gueststate import releases, xmlsafe
from gueststate.schemas import FORMATS, schema_dir, validate_file

ROOT = Path(__file__).resolve().parents[1]
SEEDS_DIR = ROOT / "tests" / "schema_seeds"
EXAMPLES_DIR = ROOT / "examples"
RANDOM_SEED = 20251126
MUTANT_COUNT = 10000
XMLLINT_BATCH = 400
RELAX_NG = "http://relaxng.org/ns/structure/1.0"

#: The libvirt releases whose schemas Debian's archive has (see tools/debian_archive.py).
RELEASES = ("7.0.0", "9.0.0", "11.3.0", "12.9.0")
NEWEST = RELEASES[-1]


def _debian_archive() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "debian_archive", ROOT / "tools" / "debian_archive.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


debian_archive = _debian_archive()


def libvirt_schemas(version: str) -> Path:
    """libvirt ``version``'s schema directory; fails loudly when Debian's archive cannot give it."""
    try:
        found: Path = debian_archive.schemas(version)
    except debian_archive.ArchiveUnavailable as error:
        pytest.fail(f"libvirt {version}'s schemas are unavailable: {error}")
    return found


# ------------------------------------------------------------------------------------------
# The documents compared
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """A file to validate both ways, and where it came from."""

    path: Path
    fmt: str
    origin: str


def _seed_documents() -> list[tuple[str, Path]]:
    seeds = [(case_id(p), p) for p in corpus_files() if "-invalid." not in p.name]
    own = sorted(SEEDS_DIR.glob("*.xml"))
    examples = sorted(
        path for fmt in ("backup", "checkpoint", "snapshot")
        for path in (EXAMPLES_DIR / fmt).glob("*.xml")
    )
    if not own or not examples:
        pytest.fail(f"no seed documents in {SEEDS_DIR} or no examples in {EXAMPLES_DIR}")
    seeds += [(f"seeds/{p.name}", p) for p in own]
    seeds += [(f"examples/{p.parent.name}/{p.name}", p) for p in examples]
    return seeds


def enumerated_values(oracle: Path) -> list[str]:
    """Every ``<value>`` of libvirt's grammars for these formats and their storage parts."""
    values: set[str] = set()
    for name in (*FORMATS.values(), "storagecommon.rng", "basictypes.rng"):
        grammar = xmlsafe.parse_file(oracle / name)
        values.update(v.text or "" for v in grammar.iter(f"{{{RELAX_NG}}}value"))
    return sorted(values)


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> list[Document]:
    """The corpus, the seeds and the same mutants of them for every release."""
    seeds = _seed_documents()
    roots = [(name, xmlsafe.parse_file(path).getroot()) for name, path in seeds]
    enumerated = sorted({v for r in RELEASES for v in enumerated_values(libvirt_schemas(r))})
    originals = [
        Document(path, str(xmlsafe.parse_file(path).getroot().tag), case_id(path))
        for path in corpus_files()
    ] + [
        Document(path, str(root.tag), name)
        for (name, path), (_, root) in zip(seeds, roots, strict=True)
        if not name.startswith("domain")  # the corpus, listed above with its invalid files
    ]
    directory = tmp_path_factory.mktemp("mutants")
    made = []
    for number, mutant in enumerate(mutants(roots, MUTANT_COUNT, RANDOM_SEED, enumerated)):
        path = directory / f"mutant-{number:05d}.xml"
        path.write_bytes(mutant.data)
        root = xmlsafe.parse_bytes(mutant.data, mutant.seed).getroot()
        made.append(Document(path, str(root.tag), mutant.description))
    return originals + made


# ------------------------------------------------------------------------------------------
# Verdicts
# ------------------------------------------------------------------------------------------


def xmllint_verdicts(schema: Path, files: list[Path]) -> dict[Path, bool]:
    """Run one xmllint per batch of files; True where it says ``FILE validates``."""
    if shutil.which("xmllint") is None:
        pytest.fail("xmllint is missing: install Debian's libxml2-utils")
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


_LATER = re.compile(r"^(.*): libvirt (\d+\.\d+\.\d+) or newer$")


def _nameable(release: str, innermost: bool = False) -> set[str]:
    """What a refusal for ``release`` can name: each addition after it, by its description.

    ``innermost`` keeps only additions with no annotated pattern inside them: those a document
    can always be made to need alone.
    """
    found = [a for a in releases.additions(schema_dir())
             if a.since > releases.Release.parse(release)]
    around = {key for a in found for key in a.within} if innermost else set()
    return {f"{a.describe()} ({a.since})" for a in found if a.key not in around}


# ------------------------------------------------------------------------------------------
# Tests
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("release", RELEASES)
def test_verdicts_match_the_release_own_schemas(
    release: str, documents: list[Document], capsys: pytest.CaptureFixture[str]
) -> None:
    assert len(documents) >= MUTANT_COUNT + len(corpus_files())
    assert all(doc.fmt in FORMATS for doc in documents)
    oracle = libvirt_schemas(release)
    theirs = libvirt_verdicts(oracle, documents)
    agreeing: Counter[bool] = Counter()
    refused_as_later: Counter[str] = Counter()
    disagreeing: list[str] = []
    for doc in documents:
        ours = validate_file(doc.path, libvirt_schemas=oracle, libvirt_version=release)
        if ours.valid != theirs[doc.path]:
            disagreeing.append(_disagreement(release, doc, ours.valid, ours.problems))
            continue
        agreeing[ours.valid] += 1
        for problem in ours.problems:
            later = _LATER.match(problem.message)
            if later:
                refused_as_later[f"{later[1]} ({later[2]})"] += 1

    with capsys.disabled():
        print(f"\nlibvirt {release}: {len(documents)} documents, {agreeing[True]} valid and "
              f"{agreeing[False]} invalid by both; {sum(refused_as_later.values())} refusals "
              f"name a later release ({len(refused_as_later)} constructs)")
    assert not disagreeing, f"{len(disagreeing)} verdicts differ:\n" + "\n".join(disagreeing[:15])
    # The documents use what came after this release, and each refusal names real additions.
    assert set(refused_as_later) <= _nameable(release), set(refused_as_later) - _nameable(release)
    if release != NEWEST:
        assert refused_as_later, f"no document used anything newer than {release}"


@pytest.mark.parametrize("release", RELEASES[:-1])
def test_documents_exercise_every_addition_after_the_release(
    release: str, documents: list[Document]
) -> None:
    """Each annotation newer than ``release`` is met: some document is refused naming it."""
    named: set[str] = set()
    for doc in documents[: len(documents) - MUTANT_COUNT]:  # the originals suffice
        for problem in validate_file(doc.path, libvirt_version=release).problems:
            later = _LATER.match(problem.message)
            if later:
                named.add(f"{later[1]} ({later[2]})")
    missing = _nameable(release, innermost=True) - named
    assert not missing, f"no original document uses: {sorted(missing)}"


def _disagreement(
    release: str, doc: Document, ours: bool, problems: Iterable[object]
) -> str:
    detail = "; ".join(str(p) for p in list(problems)[:3]) or "no problem reported"
    return (
        f"{doc.origin}\n    file: {doc.path}\n    ours: {'valid' if ours else 'invalid'}"
        f" ({detail})\n    libvirt {release}: {'invalid' if ours else 'valid'}"
    )


@pytest.mark.parametrize("release", ["9.0.0", "11.3.0", "12.9.0"])
@pytest.mark.parametrize(
    ("name", "embedded"),
    [
        ("qemudomaincheckpointxml2xmlout/redefine.xml", "domain"),
        ("qemudomainsnapshotxml2xmlout/full_domain.xml", "domain"),
        ("qemudomainsnapshotxml2xmlout/memory-snapshot-inactivedomain.xml", "inactiveDomain"),
    ],
)
def test_strict_mode_rejects_embedded_definition_libvirt_rejects(
    name: str, embedded: str, release: str, tmp_path: Path
) -> None:
    oracle = libvirt_schemas(release)
    (original,) = [p for p in corpus_files() if case_id(p) == name]
    assert validate_file(original, libvirt_schemas=oracle, libvirt_version=release).valid
    tree = xmlsafe.parse_file(original)
    definition = tree.getroot().find(embedded)
    assert definition is not None
    definition.set("type", "no-such-hypervisor")
    broken = tmp_path / original.name
    tree.write(str(broken))

    assert validate_file(broken).valid, "open content by default"
    strict = validate_file(broken, libvirt_schemas=oracle, libvirt_version=release)
    assert not strict.valid
    assert any(f"embedded <{embedded}>" in p.message for p in strict.problems), strict.problems
    schema = oracle / FORMATS[str(tree.getroot().tag)]
    assert xmllint_verdicts(schema, [broken]) == {broken: False}
