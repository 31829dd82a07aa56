"""``<domainsnapshot>``: the state of a guest's disks (and memory) at one moment."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from lxml import etree

from gueststate.formats.canonical import RawElement, Tag, render
from gueststate.formats.common import (
    IMAGE_FORMATS,
    Encryption,
    Seclabel,
    Source,
    attr,
    format_uuid,
    is_absolute,
    parse_encryption,
    parse_seclabels,
    text_of,
    yes_no,
)
from gueststate.formats.reading import load
from gueststate.problems import Problem

STATES = ("running", "blocked", "paused", "shutdown", "shutoff", "crashed", "disk-snapshot",
          "pmsuspended")
#: The states the schema allows: libvirt's C parser also takes ``pmsuspended``.
SCHEMA_STATES = tuple(state for state in STATES if state != "pmsuspended")
OFFLINE_STATES = ("shutoff", "disk-snapshot")
MEMORY_MODES = ("no", "internal", "external")
DISK_MODES = ("no", "internal", "external", "manual")
DISK_TYPES = ("file", "block", "network", "nvme", "vhostuser", "vhostvdpa")
_UNITS = {"b": 1, "byte": 1, "bytes": 1, "k": 1024, "kib": 1024, "kb": 1000, "m": 1024**2,
          "mib": 1024**2, "mb": 1000**2, "g": 1024**3, "gib": 1024**3, "gb": 1000**3,
          "t": 1024**4, "tib": 1024**4, "tb": 1000**4, "p": 1024**5, "pib": 1024**5,
          "pb": 1000**5, "e": 1024**6, "eib": 1024**6, "eb": 1000**6}
_DISK_NAME = re.compile(r"(ioemu:)?(fd|hd|sd|vd|xvd|ubd)[a-zA-Z0-9_]+|(/|[a-zA-Z]:\\).+")


@dataclass(frozen=True)
class NetworkHost:
    """A ``<host>`` of a network source: TCP/RDMA ``name``/``port`` or a unix ``socket``."""

    name: str | None = None
    port: int | None = None
    transport: str | None = None
    socket: str | None = None


@dataclass(frozen=True)
class SnapshotSource:
    """The new image of an external snapshot: a ``path`` (file/dev) or a network volume."""

    path: str | None = None
    protocol: str | None = None
    tls: bool | None = None
    tls_hostname: str | None = None
    query: str | None = None
    hosts: tuple[NetworkHost, ...] = ()
    seclabels: tuple[Seclabel, ...] = ()
    encryption: Encryption | None = None
    extra: tuple[RawElement, ...] = ()


@dataclass(frozen=True)
class SnapshotDisk:
    """One disk: ``snapshot`` is no, internal, external or manual (None: not yet decided)."""

    name: str
    snapshot: str | None = None
    type: str = "file"
    source: SnapshotSource = SnapshotSource()
    format: str | None = None
    metadata_cache_max_size: int | None = None
    delete_in_progress: bool = False

    @property
    def has_image(self) -> bool:
        """libvirt writes type, driver and source only for a disk with a path or a format."""
        return bool(self.source.path) or self.format is not None


@dataclass(frozen=True)
class SnapshotMemory:
    """The ``<memory>`` element: where the RAM goes (``file`` for external)."""

    snapshot: str | None = None
    file: str | None = None


@dataclass(frozen=True)
class DomainSnapshot:
    """A ``<domainsnapshot>`` definition."""

    name: str | None = None
    description: str | None = None
    state: str | None = None
    parent: str | None = None
    creation_time: int | None = None
    memory: SnapshotMemory | None = None
    disks: tuple[SnapshotDisk, ...] = ()
    revert_disks: tuple[SnapshotDisk, ...] = ()
    domain: RawElement | None = None
    domain_uuid: str | None = None
    inactive_domain: RawElement | None = None
    cookie: RawElement | None = None
    active: bool | None = None

    @classmethod
    def from_xml(
        cls, data: bytes | str, path: str = "<string>", *, validate: bool = True,
        redefine: bool = False,
    ) -> DomainSnapshot:
        """Parse (after schema validation unless ``validate`` is false, like libvirt without
        ``VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE``).

        Everything in the document is kept.  ``redefine`` adds libvirt's rules for saved
        metadata: name, numeric creation time and state required; memory mode defaulted.
        """
        root, source = load(data, path, "domainsnapshot", validate=validate)
        return cls.from_element(root, source, redefine=redefine)

    @classmethod
    def from_element(
        cls, root: etree._Element, source: Source, *, redefine: bool = False
    ) -> DomainSnapshot:
        """Build the model from a parsed ``<domainsnapshot>`` element."""
        name = text_of(root, "name")
        created = text_of(root, "creationTime")
        state = text_of(root, "state")
        if redefine:
            if name is None:
                raise source.fail(root, "a redefined snapshot must have a name")
            if not (created and created.isdigit()):
                raise source.fail(root, "missing creationTime from existing snapshot")
            if state is None or state not in STATES:
                raise source.fail(root, f"Invalid state '{state or ''}' in domain snapshot XML")
        offline = redefine and state in OFFLINE_STATES
        domain = root.find("domain")
        full_domain = domain is not None and domain.get("type") is not None
        uuid = text_of(domain, "uuid") if domain is not None and not full_domain else None
        inactive = root.find("inactiveDomain")
        cookie = root.find("cookie")
        active = text_of(root, "active")
        return cls(
            name=name,
            description=text_of(root, "description"),
            state=state,
            parent=text_of(root, "parent/name"),
            creation_time=int(created) if created and created.isdigit() else None,
            memory=_parse_memory(source, root.find("memory"), redefine, offline),
            disks=tuple(_parse_disk(source, node) for node in root.findall("disks/*")),
            revert_disks=tuple(
                _parse_disk(source, node) for node in root.findall("revertDisks/*")),
            domain=RawElement.from_element(domain) if full_domain and domain is not None
            else None,
            domain_uuid=format_uuid(uuid) if uuid else None,
            inactive_domain=RawElement.from_element(inactive) if inactive is not None else None,
            cookie=RawElement.from_element(cookie) if cookie is not None and len(cookie)
            else None,
            active=None if active is None else active.strip() == "1",
        )

    def created(self, creation_time: int) -> DomainSnapshot:
        """What libvirt keeps of a new (not redefined) snapshot taken at ``creation_time``.

        State, parent, creation time, domains, revert disks and deletion marks given in the
        document are ignored; the name defaults to the creation time.
        """
        disks = tuple(replace(disk, delete_in_progress=False) for disk in self.disks)
        return replace(
            self, state=None, parent=None, domain=None, domain_uuid=None,
            inactive_domain=None, revert_disks=(), active=None, disks=disks,
            creation_time=creation_time,
            name=self.name if self.name is not None else str(creation_time),
        )

    def to_xml(self) -> str:
        """libvirt's canonical text of this definition."""
        children: list[Tag | RawElement] = []
        for tag, value in (("name", self.name), ("description", self.description),
                           ("state", self.state)):
            if value is not None:
                children.append(Tag(tag, text=value))
        if self.parent is not None:
            children.append(Tag("parent", children=[Tag("name", text=self.parent)]))
        if self.creation_time:
            children.append(Tag("creationTime", text=str(self.creation_time)))
        if self.memory is not None and self.memory.snapshot is not None:
            children.append(Tag("memory", [("snapshot", self.memory.snapshot),
                                           ("file", self.memory.file)]))
        if self.disks:
            children.append(Tag("disks", children=[_disk_tag(disk) for disk in self.disks]))
        if self.revert_disks:
            children.append(Tag("revertDisks",
                                children=[_disk_tag(disk) for disk in self.revert_disks]))
        if self.domain is not None:
            children.append(self.domain)
        elif self.domain_uuid is not None:
            children.append(Tag("domain", children=[Tag("uuid", text=self.domain_uuid)]))
        for raw in (self.inactive_domain, self.cookie):
            if raw is not None:
                children.append(raw)
        if self.active is not None:
            children.append(Tag("active", text="1" if self.active else "0"))
        return render(Tag("domainsnapshot", children=children))


def _parse_memory(
    source: Source, node: etree._Element | None, redefine: bool, offline: bool
) -> SnapshotMemory | None:
    mode = file = None
    if node is not None:
        mode, file = attr(node, "snapshot"), attr(node, "file")
        if mode == "manual":
            raise source.fail(node, "'manual' memory snapshot mode not supported")
        if mode is not None and mode not in MEMORY_MODES:
            raise source.fail(node, f"unknown memory snapshot setting '{mode}'")
        if file is not None:
            if mode is None:
                mode = "external"
            elif mode != "external":
                raise source.fail(node, f"memory filename '{file}' requires external snapshot")
            if not is_absolute(file):
                raise source.fail(node, f"memory snapshot file path ({file}) must be absolute")
        elif mode == "external":
            raise source.fail(node, "external memory snapshots require a filename")
        if offline and mode not in (None, "no"):
            raise source.fail(node, "memory state cannot be saved with offline or disk-only "
                              "snapshot")
    if mode is None and redefine:
        mode = "no" if offline else "internal"
    if mode is None:
        return None
    return SnapshotMemory(mode, file)


def _parse_disk(source: Source, node: etree._Element) -> SnapshotDisk:
    name = attr(node, "name")
    if not name:
        raise source.fail(node, "missing name from disk snapshot element")
    mode = attr(node, "snapshot")
    if mode is not None and mode not in DISK_MODES:
        raise source.fail(node, f"unknown disk snapshot setting '{mode}'")
    kind = attr(node, "type") or "file"
    if kind in ("dir", "volume"):
        raise source.fail(node, f"unsupported disk snapshot type '{kind}'")
    if kind not in DISK_TYPES:
        raise source.fail(node, f"unknown disk snapshot type '{kind}'")
    snapshot_source = SnapshotSource()
    element = node.find("source")
    if element is not None:
        snapshot_source = _parse_source(source, element, kind)
    fmt = cache = None
    driver = node.find("driver")
    if driver is not None:
        fmt = attr(driver, "type")
        if fmt is not None and fmt not in IMAGE_FORMATS:
            raise source.fail(driver, f"unknown disk snapshot driver '{fmt}'")
        size = driver.find("metadata_cache/max_size")
        if size is not None:
            cache = _scaled(source, size)
    if mode is None and (snapshot_source.path or fmt is not None):
        mode = "external"
    return SnapshotDisk(name, mode, kind, snapshot_source, fmt, cache or None,
                        node.find("snapshotDeleteInProgress") is not None)


def _parse_source(source: Source, element: etree._Element, kind: str) -> SnapshotSource:
    seclabels = parse_seclabels(source, element)
    encryption = parse_encryption(source, element)
    if kind != "network":
        path = attr(element, "dev" if kind == "block" else "file") or None
        if path is not None and not is_absolute(path):
            raise source.fail(element, f"disk snapshot image path '{path}' must be absolute")
        return SnapshotSource(path, seclabels=seclabels, encryption=encryption)
    protocol = attr(element, "protocol")
    if not protocol:
        raise source.fail(element, "missing network source protocol type")
    volume = attr(element, "name")
    if not volume and protocol != "nbd":
        raise source.fail(element, "missing name for disk source")
    hosts = []
    for node in element.findall("host"):
        port = attr(node, "port")
        if port is not None and (not port.isdigit() or int(port) > 65535):
            raise source.fail(node, f"port '{port}' out of range")
        transport = attr(node, "transport")
        socket = attr(node, "socket")
        if transport == "unix" and not socket:
            raise source.fail(node, "missing socket for unix transport")
        if transport != "unix" and socket is not None:
            raise source.fail(node, f"transport '{transport or 'tcp'}' does not support "
                              "socket attribute")
        if transport != "unix" and not attr(node, "name"):
            raise source.fail(node, "missing name for host")
        hosts.append(NetworkHost(attr(node, "name"), int(port) if port else None,
                                 transport, socket))
    extra = tuple(RawElement.from_element(child) for child in element
                  if isinstance(child.tag, str)
                  and child.tag not in ("host", "seclabel", "encryption"))
    return SnapshotSource(
        volume or None, protocol, yes_no(source, element, "tls"),
        attr(element, "tlsHostname"),
        attr(element, "query") if protocol in ("http", "https") else None,
        tuple(hosts), seclabels, encryption, extra,
    )


def _scaled(source: Source, element: etree._Element) -> int:
    text = "".join(element.itertext()).strip()
    unit = (attr(element, "unit") or "b").lower()
    if not text.isdigit() or unit not in _UNITS:
        raise source.fail(element, f"invalid value '{text}' for element or attribute "
                          "'./metadata_cache/max_size[1]'")
    return int(text) * _UNITS[unit]


def _disk_tag(disk: SnapshotDisk) -> Tag:
    attrs: list[tuple[str, str | None]] = [("name", disk.name), ("snapshot", disk.snapshot)]
    if not disk.has_image:
        return Tag("disk", attrs)
    attrs.append(("type", disk.type))
    children: list[Tag | RawElement] = []
    if disk.delete_in_progress:
        children.append(Tag("snapshotDeleteInProgress"))
    driver = Tag("driver", [("type", disk.format)])
    if disk.metadata_cache_max_size:
        driver.children.append(Tag("metadata_cache", children=[
            Tag("max_size", [("unit", "bytes")], text=str(disk.metadata_cache_max_size))]))
    if not driver.is_empty():
        children.append(driver)
    element = _source_tag(disk)
    if not element.is_empty():
        children.append(element)
    return Tag("disk", attrs, children)


def _source_tag(disk: SnapshotDisk) -> Tag:
    src = disk.source
    if disk.type == "network":
        tls = None if src.tls is None else ("yes" if src.tls else "no")
        element = Tag("source", [("protocol", src.protocol), ("name", src.path),
                                 ("query", src.query), ("tls", tls),
                                 ("tlsHostname", src.tls_hostname)])
        for host in src.hosts:
            element.children.append(Tag("host", [
                ("name", host.name), ("port", str(host.port) if host.port else None),
                ("transport", host.transport), ("socket", host.socket)]))
        element.children.extend(src.extra)
    else:
        location = "dev" if disk.type == "block" else "file"
        element = Tag("source", [(location, src.path)])
        element.children.extend(label.tag() for label in src.seclabels)
    if src.encryption is not None:
        element.children.append(src.encryption.tag())
    return element


def check(snapshot: DomainSnapshot, path: str = "<model>") -> list[Problem]:
    """Rules beyond parsing that libvirt applies when the snapshot is taken."""
    problems: list[Problem] = []

    def report(where: str, message: str) -> None:
        problems.append(Problem(path, 0, 0, f"domainsnapshot{where}: {message}"))

    name = snapshot.name
    if name is not None and ("/" in name or name.startswith(".")):
        report("/name", f"invalid snapshot name '{name}': "
               "name can't contain '/' or start with '.'")
    if snapshot.state is not None and snapshot.state not in SCHEMA_STATES:
        report("/state", f"Invalid state '{snapshot.state}' in domain snapshot XML")
    memory = snapshot.memory
    if memory is not None:
        if memory.snapshot not in (None, *MEMORY_MODES):
            report("/memory/@snapshot", f"unknown memory snapshot setting '{memory.snapshot}'")
        if memory.file is not None and memory.snapshot != "external":
            report("/memory/@file", f"memory filename '{memory.file}' requires external "
                   "snapshot")
        if memory.snapshot == "external" and not memory.file:
            report("/memory/@file", "external memory snapshots require a filename")
        if memory.file and not is_absolute(memory.file):
            report("/memory/@file", f"memory snapshot file path ({memory.file}) must be "
                   "absolute")
    for group, disks in (("disks", snapshot.disks), ("revertDisks", snapshot.revert_disks)):
        seen: set[str] = set()
        for number, disk in enumerate(disks, start=1):
            where = f"/{group}/disk[{number}]"
            if not _DISK_NAME.fullmatch(disk.name):
                report(f"{where}/@name", f"'{disk.name}' is neither a target nor an absolute "
                       "path")
            if disk.name in seen:
                report(f"{where}/@name", f"disk '{disk.name}' specified twice")
            seen.add(disk.name)
            if disk.snapshot not in (None, *DISK_MODES):
                report(f"{where}/@snapshot", f"unknown disk snapshot setting '{disk.snapshot}'")
            if disk.has_image and disk.snapshot not in (None, "external"):
                report(f"{where}/@snapshot", f"file '{disk.source.path or ''}' for disk "
                       f"'{disk.name}' requires use of external snapshot mode")
            if disk.type != "network" and disk.source.path and not is_absolute(
                    disk.source.path):
                report(f"{where}/source", f"disk snapshot image path '{disk.source.path}' "
                       "must be absolute")
            if disk.type == "network" and disk.format is not None:
                report(f"{where}/driver", "a network disk cannot have a <driver>")
            if disk.format is not None and disk.format not in IMAGE_FORMATS:
                report(f"{where}/driver/@type", f"unknown disk snapshot driver '{disk.format}'")
            for host in disk.source.hosts:
                if host.port is not None and not 0 <= host.port <= 65535:
                    report(f"{where}/source/host/@port", f"port '{host.port}' out of range")
    return problems
