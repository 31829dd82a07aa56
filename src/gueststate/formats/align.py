"""Complete a definition against a domain's disks, with libvirt's rules and error messages."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import replace

from gueststate.formats import backup as backup_rules
from gueststate.formats import checkpoint as checkpoint_rules
from gueststate.formats import snapshot as snapshot_rules
from gueststate.formats.backup import BackupDisk, DomainBackup
from gueststate.formats.checkpoint import CheckpointDisk, DomainCheckpoint
from gueststate.formats.domain import Domain, DomainDisk
from gueststate.formats.location import Location
from gueststate.formats.rules import SPECIFIED_TWICE, Listed, enforce
from gueststate.formats.snapshot import (
    DomainSnapshot,
    SnapshotDisk,
    SnapshotMemory,
    SnapshotSource,
)

Definition = DomainBackup | DomainCheckpoint | DomainSnapshot
#: The release whose behaviour the model follows; others are named where they differ.
MODEL_RELEASE = "11.3.0"


def release_key(version: str) -> tuple[int, ...]:
    """``"11.3.0"`` as ``(11, 3, 0)``, so releases compare in order."""
    return tuple(int(part) for part in version.split("."))


def regular_file(path: str) -> bool:
    """Whether ``path`` is an existing regular file (libvirt names new images only after
    those)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _origin(definition: Definition, root: str) -> Location:
    """Where ``definition`` was read from, so that a refusal names the element at fault (its
    line and column); a place in a model, without either, for one built in Python."""
    return definition.origin or Location("<model>", (root,))


def _document(place: Location) -> Location:
    """The document of ``place`` but no element in it: where a refusal goes that no element of
    the definition is at fault for (the domain lacks something)."""
    return Location(place.path)


def _without_disks(domain: Domain, origin: Location) -> Location:
    """Where a refusal goes for a domain without disks: the domain's ``<devices>`` (or root)
    in its own file, since the definition is not at fault; the definition's document when the
    domain was built in Python."""
    return domain.devices_origin or _document(origin)


def _listed(disks: Location) -> Callable[[int, str], Location]:
    """Where the ``index``-th listed disk (named ``name``) is.  In a parsed document only while
    the disk read there still has that name: a model changed since it was read (with
    ``dataclasses.replace``) lists its disks otherwise, and then the place is the model's, in
    that file but on no line.  The document's disks are listed once, so asking stays linear."""
    listing = disks.node if disks.anchor is not None else None
    read = [] if listing is None or listing.tag != "disks" else listing.findall("disk")

    def place(index: int, name: str) -> Location:
        if disks.anchor is not None and (index >= len(read) or read[index].get("name") != name):
            return Location(disks.path, (disks.element, f"disk[{index + 1}]"))
        return disks.at(f"disk[{index + 1}]")  # as read, or a place in a model built in Python

    return place


def align_backup(backup: DomainBackup, domain: Domain, suffix: str) -> DomainBackup:
    """Every domain disk in the backup, modes and checkpoints filled, target names generated.

    Listed disks keep their order; the others follow in domain order, backed up only when no
    disk was listed.  Generated targets are ``<source>.<suffix>``.
    """
    origin = _origin(backup, "domainbackup")
    if not domain.disks:
        raise _without_disks(domain, origin).error(
            "domain must have at least one disk to perform backup")
    disks: list[BackupDisk] = []
    names = [disk.name for disk in backup.disks]  # libvirt knows backup disks by name
    first: dict[str, int] = {}
    for index, name in enumerate(names):
        first.setdefault(name, index)
    place_of = _listed(origin.at("disks"))
    for index, disk in enumerate(backup.disks):
        place = place_of(index, disk.name)
        found = domain.disk_by_target(disk.name)
        if found is None:
            raise place.at("@name").error(f"no disk named '{disk.name}'")
        enforce(backup_rules.DISK_RULES, Listed(backup, index, names, first=first), place,
                "align")
        if disk.backup:
            disk = _assign_store(disk, found, suffix, place)
        disks.append(disk)
    back_up_all = not backup.disks
    listed = {disk.name for disk in disks}
    for found in domain.disks:
        if found.target in listed:
            continue
        if back_up_all and not found.empty and not found.readonly:
            disks.append(_assign_store(BackupDisk(found.target), found, suffix,
                                       _document(origin)))
        else:
            disks.append(BackupDisk(found.target, backup=False))
    aligned = backup.with_disks(tuple(_fill_mode(disk, backup.incremental) for disk in disks))
    enforce(backup_rules.BACKUP_RULES, aligned, origin, "align")
    return replace(aligned, origin=None)


def _assign_store(
    disk: BackupDisk, found: DomainDisk, suffix: str, place: Location
) -> BackupDisk:
    """The disk with its store named; ``place`` is where the definition lists it."""
    if found.empty:
        raise place.error(f"disk '{disk.name}' has no media")
    if disk.store.path:
        return disk
    if found.type != "file":
        raise place.error(f"refusing to generate file name for disk '{disk.name}'")
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


def _resolved(
    domain: Domain, names: Sequence[str], disks: Location
) -> Iterator[tuple[int, DomainDisk, Sequence[str], dict[str, int], Location]]:
    """Each listed name's index and domain disk, with the targets resolved so far and where
    each first appeared (what libvirt's "specified twice" compares), and where the entry is
    in the definition (``disks`` is its disk list); an unknown name is refused."""
    targets: list[str] = []  # shared: entry i is judged when it holds i + 1 targets
    first: dict[str, int] = {}
    place_of = _listed(disks)
    for index, name in enumerate(names):
        place = place_of(index, name)
        found = domain.disk_by_name(name)
        if found is None:
            raise place.at("@name").error(f"no disk named '{name}'")
        targets.append(found.target)
        first.setdefault(found.target, index)
        yield index, found, targets, first, place


def align_checkpoint(checkpoint: DomainCheckpoint, domain: Domain) -> DomainCheckpoint:
    """Every domain disk, in domain order, with its bitmap named after the checkpoint."""
    origin = _origin(checkpoint, "domaincheckpoint")
    if len(checkpoint.disks) > len(domain.disks):
        raise origin.at("disks").error("too many disk checkpoint requests for domain")
    if not domain.disks:
        raise _without_disks(domain, origin).error(
            "domain must have at least one disk to perform checkpoints")
    default = "no" if checkpoint.disks else "bitmap"
    chosen: dict[str, CheckpointDisk] = {}
    names = [disk.name for disk in checkpoint.disks]
    for index, found, targets, first, place in _resolved(domain, names, origin.at("disks")):
        disk = checkpoint.disks[index]
        enforce(checkpoint_rules.DISK_RULES, Listed(checkpoint, index, targets, first=first),
                place, "align")
        if disk.checkpoint != "no" and (found.empty or found.readonly):
            raise place.error(f"disk '{disk.name}' is empty or readonly")
        chosen[found.target] = replace(disk, name=found.target)
    disks = []
    for found in domain.disks:
        disk = chosen.get(found.target) or CheckpointDisk(
            found.target, "no" if found.empty or found.readonly else default)
        if disk.checkpoint == "bitmap" and disk.bitmap is None:
            disk = replace(disk, bitmap=checkpoint.name)
        disks.append(disk)
    return replace(checkpoint, disks=tuple(disks), origin=None)


def align_snapshot(
    snapshot: DomainSnapshot,
    domain: Domain,
    default_location: str = "internal",
    *,
    uniform_internal: bool = True,
    force_default: bool = False,
    is_regular_file: Callable[[str], bool] = regular_file,
    libvirt_version: str = MODEL_RELEASE,
) -> DomainSnapshot:
    """Every domain disk, in domain order, with its mode decided and external names generated
    (libvirt's virDomainSnapshotAlignDisks).

    ``uniform_internal`` is libvirt's rule that an internal snapshot covers every disk the
    same way.  New external images are named after the source with its extension replaced
    by the snapshot name (the creation time when it has none); the source must be an
    existing regular file (``is_regular_file``). ``libvirt_version`` picks the words of the
    release whose refusals differ from 11.3.0's.
    """
    origin = _origin(snapshot, "domainsnapshot")
    if len(snapshot.disks) > len(domain.disks):
        raise origin.at("disks").error("too many disk snapshot requests for domain")
    if not domain.disks:
        return replace(snapshot, origin=None)
    require_match = uniform_internal and default_location == "internal"
    chosen: dict[str, tuple[SnapshotDisk, Location]] = {}
    names = [disk.name for disk in snapshot.disks]
    for index, found, targets, first, place in _resolved(domain, names, origin.at("disks")):
        disk = snapshot.disks[index]
        enforce((SPECIFIED_TWICE,), Listed(snapshot, index, targets, first=first), place)
        mode = disk.snapshot
        if mode is None:
            own = found.snapshot
            mode = own if own and (not require_match or own == "no") else default_location
        elif require_match and mode != default_location and not (
                mode == "no" and found.snapshot == "no"):
            raise place.at("@snapshot").error(
                f"disk '{disk.name}' must use snapshot mode '{default_location}'")
        decided = replace(disk, snapshot=mode)
        enforce(snapshot_rules.DISK_RULES,
                Listed(snapshot, index, targets, decided, first), place, "align")
        chosen[found.target] = (replace(disk, name=found.target, snapshot=mode), place)
    disks: list[SnapshotDisk] = []
    taken: dict[str, str] = {}  # a file name some earlier disk uses -> that disk
    for found in domain.disks:
        listed, place = chosen.get(found.target), _document(origin)
        if listed is not None:
            disk, place = listed
        elif found.empty:
            disk = SnapshotDisk(found.target, "no")
        elif not force_default and found.snapshot:
            disk = SnapshotDisk(found.target, found.snapshot)
        else:
            disk = SnapshotDisk(found.target, default_location)
        if disk.snapshot == "external" and not disk.source.path:
            disk = _external_name(snapshot, disk, found, taken, is_regular_file,
                                  libvirt_version, place)
        if disk.source.path:
            taken.setdefault(disk.source.path, disk.name)
        disks.append(disk)
    return replace(snapshot, disks=tuple(disks), origin=None)


def _external_name(
    snapshot: DomainSnapshot, disk: SnapshotDisk, found: DomainDisk,
    taken: dict[str, str], is_regular_file: Callable[[str], bool], libvirt_version: str,
    place: Location,
) -> SnapshotDisk:
    """The disk with its new image named; ``place`` is where the definition lists it."""
    if disk.type != "file":
        raise place.error(f"cannot generate external snapshot name for disk '{disk.name}' on "
                          f"a '{disk.type}' device")
    if not found.source:
        raise place.error(f"cannot generate external snapshot name for disk '{disk.name}' "
                          "without source")
    if not is_regular_file(found.source):
        missing = (f"({found.source}) doesn't exist or is not a regular file"
                   if release_key(libvirt_version) > release_key(MODEL_RELEASE)  # seen in 12.9.0
                   else "is not a regular file")
        raise place.error(f"source for disk '{disk.name}' {missing}; refusing to generate "
                          "external snapshot name")
    base = found.source
    dot = base.rfind(".")
    if dot >= 0 and "/" not in base[dot:]:
        base = base[:dot]
    path = f"{base}.{snapshot.name if snapshot.name is not None else snapshot.creation_time}"
    if path in taken:
        raise place.error(f"cannot generate external snapshot name for disk '{disk.name}': "
                          f"collision with disk '{taken[path]}'")
    return replace(disk, source=replace(disk.source or SnapshotSource(), path=path))


def take_snapshot(
    snapshot: DomainSnapshot,
    domain: Domain,
    creation_time: int,
    *,
    disk_only: bool = False,
    active: bool = True,
    is_regular_file: Callable[[str], bool] = regular_file,
    libvirt_version: str = MODEL_RELEASE,
) -> DomainSnapshot:
    """A new snapshot of ``domain`` (running when ``active``) as libvirt records it.

    The name defaults to ``creation_time``; state and memory follow the domain; with
    ``disk_only`` (VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY) every disk defaults to an external
    image and no memory is saved.  Parse the document with ``disk_only`` too: libvirt then
    refuses a memory mode other than ``no``.
    """
    snapshot = snapshot.created(creation_time)
    state = "running" if active else "shutoff"
    memory = snapshot.memory
    if disk_only:
        location, memory = "external", SnapshotMemory("no")
        state = "disk-snapshot" if active else "shutoff"
    elif memory is not None and memory.snapshot == "external":
        location = "external"
    else:
        location = "internal"
        memory = SnapshotMemory("no" if state == "shutoff" else "internal")
    snapshot = replace(snapshot, state=state, memory=memory)
    return align_snapshot(snapshot, domain, location, is_regular_file=is_regular_file,
                          libvirt_version=libvirt_version)


def redefine_snapshot(
    snapshot: DomainSnapshot,
    domain: Domain,
    *,
    disk_only: bool = False,
    existing: Collection[str] | None = None,
    is_regular_file: Callable[[str], bool] = regular_file,
    libvirt_version: str = MODEL_RELEASE,
) -> DomainSnapshot:
    """Saved metadata given back to libvirt (VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE) for the
    guest ``domain``: parse it with ``redefine``.  Its disks are aligned against the domain
    the snapshot itself records, not the guest's present one.  ``existing`` names the
    guest's snapshots, when known, so that a parent must be one of them."""
    origin = _origin(snapshot, "domainsnapshot")
    parent = snapshot.parent
    if parent is not None and existing is not None:
        if parent == snapshot.name:
            raise origin.at("parent").error(f"cannot set moment {parent} as its own parent")
        if parent not in existing:
            raise origin.at("parent").error(
                f"parent {parent} for moment {snapshot.name} not found")
    if disk_only and snapshot.state != "disk-snapshot":
        raise origin.at("state").error(f"disk-only flag for snapshot {snapshot.name} requires "
                                       "disk-snapshot state")
    recorded = None
    if snapshot.domain is not None:
        recorded = Domain.from_xml(snapshot.domain.xml, "<snapshot domain>", validate=False)
        if domain.uuid is not None and recorded.uuid != domain.uuid:
            raise origin.at("domain").error(f"definition for snapshot {snapshot.name} must use "
                                            f"uuid {domain.uuid}")
    if recorded is None:
        raise origin.at("domain").error("missing domain in snapshot")  # a uuid alone
    external = snapshot.state == "disk-snapshot" or (
        snapshot.memory is not None and snapshot.memory.snapshot == "external") or any(
        disk.snapshot == "external" for disk in snapshot.disks)
    return align_snapshot(snapshot, recorded, "external" if external else "internal",
                          is_regular_file=is_regular_file, libvirt_version=libvirt_version)
