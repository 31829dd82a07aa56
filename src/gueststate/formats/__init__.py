"""The three formats as typed models: parse, check, canonical output, alignment.

>>> from gueststate.formats import DomainBackup, BackupDisk, to_xml
>>> print(to_xml(DomainBackup(disks=(BackupDisk("vda"),))), end="")
<domainbackup mode='push'>
  <disks>
    <disk name='vda' backup='yes' type='file'/>
  </disks>
</domainbackup>
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from gueststate.formats import backup, checkpoint, snapshot
from gueststate.formats.align import (
    MODEL_RELEASE,
    align_backup,
    align_checkpoint,
    align_snapshot,
    redefine_snapshot,
    regular_file,
    take_snapshot,
)
from gueststate.formats.backup import BackupDisk, BackupServer, BackupStore, DomainBackup
from gueststate.formats.checkpoint import CheckpointDisk, DomainCheckpoint
from gueststate.formats.common import (
    Cipher,
    Encryption,
    Ivgen,
    Seclabel,
    Secret,
)
from gueststate.formats.domain import Domain, DomainDisk
from gueststate.formats.location import FormatError
from gueststate.formats.reading import load
from gueststate.formats.snapshot import (
    DataStore,
    DomainSnapshot,
    NetworkHost,
    Reservations,
    SnapshotDisk,
    SnapshotMemory,
    SnapshotSource,
)
from gueststate.problems import Problem

__all__ = [
    "BackupDisk", "BackupServer", "BackupStore", "CheckpointDisk", "Cipher", "DataStore",
    "Domain",
    "DomainBackup", "DomainCheckpoint", "DomainDisk", "DomainSnapshot", "Encryption",
    "FormatError", "Ivgen", "Model", "NetworkHost", "Reservations", "Seclabel", "Secret",
    "SnapshotDisk", "SnapshotMemory", "SnapshotSource", "align", "align_backup",
    "align_checkpoint", "align_snapshot", "check", "from_xml", "redefine_snapshot",
    "take_snapshot", "to_xml",
]

#: Any of the three definitions.
Model = DomainBackup | DomainCheckpoint | DomainSnapshot


def from_xml(
    data: bytes | str, path: str = "<string>", *, validate: bool = True,
    redefine: bool = False, disk_only: bool = False,
) -> Model:
    """Parse a document of any of the three formats, detected from its root element.

    ``data`` is the document's bytes, read in the encoding its declaration names, or its text:
    a ``str`` is decoded already, so its declaration's encoding is not applied.  Anything else
    raises :class:`TypeError`.

    Raises :class:`FormatError` (never another exception) when the document is malformed,
    fails its schema (unless ``validate`` is false) or is refused by libvirt's parser rules.
    ``redefine`` reads saved checkpoint or snapshot metadata; ``disk_only`` a disk-only
    snapshot (libvirt's flags of those names).
    """
    root, source = load(data, path, None, validate=validate)
    if root.tag == "domainbackup":
        return DomainBackup.from_element(root, source)
    if root.tag == "domaincheckpoint":
        return DomainCheckpoint.from_element(root, source, redefine=redefine)
    return DomainSnapshot.from_element(root, source, redefine=redefine, disk_only=disk_only)


def to_xml(model: Model) -> str:
    """libvirt's canonical text of a definition."""
    return model.to_xml()


def check(model: Model, path: str = "<model>") -> list[Problem]:
    """Problems libvirt would raise beyond the schema (empty when there are none)."""
    if isinstance(model, DomainBackup):
        return backup.check(model, path)
    if isinstance(model, DomainCheckpoint):
        return checkpoint.check(model, path)
    return snapshot.check(model, path)


def align(
    model: Model,
    domain: Domain,
    *,
    suffix: str | None = None,
    default_location: str | None = None,
    is_regular_file: Callable[[str], bool] | None = None,
    redefine: bool = False,
    disk_only: bool = False,
    creation_time: int | None = None,
    libvirt_version: str | None = None,
) -> Model:
    """Complete a definition against ``domain`` as libvirt does before it acts on it.

    ``suffix`` names generated backup targets (libvirt uses the checkpoint name, else the
    time); ``default_location`` is the snapshot mode of disks left undecided (by default
    ``external`` when the memory goes to a file, else ``internal``, as libvirt chooses).
    A snapshot without a name is named after ``creation_time`` (default: now), as libvirt
    names it.  ``redefine`` and ``disk_only`` are libvirt's snapshot flags of those names
    (parse the document with the same flags).  ``libvirt_version`` words refusals as that
    release does where it differs from 11.3.0.  Problems of ``align`` name the element at
    fault in the document the model was read from (its path, line and column); a model built
    in Python has the path ``<model>``.
    """
    if isinstance(model, DomainBackup):
        if suffix is None:
            raise FormatError([Problem("<model>", 0, 0, "a backup needs a suffix to align")])
        return align_backup(model, domain, suffix)
    if isinstance(model, DomainCheckpoint):
        return align_checkpoint(model, domain)
    files = is_regular_file or regular_file
    release = libvirt_version or MODEL_RELEASE
    if redefine:
        return redefine_snapshot(model, domain, disk_only=disk_only, is_regular_file=files,
                                 libvirt_version=release)
    if model.name is None:
        model = replace(model, name=str(creation_time or int(time.time())))
    if disk_only:
        return align_snapshot(replace(model, memory=SnapshotMemory("no")), domain,
                              "external", is_regular_file=files, libvirt_version=release)
    if default_location is None:
        external = model.memory is not None and model.memory.snapshot == "external"
        default_location = "external" if external else "internal"
    return align_snapshot(model, domain, default_location, is_regular_file=files,
                          libvirt_version=release)
