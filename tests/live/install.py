"""Put in place what the live sandbox needs: Debian packages, the libvirt binding, the QEMU user.

Everything here is idempotent and only acts on what is missing. It needs root and a reachable
Debian package registry; without them it raises `SandboxUnavailable` naming what is missing.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

CHECKOUT = Path(__file__).resolve().parents[2]
# The one list of the Debian packages the live tests use (libvirtd and virtlogd, the QEMU
# driver, QEMU and its image tools, what the binding builds with, libnbd, certtool).
DEBIAN_DEPS = CHECKOUT / "tools" / "debian-deps"
QEMU_USER = QEMU_GROUP = "libvirt-qemu"
DIST_PACKAGES = "/usr/lib/python3/dist-packages"
# Lists what sandboxes created outside their directories (the user, the group, mount points)
# while any sandbox may still need it: the last sandbox to stop takes it back.
CREATED_MARKER = Path("/run/gueststate-live-created")


class SandboxUnavailable(RuntimeError):
    """The live sandbox cannot run here; the message says what is missing."""


@dataclass
class Installed:
    """What `ensure_all` had to add, so that teardown can take back what is undoable."""

    packages: list[str] = field(default_factory=list)
    binding: bool = False
    created_user: bool = False
    created_group: bool = False


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise SandboxUnavailable(f"{what} failed ({' '.join(argv)}): " + " | ".join(tail))


def require_root() -> None:
    if os.geteuid() != 0:
        raise SandboxUnavailable(
            "the live tests need root: they install Debian packages and start a private libvirtd "
            "(run `make live` as root on Debian 12 or 13)"
        )


def missing_packages() -> list[str]:
    """The Debian packages of `tools/debian-deps --live` not yet installed."""
    listed = subprocess.run([str(DEBIAN_DEPS), "--live", "--missing"], capture_output=True,
                            text=True, check=False)
    if listed.returncode != 0:
        raise SandboxUnavailable(f"{DEBIAN_DEPS} --missing failed: {listed.stderr.strip()}")
    return listed.stdout.split()


def ensure_packages() -> list[str]:
    """Install the missing Debian packages; return their names."""
    missing = missing_packages()
    if missing:
        require_root()
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        update = subprocess.run(["apt-get", "update"], capture_output=True, text=True, env=env)
        if update.returncode != 0:
            raise SandboxUnavailable(
                "`apt-get update` failed: no Debian package registry reachable to install "
                + ", ".join(missing)
            )
        install = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
        done = subprocess.run(install, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            tail = " | ".join(done.stderr.strip().splitlines()[-3:])
            raise SandboxUnavailable(f"cannot install {', '.join(missing)} with apt-get: {tail}")
    return missing


def ensure_binding() -> bool:
    """Install the libvirt Python binding into this interpreter if absent; True if installed."""
    if importlib.util.find_spec("libvirt") is not None:
        return False
    ensure_packages()
    pin = next(line for line in (CHECKOUT / "constraints.txt").read_text().splitlines()
               if line.startswith("libvirt-python=="))  # builds against libvirt 9.0 to 12.9
    _run([sys.executable, "-m", "pip", "install", pin], f"pip install {pin}")
    importlib.invalidate_caches()
    return True


def ensure_qemu_user() -> tuple[bool, bool]:
    """Create the libvirt-qemu group and user if absent; return (created_user, created_group)."""
    require_root()
    created_group = subprocess.run(["getent", "group", QEMU_GROUP], capture_output=True).returncode
    if created_group:
        _run(["groupadd", "--system", QEMU_GROUP], "creating the libvirt-qemu group")
    created_user = subprocess.run(["getent", "passwd", QEMU_USER], capture_output=True).returncode
    if created_user:
        _run(
            [
                "useradd",
                "--system",
                "--gid",
                QEMU_GROUP,
                "--no-create-home",
                "--home-dir",
                "/var/lib/libvirt",
                "--shell",
                "/usr/sbin/nologin",
                QEMU_USER,
            ],
            "creating the libvirt-qemu user",
        )
    for kind, made in (("group", created_group), ("user", created_user)):
        if made:
            note_created(kind, QEMU_USER)
    return bool(created_user), bool(created_group)


def note_created(kind: str, name: str) -> None:
    """Record that a sandbox created a `user`, a `group` or a `dir` the machine did not have."""
    with CREATED_MARKER.open("a") as marker:
        marker.write(f"{kind} {name}\n")


def take_back_created() -> None:
    """Remove what sandboxes created outside their own directory; only the last one may call it,
    since the others still use these (a directory removed here vanishes from their mounts)."""
    if not CREATED_MARKER.exists():
        return
    noted = [line.split(" ", 1) for line in CREATED_MARKER.read_text().splitlines()]
    for kind, name in reversed(noted):
        if kind == "dir":
            with contextlib.suppress(OSError):
                os.rmdir(name)
        elif kind in ("user", "group"):
            subprocess.run([f"{kind}del", name], capture_output=True, check=False)
    CREATED_MARKER.unlink()


def ensure_all() -> Installed:
    """Everything the QEMU sandbox needs; packages and the binding stay installed afterwards."""
    require_root()
    packages = ensure_packages()
    binding = ensure_binding()
    created_user, created_group = ensure_qemu_user()
    return Installed(packages, binding, created_user, created_group)


def import_nbd() -> ModuleType:
    """Import Debian's python3-libnbd into this interpreter without adding all of dist-packages."""
    if "nbd" in sys.modules:
        return sys.modules["nbd"]
    for name in ("libnbdmod", "nbd"):
        candidates = (
            [
                entry.path
                for entry in os.scandir(DIST_PACKAGES)
                if entry.name == f"{name}.py"
                or (entry.name.startswith(f"{name}.") and entry.name.endswith(".so"))
            ]
            if os.path.isdir(DIST_PACKAGES)
            else []
        )
        if not candidates:
            raise SandboxUnavailable(
                f"python3-libnbd is not installed ({name} not in {DIST_PACKAGES})"
            )
        spec = importlib.util.spec_from_file_location(name, candidates[0])
        if spec is None or spec.loader is None:
            raise SandboxUnavailable(f"cannot load {candidates[0]}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules["nbd"]
