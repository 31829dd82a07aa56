"""A private libvirtd with the QEMU driver, started and stopped by the project itself.

`Sandbox` runs virtlogd and libvirtd in their own mount namespace, where a fresh temporary
directory is bind-mounted over libvirt's configuration, runtime, state, log and cache
directories; the machine's own libvirt (if any) is neither seen nor touched. The client talks to
it through the socket in that directory. `stop()` destroys every guest, ends every process of the
namespace and removes the directory; the last sandbox to stop also takes back the libvirt-qemu
user and the mount points sandboxes created. `stop()` runs at interpreter exit too, so a failure
half-way leaves nothing behind.

Import it as ``sandbox`` with ``tests/live`` on ``sys.path``: pytest does this for the tests in
that directory; the API guide's backup page adds the directory in its hidden ``testsetup``.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import install

if TYPE_CHECKING:
    import libvirt

# Private directory (under the sandbox root) -> the libvirt directory it replaces.
PRIVATE_DIRS = {
    "etc": "/etc/libvirt",
    "run": "/run/libvirt",
    "lib": "/var/lib/libvirt",
    "log": "/var/log/libvirt",
    "cache": "/var/cache/libvirt",
}
LIBVIRTD_CONF = """\
unix_sock_rw_perms = "0700"
unix_sock_ro_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
"""
QEMU_CONF = """\
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "logd"
"""
# QEMU's capabilities take libvirtd most of a minute to probe; they are kept between sandboxes
# in the checkout's (git-ignored) .cache, the one place outside the sandbox it writes to (a
# system of `make matrix` names its own with GUESTSTATE_CACHE).
CHECKOUT = Path(__file__).resolve().parents[2]
CAPABILITY_CACHE = Path(os.environ.get("GUESTSTATE_CACHE", CHECKOUT / ".cache")) / "libvirt-cache"
# The lab page (kbase/lab.md) shows these files; the sandbox makes its disks, guests and TLS
# certificates with them, so that the lab a reader copies is the one the pages ran against.
LAB = CHECKOUT / "kbase" / "lab-files"
MAKE_DISK = LAB / "make-disk.sh"
GUEST_XML = CHECKOUT / "examples" / "domain" / "lab-web01.xml"
MAKE_TLS_CERTS = LAB / "make-tls-certs.sh"
QEMU_TLS_CONF = LAB / "qemu-backup-tls.conf"
TLS_SERVER_DIR = "/etc/pki/libvirt-backup"  # as the lab's qemu.conf lines name it
TLS_HOST = "localhost"  # the name in the server's certificate, and the one clients connect to
PREFIX = "gueststate-live-"  # of every sandbox's directory, in the temporary directory
START_TIMEOUT = 60.0


class Sandbox:
    """One private libvirtd; use as a context manager or call `start()` and `stop()`."""

    def __init__(self, tls: bool = False) -> None:
        """With `tls`, the sandbox makes the lab's TLS certificates before libvirtd starts (it
        checks that the directory exists) and configures pull backups over TLS with them."""
        self.dir = Path()
        self._tls = tls
        self._daemons: subprocess.Popen[bytes] | None = None
        self._namespace = ""
        self.installed = install.Installed()
        self._connection: libvirt.virConnect | None = None
        self._lock = -1

    @property
    def socket(self) -> Path:
        return self.dir / "run" / "libvirt-sock"

    @property
    def uri(self) -> str:
        return f"qemu+unix:///system?socket={self.socket}"

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Install what is missing, then start virtlogd and libvirtd; wait until they answer."""
        atexit.register(self.stop)
        # Every running sandbox holds a shared lock; only one that gets the lock alone may take
        # back the user and mount points they all use.
        self._lock = os.open(tempfile.gettempdir(), os.O_RDONLY)
        fcntl.flock(self._lock, fcntl.LOCK_SH)
        try:
            self.installed = install.ensure_all()
            self._start_daemons()
        except BaseException:
            self.stop()
            raise

    def _start_daemons(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=PREFIX))
        self.dir.chmod(0o755)  # QEMU runs as libvirt-qemu and must reach the disk images
        for name in (*PRIVATE_DIRS, "images", "backup"):
            (self.dir / name).mkdir()
        (self.dir / "etc" / "libvirtd.conf").write_text(LIBVIRTD_CONF)
        qemu_conf = QEMU_CONF
        if self._tls:
            qemu_conf += self._make_tls_certificates()
        (self.dir / "etc" / "qemu.conf").write_text(qemu_conf)
        (self.dir / "no-kvm").touch(mode=0)
        CAPABILITY_CACHE.mkdir(parents=True, exist_ok=True)
        for target in PRIVATE_DIRS.values():
            if not os.path.isdir(target):
                os.makedirs(target)
                install.note_created("dir", target)
        with (self.dir / "daemons.err").open("wb") as errors:
            self._daemons = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "sh", "-ec", self._script()],
                stdout=subprocess.DEVNULL,
                stderr=errors,
                start_new_session=True,
            )
        self._wait_until_ready()

    @property
    def tls_client_dir(self) -> Path:
        """The backup client's certificate, key and CA certificate (with `tls`)."""
        return self.dir / "pki" / "client"

    def _make_tls_certificates(self) -> str:
        """Run the lab's certificate script; return the lab's qemu.conf lines for them."""
        server = self.dir / "pki" / "libvirt-backup"
        (self.dir / "pki").mkdir(mode=0o755)
        subprocess.run(
            ["sh", str(MAKE_TLS_CERTS), str(server), str(self.tls_client_dir), TLS_HOST],
            check=True,
            capture_output=True,
        )
        return QEMU_TLS_CONF.read_text().replace(TLS_SERVER_DIR, str(server))

    def _script(self) -> str:
        mounts = (
            "".join(
                f"mount --bind {self.dir / private} {target}\n"
                for private, target in PRIVATE_DIRS.items()
            )
            + f"mount --bind {CAPABILITY_CACHE} /var/cache/libvirt\n"
        )
        # The guest is TCG by design. Hide /dev/kvm: where QEMU's user may not open it, libvirt
        # 9.0 probes KVM as usable, then finds it unusable and re-probes QEMU on every lookup.
        mounts += f"if [ -e /dev/kvm ]; then mount --bind {self.dir / 'no-kvm'} /dev/kvm; fi\n"
        # The shell stays the daemons' parent, so that it reaps them when told to end. The pid
        # files move into the private /run/libvirt: by default they are /run/*.pid, shared with
        # the machine's own daemons and with other sandboxes.
        return mounts + (
            "virtlogd --pid-file /run/libvirt/virtlogd.pid & logd=$!\n"
            "while [ ! -S /run/libvirt/virtlogd-sock ]; do sleep 0.1; done\n"
            "libvirtd --pid-file /run/libvirt/libvirtd.pid & daemon=$!\n"
            "trap 'kill -TERM $daemon $logd 2>/dev/null; wait; exit 0' TERM\n"
            "wait\n"
        )

    def _wait_until_ready(self) -> None:
        import libvirt

        libvirt.registerErrorHandler(_quiet, None)  # errors still raise; stop echoing them
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self._daemons is not None and self._daemons.poll() is not None:
                raise install.SandboxUnavailable("libvirtd exited at start: " + self._log_tail())
            if self.socket.exists():
                try:
                    self._connection = libvirt.open(self.uri)
                    self._namespace = self._daemon_namespace()
                    return
                except libvirt.libvirtError:
                    pass
            if time.monotonic() > deadline:
                raise install.SandboxUnavailable(
                    f"libvirtd did not answer within {START_TIMEOUT:.0f}s: " + self._log_tail()
                )
            time.sleep(0.2)

    def _daemon_namespace(self) -> str:
        """The mount namespace libvirtd runs in; never this process's own."""
        assert self._daemons is not None
        theirs = os.readlink(f"/proc/{self._daemons.pid}/ns/mnt")
        if theirs == os.readlink("/proc/self/ns/mnt"):
            raise install.SandboxUnavailable("libvirtd did not get a private mount namespace")
        return theirs

    def _log_tail(self) -> str:
        lines: list[str] = []
        for log in (self.dir / "daemons.err", self.dir / "log" / "libvirtd.log"):
            if log.exists():
                lines += log.read_text(errors="replace").strip().splitlines()[-3:]
        return " | ".join(lines) or "no log"

    def connect(self) -> libvirt.virConnect:
        """The open read-write connection to the private libvirtd."""
        if self._connection is None:
            raise RuntimeError("the sandbox is not started")
        return self._connection

    def qemu_dir(self, name: str) -> Path:
        """A new directory under the sandbox that QEMU's user may write to (NBD sockets)."""
        import pwd

        path = self.dir / name
        path.mkdir()
        owner = pwd.getpwnam(install.QEMU_USER)
        os.chown(path, owner.pw_uid, owner.pw_gid)
        return path

    def create_disk(self, name: str, fill: int) -> Path:
        """A 16 MiB qcow2 v3 image whose first 64 KiB hold the byte `fill` (the lab's script)."""
        path = self.dir / "images" / f"{name}.qcow2"
        subprocess.run(["sh", str(MAKE_DISK), str(path), f"{fill:#x}"], check=True)
        return path

    def guest_xml(self, name: str, disks: dict[str, Path]) -> str:
        """The lab's guest (TCG, no operating system) named `name`, with one disk like the
        lab's `vda` per entry of `disks` (target -> image) in place of its own two."""
        from lxml import etree

        from gueststate import xmlsafe

        domain = xmlsafe.parse_bytes(GUEST_XML.read_bytes(), str(GUEST_XML)).getroot()
        domain.find("name").text = name
        devices = domain.find("devices")
        lab_disks = devices.findall("disk")
        for disk in lab_disks:
            devices.remove(disk)
        for position, (target, path) in enumerate(disks.items()):
            disk = copy.deepcopy(lab_disks[0])
            disk.find("source").set("file", str(path))
            disk.find("target").set("dev", target)
            devices.insert(position, disk)
        return str(etree.tostring(domain, encoding="unicode"))

    def create_guest(self, name: str = "vm1", persistent: bool = False) -> libvirt.virDomain:
        """Start a guest with two qcow2 disks, vda (filled 0x11) and vdb (0x22): transient, or
        defined first when `persistent`, so that it survives being shut off (restores)."""
        disks = {
            "vda": self.create_disk(f"{name}-vda", 0x11),
            "vdb": self.create_disk(f"{name}-vdb", 0x22),
        }
        xml = self.guest_xml(name, disks)
        if not persistent:
            return self.connect().createXML(xml, 0)
        domain = self.connect().defineXML(xml)
        domain.create()
        return domain

    @property
    def namespace(self) -> str:
        """The daemons' mount namespace, as /proc/PID/ns/mnt names it ("" when stopped)."""
        return self._namespace

    def processes(self) -> list[int]:
        """Process ids living in the sandbox's mount namespace (daemons and QEMU)."""
        if not self._namespace or self._namespace == os.readlink("/proc/self/ns/mnt"):
            return []
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if os.readlink(f"/proc/{entry}/ns/mnt") == self._namespace:
                        found.append(int(entry))
                except OSError:
                    continue
        return found

    def stop(self) -> None:
        """Destroy the guests, end the daemons and QEMU, remove every file; safe to repeat."""
        atexit.unregister(self.stop)
        if self._connection is not None:
            self._remove_guests(self._connection)
            self._connection = None
        self._end_processes()
        if self.dir != Path() and self.dir.exists():
            shutil.rmtree(self.dir)
        if self._lock >= 0:
            with contextlib.suppress(BlockingIOError):
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                install.take_back_created()  # no other sandbox runs: take back what they made
            os.close(self._lock)  # releases the lock
            self._lock = -1
        self.installed = install.Installed()

    @staticmethod
    def _remove_guests(connection: libvirt.virConnect) -> None:
        import libvirt

        try:
            for domain in connection.listAllDomains():
                try:
                    if domain.isPersistent():
                        domain.undefineFlags(_undefine_everything())
                    if domain.isActive():
                        domain.destroy()
                except libvirt.libvirtError:
                    continue  # its QEMU process is killed with the namespace below
        finally:
            connection.close()

    def _end_processes(self) -> None:
        if self._daemons is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._daemons.pid, signal.SIGTERM)
            try:
                self._daemons.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self._daemons.pid, signal.SIGKILL)
                self._daemons.wait()
        deadline = time.monotonic() + 15
        while (left := self.processes()) and time.monotonic() < deadline:
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
        self._daemons = None
        self._namespace = ""


def _quiet(context: object, error: object) -> None:
    """An error handler that prints nothing: libvirt's default one echoes every error."""


def _undefine_everything() -> int:
    import libvirt

    return int(
        libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
        | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
        | libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
        | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
    )
