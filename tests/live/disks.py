"""Look at disk images and guest disks from the outside: what a backup really holds.

`qemu-img map` tells which clusters an image itself stores, `qemu-io` checks their bytes, and
the QEMU monitor's own qemu-io writes into a running guest's disk.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import libvirt

Extent = tuple[int, int]  # (offset, length) in bytes


def stored_extents(image: Path) -> list[Extent]:
    """Data extents stored in `image` itself, not in its backing chain and not zero."""
    mapped = subprocess.run(
        ["qemu-img", "map", "--force-share", "--output=json", str(image)],
        capture_output=True,
        text=True,
        check=True,
    )
    entries: list[dict[str, Any]] = json.loads(mapped.stdout)
    return merge(
        (entry["start"], entry["length"])
        for entry in entries
        if entry["depth"] == 0 and entry["data"] and not entry["zero"]
    )


def merge(extents: Any) -> list[Extent]:
    """Sort extents and join the ones that touch."""
    joined: list[Extent] = []
    for offset, length in sorted(extents):
        if joined and joined[-1][0] + joined[-1][1] == offset:
            joined[-1] = (joined[-1][0], joined[-1][1] + length)
        else:
            joined.append((offset, length))
    return joined


def holds(image: Path, byte: int, offset: int, length: int) -> bool:
    """Whether `length` bytes at `offset` of `image` (read through its chain) all equal `byte`."""
    checked = subprocess.run(
        [
            "qemu-io",
            "--force-share",
            "-r",
            "-c",
            f"read -P {byte:#x} {offset} {length}",
            str(image),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return checked.returncode == 0 and "Pattern verification failed" not in checked.stdout


def guest_write(
    domain: libvirt.virDomain, disk_index: int, byte: int, offset: int, length: int
) -> str:
    """Write `length` bytes of `byte` at `offset` into the running guest's disk number
    `disk_index` (virtio-disk0 is vda), through the QEMU monitor; return the monitor's reply."""
    device = f"/machine/peripheral/virtio-disk{disk_index}/virtio-backend"
    return monitor(domain, f'qemu-io -d {device} "write -P {byte:#x} {offset} {length}"', hmp=True)


def monitor(domain: libvirt.virDomain, command: str, hmp: bool = False) -> str:
    """Send `command` to the guest's QEMU monitor (QMP JSON, or HMP text); return the reply."""
    import libvirt_qemu  # type: ignore[import-untyped]

    flags = libvirt_qemu.VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP if hmp else 0
    reply: str = libvirt_qemu.qemuMonitorCommand(domain, command, flags)
    return reply


def wait_until_no_job(domain: libvirt.virDomain, timeout: float = 120.0) -> None:
    """Poll until libvirt reports no job on `domain`: a push job ends by itself, and an aborted
    one ends some time after `abortJob()` returned (later still on a busy host)."""
    import libvirt

    deadline = time.monotonic() + timeout
    while domain.jobInfo()[0] != libvirt.VIR_DOMAIN_JOB_NONE:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the job of {domain.name()} did not end within {timeout:.0f}s")
        time.sleep(0.05)


def wait_for_job(domain: libvirt.virDomain, timeout: float = 120.0) -> dict[str, Any]:
    """Wait until the domain's job (a push backup) ends; return the completed job's statistics,
    kept for the next reader (`virsh domjobinfo --completed` would otherwise say "None")."""
    import libvirt

    wait_until_no_job(domain, timeout)
    stats: dict[str, Any] = domain.jobStats(
        libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED | libvirt.VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED
    )
    return stats


def bitmaps(domain: libvirt.virDomain, image: Path) -> list[str]:
    """Names of the dirty bitmaps QEMU keeps for the running guest's `image`."""
    reply = monitor(domain, '{"execute": "query-named-block-nodes", "arguments": {"flat": true}}')
    nodes: list[dict[str, Any]] = json.loads(reply)["return"]
    return sorted(
        bitmap["name"]
        for node in nodes
        if node.get("drv") == "qcow2" and node.get("file") == str(image)
        for bitmap in node.get("dirty-bitmaps", [])
    )
