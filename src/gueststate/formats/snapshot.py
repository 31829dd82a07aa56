"""``<domainsnapshot>``: the state of a guest's disks (and memory) at one moment."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from lxml import etree

from gueststate.formats.canonical import RawElement, Tag, render
from gueststate.formats.common import (
    IMAGE_FORMATS,
    Encryption,
    Seclabel,
    Source,
    attr,
    digits,
    format_uuid,
    invalid_value,
    is_absolute,
    missing_attribute,
    parse_encryption,
    parse_seclabels,
    text_of,
    yes_no,
)
from gueststate.formats.location import Location
from gueststate.formats.reading import load
from gueststate.formats.rules import (
    HOST_RULES,
    SPECIFIED_TWICE,
    Listed,
    Rule,
    enforce,
    port_not_a_number,
    report,
)
from gueststate.problems import Problem
from gueststate.xmlsafe import text_content

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
class Reservations:
    """``<reservations>``: SCSI persistent reservations through a helper (``managed``) or a
    socket of one's own (``path``)."""

    managed: bool
    path: str | None = None

    def tag(self) -> Tag:
        children: list[Tag | RawElement] = [] if self.path is None else [
            Tag("source", [("type", "unix"), ("path", self.path), ("mode", "client")])]
        return Tag("reservations", [("managed", "yes" if self.managed else "no")], children)


@dataclass(frozen=True)
class SnapshotSource:
    """The new image of an external snapshot: a ``path`` (file/dev) or a network volume.

    ``extra`` holds the other children libvirt keeps of a network source (``<snapshot>``,
    ``<config>``, ``<ssl>``...) in its order; ``raw`` the whole ``<source>`` of an nvme,
    vhostuser, vhostvdpa or (in a data store) volume source, written back as it came.
    """

    path: str | None = None
    protocol: str | None = None
    tls: bool | None = None
    tls_hostname: str | None = None
    query: str | None = None
    hosts: tuple[NetworkHost, ...] = ()
    seclabels: tuple[Seclabel, ...] = ()
    encryption: Encryption | None = None
    extra: tuple[RawElement, ...] = ()
    fdgroup: str | None = None
    slice: tuple[int, int] | None = None
    auth: RawElement | None = None
    reservations: Reservations | None = None
    raw: RawElement | None = None
    data_store: DataStore | None = None


@dataclass(frozen=True)
class DataStore:
    """``<dataStore>`` (libvirt 10.10.0): a separate image holding the guest data of a qcow2
    overlay, whose ``source`` is read like any disk source of its ``type``.

    libvirt checks the ``<format>`` but always writes it as ``raw`` (11.3.0), so the model does
    not keep it; ``index`` is the inner ``<source index=...>``, written back when nonzero.
    """

    type: str
    source: SnapshotSource = SnapshotSource()
    index: int = 0


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
    #: Where the definition was read from (its root element), so that alignment can name the
    #: file, line and column at fault; None for a definition built in Python or completed by
    #: alignment.  A copy made with ``dataclasses.replace`` keeps it (see the model guide).
    origin: Location | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_xml(
        cls, data: bytes | str, path: str = "<string>", *, validate: bool = True,
        redefine: bool = False, disk_only: bool = False,
    ) -> DomainSnapshot:
        """Parse (after schema validation unless ``validate`` is false, like libvirt without
        ``VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE``).

        Everything in the document is kept.  ``redefine`` adds libvirt's rules for saved
        metadata: name, numeric creation time and state required; memory mode defaulted.
        ``disk_only`` (VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY) refuses a memory to save.
        """
        root, source = load(data, path, "domainsnapshot", validate=validate)
        return cls.from_element(root, source, redefine=redefine, disk_only=disk_only)

    @classmethod
    def from_element(
        cls, root: etree._Element, source: Source, *, redefine: bool = False,
        disk_only: bool = False,
    ) -> DomainSnapshot:
        """Build the model from a parsed ``<domainsnapshot>`` element.

        ``redefine`` reads it as libvirt reads saved metadata (VIR_DOMAIN_SNAPSHOT_CREATE_
        REDEFINE): name, creation time and state required, memory defaulted from the state,
        deletion marks of disks kept.
        """
        name = text_of(root, "name")
        created = text_of(root, "creationTime")
        state = text_of(root, "state")
        if redefine:
            if name is None:
                raise source.fail(root, "a redefined snapshot must have a name")
            if not (created and digits(created.lstrip("-"))):
                raise source.fail(root, "missing creationTime from existing snapshot")
            if state is None:
                raise source.fail(root, "missing state from existing snapshot")
            if state not in STATES:
                raise source.fail(root, f"Invalid state '{state}' in domain snapshot XML")
        offline = disk_only or (redefine and state in OFFLINE_STATES)
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
            creation_time=int(created) if created and digits(created) else None,
            memory=_parse_memory(source, root.find("memory"), redefine, offline),
            disks=_parse_disks(source, root.findall("disks/*"), redefine),
            revert_disks=_parse_disks(source, root.findall("revertDisks/*"), redefine),
            domain=RawElement.from_element(domain) if full_domain and domain is not None
            else None,
            domain_uuid=format_uuid(uuid) if uuid else None,
            inactive_domain=RawElement.from_element(inactive) if inactive is not None else None,
            cookie=RawElement.from_element(cookie) if cookie is not None and len(cookie)
            else None,
            active=None if active is None else active.strip() == "1",
            origin=source.locate(root),
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


def _enum(source: Source, node: etree._Element, name: str, allowed: tuple[str, ...]
          ) -> str | None:
    value = attr(node, name)
    if value is not None and value not in allowed:
        raise source.fail(node, invalid_value(name, str(node.tag), value))
    return value


def _parse_memory(
    source: Source, node: etree._Element | None, redefine: bool, offline: bool
) -> SnapshotMemory | None:
    mode = file = None
    if node is not None:
        file = attr(node, "file")
        mode = _enum(source, node, "snapshot", (*MEMORY_MODES, "manual"))
    if mode is None and file is not None:
        mode = "external"
    elif mode is None and redefine:
        mode = "no" if offline else "internal"
    memory = SnapshotMemory(mode, file)
    enforce(MEMORY_RULES, (memory, offline), source.locate(node))
    return None if mode is None else memory


def _parse_disks(
    source: Source, nodes: list[etree._Element], redefine: bool
) -> tuple[SnapshotDisk, ...]:
    disks: list[SnapshotDisk] = []
    for node in nodes:
        name = attr(node, "name")
        if name is None:
            raise source.fail(node, "missing name from disk snapshot element")
        mode = _enum(source, node, "snapshot", DISK_MODES)
        kind = _enum(source, node, "type", (*DISK_TYPES, "dir", "volume")) or "file"
        disk = SnapshotDisk(name, mode, kind, delete_in_progress=redefine and node.find(
            "snapshotDeleteInProgress") is not None)
        here = source.locate(node)
        enforce(DISK_RULES, _alone(disk), here)
        element = node.find("source")
        image = SnapshotSource() if element is None else _parse_source(source, element, kind)
        driver = node.find("driver")
        fmt = attr(driver, "type") or None if driver is not None else None
        disk = replace(disk, source=image, format=fmt)
        enforce(IMAGE_RULES, _alone(disk), here)
        size = None if driver is None else driver.find("metadata_cache/max_size")
        cache = None if size is None else _scaled(source, size) or None
        if mode is None and (image.path or fmt is not None):
            mode = "external"
        disks.append(replace(disk, snapshot=mode, metadata_cache_max_size=cache))
    return tuple(disks)


#: Default port of a TCP host by protocol, which libvirt writes when none is given.
DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ftps": 990, "tftp": 69,
                 "sheepdog": 7000, "nbd": 10809, "ssh": 22, "iscsi": 3260, "gluster": 24007,
                 "vxhs": 9999}
PROTOCOLS = ("nbd", "rbd", "sheepdog", "gluster", "iscsi", "http", "https", "ftp", "ftps",
             "tftp", "ssh", "vxhs", "nfs")


#: The kinds of source the model keeps as written (their parts are not modelled); volume
#: sources occur only in a data store (a snapshot disk of type volume is refused).
RAW_KINDS = ("nvme", "vhostuser", "vhostvdpa", "volume")
#: What libvirt's virStorageTypeFromString knows, but ``none``, which it refuses.
STORAGE_TYPES = ("file", "block", "dir", "network", "volume", "nvme", "vhostuser",
                 "vhostvdpa")
_UINT_MAX = 2**32 - 1


def _parse_source(source: Source, element: etree._Element, kind: str) -> SnapshotSource:
    """A ``<source>`` of a disk of type ``kind``, in the order libvirt reads its parts."""
    if kind in RAW_KINDS:
        _check_device_source(source, element, kind)
        image = SnapshotSource(raw=RawElement.from_element(element))
    elif kind == "network":
        image = _parse_network(source, element)
    else:
        path = attr(element, {"block": "dev", "dir": "dir"}.get(kind, "file")) or None
        image = SnapshotSource(path, fdgroup=attr(element, "fdgroup") if kind == "file"
                               else None)
    auth = element.find("auth")
    encryption = parse_encryption(source, element)
    reservations = _parse_reservations(source, element.find("reservations"))
    found = element.find("slices/slice[@type='storage']")
    storage_slice = None
    if found is not None:
        storage_slice = _slice(source, found)
    image = replace(
        image, seclabels=parse_seclabels(source, element), encryption=encryption,
        auth=RawElement.from_element(auth) if auth is not None else None,
        reservations=reservations, slice=storage_slice)
    store = element.find("dataStore")
    return image if store is None else replace(image, data_store=_parse_data_store(source,
                                                                                    store))


def _parse_data_store(source: Source, element: etree._Element) -> DataStore:
    """A ``<dataStore>``, refused where libvirt's virDomainDiskDataStoreParse refuses it.

    libvirt reads the inner ``index`` unless it parses inactive XML; for snapshots that flag
    bit is VIR_DOMAIN_SNAPSHOT_PARSE_INTERNAL (its own saved files), never set by the API.
    """
    kind = attr(element, "type")
    if kind is None:
        raise source.fail(element, missing_attribute("type", "dataStore"))
    fmt = str(element.xpath("string(./format/@type)"))
    if not fmt:
        raise source.fail(element, "missing data file store format")
    inner = element.find("source")
    if inner is None:
        raise source.fail(element, "missing disk data file store source")
    if kind not in STORAGE_TYPES:
        raise source.fail(element, f"unknown storage source type '{kind}'")
    if fmt not in IMAGE_FORMATS:
        raise source.fail(element, f"unknown storage source format '{fmt}'")
    index = attr(inner, "index")
    number = None if index is None else _unsigned(index)
    if index is not None and number is None:
        raise source.fail(inner, f"invalid storage source index '{index}'")
    return DataStore(kind, _parse_source(source, inner, kind), number or 0)


def _unsigned(text: str) -> int | None:
    """An unsigned int as libvirt's virStrToLong_uip reads it (leading blanks and ``+``
    allowed, nothing after the digits); None where it refuses."""
    body = text.lstrip(" \t\n\v\f\r")
    body = body[1:] if body.startswith("+") else body
    return int(body) if digits(body) and int(body) <= _UINT_MAX else None


def _slice(source: Source, node: etree._Element) -> tuple[int, int]:
    """The offset and size of a storage slice, as libvirt reads them."""
    offset, size = attr(node, "offset"), attr(node, "size")
    if not offset or not size:
        raise source.fail(node, "missing offset or size attribute of slice")
    for name, value in (("offset", offset), ("size", size)):
        if not digits(value):
            raise source.fail(node, f"malformed value '{value}' of '{name}' attribute of "
                              "slice")
    return int(offset), int(size)


def _check_device_source(source: Source, element: etree._Element, kind: str) -> None:
    """What libvirt requires of the ``<source>`` of an nvme or vhostuser disk, or of a
    volume data store."""
    kind_of = attr(element, "type")
    if kind == "nvme":
        if kind_of is None:
            raise source.fail(element, "missing 'type' attribute to disk source")
        if kind_of != "pci":
            raise source.fail(element, f"unsupported source type '{kind_of}'")
        namespace = attr(element, "namespace")
        if namespace is None:
            raise source.fail(element, "missing 'namespace' attribute to disk source")
        if not digits(namespace):
            raise source.fail(element, f"malformed namespace '{namespace}'")
        if element.find("address") is None:
            raise source.fail(element, "NVMe disk source is missing address")
    elif kind == "vhostuser":
        if kind_of is None:
            raise source.fail(element, "missing 'type' attribute for vhostuser disk source")
        if kind_of != "unix":
            raise source.fail(element, "invalid 'type' attribute for vhostuser disk source")
        if attr(element, "path") is None:
            raise source.fail(element, "missing 'path' attribute for vhostuser disk source")
    elif kind == "volume":
        if (attr(element, "pool") is None) != (attr(element, "volume") is None):
            raise source.fail(element, "'pool' and 'volume' must be specified together for "
                              "'pool' type source")
        mode = attr(element, "mode")
        if mode is not None and mode not in ("host", "direct"):
            raise source.fail(element, invalid_value("mode", "source", mode))


def _parse_reservations(source: Source, node: etree._Element | None) -> Reservations | None:
    if node is None:
        return None
    managed = attr(node, "managed")
    if managed is None:
        raise source.fail(node, missing_attribute("managed", "reservations"))
    if managed not in ("yes", "no"):
        raise source.fail(node, invalid_value("managed", "reservations", managed))
    inner = node.find("source")
    kind, path, mode = ((attr(inner, "type"), attr(inner, "path"), attr(inner, "mode"))
                        if inner is not None else (None, None, None))
    if managed == "no" or kind or path or mode:
        for value, what in ((kind, "connection type"), (path, "path"),
                            (mode, "connection mode")):
            if not value:
                raise source.fail(node, f"missing {what} for <reservations/>")
    if kind and kind != "unix":
        raise source.fail(node, f"unsupported connection type for <reservations/>: {kind}")
    if mode and mode != "client":
        raise source.fail(node, f"unsupported connection mode for <reservations/>: {mode}")
    return Reservations(managed == "yes", path)


def _parse_network(source: Source, element: etree._Element) -> SnapshotSource:
    protocol = attr(element, "protocol")
    if protocol is None:
        raise source.fail(element, missing_attribute("protocol", "source"))
    if protocol not in PROTOCOLS:
        raise source.fail(element, invalid_value("protocol", "source", protocol))
    volume = attr(element, "name")
    if volume is None and protocol != "nbd":
        raise source.fail(element, "missing name for disk source")
    tls = yes_no(source, element, "tls")
    if volume and protocol in ("gluster", "rbd") and volume.find("/") <= 0:
        raise source.fail(element, f"can't split path '{volume}' into pool name and image "
                          "name")
    hosts = []
    for node in element.findall("host"):
        transport = attr(node, "transport")
        unix = transport == "unix"
        port = None if unix else attr(node, "port")
        if port is not None and not digits(port):
            raise source.fail(node, port_not_a_number(port))
        host = NetworkHost(None if unix else attr(node, "name"), int(port) if port else None,
                           transport, attr(node, "socket"))
        enforce(HOST_RULES, host, source.locate(node))
        if transport in (None, "tcp") and not host.port:
            host = replace(host, port=DEFAULT_PORTS.get(protocol))
        hosts.append(replace(host, transport=None if transport == "tcp" else transport))
    return SnapshotSource(
        volume or None, protocol, tls, attr(element, "tlsHostname"),
        attr(element, "query") if protocol in ("http", "https") else None,
        tuple(hosts), extra=_network_extras(source, element, protocol),
    )


def _network_extras(
    source: Source, element: etree._Element, protocol: str
) -> tuple[RawElement, ...]:
    """The children of a network source libvirt keeps, rewritten in its order and form
    (it reads each only for the protocols that have it; cookies are secret: not written)."""
    def value(path: str) -> str | None:
        found = element.xpath(f"string({path})")
        return str(found) or None

    tags: list[Tag] = []
    user, group = value("./identity/@user"), value("./identity/@group")
    if protocol == "nfs" and (user or group):
        tags.append(Tag("identity", [("user", user), ("group", group)]))
    for name, path, attribute in (("snapshot", "./snapshot/@name", "name"),
                                  ("config", "./config/@file", "file")):
        found = value(path)
        if found is not None:
            tags.append(Tag(name, [(attribute, found)]))
    iqn = value("./initiator/iqn/@name")
    if iqn is not None:
        tags.append(Tag("initiator", children=[Tag("iqn", [("name", iqn)])]))
    ssl = element.find("ssl")
    if protocol in ("https", "ftps") and ssl is not None:
        verify = yes_no(source, ssl, "verify")
        if verify is not None:
            tags.append(Tag("ssl", [("verify", "yes" if verify else "no")]))
    if protocol in ("http", "https", "ftp", "ftps"):
        for name, path, attribute in (("readahead", "./readahead/@size", "size"),
                                      ("timeout", "./timeout/@seconds", "seconds")):
            found = value(path)
            if found is not None and not digits(found):
                raise source.fail(element, "invalid readahead size or timeout")
            if found is not None and int(found):
                tags.append(Tag(name, [(attribute, str(int(found)))]))
    return tuple(RawElement(render(tag).rstrip("\n")) for tag in tags)


def _scaled(source: Source, element: etree._Element) -> int:
    """``<max_size>`` in bytes, read as libvirt's virParseScaledValue reads it."""
    text = text_content(element)
    if not text:
        return 0  # libvirt reads empty text as no value
    if not digits(text.lstrip()):
        raise source.fail(element, f"Invalid value '{text}' for element or attribute "
                          "'./driver/metadata_cache/max_size'")
    unit = attr(element, "unit") or "b"
    if unit.lower() not in _UNITS:
        raise source.fail(element, f"unknown suffix '{unit}'")
    return int(text) * _UNITS[unit.lower()]


def _disk_tag(disk: SnapshotDisk) -> Tag:
    attrs: list[tuple[str, str | None]] = [("name", disk.name), ("snapshot", disk.snapshot)]
    children: list[Tag | RawElement] = []
    if disk.delete_in_progress:
        children.append(Tag("snapshotDeleteInProgress"))
    if disk.has_image:
        attrs.append(("type", disk.type))
        driver = Tag("driver", [("type", disk.format)])
        if disk.metadata_cache_max_size:
            driver.children.append(Tag("metadata_cache", children=[
                Tag("max_size", [("unit", "bytes")], text=str(disk.metadata_cache_max_size))]))
        if not driver.is_empty():
            children.append(driver)
        element = _source_tag(disk.type, disk.source)
        if isinstance(element, RawElement) or not element.is_empty():
            children.append(element)
    return Tag("disk", attrs, children)


def _source_tag(kind: str, src: SnapshotSource, index: int = 0) -> Tag | RawElement:
    """The ``<source>`` of a ``kind`` disk as libvirt writes it: the kind's own attributes
    and children, then slices, seclabels (not for network), auth, encryption, reservations,
    the index (written only inside a data store) and the data store."""
    if src.raw is not None:
        return src.raw
    if kind == "network":
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
        location = {"block": "dev", "dir": "dir"}.get(kind, "file")
        element = Tag("source", [(location, src.path), ("fdgroup", src.fdgroup)])
    if src.slice is not None:
        offset, size = src.slice
        element.children.append(Tag("slices", children=[Tag("slice", [
            ("type", "storage"), ("offset", str(offset)), ("size", str(size))])]))
    if kind != "network":
        element.children.extend(label.tag() for label in src.seclabels)
    if src.auth is not None:
        element.children.append(src.auth)
    if src.encryption is not None:
        element.children.append(src.encryption.tag())
    if src.reservations is not None:
        element.children.append(src.reservations.tag())
    if index:
        element.attrs.append(("index", str(index)))
    if src.data_store is not None:
        element.children.append(_data_store_tag(src.data_store))
    return element


def _data_store_tag(store: DataStore) -> Tag:
    """``<dataStore>`` as libvirt 11.3.0 writes it: the format always ``raw``, the inner
    source only when it has something to say."""
    children: list[Tag | RawElement] = [Tag("format", [("type", "raw")])]
    inner = _source_tag(store.type, store.source, store.index)
    if isinstance(inner, RawElement) or not inner.is_empty():
        children.append(inner)
    return Tag("dataStore", [("type", store.type)], children)


# --- libvirt's rules, each once: parsing enforces "parse", align_snapshot "align" ---

SNAPSHOT_RULES: tuple[Rule[DomainSnapshot], ...] = (
    Rule("name", lambda s: f"invalid snapshot name '{s.name}': name can't contain '/' or "
         "start with '.'" if s.name is not None and ("/" in s.name or s.name.startswith("."))
         else None, "advice"),
    Rule("state", lambda s: f"Invalid state '{s.state}' in domain snapshot XML"
         if s.state is not None and s.state not in SCHEMA_STATES else None, "advice"),
)

#: The memory and whether the snapshot is offline (shut off, or of disks only).
MemoryIn = tuple[SnapshotMemory, bool]

MEMORY_RULES: tuple[Rule[MemoryIn], ...] = (
    Rule("@snapshot", lambda m: "'manual' memory snapshot mode not supported"
         if m[0].snapshot == "manual" else None),
    Rule("@file", lambda m: f"memory filename '{m[0].file}' requires external snapshot"
         if m[0].file is not None and m[0].snapshot != "external" else None),
    Rule("@file", lambda m: "external memory snapshots require a filename"
         if m[0].file is None and m[0].snapshot == "external" else None),
    Rule("@snapshot", lambda m: "memory state cannot be saved with offline or disk-only "
         "snapshot" if m[1] and m[0].snapshot not in (None, "no") else None),
    Rule("@file", lambda m: f"memory snapshot file path ({m[0].file}) must be absolute"
         if m[0].file is not None and not is_absolute(m[0].file) else None),
)

DiskIn = Listed[DomainSnapshot]


def listed(snapshot: DomainSnapshot, index: int,
           identities: Sequence[str] | None = None) -> DiskIn:
    """Disk ``index`` for its rules; ``identities`` default to the names as written."""
    return Listed(snapshot, index, identities)


def _alone(disk: SnapshotDisk) -> DiskIn:
    """``disk`` as the parser shows it to its rules: the only disk of a definition."""
    return listed(DomainSnapshot(disks=(disk,)), 0)


def _disk(item: DiskIn) -> SnapshotDisk:
    return item.entry if item.entry is not None else item.definition.disks[item.index]


def _external_only(item: DiskIn) -> str | None:
    disk = _disk(item)
    if disk.source.path and disk.snapshot not in (None, "external"):
        return (f"file '{disk.source.path}' for disk '{disk.name}' requires use of "
                "external snapshot mode")
    return None


#: Rules about a disk's attributes, judged before its source is read.
DISK_RULES: tuple[Rule[DiskIn], ...] = (
    Rule("@type", lambda item: f"unsupported disk snapshot type '{_disk(item).type}'"
         if _disk(item).type in ("dir", "volume") else None),
    SPECIFIED_TWICE,
    Rule("@snapshot", _external_only, "align"),
    Rule("@name", lambda item: None if _DISK_NAME.fullmatch(item.name)
         else f"'{item.name}' is neither a target nor an absolute path", "advice"),
)

#: Rules about the new image of a disk (its driver and source).
IMAGE_RULES: tuple[Rule[DiskIn], ...] = (
    Rule("driver/@type", lambda item: f"unknown disk snapshot driver '{_disk(item).format}'"
         if _disk(item).format not in (None, *IMAGE_FORMATS) else None),
    Rule("source", lambda item: f"disk snapshot image path '{_disk(item).source.path}' must "
         "be absolute" if _disk(item).type in ("file", "block", "dir")
         and _disk(item).source.path and not is_absolute(_disk(item).source.path or "")
         else None),
    Rule("driver", lambda item: "a network disk cannot have a <driver>"
         if _disk(item).type == "network" and _disk(item).format is not None else None,
         "advice"),
)


def _sources(image: SnapshotSource, here: Location
             ) -> Iterator[tuple[Location, SnapshotSource]]:
    """A disk's source and those of its data stores, each with where it is."""
    yield here, image
    if image.data_store is not None:
        yield from _sources(image.data_store.source, here.at("dataStore/source"))


def check(snapshot: DomainSnapshot, path: str = "<model>") -> list[Problem]:
    """Every rule the snapshot breaks (libvirt's and advice), with the place it points at."""
    here = Location(path, ("domainsnapshot",))
    found = list(report(SNAPSHOT_RULES, snapshot, here))
    if snapshot.memory is not None:
        offline = snapshot.state in OFFLINE_STATES
        found += report(MEMORY_RULES, (snapshot.memory, offline), here.at("memory"))
    for group, disks in (("disks", snapshot.disks), ("revertDisks", snapshot.revert_disks)):
        each = replace(snapshot, disks=disks)
        for index in range(len(disks)):
            place = here.at(f"{group}/disk[{index + 1}]")
            found += report(DISK_RULES, listed(each, index), place)
            found += report(IMAGE_RULES, listed(each, index), place)
            for inner, image in _sources(disks[index].source, place.at("source")):
                for number, host in enumerate(image.hosts, start=1):
                    found += report(HOST_RULES, host, inner.at(f"host[{number}]"))
    return [where.problem(f"{where.element}: {message}") for where, message in found]
