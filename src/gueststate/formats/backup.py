"""``<domainbackup>``: a push or pull backup job definition."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from lxml import etree

from gueststate.formats.canonical import RawElement, Tag, render
from gueststate.formats.common import (
    IMAGE_FORMATS,
    Encryption,
    Seclabel,
    Source,
    attr,
    is_absolute,
    parse_encryption,
    parse_seclabels,
    text_of,
    yes_no,
)
from gueststate.formats.reading import load
from gueststate.problems import Problem

TRANSPORTS = ("tcp", "unix", "fd")
DISK_STATES = ("running", "complete", "failed", "cancelling", "cancelled")
_TARGET_DEV = re.compile(r"(ioemu:)?(fd|hd|sd|vd|xvd|ubd)[a-zA-Z0-9_]+")
_DNS_NAME = re.compile(r"[a-zA-Z0-9.\-]+|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*")


@dataclass(frozen=True)
class BackupServer:
    """The NBD server of a pull backup: TCP ``name``/``port``, a unix ``socket`` or an fd group."""

    transport: str = "tcp"
    name: str | None = None
    port: int | None = None
    socket: str | None = None
    fdgroup: str | None = None
    tls: bool | None = None

    def tag(self) -> Tag:
        tls = None if self.tls is None else ("yes" if self.tls else "no")
        port = str(self.port) if self.port else None
        return Tag("server", [("transport", self.transport), ("tls", tls), ("name", self.name),
                              ("port", port), ("socket", self.socket),
                              ("fdgroup", self.fdgroup)])


@dataclass(frozen=True)
class BackupStore:
    """Where a disk's backup goes: push ``<target>`` or pull ``<scratch>`` (file or device)."""

    path: str | None = None
    seclabels: tuple[Seclabel, ...] = ()
    encryption: Encryption | None = None


@dataclass(frozen=True)
class BackupDisk:
    """One ``<disk>`` of a backup.  A disk with ``backup=False`` carries only its name."""

    name: str
    backup: bool = True
    type: str = "file"
    backupmode: str | None = None
    incremental: str | None = None
    exportname: str | None = None
    exportbitmap: str | None = None
    format: str | None = None
    store: BackupStore = field(default_factory=BackupStore)
    state: str | None = None
    index: int | None = None


@dataclass(frozen=True)
class DomainBackup:
    """A ``<domainbackup>`` definition."""

    mode: str = "push"
    incremental: str | None = None
    server: BackupServer | None = None
    disks: tuple[BackupDisk, ...] = ()
    private_data: RawElement | None = None

    @classmethod
    def from_xml(
        cls, data: bytes | str, path: str = "<string>", *, validate: bool = True,
        internal: bool = False,
    ) -> DomainBackup:
        """Parse (after schema validation unless ``validate`` is false), as libvirt does.

        ``internal`` reads libvirt's status-XML extras (disk ``state``/``index``,
        ``<privateData>``); libvirt never validates that form.
        """
        root, source = load(data, path, "domainbackup", validate=validate and not internal)
        return cls.from_element(root, source, internal=internal)

    @classmethod
    def from_element(
        cls, root: etree._Element, source: Source, *, internal: bool = False
    ) -> DomainBackup:
        """Build the model from a parsed ``<domainbackup>`` element."""
        mode = attr(root, "mode") or "push"
        if mode not in ("push", "pull"):
            raise source.fail(root, f"unknown backup mode '{mode}'")
        server = None
        node = root.find("server")
        if node is not None:
            if mode != "pull":
                raise source.fail(node, "use of <server> requires pull mode backup")
            server = _parse_server(source, node)
        disks = tuple(
            _parse_disk(source, node, mode, internal) for node in root.findall("disks/*")
        )
        private = root.find("privateData") if internal else None
        return cls(
            mode=mode,
            incremental=text_of(root, "incremental"),
            server=server,
            disks=disks,
            private_data=RawElement.from_element(private) if private is not None else None,
        )

    def to_xml(self) -> str:
        """libvirt's canonical text of this definition."""
        children: list[Tag | RawElement] = []
        if self.incremental is not None:
            children.append(Tag("incremental", text=self.incremental))
        if self.server is not None:
            children.append(self.server.tag())
        if self.disks:
            children.append(Tag("disks", children=[_disk_tag(d, self.mode) for d in self.disks]))
        if self.private_data is not None:
            children.append(self.private_data)
        return render(Tag("domainbackup", [("mode", self.mode)], children))

    def with_disks(self, disks: tuple[BackupDisk, ...]) -> DomainBackup:
        """A copy with another disk list."""
        return replace(self, disks=disks)


def _parse_server(source: Source, node: etree._Element) -> BackupServer:
    transport = attr(node, "transport") or "tcp"
    if transport == "rdma":
        raise source.fail(node, "transport rdma is not supported for <server>")
    if transport not in TRANSPORTS:
        raise source.fail(node, f"unknown protocol transport type '{transport}'")
    socket, name, fdgroup = attr(node, "socket"), attr(node, "name"), attr(node, "fdgroup")
    port = None
    if transport == "unix":
        if not socket:
            raise source.fail(node, "missing socket for unix transport")
        if not is_absolute(socket):
            raise source.fail(node, f"backup socket path '{socket}' must be absolute")
        name = None
    elif socket is not None:
        raise source.fail(node, f"transport '{transport}' does not support socket attribute")
    if transport == "tcp":
        if not name:
            raise source.fail(node, "missing name for host")
        text = attr(node, "port")
        if text is not None:
            if not text.isdigit() or int(text) > 65535:
                raise source.fail(node, f"port '{text}' out of range")
            port = int(text) or None
    if transport == "fd":
        if not fdgroup:
            raise source.fail(node, "missing 'fdgroup' attribute for 'fd' transport")
        name = None
    else:
        fdgroup = None
    return BackupServer(transport, name, port, socket, fdgroup, yes_no(source, node, "tls"))


def _parse_disk(source: Source, node: etree._Element, mode: str, internal: bool) -> BackupDisk:
    name = attr(node, "name")
    if not name:
        raise source.fail(node, "missing name from disk backup element")
    backup = attr(node, "backup")
    if backup not in (None, "yes", "no"):
        raise source.fail(node, f"invalid disk backup value '{backup}'")
    if backup == "no":
        return BackupDisk(name, backup=False)
    state = index = None
    if internal:
        state = attr(node, "state")
        if state not in DISK_STATES:
            raise source.fail(node, f"disk '{name}' backup state wrong or missing '{state}'")
        text = attr(node, "index")
        index = int(text) if text and text.isdigit() else None
    backupmode = attr(node, "backupmode") or None
    if backupmode not in (None, "full", "incremental"):
        raise source.fail(node, f"invalid backupmode '{backupmode}' of disk '{name}'")
    kind = attr(node, "type") or "file"
    if kind not in ("file", "block"):
        raise source.fail(node, f"unsupported disk backup type '{kind}'")
    driver = node.find("driver")
    fmt = attr(driver, "type") if driver is not None else None
    if fmt is not None and fmt not in IMAGE_FORMATS:
        raise source.fail(driver, f"unknown driver format value '{fmt}'")
    store = BackupStore()
    element = node.find("target" if mode == "push" else "scratch")
    if element is not None:
        path = attr(element, "file" if kind == "file" else "dev") or None
        store = BackupStore(path, parse_seclabels(source, element),
                            parse_encryption(source, element))
    pull = mode == "pull"
    return BackupDisk(
        name=name, backup=True, type=kind, backupmode=backupmode,
        incremental=attr(node, "incremental"),
        exportname=attr(node, "exportname") if pull else None,
        exportbitmap=attr(node, "exportbitmap") if pull else None,
        format=fmt, store=store, state=state, index=index,
    )


def _disk_tag(disk: BackupDisk, mode: str) -> Tag:
    attrs: list[tuple[str, str | None]] = [
        ("name", disk.name), ("backup", "yes" if disk.backup else "no")]
    if not disk.backup:
        return Tag("disk", attrs)
    attrs += [
        ("state", disk.state), ("type", disk.type), ("backupmode", disk.backupmode),
        ("incremental", disk.incremental), ("exportname", disk.exportname),
        ("exportbitmap", disk.exportbitmap),
        ("index", str(disk.index) if disk.index else None),
    ]
    children: list[Tag | RawElement] = []
    if disk.format is not None:
        children.append(Tag("driver", [("type", disk.format)]))
    store = disk.store
    location = "file" if disk.type == "file" else "dev"
    element = Tag("target" if mode == "push" else "scratch", [(location, store.path)],
                  [label.tag() for label in store.seclabels])
    if store.encryption is not None:
        element.children.append(store.encryption.tag())
    if not element.is_empty():
        children.append(element)
    return Tag("disk", attrs, children)


def check(backup: DomainBackup, path: str = "<model>") -> list[Problem]:
    """Rules beyond the schema that libvirt enforces when the backup starts."""
    problems: list[Problem] = []

    def report(where: str, message: str) -> None:
        problems.append(Problem(path, 0, 0, f"domainbackup{where}: {message}"))

    if backup.mode not in ("push", "pull"):
        report("/@mode", f"unknown backup mode '{backup.mode}'")
    server = backup.server
    if server is not None:
        if backup.mode != "pull":
            report("/server", "use of <server> requires pull mode backup")
        if server.transport not in TRANSPORTS:
            report("/server/@transport", f"unknown protocol transport type '{server.transport}'")
        if server.transport == "tcp":
            if not server.name:
                report("/server/@name", "missing name for host")
            elif not _DNS_NAME.fullmatch(server.name):
                report("/server/@name", f"'{server.name}' is not a host name or address")
            if server.port is not None and not 0 <= server.port <= 65535:
                report("/server/@port", f"port '{server.port}' out of range")
        if server.transport == "unix" and not (server.socket and is_absolute(server.socket)):
            report("/server/@socket", f"backup socket path '{server.socket}' must be absolute")
        if server.transport == "fd" and not server.fdgroup:
            report("/server/@fdgroup", "missing 'fdgroup' attribute for 'fd' transport")
    elif backup.mode == "pull":
        report("/server", "a pull backup needs a <server>")
    seen: set[str] = set()
    for number, disk in enumerate(backup.disks, start=1):
        where = f"/disks/disk[{number}]"
        if not _TARGET_DEV.fullmatch(disk.name):
            report(f"{where}/@name", f"'{disk.name}' is not a disk target name")
        if disk.name in seen:
            report(f"{where}/@name", f"disk '{disk.name}' specified twice")
        seen.add(disk.name)
        if not disk.backup:
            continue
        if disk.type not in ("file", "block"):
            report(f"{where}/@type", f"unsupported disk backup type '{disk.type}'")
        if disk.backupmode == "full" and disk.incremental is not None:
            report(f"{where}/@incremental",
                   "backupmode='full' conflicts with an incremental checkpoint")
        if (disk.backupmode == "incremental" and disk.incremental is None
                and backup.incremental is None):
            report(f"{where}/@backupmode",
                   f"'incremental' backup mode of disk '{disk.name}' requires setting "
                   "'incremental' field for disk or backup")
        if backup.mode == "push" and (disk.exportname or disk.exportbitmap):
            report(f"{where}/@exportname", "export names are only valid in pull mode")
        if disk.format is not None and disk.format not in IMAGE_FORMATS:
            report(f"{where}/driver/@type", f"unknown driver format value '{disk.format}'")
        if backup.mode == "pull" and disk.format not in (None, "qcow2"):
            report(f"{where}/driver/@type", "the scratch image of a pull backup must be qcow2")
        if disk.store.path is not None and not is_absolute(disk.store.path):
            store = "target" if backup.mode == "push" else "scratch"
            location = "file" if disk.type == "file" else "dev"
            report(f"{where}/{store}/@{location}", f"path '{disk.store.path}' must be absolute")
    return problems
