"""Complete a definition against a domain's disks, with libvirt's rules and error messages."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Container
from dataclasses import replace

from gueststate.formats.backup import BackupDisk, DomainBackup
from gueststate.formats.checkpoint import CheckpointDisk, DomainCheckpoint
from gueststate.formats.common import model_error
from gueststate.formats.domain import Domain, DomainDisk
from gueststate.formats.snapshot import DomainSnapshot, SnapshotDisk, SnapshotSource


def _regular_file(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def align_backup(backup: DomainBackup, domain: Domain, suffix: str) -> DomainBackup:
    """Every domain disk in the backup, modes and checkpoints filled, target names generated.

    Listed disks keep their order; the others follow in domain order, backed up only when no
    disk was listed.  Generated targets are ``<source>.<suffix>``.
    """
    if not domain.disks:
        raise model_error("domain must have at least one disk to perform backup")
    disks: list[BackupDisk] = []
    for disk in backup.disks:
        found = domain.disk_by_target(disk.name)
        if found is None:
            raise model_error(f"no disk named '{disk.name}'")
        if any(other.name == disk.name for other in disks):
            raise model_error(f"disk '{disk.name}' specified twice")
        if (disk.backupmode == "incremental" and disk.incremental is None
                and backup.incremental is None):
            raise model_error(
                f"'incremental' backup mode of disk '{disk.name}' requires setting "
                "'incremental' field for disk or backup")
        if disk.backup:
            disk = _assign_store(disk, found, suffix)
        disks.append(disk)
    back_up_all = not backup.disks
    for found in domain.disks:
        if any(disk.name == found.target for disk in disks):
            continue
        if back_up_all and not found.empty and not found.readonly:
            disks.append(_assign_store(BackupDisk(found.target), found, suffix))
        else:
            disks.append(BackupDisk(found.target, backup=False))
    return backup.with_disks(tuple(_fill_mode(disk, backup.incremental) for disk in disks))


def _assign_store(disk: BackupDisk, found: DomainDisk, suffix: str) -> BackupDisk:
    if found.empty:
        raise model_error(f"disk '{disk.name}' has no media")
    if disk.store.path:
        return disk
    if found.type != "file":
        raise model_error(f"refusing to generate file name for disk '{disk.name}'")
    store = replace(disk.store, path=f"{found.source}.{suffix}")
    return replace(disk, type="file", store=store)


def _fill_mode(disk: BackupDisk, incremental: str | None) -> BackupDisk:
    if not disk.backup:
        return disk
    mode = disk.backupmode
    if mode is None:
        mode = "incremental" if incremental or disk.incremental else "full"
    checkpoint = disk.incremental
    if mode == "incremental" and checkpoint is None:
        checkpoint = incremental
    return replace(disk, backupmode=mode, incremental=checkpoint)


def _listed_disk(domain: Domain, name: str, chosen: Container[str]) -> DomainDisk:
    """The domain disk a definition lists as ``name``; ``chosen``: the targets listed before."""
    found = domain.disk_by_name(name)
    if found is None:
        raise model_error(f"no disk named '{name}'")
    if found.target in chosen:
        raise model_error(f"disk '{name}' specified twice")
    return found


def align_checkpoint(checkpoint: DomainCheckpoint, domain: Domain) -> DomainCheckpoint:
    """Every domain disk, in domain order, with its bitmap named after the checkpoint."""
    if len(checkpoint.disks) > len(domain.disks):
        raise model_error("too many disk checkpoint requests for domain")
    if not domain.disks:
        raise model_error("domain must have at least one disk to perform checkpoints")
    default = "no" if checkpoint.disks else "bitmap"
    chosen: dict[str, CheckpointDisk] = {}
    for disk in checkpoint.disks:
        found = _listed_disk(domain, disk.name, chosen)
        if disk.checkpoint != "no" and (found.empty or found.readonly):
            raise model_error(f"disk '{disk.name}' is empty or readonly")
        chosen[found.target] = replace(disk, name=found.target)
    disks = []
    for found in domain.disks:
        disk = chosen.get(found.target) or CheckpointDisk(
            found.target, "no" if found.empty or found.readonly else default)
        if disk.checkpoint == "bitmap" and disk.bitmap is None:
            disk = replace(disk, bitmap=checkpoint.name)
        disks.append(disk)
    return replace(checkpoint, disks=tuple(disks))


def align_snapshot(
    snapshot: DomainSnapshot,
    domain: Domain,
    default_location: str = "internal",
    *,
    uniform_internal: bool = True,
    force_default: bool = False,
    is_regular_file: Callable[[str], bool] = _regular_file,
) -> DomainSnapshot:
    """Every domain disk, in domain order, with its mode decided and external names generated.

    ``uniform_internal`` is libvirt's rule that an internal snapshot covers every disk the
    same way.  New external images are named after the source with its extension replaced
    by the snapshot name; the source must be an existing regular file (``is_regular_file``).
    """
    if len(snapshot.disks) > len(domain.disks):
        raise model_error("too many disk snapshot requests for domain")
    if not domain.disks:
        return snapshot
    require_match = uniform_internal and default_location == "internal"
    chosen: dict[str, SnapshotDisk] = {}
    for disk in snapshot.disks:
        found = _listed_disk(domain, disk.name, chosen)
        mode = disk.snapshot
        if mode is None:
            own = found.snapshot
            mode = own if own and (not require_match or own == "no") else default_location
        elif require_match and mode != default_location and not (
                mode == "no" and found.snapshot == "no"):
            raise model_error(f"disk '{disk.name}' must use snapshot mode '{default_location}'")
        if disk.source.path and mode != "external":
            raise model_error(f"file '{disk.source.path}' for disk '{disk.name}' requires use "
                              "of external snapshot mode")
        chosen[found.target] = replace(disk, name=found.target, snapshot=mode)
    disks: list[SnapshotDisk] = []
    for found in domain.disks:
        listed = chosen.get(found.target)
        if listed is not None:
            disk = listed
        elif found.empty:
            disk = SnapshotDisk(found.target, "no")
        elif not force_default and found.snapshot:
            disk = SnapshotDisk(found.target, found.snapshot)
        else:
            disk = SnapshotDisk(found.target, default_location)
        if disk.snapshot == "external" and not disk.source.path:
            disk = _external_name(snapshot, disk, found, disks, is_regular_file)
        disks.append(disk)
    return replace(snapshot, disks=tuple(disks))


def _external_name(
    snapshot: DomainSnapshot, disk: SnapshotDisk, found: DomainDisk,
    earlier: list[SnapshotDisk], is_regular_file: Callable[[str], bool],
) -> SnapshotDisk:
    if disk.type != "file":
        raise model_error(f"cannot generate external snapshot name for disk '{disk.name}' on "
                          f"a '{disk.type}' device")
    if not found.source:
        raise model_error(f"cannot generate external snapshot name for disk '{disk.name}' "
                          "without source")
    if not is_regular_file(found.source):
        raise model_error(f"source for disk '{disk.name}' is not a regular file; refusing to "
                          "generate external snapshot name")
    if snapshot.name is None:
        raise model_error("a snapshot without a name cannot name external files")
    base = found.source
    dot = base.rfind(".")
    if dot >= 0 and "/" not in base[dot:]:
        base = base[:dot]
    path = f"{base}.{snapshot.name}"
    for other in earlier:
        if other.source.path == path:
            raise model_error(f"cannot generate external snapshot name for disk '{disk.name}': "
                              f"collision with disk '{other.name}'")
    return replace(disk, source=replace(disk.source or SnapshotSource(), path=path))
