"""The sandbox cleans up after itself, also after a failure, and says why it cannot run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import install
import pytest
import sandbox

pytestmark = pytest.mark.live

HERE = Path(__file__).resolve().parent

# A whole sandbox life in a child process: a guest with a checkpoint, then an end.
CHILD = """
import json, sys
sys.path.insert(0, {here!r})
import sandbox
with sandbox.Sandbox() as box:
    domain = box.create_guest("leftover")
    domain.checkpointCreateXML("<domaincheckpoint><name>c</name></domaincheckpoint>", 0)
    print(json.dumps([str(box.dir), domain.ID(), box.namespace,
                      [(pid, open(f"/proc/{{pid}}/comm").read().strip())
                       for pid in box.processes()]]), flush=True)
    {ending}
"""


def machine_state() -> dict[str, object]:
    """What a sandbox could leave behind outside its directory: mount points, the QEMU user and
    group, pid files."""
    return {
        "mountpoints": {target: os.path.isdir(target) for target in sandbox.PRIVATE_DIRS.values()},
        "marker": install.CREATED_MARKER.exists(),
        "pid files": {
            path: os.path.exists(path) for path in ("/run/libvirtd.pid", "/run/virtlogd.pid")
        },
        "user": subprocess.run(["getent", "passwd", install.QEMU_USER], capture_output=True).stdout,
        "group": subprocess.run(
            ["getent", "group", install.QEMU_GROUP], capture_output=True
        ).stdout,
    }


@pytest.mark.parametrize(
    ("ending", "exit_code"),
    [("pass", 0), ("raise RuntimeError('a test failed here')", 1)],
    ids=["after-success", "after-failure"],
)
def test_sandbox_leaves_no_domain_daemon_or_file(ending: str, exit_code: int) -> None:
    before = machine_state()
    child = subprocess.run(
        [sys.executable, "-c", CHILD.format(here=str(HERE), ending=ending)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == exit_code, child.stderr
    if exit_code:
        assert "a test failed here" in child.stderr
    box_dir, domain_id, namespace, pids = json.loads(child.stdout)
    assert domain_id > 0  # the guest really ran
    assert {"libvirtd", "virtlogd", "qemu-system-x86"} <= {name for _, name in pids}
    assert not Path(box_dir).exists()
    assert [pid for pid, _ in pids if alive_in(pid, namespace)] == []
    assert machine_state() == before


def alive_in(pid: int, namespace: str) -> bool:
    """Whether `pid` still runs (not a zombie) in the mount namespace `namespace`."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return (
            stat.rsplit(")", 1)[1].split()[0] != "Z"
            and os.readlink(f"/proc/{pid}/ns/mnt") == namespace
        )
    except OSError:
        return False


def test_without_root_it_fails_with_one_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    before = machine_state()
    box = sandbox.Sandbox()
    with pytest.raises(install.SandboxUnavailable, match="the live tests need root"):
        box.start()
    assert box.processes() == []
    assert machine_state() == before


def test_without_a_package_registry_it_names_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    offline = tmp_path / "apt-get"
    offline.write_text(
        "#!/bin/sh\necho \"Temporary failure resolving 'deb.debian.org'\" >&2\nexit 100\n"
    )
    offline.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.setattr(install, "missing_packages", lambda: ["libvirt-daemon", "qemu-utils"])
    with pytest.raises(install.SandboxUnavailable) as refused:
        sandbox.Sandbox().start()
    assert str(refused.value) == (
        "`apt-get update` failed: no Debian package registry reachable to install "
        "libvirt-daemon, qemu-utils"
    )
