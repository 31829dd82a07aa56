"""The behaviours the site describes that differ by libvirt release, each observed for real.

A probe does one thing on the test driver or on the sandbox's libvirtd with QEMU and returns
what happened, as the reader would see it: ``"allowed"`` or libvirt's error text (the sandbox's
directory written as ``$SANDBOX``, QEMU's time stamps and run-dependent words cut). The
records of what each release answered live in ``kbase/versions.json``; `make matrix` writes
them, and the live tests check the machine's own release against its record
(``test_behaviours.py``). ``kbase/versions.md`` shows them as a table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from disks import guest_write, wait_for_job
from sandbox import Sandbox

ALLOWED = "allowed"
KIB = 1024


@dataclass(frozen=True)
class Probe:
    """One behaviour: its key in the records, the words of the table's row, where it is told."""

    key: str
    driver: str
    behaviour: str
    page: str
    run: Callable[[ModuleType, Sandbox], str]


def outcome(libvirt: ModuleType, box: Sandbox, call: Callable[[], Any]) -> str:
    """``"allowed"``, or the error libvirt gave, in the words a reader would search for."""
    try:
        call()
    except libvirt.libvirtError as error:
        text = str(error).replace(str(box.dir), "$SANDBOX")
        # QEMU's own messages carry a time stamp and, on 9.0.0, words that vary with timing
        # between "internal error:" and QEMU's message.
        text = re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+Z ", "", text)
        return re.sub(r"^internal error: .*?(qemu-system-x86_64: )", r"internal error: … \1", text)
    return ALLOWED


def _shut_off(libvirt: ModuleType, box: Sandbox, name: str, checkpoint: bool = True) -> Any:
    """A defined, shut-off guest; with a (redefined) checkpoint ``c0`` unless told otherwise."""
    disk = box.create_disk(f"{name}-vda", 0x11)
    domain = box.connect().defineXML(box.guest_xml(name, {"vda": disk}))
    if checkpoint:
        domain.checkpointCreateXML(
            "<domaincheckpoint><name>c0</name><creationTime>1700000000</creationTime>"
            "<disks><disk name='vda' checkpoint='bitmap'/></disks></domaincheckpoint>",
            libvirt.VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE,
        )
    return domain


def _running(libvirt: ModuleType, box: Sandbox, name: str) -> Any:
    """A running guest with a checkpoint ``c0``."""
    domain = box.create_guest(name)
    domain.checkpointCreateXML("<domaincheckpoint><name>c0</name></domaincheckpoint>", 0)
    return domain


def _forget(libvirt: ModuleType, domain: Any) -> None:
    """Remove a probe's guest, whether persistent (shut off) or transient (gone once stopped)."""
    try:
        persistent = domain.isPersistent()
    except libvirt.libvirtError:  # a transient guest whose QEMU died with the probe is gone
        return
    if domain.isActive():
        domain.destroy()
    if persistent:
        domain.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
                             | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)


def _answer(libvirt: ModuleType, box: Sandbox, domain: Any,
            call: Callable[[Any], Any]) -> str:
    """What ``call(domain)`` does; the probe's guest is removed afterwards."""
    try:
        return outcome(libvirt, box, lambda: call(domain))
    finally:
        _forget(libvirt, domain)


def _internal(domain: Any) -> Any:
    return domain.snapshotCreateXML("<domainsnapshot/>", 0)


def _disk_only(libvirt: ModuleType) -> Callable[[Any], Any]:
    return lambda domain: domain.snapshotCreateXML(
        "<domainsnapshot/>", libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY)


def checkpoint_of_shut_off_guest(libvirt: ModuleType, box: Sandbox) -> str:
    return _answer(libvirt, box, _shut_off(libvirt, box, "off-checkpoint", checkpoint=False),
                   lambda domain: domain.checkpointCreateXML("<domaincheckpoint/>", 0))


def internal_snapshot_of_shut_off_guest(libvirt: ModuleType, box: Sandbox) -> str:
    return _answer(libvirt, box, _shut_off(libvirt, box, "off-internal"), _internal)


def external_snapshot_of_shut_off_guest(libvirt: ModuleType, box: Sandbox) -> str:
    return _answer(libvirt, box, _shut_off(libvirt, box, "off-external"),
                   _disk_only(libvirt))


def undefine_shut_off_guest(libvirt: ModuleType, box: Sandbox) -> str:
    return _answer(libvirt, box, _shut_off(libvirt, box, "off-undefine"),
                   lambda domain: domain.undefine())


def external_snapshot_of_running_guest(libvirt: ModuleType, box: Sandbox) -> str:
    return _answer(libvirt, box, _running(libvirt, box, "run-external"),
                   _disk_only(libvirt))


def internal_snapshot_of_running_guest(libvirt: ModuleType, box: Sandbox) -> str:
    return _answer(libvirt, box, _running(libvirt, box, "run-internal"), _internal)


def revert_to_external_snapshot(libvirt: ModuleType, box: Sandbox) -> str:
    domain = box.create_guest("revert-external")
    try:
        snapshot = domain.snapshotCreateXML("<domainsnapshot><name>s1</name></domainsnapshot>",
                                            libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY)
        return outcome(libvirt, box, lambda: domain.revertToSnapshot(
            snapshot, libvirt.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING))
    finally:
        _forget(libvirt, domain)


def revert_internal_snapshot_with_bitmaps(libvirt: ModuleType, box: Sandbox) -> str:
    domain = box.create_guest("revert-internal")
    try:
        snapshot = domain.snapshotCreateXML("<domainsnapshot><name>s1</name></domainsnapshot>", 0)
        domain.checkpointCreateXML("<domaincheckpoint><name>c0</name></domaincheckpoint>", 0)
        guest_write(domain, 0, 0xAB, 0, 64 * KIB)
        return outcome(libvirt, box, lambda: domain.revertToSnapshot(snapshot, 0))
    finally:
        _forget(libvirt, domain)


def _during_pull_backup(libvirt: ModuleType, box: Sandbox, name: str,
                        call: Callable[[Any, Any], Any]) -> str:
    """What ``call(domain, socket)`` does while a pull backup runs; the job is ended after."""
    domain = box.create_guest(name)
    socket = box.qemu_dir(f"{name}-nbd") / "nbd.sock"
    try:
        domain.backupBegin(
            f"<domainbackup mode='pull'><server transport='unix' socket='{socket}'/>"
            "</domainbackup>", None, 0)
        answer = outcome(libvirt, box, lambda: call(domain, socket))
        domain.abortJob()
        wait_for_job(domain)
        return answer
    finally:
        _forget(libvirt, domain)


def query_during_pull_backup(libvirt: ModuleType, box: Sandbox) -> str:
    return _during_pull_backup(libvirt, box, "pull-query", lambda domain, _: domain.jobInfo())


def second_backup_during_pull_backup(libvirt: ModuleType, box: Sandbox) -> str:
    """A pull job lasts until it is ended: another backup waits for it, then gives up."""
    return _during_pull_backup(libvirt, box, "pull-second", lambda domain, socket: (
        domain.backupBegin(
            f"<domainbackup mode='pull'><server transport='unix' socket='{socket}.2'/>"
            "</domainbackup>", None, 0)))


def test_driver_snapshot_with_checkpoint(libvirt: ModuleType, box: Sandbox) -> str:
    connection = libvirt.open("test:///default")
    try:
        domain = connection.lookupByName("test")
        checkpoint = domain.checkpointCreateXML(
            "<domaincheckpoint><name>c0</name></domaincheckpoint>", 0)
        try:
            return outcome(libvirt, box, lambda: domain.snapshotCreateXML(
                "<domainsnapshot><name>s0</name></domainsnapshot>", 0))
        finally:
            for snapshot in domain.listAllSnapshots(0):
                snapshot.delete(0)
            checkpoint.delete(0)
    finally:
        connection.close()


PROBES = [
    Probe("checkpoint-shut-off", "QEMU", "Create a checkpoint of a shut-off guest",
          "api-backup-refused", checkpoint_of_shut_off_guest),
    Probe("internal-snapshot-shut-off", "QEMU",
          "Internal snapshot of a shut-off guest that has a checkpoint", "api-backup-refused",
          internal_snapshot_of_shut_off_guest),
    Probe("external-snapshot-shut-off", "QEMU",
          "Disk-only (external) snapshot of a shut-off guest that has a checkpoint",
          "api-backup-refused", external_snapshot_of_shut_off_guest),
    Probe("undefine-shut-off", "QEMU", "Undefine a shut-off guest that has a checkpoint",
          "api-backup-refused", undefine_shut_off_guest),
    Probe("external-snapshot-running", "QEMU",
          "Disk-only (external) snapshot of a running guest that has a checkpoint",
          "api-backup-refused", external_snapshot_of_running_guest),
    Probe("internal-snapshot-running", "QEMU",
          "Internal snapshot of a running guest that has a checkpoint",
          "kbase-snapshot-revert-qemu", internal_snapshot_of_running_guest),
    Probe("revert-external", "QEMU", "Revert a running guest to an external snapshot",
          "kbase-snapshot-revert-qemu", revert_to_external_snapshot),
    Probe("revert-internal-bitmaps", "QEMU",
          "Revert to an internal snapshot while a checkpoint's bitmap is active",
          "kbase-snapshot-revert-qemu", revert_internal_snapshot_with_bitmaps),
    Probe("pull-job-query", "QEMU", "Query the job while a pull backup runs",
          "kbase-backup-pull", query_during_pull_backup),
    Probe("pull-job-second-backup", "QEMU", "Start a second backup while a pull backup runs",
          "kbase-backup-pull", second_backup_during_pull_backup),
    Probe("test-driver-snapshot-with-checkpoint", "test",
          "Snapshot of a guest that has a checkpoint", "api-checkpoint-snapshot-exclusion",
          test_driver_snapshot_with_checkpoint),
]
