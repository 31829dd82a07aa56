"""libvirt's own xml2xml test data, reproduced byte for byte by gueststate.formats.

The harness follows libvirt 11.3.0's test programs (reference/formats.md §3): backups are
aligned against a fake domain; checkpoints and snapshots get the test programs' hooks
(mocked creation time, forced parent, forced ``vda`` bitmap, size, running state, the
UUID passed to the formatter) and are not aligned.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from schema_corpus import corpus_dir

from gueststate.formats import (
    CheckpointDisk,
    Domain,
    DomainBackup,
    DomainCheckpoint,
    DomainDisk,
    DomainSnapshot,
    FormatError,
    align_backup,
)

CORPUS = corpus_dir()

BACKUP_IN = CORPUS / "domainbackupxml2xmlin"
BACKUP_OUT = CORPUS / "domainbackupxml2xmlout"
CHECKPOINT_IN = CORPUS / "qemudomaincheckpointxml2xmlin"
CHECKPOINT_OUT = CORPUS / "qemudomaincheckpointxml2xmlout"
SNAPSHOT_IN = CORPUS / "qemudomainsnapshotxml2xmlin"
SNAPSHOT_OUT = CORPUS / "qemudomainsnapshotxml2xmlout"

TEST_UUID = "9d37b878-a7cc-9f9a-b78f-49b3abad25a8"
PARENT, VDA_BITMAP, SIZE = "parent", "vda-bitmap", "size"

#: name -> (mocked creation time, hooks) of libvirt's checkpoint test program.
CHECKPOINT_CASES: dict[str, tuple[int, set[str]]] = {
    "empty": (1525889631, {VDA_BITMAP}),
    "disk-default": (1525889631, {PARENT, VDA_BITMAP}),
    "sample": (1525889631, {PARENT, VDA_BITMAP}),
    "size": (1553648510, {PARENT, VDA_BITMAP, SIZE}),
}
CHECKPOINT_REDEFINE = ["redefine"]

#: name -> (UUID given to the formatter, mocked creation time, forced running state).
SNAPSHOT_CASES: dict[str, tuple[str | None, int, bool]] = {
    "empty": (TEST_UUID, 1386166249, False),
    "noparent": (TEST_UUID, 1272917631, True),
    "external_vm": (None, 1555419243, False),
    "disk_snapshot": (None, 1555419243, False),
    "disk_driver_name_null": (None, 1555419243, False),
    "disk-seclabel": (TEST_UUID, 581484660, False),
    "qcow2-metadata-cache": (TEST_UUID, 1386166249, False),
}
#: Parsed and formatted without hooks; expected output is the input itself.
SNAPSHOT_SAME = ["name_and_description", "description_only", "name_only"]
#: Saved metadata redefined (and written with the internal <active> flag where present).
SNAPSHOT_REDEFINE = [
    "all_parameters", "disk_snapshot_redefine", "full_domain", "metadata",
    "external_vm_redefine", "memory-snapshot-inactivedomain", "noparent",
    "noparent_nodescription", "noparent_nodescription_noactive",
]


def _read(path: Path) -> str:
    assert path.is_file(), f"corpus file missing: {path}"
    return path.read_text(encoding="utf-8")


def test_corpus_is_complete() -> None:
    """Every pair of the corpus is covered by one of the tables below."""
    backups = {p.stem for p in BACKUP_IN.glob("*.xml")}
    assert backups == {p.stem for p in BACKUP_OUT.glob("*.xml")}
    checkpoint_pairs = {p.stem for p in CHECKPOINT_IN.glob("*.xml")} & {
        p.stem for p in CHECKPOINT_OUT.glob("*.xml")}
    assert checkpoint_pairs == set(CHECKPOINT_CASES)
    snapshot_pairs = {p.stem for p in SNAPSHOT_IN.glob("*.xml")} & {
        p.stem for p in SNAPSHOT_OUT.glob("*.xml")}
    assert snapshot_pairs <= set(SNAPSHOT_CASES) | set(SNAPSHOT_SAME)
    assert set(SNAPSHOT_CASES) <= snapshot_pairs


def _fake_domain(backup: DomainBackup) -> Domain:
    names = [*dict.fromkeys(disk.name for disk in backup.disks), "vdextradisk"]
    return Domain("fake", None, tuple(
        DomainDisk(name, "file", "disk", f"/fake/{name}.qcow2", format="qcow2")
        for name in names))


@pytest.mark.parametrize("name", sorted(p.stem for p in BACKUP_IN.glob("*.xml")))
def test_backup_pair(name: str) -> None:
    internal = "-internal-" in name
    source = BACKUP_IN / f"{name}.xml"
    backup = DomainBackup.from_xml(_read(source), str(source), internal=internal)
    aligned = align_backup(backup, _fake_domain(backup), "SUFFIX")
    assert aligned.to_xml() == _read(BACKUP_OUT / f"{name}.xml")


def _checkpoint_hooks(checkpoint: DomainCheckpoint, hooks: set[str]) -> DomainCheckpoint:
    if PARENT in hooks:
        checkpoint = replace(checkpoint, parent="1525111885")
    if VDA_BITMAP in hooks:
        disks = list(checkpoint.disks) or [CheckpointDisk("vda")]
        assert disks[0].name == "vda" and disks[0].bitmap is None
        disks[0] = replace(disks[0], bitmap=checkpoint.name)
        checkpoint = replace(checkpoint, disks=tuple(disks))
    if SIZE in hooks:
        first = replace(checkpoint.disks[0], size=1048576)
        checkpoint = replace(checkpoint, disks=(first, *checkpoint.disks[1:]))
    return checkpoint


@pytest.mark.parametrize("name", sorted(CHECKPOINT_CASES))
def test_checkpoint_pair(name: str) -> None:
    moment, hooks = CHECKPOINT_CASES[name]
    checkpoint = DomainCheckpoint.from_xml(_read(CHECKPOINT_IN / f"{name}.xml"), name)
    checkpoint = _checkpoint_hooks(checkpoint.created(moment), hooks)
    assert checkpoint.to_xml() == _read(CHECKPOINT_OUT / f"{name}.xml")


@pytest.mark.parametrize("name", CHECKPOINT_REDEFINE)
def test_checkpoint_redefine(name: str) -> None:
    text = _read(CHECKPOINT_OUT / f"{name}.xml")
    assert DomainCheckpoint.from_xml(text, name, redefine=True).to_xml() == text


@pytest.mark.parametrize("name", sorted(SNAPSHOT_CASES))
def test_snapshot_pair(name: str) -> None:
    uuid, moment, running = SNAPSHOT_CASES[name]
    snapshot = DomainSnapshot.from_xml(_read(SNAPSHOT_IN / f"{name}.xml"), name, validate=False)
    snapshot = replace(snapshot.created(moment), domain_uuid=uuid)
    if running:
        snapshot = replace(snapshot, state="running")
    assert snapshot.to_xml() == _read(SNAPSHOT_OUT / f"{name}.xml")


@pytest.mark.parametrize("name", SNAPSHOT_SAME)
def test_snapshot_unchanged(name: str) -> None:
    text = _read(SNAPSHOT_IN / f"{name}.xml")
    assert DomainSnapshot.from_xml(text, name, validate=False).to_xml() == text
    expected = SNAPSHOT_OUT / f"{name}.xml"
    if expected.is_file():
        assert text == _read(expected)


@pytest.mark.parametrize("name", SNAPSHOT_REDEFINE)
def test_snapshot_redefine(name: str) -> None:
    text = _read(SNAPSHOT_OUT / f"{name}.xml")
    snapshot = DomainSnapshot.from_xml(text, name, validate=False, redefine=True)
    assert snapshot.to_xml() == text


ALL_FILES = sorted(
    path for folder in (BACKUP_IN, BACKUP_OUT, CHECKPOINT_IN, CHECKPOINT_OUT, SNAPSHOT_IN,
                        SNAPSHOT_OUT) for path in folder.glob("*.xml"))


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_schema_verdict(path: Path) -> None:
    """libvirt's schema rule: a file fails validation iff its name contains ``-invalid.``."""
    from gueststate.formats import from_xml

    if "-invalid." in path.name:
        with pytest.raises(FormatError) as caught:
            from_xml(path.read_bytes(), str(path))
        assert caught.value.problems and all(p.path == str(path) for p in caught.value.problems)
    else:
        model = from_xml(path.read_bytes(), str(path))
        kind = next(k for k in ("backup", "checkpoint", "snapshot") if k in path.parent.name)
        assert model.to_xml().startswith(f"<domain{kind}")
