"""The disks of a ``<domain>``: what alignment needs to know about a guest."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from lxml import etree

from gueststate.formats.common import Source, attr, format_uuid, text_of
from gueststate.formats.location import Location
from gueststate.formats.reading import parse_root
from gueststate.positions import Positions


@dataclass(frozen=True)
class DomainDisk:
    """One ``<disk>`` device of a domain, reduced to what alignment looks at."""

    target: str
    type: str = "file"
    device: str = "disk"
    source: str | None = None
    readonly: bool = False
    snapshot: str | None = None
    format: str | None = None
    protocol: str | None = None

    @property
    def empty(self) -> bool:
        """No media, as libvirt decides it: a local disk without a path (an ejected CD-ROM)
        or a network disk without a protocol.  A network disk with a protocol but no export
        name is not empty, though it has no ``source`` to name files after."""
        if self.type in ("file", "block", "dir"):
            return not self.source
        return self.type == "network" and not self.protocol


@dataclass(frozen=True)
class Domain:
    """A domain's identity and its disks, in definition order."""

    name: str | None = None
    uuid: str | None = None
    disks: tuple[DomainDisk, ...] = ()
    #: Where the domain read lists its devices (its ``<devices>``, else its root), so that a
    #: refusal for what the domain lacks names the domain's file; None when built in Python.
    devices_origin: Location | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_xml(
        cls, data: bytes | str, path: str = "<string>", *, validate: bool = True
    ) -> Domain:
        """Read a ``<domain>`` document (parsed through :mod:`gueststate.xmlsafe`)."""
        return cls.from_element(parse_root(data, path).getroot(), Source(path, Positions(data)),
                                validate=validate)

    @classmethod
    def from_element(
        cls, root: etree._Element, source: Source, *, validate: bool = True
    ) -> Domain:
        """Read an already parsed ``<domain>`` (or ``<inactiveDomain>``) element.

        ``validate`` checks what libvirt checks once the domain is parsed, before defining it
        (a target used twice); libvirt skips that for the domain a snapshot or checkpoint
        records (VIR_DOMAIN_DEF_PARSE_SKIP_VALIDATE).
        """
        if root.tag not in ("domain", "inactiveDomain"):
            raise source.fail(root, f"expecting root element of 'domain', not '{root.tag}'")
        elements = root.findall("devices/disk")
        disks = []
        for element in elements:
            target = element.find("target")
            dev = attr(target, "dev") if target is not None else None
            if not dev:
                raise source.fail(element, "missing target information for device")
            disks.append(_disk(element, dev))
        if validate:
            _refuse_duplicate_targets(disks, elements, source)
        uuid = text_of(root, "uuid")
        devices = root.find("devices")
        return cls(text_of(root, "name"), format_uuid(uuid) if uuid else None, tuple(disks),
                   source.locate(root if devices is None else devices))

    @cached_property
    def _by_target(self) -> dict[str, DomainDisk]:
        return {disk.target: disk for disk in reversed(self.disks)}  # the first one wins

    @cached_property
    def _by_source(self) -> dict[str, list[DomainDisk]]:
        found: dict[str, list[DomainDisk]] = {}
        for disk in self.disks:
            if disk.source:
                found.setdefault(disk.source, []).append(disk)
        return found

    def disk_by_target(self, target: str) -> DomainDisk | None:
        """The disk whose target is exactly ``target``."""
        return self._by_target.get(target)

    def disk_by_name(self, name: str) -> DomainDisk | None:
        """Target name, or an absolute source path that names exactly one disk."""
        if not name.startswith("/"):
            return self.disk_by_target(name)
        found = self._by_source.get(name, [])
        return found[0] if len(found) == 1 else None


def _refuse_duplicate_targets(
    disks: list[DomainDisk], elements: list[etree._Element], source: Source
) -> None:
    """libvirt's refusal of two disks with one target (virDomainDiskDefCheckDuplicateInfo),
    at the later disk.  libvirt compares every pair in order, so the pair reported is the
    earliest disk that has a twin, with its first twin."""
    first: dict[str, int] = {}
    found: tuple[int, int] | None = None
    for index, disk in enumerate(disks):
        earlier = first.setdefault(disk.target, index)
        if earlier != index and (found is None or earlier < found[0]):
            found = (earlier, index)
    if found is None:
        return
    one, other = disks[found[0]], disks[found[1]]
    raise source.fail(elements[found[1]], (
        f"target '{one.target}' duplicated for disk sources '{_null(one.source)}' and "
        f"'{_null(other.source)}'"))


def _null(text: str | None) -> str:
    """How libvirt prints a string it does not have (its NULLSTR)."""
    return "<null>" if text is None else text


def _disk(element: etree._Element, dev: str) -> DomainDisk:
    kind = attr(element, "type") or "file"
    device = attr(element, "device") or "disk"
    node = element.find("source")
    path = protocol = None
    if node is not None:
        if kind == "network":
            path, protocol = attr(node, "name"), attr(node, "protocol")
        elif kind in ("file", "block", "dir"):
            path = attr(node, {"block": "dev", "dir": "dir"}.get(kind, "file"))
    driver = element.find("driver")
    readonly = element.find("readonly") is not None or device == "cdrom"
    return DomainDisk(
        target=dev,
        type=kind,
        device=device,
        source=path or None,
        # libvirt treats every CD-ROM as read-only, and read-only disks default to no snapshot.
        readonly=readonly,
        snapshot=attr(element, "snapshot") or ("no" if readonly else None),
        format=attr(driver, "type") if driver is not None else None,
        protocol=protocol or None,
    )
