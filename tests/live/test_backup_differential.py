"""Differential test: backups as gueststate aligns them against a real libvirtd with QEMU.

Generated ``<domainbackup>`` definitions (push and pull, per-disk modes, export names and
bitmaps, incremental from a checkpoint) are started on a running TCG guest with several kinds
of disk (qcow2 and raw files, a read-only disk, an empty CD-ROM).  For each one:

* a pull job is described by ``backupGetXMLDesc`` while it runs, and must equal
  ``align_backup`` of the definition (generated names take the checkpoint's name, else the
  time libvirt chose) plus what the job start adds: each disk's ``index``, the scratch
  format (qcow2 unless given), the export name and, for an incremental disk, its bitmap;
* a push job runs to its end: the images libvirt wrote must be the targets the alignment
  names, with the format it names;
* a definition libvirt refuses must be refused by gueststate, with the same message.

Each job is ended (pull: ``abortJob``) and its end awaited through libvirt's job-completed
event, not by polling.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sandbox import Sandbox

from gueststate.formats import (
    Domain,
    DomainBackup,
    FormatError,
    align_backup,
)

pytestmark = pytest.mark.live

DEFINITIONS = 60
CHECKPOINT = "base"
#: Listing some disks makes the others 'no': list every one.  Only qcow2 disks take bitmaps.
CHECKPOINT_DISKS = ("<disks><disk name='vda'/><disk name='vdb'/><disk name='vdc' checkpoint='no'/>"
                    "<disk name='vde' checkpoint='no'/></disks>")
#: The disks with a bitmap of each checkpoint: an incremental backup needs one.
WITH_BITMAPS = ("vda", "vdb")


@dataclass(frozen=True)
class Release:
    """What the machine's libvirt does differently from the model (libvirt 11.3).

    Before 10.x (9.0.0 here) the schema wants ``type`` on every backed-up push disk, and a
    listed disk without a target or scratch image gets no generated name (QEMU then fails
    with an internal error): the generator names an image for every listed disk there.
    """

    names_listed_disks: bool


def _release(version: int) -> Release:
    return Release(names_listed_disks=version > 9_000_000)


class JobEnds:
    """Job-completed events of one connection, delivered by libvirt's default event loop."""

    def __init__(self, libvirt: ModuleType, connection: Any) -> None:
        self._ended = threading.Event()
        self._id = connection.domainEventRegisterAny(
            None, libvirt.VIR_DOMAIN_EVENT_ID_JOB_COMPLETED, self._on_completed, None)
        self._connection = connection

    def _on_completed(self, _conn: Any, _dom: Any, _params: Any, _opaque: Any) -> None:
        self._ended.set()

    def expect(self) -> None:
        """Call before starting a job whose end :meth:`wait` will wait for."""
        self._ended.clear()

    def wait(self, timeout: float = 120.0) -> None:
        if not self._ended.wait(timeout):
            raise TimeoutError(f"no job-completed event within {timeout:.0f}s")

    def close(self) -> None:
        self._connection.domainEventDeregisterAny(self._id)


@dataclass
class Guest:
    libvirt: Any
    domain: Any
    model: Domain
    images: Path
    nbd: Path
    ends: JobEnds


def _event_loop(libvirt: ModuleType) -> None:
    """libvirt's default event loop in a daemon thread (registered before connecting)."""
    libvirt.virEventRegisterDefaultImpl()

    def run() -> None:
        while True:
            libvirt.virEventRunDefaultImpl()

    threading.Thread(target=run, name="libvirt-events", daemon=True).start()


@pytest.fixture(scope="module")
def guest(libvirt: ModuleType, libvirtd: Sandbox) -> Iterator[Guest]:
    _event_loop(libvirt)
    connection = libvirt.open(libvirtd.uri)
    images = libvirtd.dir / "images"
    qcow_a = libvirtd.create_disk("diff-vda", 0x11)
    qcow_b = libvirtd.create_disk("diff-vdb", 0x22)
    readonly = libvirtd.create_disk("diff-vde", 0x33)
    raw = images / "diff-vdc.img"
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(raw), "16M"], check=True)
    devices = (
        f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
        f"<source file='{qcow_a}'/><target dev='vda' bus='virtio'/></disk>"
        f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
        f"<source file='{qcow_b}'/><target dev='vdb' bus='virtio'/></disk>"
        f"<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
        f"<source file='{raw}'/><target dev='vdc' bus='virtio'/></disk>"
        f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
        f"<source file='{readonly}'/><target dev='vde' bus='virtio'/><readonly/></disk>"
        "<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>"
    )
    xml = (f"<domain type='qemu'><name>diff</name><memory unit='MiB'>64</memory>"
           "<os><type arch='x86_64' machine='pc'>hvm</type></os>"
           f"<devices>{devices}<memballoon model='none'/></devices></domain>")
    domain = connection.createXML(xml, 0)
    # The checkpoint incremental backups start from: raw and read-only disks take none.
    domain.checkpointCreateXML(
        f"<domaincheckpoint><name>{CHECKPOINT}</name>{CHECKPOINT_DISKS}</domaincheckpoint>", 0)
    ends = JobEnds(libvirt, connection)
    model = Domain.from_xml(domain.XMLDesc(0))
    try:
        yield Guest(libvirt, domain, model, images, libvirtd.qemu_dir("diff-nbd"), ends)
    finally:
        ends.close()
        domain.destroy()
        connection.close()


# --- the generator ---

@dataclass
class Generator:
    rng: random.Random
    images: Path
    nbd: Path
    release: Release

    def disk(self, name: str, pull: bool, number: int, index: int, incremental: bool) -> str:
        rng = self.rng
        if rng.random() < 0.2:
            return f"<disk name='{name}' backup='no'/>"
        attrs = [f"name='{name}'"]
        if rng.random() < 0.3:
            attrs.append("backup='yes'")
        if name in WITH_BITMAPS:
            mode = rng.choice([None, None, "full", "incremental"])
        else:  # no bitmap to start from: a full backup, said so when the backup is incremental
            mode = "full" if incremental else rng.choice([None, "full"])
        if mode is not None:
            attrs.append(f"backupmode='{mode}'")
        if mode == "incremental" and (not incremental or rng.random() < 0.5):
            attrs.append(f"incremental='{CHECKPOINT}'")
        if pull and rng.random() < 0.3:
            attrs.append(f"exportname='exp{index}'")
        if pull and mode == "incremental" and rng.random() < 0.3:
            attrs.append(f"exportbitmap='bm{index}'")
        inner = ""
        if not self.release.names_listed_disks or rng.random() < 0.5:
            attrs.append("type='file'")
            element = "scratch" if pull else "target"
            inner += f"<{element} file='{self.images}/n{number}-{name}.{element}'/>"
        if rng.random() < 0.3:
            inner += f"<driver type='{rng.choice(['qcow2', 'qcow2', 'raw'])}'/>"
        return f"<disk {' '.join(attrs)}>{inner}</disk>"

    def backup(self, number: int) -> tuple[str, str | None]:
        """A definition and, sometimes, the checkpoint to create with it."""
        rng = self.rng
        pull = rng.random() < 0.5
        parts = []
        incremental = rng.random() < 0.35
        if incremental:
            parts.append(f"<incremental>{CHECKPOINT}</incremental>")
        if pull:
            parts.append(f"<server transport='unix' socket='{self.nbd}/n{number}.sock'/>")
        if incremental or rng.random() < 0.7:
            names = rng.sample(["vda", "vdb", "vdc", "vde", "hdc"], rng.randint(1, 3))
            if rng.random() < 0.08:
                names.append(rng.choice(["vdz", names[0]]))
            parts.append("<disks>" + "".join(
                self.disk(name, pull, number, index, incremental)
                for index, name in enumerate(names)) + "</disks>")
        mode = "pull" if pull else "push"
        checkpoint = None
        if rng.random() < 0.2:
            checkpoint = f"<domaincheckpoint><name>k{number}</name>{CHECKPOINT_DISKS}" \
                "</domaincheckpoint>"
        return f"<domainbackup mode='{mode}'>{''.join(parts)}</domainbackup>", checkpoint


# --- the comparison ---

_SUFFIX = re.compile(r"file='[^']*\.(\d+)'")


def _with_job_parts(backup: DomainBackup) -> DomainBackup:
    """What a pull job adds to the aligned definition: a scratch image is qcow2 unless told,
    each backed-up disk is exported under its own name unless named, an incremental one with
    the bitmap ``backup-<disk>``."""
    disks = tuple(
        replace(disk, format=disk.format or "qcow2", exportname=disk.exportname or disk.name,
                exportbitmap=disk.exportbitmap or (
                    f"backup-{disk.name}" if disk.backupmode == "incremental" else None))
        if disk.backup else disk for disk in backup.disks)
    return backup.with_disks(disks)


def _image_format(path: Path) -> str:
    info = subprocess.run(["qemu-img", "info", "-U", "--output=json", str(path)],
                          capture_output=True, text=True, check=True).stdout
    return str(json.loads(info)["format"])


@dataclass
class Tally:
    pull_equal: int = 0
    push_equal: int = 0
    refused_by_both: int = 0
    same_message: int = 0
    mismatches: list[str] = field(default_factory=list)


def _ours(text: str, guest: Guest, suffix: str) -> DomainBackup:
    backup = DomainBackup.from_xml(text, "generated")
    return align_backup(backup, guest.model, suffix)


def _run_one(guest: Guest, text: str, checkpoint: str | None, tally: Tally) -> None:
    libvirt = guest.libvirt
    pull = "mode='pull'" in text
    before = set(guest.images.iterdir())
    guest.ends.expect()
    try:
        guest.domain.backupBegin(text, checkpoint, 0)
    except libvirt.libvirtError as error:
        try:
            _ours(text, guest, "0")
        except FormatError as refusal:
            tally.refused_by_both += 1
            message = refusal.problems[0].message
            if message in str(error):
                tally.same_message += 1
            elif "schema" not in str(error):
                tally.mismatches.append(f"libvirt said {error}\ngueststate said {message}\n"
                                        f"{text}")
            return
        tally.mismatches.append(f"libvirt refused ({error}), gueststate accepted:\n{text}")
        return
    described = None
    try:
        if pull:
            described = guest.domain.backupGetXMLDesc(0)
    finally:
        if pull:
            guest.domain.abortJob()
        guest.ends.wait()
    suffix = None
    if checkpoint is not None:
        suffix = re.search(r"<name>([^<]+)</name>", checkpoint).group(1)  # type: ignore[union-attr]
    try:
        if pull:
            assert described is not None
            found = _SUFFIX.search(described)
            ours = _ours(text, guest, suffix or (found.group(1) if found else "0"))
            _compare_pull(described, ours, text, tally)
        else:
            created = sorted(set(guest.images.iterdir()) - before)
            found = next((_SUFFIX.search(f"file='{path}'") for path in created), None)
            ours = _ours(text, guest, suffix or (found.group(1) if found else "0"))
            _compare_push(created, ours, text, tally)
    except FormatError as refusal:
        tally.mismatches.append(f"gueststate refused ({refusal}), libvirt accepted:\n{text}")
    finally:
        for path in set(guest.images.iterdir()) - before:
            path.unlink()


def _compare_pull(described: str, ours: DomainBackup, text: str, tally: Tally) -> None:
    expected = _with_job_parts(ours).to_xml()
    actual = re.sub(r" index='\d+'", "", described)
    if actual != expected:
        tally.mismatches.append(f"pull differs for\n{text}\nlibvirt:\n{actual}\n"
                                f"gueststate:\n{expected}")
    else:
        tally.pull_equal += 1


def _compare_push(created: list[Path], ours: DomainBackup, text: str, tally: Tally) -> None:
    expected = {Path(disk.store.path): disk.format or "qcow2" for disk in ours.disks
                if disk.backup and disk.store.path}
    actual = {path: _image_format(path) for path in created}
    if actual != expected:
        tally.mismatches.append(f"push wrote {actual}, gueststate expected {expected}:\n{text}")
    else:
        tally.push_equal += 1


def test_backups_match_libvirt(guest: Guest) -> None:
    rng = random.Random(20261202)
    generate = Generator(rng, guest.images, guest.nbd, _release(guest.libvirt.getVersion()))
    tally = Tally()
    for number in range(DEFINITIONS):
        text, checkpoint = generate.backup(number)
        _run_one(guest, text, checkpoint, tally)
    print(f"backups: {tally.pull_equal} pull and {tally.push_equal} push equal, "
          f"{tally.refused_by_both} refused by both ({tally.same_message} same message)")
    assert not tally.mismatches, (f"{len(tally.mismatches)} mismatches; first:\n"
                                  + "\n\n".join(tally.mismatches[:5]))
    assert tally.pull_equal + tally.push_equal + tally.refused_by_both == DEFINITIONS
    assert tally.pull_equal >= 12 and tally.push_equal >= 12, tally
    assert tally.refused_by_both >= 3, tally

