"""Backups through a real libvirtd and QEMU (TCG), each checked byte by byte.

The tests of this module form one story on one running guest and run in file order: a full
push backup starts the checkpoint chain, the guest writes, incremental and differential backups
follow, push and pull, and checkpoints are deleted at the end.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from disks import (
    bitmaps,
    guest_write,
    holds,
    stored_extents,
    wait_for_job,
    wait_until_no_job,
)
from nbdclient import dirty_extents, read
from sandbox import Sandbox

from gueststate import xmlsafe

pytestmark = pytest.mark.live

KIB = 1024
MIB = 1024 * KIB


@dataclass
class Guest:
    domain: Any
    images: dict[str, Path]
    backups: Path


@pytest.fixture(scope="module")
def guest(libvirtd: Sandbox) -> Iterator[Guest]:
    domain = libvirtd.create_guest("backups")
    images = {disk: libvirtd.dir / "images" / f"backups-{disk}.qcow2" for disk in ("vda", "vdb")}
    yield Guest(domain, images, libvirtd.dir / "backup")
    domain.destroy()


def push_xml(backups: Path, label: str, incremental: str | None = None) -> str:
    since = f"<incremental>{incremental}</incremental>" if incremental else ""
    disks = "".join(
        f"<disk name='{disk}' type='file'><target file='{backups}/{label}-{disk}.qcow2'/>"
        "<driver type='qcow2'/></disk>"
        for disk in ("vda", "vdb")
    )
    return f"<domainbackup mode='push'>{since}<disks>{disks}</disks></domainbackup>"


def checkpoint_xml(name: str) -> str:
    return f"<domaincheckpoint><name>{name}</name></domaincheckpoint>"


def checkpoint_names(libvirt: ModuleType, domain: Any) -> list[str]:
    listed = domain.listAllCheckpoints(libvirt.VIR_DOMAIN_CHECKPOINT_LIST_TOPOLOGICAL)
    return [moment.getName() for moment in listed]


def test_full_push_backup_creates_checkpoint(libvirt: ModuleType, guest: Guest) -> None:
    guest.domain.backupBegin(push_xml(guest.backups, "full"), checkpoint_xml("full"))
    stats = wait_for_job(guest.domain)
    assert stats["success"] is True
    assert stats["operation"] == libvirt.VIR_DOMAIN_JOB_OPERATION_BACKUP
    assert checkpoint_names(libvirt, guest.domain) == ["full"]
    assert stored_extents(guest.backups / "full-vda.qcow2") == [(0, 64 * KIB)]
    assert holds(guest.backups / "full-vda.qcow2", 0x11, 0, 64 * KIB)
    assert holds(guest.backups / "full-vdb.qcow2", 0x22, 0, 64 * KIB)
    assert not holds(guest.backups / "full-vdb.qcow2", 0x11, 0, 64 * KIB)
    assert bitmaps(guest.domain, guest.images["vda"]) == ["full"]


def test_monitor_qemu_io_writes_into_the_running_guest(guest: Guest) -> None:
    assert not holds(guest.images["vda"], 0xAB, 1 * MIB, 64 * KIB)
    guest_write(guest.domain, 0, 0xAB, 1 * MIB, 64 * KIB)
    guest_write(guest.domain, 1, 0xCD, 2 * MIB, 128 * KIB)
    assert holds(guest.images["vda"], 0xAB, 1 * MIB, 64 * KIB)


def test_incremental_push_holds_exactly_the_changed_clusters(
    libvirt: ModuleType, guest: Guest
) -> None:
    plan = push_xml(guest.backups, "inc1", incremental="full")
    guest.domain.backupBegin(plan, checkpoint_xml("inc1"))
    assert wait_for_job(guest.domain)["success"] is True
    assert stored_extents(guest.backups / "inc1-vda.qcow2") == [(1 * MIB, 64 * KIB)]
    assert stored_extents(guest.backups / "inc1-vdb.qcow2") == [(2 * MIB, 128 * KIB)]
    assert holds(guest.backups / "inc1-vda.qcow2", 0xAB, 1 * MIB, 64 * KIB)
    assert holds(guest.backups / "inc1-vdb.qcow2", 0xCD, 2 * MIB, 128 * KIB)
    assert guest.domain.checkpointLookupByName("inc1").getParent().getName() == "full"


def pull_xml(socket: Path, scratch: Path, incremental: str) -> str:
    return (
        f"<domainbackup mode='pull'><incremental>{incremental}</incremental>"
        f"<server transport='unix' socket='{socket}'/><disks>"
        f"<disk name='vda' backup='yes' type='file'><scratch file='{scratch}'/></disk>"
        "<disk name='vdb' backup='no'/></disks></domainbackup>"
    )


def test_incremental_pull_exports_exactly_the_written_extents(
    libvirt: ModuleType, libvirtd: Sandbox, guest: Guest, tmp_path: Path
) -> None:
    guest_write(guest.domain, 0, 0xEF, 4 * MIB, 64 * KIB)
    socket = libvirtd.qemu_dir("nbd") / "backups.sock"
    scratch = guest.backups / "pull-vda.scratch"
    plan = pull_xml(socket, scratch, "inc1")
    guest.domain.backupBegin(plan, checkpoint_xml("pull1"))
    try:
        assert dirty_extents(socket, "vda", "backup-vda") == [(4 * MIB, 64 * KIB)]
        assert read(socket, "vda", 4 * MIB, 64 * KIB) == b"\xef" * 64 * KIB
        assert read(socket, "vda", 1 * MIB, 4 * KIB) == b"\xab" * 4 * KIB
        described = guest.domain.backupGetXMLDesc(0)
        compare_with_align(described, plan, guest.domain.XMLDesc(0), tmp_path)
        assert scratch.exists()
    finally:
        guest.domain.abortJob()
    wait_until_no_job(guest.domain)  # abortJob() only asks QEMU to cancel
    assert guest.domain.jobInfo()[0] == libvirt.VIR_DOMAIN_JOB_NONE
    assert not scratch.exists()
    assert checkpoint_names(libvirt, guest.domain) == ["full", "inc1", "pull1"]


def disk_attributes(xml: str, path: Path) -> dict[str, dict[str, str]]:
    root = xmlsafe.parse_bytes(xml.encode(), str(path)).getroot()
    return {disk.get("name", ""): dict(disk.attrib) for disk in root.iter("disk")}


def compare_with_align(described: str, plan: str, domain_xml: str, tmp_path: Path) -> None:
    """libvirt's account of the running job is `gueststate align`'s completion of the plan, plus
    what only the job start decides: the NBD export, its bitmap and the disk's index."""
    (tmp_path / "plan.xml").write_text(plan)
    (tmp_path / "domain.xml").write_text(domain_xml)
    aligned = subprocess.run(
        [
            sys.executable,
            "-m",
            "gueststate",
            "align",
            "--domain",
            str(tmp_path / "domain.xml"),
            str(tmp_path / "plan.xml"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    libvirt_says = disk_attributes(described, tmp_path / "described.xml")
    we_say = disk_attributes(aligned, tmp_path / "aligned.xml")
    job_only = {"exportname": "vda", "exportbitmap": "backup-vda"}
    assert {key: libvirt_says["vda"][key] for key in job_only} == job_only
    assert libvirt_says["vda"]["index"].isdigit()
    assert set(libvirt_says) == set(we_say) == {"vda", "vdb"}
    assert we_say["vda"] == {
        key: value for key, value in libvirt_says["vda"].items() if key not in {*job_only, "index"}
    }
    assert we_say["vdb"] == libvirt_says["vdb"]


def test_differential_push_holds_everything_since_the_first_checkpoint(
    libvirt: ModuleType, guest: Guest
) -> None:
    plan = push_xml(guest.backups, "diff", incremental="full")
    guest.domain.backupBegin(plan, None)
    assert wait_for_job(guest.domain)["success"] is True
    assert stored_extents(guest.backups / "diff-vda.qcow2") == [
        (1 * MIB, 64 * KIB),
        (4 * MIB, 64 * KIB),
    ]
    assert stored_extents(guest.backups / "diff-vdb.qcow2") == [(2 * MIB, 128 * KIB)]
    assert holds(guest.backups / "diff-vda.qcow2", 0xEF, 4 * MIB, 64 * KIB)
    assert checkpoint_names(libvirt, guest.domain) == ["full", "inc1", "pull1"]


def test_checkpoint_size_and_deletion(libvirt: ModuleType, guest: Guest) -> None:
    full = guest.domain.checkpointLookupByName("full")
    sized = full.getXMLDesc(
        libvirt.VIR_DOMAIN_CHECKPOINT_XML_NO_DOMAIN | libvirt.VIR_DOMAIN_CHECKPOINT_XML_SIZE
    )
    assert f"<disk name='vda' checkpoint='bitmap' bitmap='full' size='{128 * KIB}'/>" in sized
    guest.domain.checkpointLookupByName("inc1").delete(0)
    assert guest.domain.checkpointLookupByName("pull1").getParent().getName() == "full"
    assert bitmaps(guest.domain, guest.images["vda"]) == ["full", "pull1"]
    full.delete(libvirt.VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN)
    assert checkpoint_names(libvirt, guest.domain) == []
    assert bitmaps(guest.domain, guest.images["vda"]) == []


def test_running_guest_takes_disk_only_snapshot_and_keeps_bitmaps(
    libvirt: ModuleType, libvirtd: Sandbox
) -> None:
    domain = libvirtd.create_guest("overlay")
    try:
        domain.checkpointCreateXML(checkpoint_xml("before"), 0)
        snapshot = domain.snapshotCreateXML(
            "<domainsnapshot><name>s1</name></domainsnapshot>",
            libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY,
        )
        overlay = libvirtd.dir / "images" / "overlay-vda.s1"
        assert f"<source file='{overlay}'/>" in snapshot.getXMLDesc(0)
        assert bitmaps(domain, overlay) == ["before"]
    finally:
        domain.destroy()
