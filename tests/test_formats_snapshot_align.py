"""Snapshots as libvirt records them: sources kept whole, libvirt's refusals, the
creation-time name, and the redefinition and disk-only modes (library and CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gueststate import cli
from gueststate.formats import (
    BackupServer,
    Domain,
    DomainBackup,
    DomainSnapshot,
    FormatError,
    SnapshotDisk,
    align,
    check,
    from_xml,
    take_snapshot,
)
from gueststate.formats.backup import BACKUP_RULES

DOMAIN = """<domain type='test'>
  <name>g</name>
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
  <devices>
    <disk type='file' device='disk'>
      <source file='{dir}/vda.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='network' device='disk'>
      <source protocol='nbd'>
        <host name='h' port='10809'/>
      </source>
      <target dev='vdd' bus='virtio'/>
    </disk>
  </devices>
</domain>
"""


@pytest.fixture
def domain_file(tmp_path: Path) -> Path:
    (tmp_path / "vda.qcow2").write_bytes(b"")
    path = tmp_path / "domain.xml"
    path.write_text(DOMAIN.format(dir=tmp_path), encoding="utf-8")
    return path


def _refusal(text: str, **flags: bool) -> str:
    with pytest.raises(FormatError) as caught:
        DomainSnapshot.from_xml(text, "s.xml", validate=False, **flags)
    return caught.value.problems[0].message


def _snapshot(disk: str) -> str:
    return f"<domainsnapshot><disks>{disk}</disks></domainsnapshot>"


@pytest.mark.parametrize(("disk", "message"), [
    ("<disk name='vda' type='nvme'><source file='/x'/></disk>",
     "missing 'type' attribute to disk source"),
    ("<disk name='vda' type='vhostuser'><source file='/x'/></disk>",
     "missing 'type' attribute for vhostuser disk source"),
    ("<disk name='vda'><source file='/x'><reservations enabled='yes'/></source></disk>",
     "Missing required attribute 'managed' in element 'reservations'"),
    ("<disk name='vda'><source file='/x'><reservations managed='no'/></source></disk>",
     "missing connection type for <reservations/>"),
    ("<disk name='vda' snapshot='sometimes'/>",
     "Invalid value for attribute 'snapshot' in element 'disk': 'sometimes'."),
    ("<disk name='vda' type='network'><source protocol='rbd' name='image'/></disk>",
     "can't split path 'image' into pool name and image name"),
    ("<disk name='vda' type='network'><source protocol='nbd'><host port='1'/></source></disk>",
     "missing name for host"),
    ("<disk name='vda' type='network'><source protocol='nbd'><host name='h' port='x'/>"
     "</source></disk>", "failed to parse port number 'x'"),
    ("<disk name='vda' type='network'><source protocol='nbd' tls='maybe'/></disk>",
     "Invalid value for attribute 'tls' in element 'source': 'maybe'."),
    ("<disk name='vda'><source file='/x'><slices><slice type='storage' size='1'/></slices>"
     "</source></disk>", "missing offset or size attribute of slice"),
    ("<disk name='vda'><source file='/x'><slices><slice type='storage' offset='x' size='1'/>"
     "</slices></source></disk>", "malformed value 'x' of 'offset' attribute of slice"),
])
def test_source_refusals(disk: str, message: str) -> None:
    assert _refusal(_snapshot(disk)) == message


def test_source_parts_are_kept_in_libvirt_order() -> None:
    text = _snapshot(
        "<disk name='vda'><source file='/x'><reservations managed='yes'/>"
        "<auth username='u'><secret type='iscsi' usage='s'/></auth>"
        "<slices><slice type='storage' offset='0' size='10'/></slices></source></disk>"
        "<disk name='vdb' type='network'><driver type='raw'/><source protocol='nbd' name='e'>"
        "<host name='h' transport='tcp'/></source></disk>")
    written = from_xml(text, validate=False).to_xml()
    assert written.split("<disks>")[1] == """
    <disk name='vda' snapshot='external' type='file'>
      <source file='/x'>
        <slices>
          <slice type='storage' offset='0' size='10'/>
        </slices>
        <auth username='u'>
          <secret type='iscsi' usage='s'/>
        </auth>
        <reservations managed='yes'/>
      </source>
    </disk>
    <disk name='vdb' snapshot='external' type='network'>
      <driver type='raw'/>
      <source protocol='nbd' name='e'>
        <host name='h' port='10809'/>
      </source>
    </disk>
  </disks>
</domainsnapshot>
"""


def test_network_children_kept_as_libvirt_writes_them() -> None:
    text = _snapshot(
        "<disk name='vda' type='network'><source protocol='https' name='i'>"
        "<host name='h'/><timeout seconds='5'/><cookies><cookie name='c'>v</cookie></cookies>"
        "<ssl verify='no'/><config file='/c'/></source></disk>"
        "<disk name='vdb'><source file='/f' fdgroup='g'/></disk>")
    written = from_xml(text, validate=False).to_xml()
    assert written.split("<disks>")[1].split("</disks>")[0] == """
    <disk name='vda' snapshot='external' type='network'>
      <source protocol='https' name='i'>
        <host name='h' port='443'/>
        <config file='/c'/>
        <ssl verify='no'/>
        <timeout seconds='5'/>
      </source>
    </disk>
    <disk name='vdb' snapshot='external' type='file'>
      <source file='/f' fdgroup='g'/>
    </disk>
  """


def test_deletion_marks_are_read_only_on_redefinition() -> None:
    disk = "<disk name='vda'><snapshotDeleteInProgress/></disk>"
    new = DomainSnapshot.from_xml(_snapshot(disk), validate=False)
    assert not new.disks[0].delete_in_progress
    saved = (f"<domainsnapshot><name>s</name><state>running</state>"
             f"<creationTime>1</creationTime><disks>{disk}</disks></domainsnapshot>")
    redefined = DomainSnapshot.from_xml(saved, validate=False, redefine=True)
    assert redefined.disks[0].delete_in_progress
    assert "<snapshotDeleteInProgress/>" in redefined.to_xml()


def test_network_disk_without_export_name_is_not_empty(tmp_path: Path,
                                                      domain_file: Path) -> None:
    domain = Domain.from_xml(domain_file.read_text())
    assert not domain.disks[1].empty and domain.disks[1].source is None
    internal = take_snapshot(DomainSnapshot(), domain, 7)
    assert [(d.name, d.snapshot) for d in internal.disks] == [
        ("vda", "internal"), ("vdd", "internal")]
    external = DomainSnapshot.from_xml(
        "<domainsnapshot><memory file='/m'/></domainsnapshot>", validate=False)
    with pytest.raises(FormatError) as caught:
        take_snapshot(external, domain, 7)
    assert caught.value.problems[0].message == (
        "cannot generate external snapshot name for disk 'vdd' without source")


def test_nameless_snapshot_names_files_after_its_creation_time(
        tmp_path: Path, domain_file: Path) -> None:
    domain = Domain.from_xml(domain_file.read_text())
    snapshot = DomainSnapshot.from_xml(
        "<domainsnapshot><memory file='/m'/><disks><disk name='vdd' snapshot='no'/></disks>"
        "</domainsnapshot>", validate=False)
    taken = take_snapshot(snapshot, domain, 1796145420)
    assert taken.name == "1796145420"
    assert taken.disks[0].source.path == f"{tmp_path}/vda.1796145420"
    aligned = align(snapshot, domain, creation_time=5)
    assert isinstance(aligned, DomainSnapshot)
    assert aligned.disks[0].source.path == f"{tmp_path}/vda.5"


def test_disk_only_refuses_memory_and_defaults_to_external(domain_file: Path) -> None:
    assert _refusal("<domainsnapshot><memory snapshot='internal'/></domainsnapshot>",
                    disk_only=True) == (
        "memory state cannot be saved with offline or disk-only snapshot")
    domain = Domain.from_xml(domain_file.read_text())
    listed = DomainSnapshot(disks=(SnapshotDisk("vdd", "no"),))
    taken = take_snapshot(listed, domain, 9, disk_only=True, is_regular_file=lambda p: True)
    assert taken.state == "disk-snapshot" and taken.memory is not None
    assert taken.memory.snapshot == "no"
    with pytest.raises(FormatError, match="disk 'vdd' without source"):
        take_snapshot(DomainSnapshot(), domain, 9, disk_only=True)


def test_cli_align_redefine_and_disk_only(
    tmp_path: Path, domain_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "saved.xml"
    saved.write_text(
        "<domainsnapshot><name>s</name><state>disk-snapshot</state>"
        "<creationTime>3</creationTime><disks><disk name='vdd' snapshot='no'/></disks>"
        + DOMAIN.format(dir=tmp_path) + "</domainsnapshot>", encoding="utf-8")
    args = ["align", "--no-validate", "--domain", str(domain_file), str(saved)]
    assert cli.main([*args, "--redefine", "--disk-only"]) == 0
    written = capsys.readouterr().out
    assert f"<disk name='vda' snapshot='external' type='file'>\n      <source file='{tmp_path}" \
        "/vda.s'/>" in written
    assert "<memory snapshot='no'/>" in written
    assert cli.main([*args, "--disk-only"]) == 0
    assert "<memory snapshot='no'/>" in capsys.readouterr().out
    other = tmp_path / "other.xml"
    other.write_text(DOMAIN.format(dir=tmp_path).replace("6695eb01", "00000000"))
    assert cli.main(["align", "--no-validate", "--redefine", "--domain", str(other),
                     str(saved)]) == 1
    # at the <domain> the snapshot records
    column = saved.read_text().index("<domain type=") + 1
    assert capsys.readouterr().err.strip() == (
        f"{saved}:1:{column}: definition for snapshot s must use uuid "
        "00000000-f6a4-8304-79aa-97f2502e193f")
    new = tmp_path / "new.xml"
    new.write_text("<domainsnapshot><name>n</name></domainsnapshot>")
    assert cli.main(["align", "--redefine", "--domain", str(domain_file), str(new)]) == 1
    assert "missing creationTime from existing snapshot" in capsys.readouterr().err


def test_one_rule_for_parsing_and_check() -> None:
    # The pull-mode server rule is written once: the parser's refusal and check()'s report
    # are the same message from the same entry of BACKUP_RULES.
    with pytest.raises(FormatError) as caught:
        from_xml("<domainbackup><server name='h'/></domainbackup>", validate=False)
    message = caught.value.problems[0].message
    push_with_server = DomainBackup(server=BackupServer(name="h"))
    [rule] = [r for r in BACKUP_RULES if r.test(push_with_server) == message]
    assert rule.stage == "parse"
    [problem] = check(push_with_server)
    assert problem.message == f"domainbackup/server: {message}"
