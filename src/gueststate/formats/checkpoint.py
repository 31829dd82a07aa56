"""``<domaincheckpoint>``: a point in time from which dirty blocks are tracked."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from lxml import etree

from gueststate.formats.canonical import RawElement, Tag, render
from gueststate.formats.common import Source, attr, digits, text_of
from gueststate.formats.location import Location
from gueststate.formats.reading import load
from gueststate.formats.rules import SPECIFIED_TWICE, Listed, Rule, enforce, report
from gueststate.problems import Problem

CHECKPOINT_MODES = ("no", "bitmap")
_NAME = re.compile(r"[a-zA-Z0-9_\-][a-zA-Z0-9_\-.]*")
_DISK_NAME = re.compile(r"(ioemu:)?(fd|hd|sd|vd|xvd|ubd)[a-zA-Z0-9_]+|(/|[a-zA-Z]:\\).+")


@dataclass(frozen=True)
class CheckpointDisk:
    """One disk: tracked with a dirty ``bitmap`` or not tracked (``checkpoint='no'``)."""

    name: str
    checkpoint: str = "bitmap"
    bitmap: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class DomainCheckpoint:
    """A ``<domaincheckpoint>`` definition."""

    name: str | None = None
    description: str | None = None
    parent: str | None = None
    creation_time: int | None = None
    disks: tuple[CheckpointDisk, ...] = ()
    domain: RawElement | None = None
    #: Where the definition was read from (its root element), so that alignment can name the
    #: file, line and column at fault; None for a definition built in Python or completed by
    #: alignment.  A copy made with ``dataclasses.replace`` keeps it (see the model guide).
    origin: Location | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_xml(
        cls, data: bytes | str, path: str = "<string>", *, validate: bool = True,
        redefine: bool = False,
    ) -> DomainCheckpoint:
        """Parse (after schema validation unless ``validate`` is false).

        Everything in the document is kept.  ``redefine`` adds libvirt's rules for
        re-creating saved metadata: a name and a numeric creation time are required.
        """
        root, source = load(data, path, "domaincheckpoint", validate=validate)
        return cls.from_element(root, source, redefine=redefine)

    @classmethod
    def from_element(
        cls, root: etree._Element, source: Source, *, redefine: bool = False
    ) -> DomainCheckpoint:
        """Build the model from a parsed ``<domaincheckpoint>`` element."""
        name = text_of(root, "name")
        if redefine and name is None:
            raise source.fail(root, "a redefined checkpoint must have a name")
        created = text_of(root, "creationTime")
        if redefine and not (created and digits(created)):
            raise source.fail(root, "missing creationTime from existing checkpoint")
        domain = root.find("domain")
        return cls(
            name=name,
            description=text_of(root, "description"),
            parent=text_of(root, "parent/name"),
            creation_time=int(created) if created and digits(created) else None,
            disks=_parse_disks(source, root),
            domain=RawElement.from_element(domain) if domain is not None else None,
            origin=source.locate(root),
        )

    def created(self, creation_time: int) -> DomainCheckpoint:
        """What libvirt keeps of a new (not redefined) checkpoint created at ``creation_time``.

        The parent, creation time and domain given in the document are ignored; the name
        defaults to the creation time.
        """
        return replace(self, parent=None, domain=None, creation_time=creation_time,
                       name=self.name if self.name is not None else str(creation_time))

    def to_xml(self) -> str:
        """libvirt's canonical text of this definition."""
        children: list[Tag | RawElement] = []
        if self.name is not None:
            children.append(Tag("name", text=self.name))
        if self.description is not None:
            children.append(Tag("description", text=self.description))
        if self.parent is not None:
            children.append(Tag("parent", children=[Tag("name", text=self.parent)]))
        if self.creation_time:
            children.append(Tag("creationTime", text=str(self.creation_time)))
        if self.disks:
            children.append(Tag("disks", children=[_disk_tag(disk) for disk in self.disks]))
        if self.domain is not None:
            children.append(self.domain)
        return render(Tag("domaincheckpoint", children=children))


def _parse_disks(source: Source, root: etree._Element) -> tuple[CheckpointDisk, ...]:
    disks: list[CheckpointDisk] = []
    for node in root.findall("disks/*"):
        name = attr(node, "name")
        if not name:
            raise source.fail(node, "missing name from disk checkpoint element")
        # size is output-only: libvirt ignores it on input.
        disk = CheckpointDisk(name, attr(node, "checkpoint") or "bitmap", attr(node, "bitmap"))
        enforce(DISK_RULES, listed(DomainCheckpoint(disks=(disk,)), 0), source.locate(node))
        disks.append(disk)
    return tuple(disks)


def _disk_tag(disk: CheckpointDisk) -> Tag:
    size = None
    if disk.size is not None and disk.bitmap is not None and disk.checkpoint == "bitmap":
        size = str(disk.size)
    return Tag("disk", [("name", disk.name), ("checkpoint", disk.checkpoint),
                        ("bitmap", disk.bitmap), ("size", size)])


# --- libvirt's rules, each once: parsing enforces "parse", align_checkpoint "align" ---

def _name_rule(value: str | None) -> str | None:
    if value is None or _NAME.fullmatch(value):
        return None
    return (f"'{value}' is not a valid checkpoint name (letters, digits, '_', '-', '.'; not "
            "starting with '.')")


CHECKPOINT_RULES: tuple[Rule[DomainCheckpoint], ...] = (
    Rule("name", lambda c: _name_rule(c.name), "advice"),
    Rule("parent/name", lambda c: _name_rule(c.parent), "advice"),
)

DiskIn = Listed[DomainCheckpoint]


def listed(checkpoint: DomainCheckpoint, index: int,
           identities: Sequence[str] | None = None) -> DiskIn:
    """Disk ``index`` for its rules; ``identities`` default to the names as written."""
    return Listed(checkpoint, index, identities)


def _disk(item: DiskIn) -> CheckpointDisk:
    return item.definition.disks[item.index]


DISK_RULES: tuple[Rule[DiskIn], ...] = (
    Rule("@checkpoint", lambda item: None if _disk(item).checkpoint in CHECKPOINT_MODES
         else f"unknown disk checkpoint setting '{_disk(item).checkpoint}'"),
    SPECIFIED_TWICE,
    Rule("@name", lambda item: None if _DISK_NAME.fullmatch(item.name)
         else f"'{item.name}' is neither a target nor an absolute path", "advice"),
    Rule("@bitmap", lambda item: "a disk with checkpoint='no' cannot name a bitmap"
         if _disk(item).checkpoint == "no" and _disk(item).bitmap is not None else None,
         "advice"),
)


def check(checkpoint: DomainCheckpoint, path: str = "<model>") -> list[Problem]:
    """Every rule the checkpoint breaks (libvirt's and advice), with the place it points at."""
    here = Location(path, ("domaincheckpoint",))
    found = list(report(CHECKPOINT_RULES, checkpoint, here))
    for index in range(len(checkpoint.disks)):
        found += report(DISK_RULES, listed(checkpoint, index),
                        here.at(f"disks/disk[{index + 1}]"))
    return [where.problem(f"{where.element}: {message}") for where, message in found]
