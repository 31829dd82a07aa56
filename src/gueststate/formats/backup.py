"""``<domainbackup>``: a push or pull backup job definition."""

from __future__ import annotations

import re
from collections.abc import Callable
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
    is_absolute,
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
    #: Where the definition was read from (its root element), so that alignment can name the
    #: file, line and column at fault; None for a definition built in Python or completed by
    #: alignment.  A copy made with ``dataclasses.replace`` keeps it (see the model guide).
    origin: Location | None = field(default=None, compare=False, repr=False)

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
        node = root.find("server")
        # The definition's own rules judge the mode and whether a <server> is there at all
        # before the server itself is read, as libvirt does.
        enforce(BACKUP_RULES, cls(mode, server=None if node is None else BackupServer()),
                source.locate(root))
        server = None if node is None else _parse_server(source, node)
        backup = cls(mode=mode, incremental=text_of(root, "incremental"), server=server)
        disks: list[BackupDisk] = []
        for node in root.findall("disks/*"):
            disk = _parse_disk(source, node, mode, internal)
            enforce(DISK_RULES, listed(backup.with_disks((disk,)), 0), source.locate(node))
            disks.append(disk)
        private = root.find("privateData") if internal else None
        return replace(
            backup, disks=tuple(disks),
            private_data=RawElement.from_element(private) if private is not None else None,
            origin=source.locate(root))

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
        return replace(self, disks=disks, origin=None)  # its places are no longer those disks


def _parse_server(source: Source, node: etree._Element) -> BackupServer:
    transport = attr(node, "transport") or "tcp"
    text = attr(node, "port")
    if text is not None and not digits(text):
        raise source.fail(node, port_not_a_number(text))
    server = BackupServer(
        transport,
        None if transport in ("unix", "fd") else attr(node, "name"),
        int(text) or None if text is not None else None,
        attr(node, "socket"),
        attr(node, "fdgroup") if transport == "fd" else None,
    )
    enforce(SERVER_RULES, server, source.locate(node))
    return replace(server, tls=yes_no(source, node, "tls"))


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
        index = int(text) if text and digits(text) else None
    kind = attr(node, "type") or "file"
    driver = node.find("driver")
    store = BackupStore()
    element = node.find("target" if mode == "push" else "scratch")
    if element is not None and kind in ("file", "block"):
        path = attr(element, "file" if kind == "file" else "dev") or None
        store = BackupStore(path, parse_seclabels(source, element),
                            parse_encryption(source, element))
    pull = mode == "pull"
    return BackupDisk(
        name=name, backup=True, type=kind, backupmode=attr(node, "backupmode") or None,
        incremental=attr(node, "incremental"),
        exportname=attr(node, "exportname") if pull else None,
        exportbitmap=attr(node, "exportbitmap") if pull else None,
        format=attr(driver, "type") if driver is not None else None,
        store=store, state=state, index=index,
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


# --- libvirt's rules, each once: parsing enforces "parse", align_backup "align" ---

BACKUP_RULES: tuple[Rule[DomainBackup], ...] = (
    Rule("@mode", lambda b: None if b.mode in ("push", "pull")
         else f"unknown backup mode '{b.mode}'"),
    Rule("server", lambda b: "use of <server> requires pull mode backup"
         if b.server is not None and b.mode != "pull" else None),
    Rule("server", lambda b: "a pull backup needs a <server>"
         if b.mode == "pull" and b.server is None else None, "advice"),
    # Listed disks leave the others out; an aligned backup lists every disk of the domain.
    Rule("disks", lambda b: "no disks selected for backup"
         if b.disks and not any(disk.backup for disk in b.disks) else None, "align"),
)

SERVER_RULES: tuple[Rule[BackupServer], ...] = (
    *HOST_RULES,
    Rule("@transport", lambda s: "transport rdma is not supported for <server>"
         if s.transport == "rdma" else None),
    Rule("@socket", lambda s: f"backup socket path '{s.socket}' must be absolute"
         if s.transport == "unix" and s.socket and not is_absolute(s.socket) else None),
    Rule("@fdgroup", lambda s: "missing 'fdgroup' attribute for 'fd' transport"
         if s.transport == "fd" and not s.fdgroup else None),
    Rule("@name", lambda s: f"'{s.name}' is not a host name or address"
         if s.transport == "tcp" and s.name and not _DNS_NAME.fullmatch(s.name) else None,
         "advice"),
)

#: A disk in its definition.
DiskIn = Listed[DomainBackup]


def listed(backup: DomainBackup, index: int) -> DiskIn:
    """Disk ``index`` of ``backup`` for its rules (libvirt knows backup disks by name)."""
    return Listed(backup, index)


def _disk(item: DiskIn) -> BackupDisk:
    return item.definition.disks[item.index]


def _backed_up(test: Callable[[DomainBackup, BackupDisk], str | None]) -> Callable[
        [DiskIn], str | None]:
    """A rule about what a disk with ``backup='no'`` does not have (libvirt reads no more)."""
    def judge(item: DiskIn) -> str | None:
        disk = _disk(item)
        return test(item.definition, disk) if disk.backup else None
    return judge


def _incremental_without_checkpoint(backup: DomainBackup, disk: BackupDisk) -> str | None:
    if disk.backupmode == "incremental" and disk.incremental is None \
            and backup.incremental is None:
        return (f"'incremental' backup mode of disk '{disk.name}' requires setting "
                "'incremental' field for disk or backup")
    return None


def _store_place(item: DiskIn) -> str:
    store = "target" if item.definition.mode == "push" else "scratch"
    return f"{store}/@{'file' if _disk(item).type == 'file' else 'dev'}"


def _store_path(backup: DomainBackup, disk: BackupDisk) -> str | None:
    path = disk.store.path
    return None if path is None or is_absolute(path) else f"path '{path}' must be absolute"


DISK_RULES: tuple[Rule[DiskIn], ...] = (
    Rule("@backupmode", _backed_up(lambda b, d: None if d.backupmode in (
        None, "full", "incremental") else f"invalid backupmode '{d.backupmode}' of disk "
        f"'{d.name}'")),
    Rule("@type", _backed_up(lambda b, d: None if d.type in ("file", "block")
                             else f"unsupported disk backup type '{d.type}'")),
    Rule("driver/@type", _backed_up(lambda b, d: None if d.format in (None, *IMAGE_FORMATS)
                                    else f"unknown driver format value '{d.format}'")),
    SPECIFIED_TWICE,
    Rule("@backupmode", _backed_up(_incremental_without_checkpoint), "align"),
    Rule("@name", lambda item: None if _TARGET_DEV.fullmatch(_disk(item).name)
         else f"'{_disk(item).name}' is not a disk target name", "advice"),
    Rule("@incremental", _backed_up(lambda b, d: "backupmode='full' conflicts with an "
                                    "incremental checkpoint" if d.backupmode == "full"
                                    and d.incremental is not None else None), "advice"),
    Rule("@exportname", _backed_up(lambda b, d: "export names are only valid in pull mode"
                                   if b.mode == "push" and (d.exportname or d.exportbitmap)
                                   else None), "advice"),
    Rule("driver/@type", _backed_up(lambda b, d: "the scratch image of a pull backup must be "
                                    "qcow2" if b.mode == "pull"
                                    and d.format not in (None, "qcow2") else None), "advice"),
    Rule(_store_place, _backed_up(_store_path), "advice"),
)


def check(backup: DomainBackup, path: str = "<model>") -> list[Problem]:
    """Every rule the backup breaks (libvirt's, at parse and start, and advice)."""
    here = Location(path, ("domainbackup",))
    found = list(report(BACKUP_RULES, backup, here))
    if backup.server is not None:
        found += report(SERVER_RULES, backup.server, here.at("server"))
    for index in range(len(backup.disks)):
        found += report(DISK_RULES, listed(backup, index), here.at(f"disks/disk[{index + 1}]"))
    return [where.problem(f"{where.element}: {message}") for where, message in found]
