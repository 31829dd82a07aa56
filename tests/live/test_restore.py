"""The rule the restore page states, checked on a real QEMU: after the checkpoints' metadata is
deleted, a disk that still holds the old bitmaps makes the new chain's first backup fail, and
removing those bitmaps while the guest is off lets it start."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from types import ModuleType

import pytest
from disks import wait_for_job
from sandbox import Sandbox

pytestmark = pytest.mark.live


def image_bitmaps(image: Path) -> list[str]:
    info = subprocess.run(
        ["qemu-img", "info", "--output=json", str(image)],
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(info.stdout)["format-specific"]["data"].get("bitmaps", [])
    return sorted(bitmap["name"] for bitmap in found)


def full_backup(store: Path, label: str) -> str:
    disks = "".join(
        f"<disk name='{disk}' type='file'><target file='{store}/{label}-{disk}.qcow2'/>"
        "<driver type='qcow2'/></disk>"
        for disk in ("vda", "vdb")
    )
    return f"<domainbackup mode='push'><disks>{disks}</disks></domainbackup>"


CHK0 = "<domaincheckpoint><name>chk-0</name></domaincheckpoint>"


def test_old_bitmaps_block_the_new_chain_until_removed(
    libvirt: ModuleType, libvirtd: Sandbox
) -> None:
    domain = libvirtd.create_guest("restored", persistent=True)
    store = libvirtd.qemu_dir("restored-backup")
    images = [libvirtd.dir / "images" / f"restored-{disk}.qcow2" for disk in ("vda", "vdb")]
    try:
        domain.backupBegin(full_backup(store, "old"), CHK0, 0)
        assert wait_for_job(domain)["type"] == libvirt.VIR_DOMAIN_JOB_COMPLETED
        domain.destroy()
        assert [image_bitmaps(image) for image in images] == [["chk-0"], ["chk-0"]]
        domain.checkpointLookupByName("chk-0").delete(
            libvirt.VIR_DOMAIN_CHECKPOINT_DELETE_METADATA_ONLY
        )
        domain.create()
        with pytest.raises(libvirt.libvirtError, match="Bitmap already exists: chk-0"):
            domain.backupBegin(full_backup(store, "new"), CHK0, 0)
        assert domain.listAllCheckpoints(0) == []

        domain.destroy()
        for image in images:
            subprocess.run(["qemu-img", "bitmap", "--remove", str(image), "chk-0"], check=True)
        assert [image_bitmaps(image) for image in images] == [[], []]
        domain.create()
        domain.backupBegin(full_backup(store, "new"), CHK0, 0)
        assert wait_for_job(domain)["type"] == libvirt.VIR_DOMAIN_JOB_COMPLETED
        assert [cp.getName() for cp in domain.listAllCheckpoints(0)] == ["chk-0"]
    finally:
        if domain.isActive():
            domain.destroy()
        domain.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA)
