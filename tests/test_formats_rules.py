"""libvirt's rules beyond the schema: parser refusals, check(), alignment edge cases."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gueststate.formats import (
    BackupDisk,
    BackupServer,
    BackupStore,
    CheckpointDisk,
    Domain,
    DomainBackup,
    DomainCheckpoint,
    DomainDisk,
    DomainSnapshot,
    FormatError,
    Model,
    NetworkHost,
    SnapshotDisk,
    SnapshotMemory,
    SnapshotSource,
    align,
    align_snapshot,
    check,
    from_xml,
)


def _refusal(text: str, *, validate: bool = False, **flags: bool) -> str:
    with pytest.raises(FormatError) as caught:
        root = text.split(">", 1)[0]
        if flags and "domaincheckpoint" in root:
            DomainCheckpoint.from_xml(text, "t.xml", validate=validate, **flags)
        elif flags:
            DomainSnapshot.from_xml(text, "t.xml", validate=validate, **flags)
        else:
            from_xml(text, "t.xml", validate=validate)
    [problem] = caught.value.problems
    assert problem.path == "t.xml"
    return problem.message


@pytest.mark.parametrize(("text", "message"), [
    ("<domainbackup mode='default'/>", "unknown backup mode 'default'"),
    ("<domainbackup><server name='h'/></domainbackup>",
     "use of <server> requires pull mode backup"),
    ("<domainbackup mode='pull'><server transport='rdma' name='h'/></domainbackup>",
     "transport rdma is not supported for <server>"),
    ("<domainbackup mode='pull'><server transport='unix' socket='s'/></domainbackup>",
     "backup socket path 's' must be absolute"),
    ("<domainbackup mode='pull'><server transport='unix'/></domainbackup>",
     "missing socket for unix transport"),
    ("<domainbackup mode='pull'><server socket='/s' name='h'/></domainbackup>",
     "transport 'tcp' does not support socket attribute"),
    ("<domainbackup><disks><disk/></disks></domainbackup>",
     "missing name from disk backup element"),
    ("<domainbackup><disks><disk name='vda' type='dir'/></disks></domainbackup>",
     "unsupported disk backup type 'dir'"),
    ("<domaincheckpoint><disks><disk checkpoint='no'/></disks></domaincheckpoint>",
     "missing name from disk checkpoint element"),
    ("<domainsnapshot><memory snapshot='manual'/></domainsnapshot>",
     "'manual' memory snapshot mode not supported"),
    ("<domainsnapshot><memory snapshot='internal' file='/m'/></domainsnapshot>",
     "memory filename '/m' requires external snapshot"),
    ("<domainsnapshot><memory snapshot='external'/></domainsnapshot>",
     "external memory snapshots require a filename"),
    ("<domainsnapshot><memory file='m'/></domainsnapshot>",
     "memory snapshot file path (m) must be absolute"),
    ("<domainsnapshot><disks><disk name='vda' type='volume'/></disks></domainsnapshot>",
     "unsupported disk snapshot type 'volume'"),
    ("<domainsnapshot><disks><disk name='vda'><source file='rel'/></disk></disks>"
     "</domainsnapshot>", "disk snapshot image path 'rel' must be absolute"),
    ("<domainsnapshot><disks><disk name='vda'><driver type='bogus'/></disk></disks>"
     "</domainsnapshot>", "unknown disk snapshot driver 'bogus'"),
    ("<domainsnapshot><disks><disk name='vda'><source file='/f'><seclabel relabel='no'>"
     "<label>x</label></seclabel></source></disk></disks></domainsnapshot>",
     "Cannot specify a label if relabelling is turned off. model="),
    ("<domainsnapshot><disks><disk name='vda'><source file='/f'>"
     "<seclabel model='dac' relabel='no'/><seclabel model='dac' labelskip='yes'/>"
     "</source></disk></disks></domainsnapshot>",
     "seclabel for model dac is already provided"),
])
def test_parser_refusals(text: str, message: str) -> None:
    assert _refusal(text) == message


@pytest.mark.parametrize(("text", "message"), [
    # Valid for the schema, refused by libvirt's parser (reference/formats.md §2.5).
    ("<domainbackup mode='pull'><server name='h' port='70000'/></domainbackup>",
     "port '70000' out of range"),
    ("<domainbackup><disks><disk name='vda' type='file'><driver type='luks'/></disk></disks>"
     "</domainbackup>", "unknown driver format value 'luks'"),
])
def test_schema_valid_but_refused(text: str, message: str) -> None:
    assert _refusal(text, validate=True) == message


@pytest.mark.parametrize(("text", "message"), [
    ("<domaincheckpoint><creationTime>5</creationTime></domaincheckpoint>",
     "a redefined checkpoint must have a name"),
    ("<domaincheckpoint><name>c</name></domaincheckpoint>",
     "missing creationTime from existing checkpoint"),
    ("<domainsnapshot><name>s</name><creationTime>5</creationTime><state>nostate</state>"
     "</domainsnapshot>", "Invalid state 'nostate' in domain snapshot XML"),
    ("<domainsnapshot><name>s</name><creationTime>x</creationTime><state>running</state>"
     "</domainsnapshot>", "missing creationTime from existing snapshot"),
    ("<domainsnapshot><name>s</name><creationTime>5</creationTime><state>shutoff</state>"
     "<memory snapshot='internal'/></domainsnapshot>",
     "memory state cannot be saved with offline or disk-only snapshot"),
])
def test_redefine_refusals(text: str, message: str) -> None:
    assert _refusal(text, redefine=True) == message


def test_problem_points_at_the_element() -> None:
    text = "<domainbackup mode='pull'>\n  <server name='h' port='99999'/>\n</domainbackup>"
    with pytest.raises(FormatError) as caught:
        from_xml(text, "b.xml", validate=False)
    assert str(caught.value.problems[0]) == "b.xml:2:3: port '99999' out of range"


def test_problem_column_on_a_one_line_document() -> None:
    # lxml knows lines only: the column is that of the n-th start tag of the same name
    # (and <disks> is not a <disk>); a rule about a disk's source points at the <source>.
    text = ("<domainsnapshot><disks><disk name='vda'/><disk name='vdb'>"
            "<source file='rel'/></disk></disks></domainsnapshot>")
    with pytest.raises(FormatError) as caught:
        from_xml(text, "s.xml", validate=False)
    column = text.index("<source") + 1
    assert str(caught.value.problems[0]) == (
        f"s.xml:1:{column}: disk snapshot image path 'rel' must be absolute")


def test_rules_are_enforced_in_libvirt_order() -> None:
    # The definition's rules come before its parts': a <server> in a push backup is refused
    # for being there before anything inside it is read.
    assert _refusal("<domainbackup><server transport='bogus' port='x'/></domainbackup>") == (
        "use of <server> requires pull mode backup")
    assert _refusal("<domainbackup mode='pull'><server transport='rdma'/></domainbackup>") == (
        "missing name for host")


def test_redefine_defaults_memory_from_state() -> None:
    base = "<domainsnapshot><name>s</name><creationTime>5</creationTime><state>{}</state>" \
        "</domainsnapshot>"
    offline = DomainSnapshot.from_xml(base.format("shutoff"), redefine=True)
    online = DomainSnapshot.from_xml(base.format("paused"), redefine=True)
    assert offline.memory == SnapshotMemory("no")
    assert online.memory == SnapshotMemory("internal")
    assert DomainSnapshot.from_xml(base.format("paused")).memory is None


def test_parser_leniencies_kept() -> None:
    # libvirt ignores export names in push mode, reads <incremental/> as absent, keeps an
    # empty attribute, and writes a UUID in its canonical spelling.
    backup = from_xml(
        "<domainbackup><incremental></incremental><disks>"
        "<disk name='vda' exportname='x' incremental=''><target file='/t'><encryption "
        "format='luks'><secret type='passphrase' uuid='0A81F5B284037B23C8D621CCC2F80D6F'/>"
        "</encryption></target></disk></disks></domainbackup>", validate=False)
    assert isinstance(backup, DomainBackup)
    assert backup.incremental is None
    disk = backup.disks[0]
    assert disk.exportname is None and disk.incremental == ""
    assert "uuid='0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f'" in backup.to_xml()


def test_escaping_and_dropped_control_characters() -> None:
    snapshot = DomainSnapshot(name="a\x01b", description="<&>'\"\ttab")
    assert snapshot.to_xml() == (
        "<domainsnapshot>\n  <name>ab</name>\n"
        "  <description>&lt;&amp;&gt;&apos;&quot;\ttab</description>\n</domainsnapshot>\n")


def test_network_disk_with_driver_is_written_as_libvirt_does() -> None:
    snapshot = DomainSnapshot(disks=(SnapshotDisk(
        "vda", "external", "network",
        SnapshotSource("pool/img", "rbd", hosts=(NetworkHost("mon", 6789),
                                                 NetworkHost(None, None, "unix", "/s"))),
        format="qcow2"),))
    assert snapshot.to_xml().splitlines()[3:8] == [
        "      <driver type='qcow2'/>",
        "      <source protocol='rbd' name='pool/img'>",
        "        <host name='mon' port='6789'/>",
        "        <host transport='unix' socket='/s'/>",
        "      </source>",
    ]
    assert [p.message for p in check(snapshot)] == [
        "domainsnapshot/disks/disk[1]/driver: a network disk cannot have a <driver>"]


CHECKS: list[tuple[Model, str]] = [
    (DomainBackup(disks=(BackupDisk("vda"), BackupDisk("vda"))),
     "domainbackup/disks/disk[2]/@name: disk 'vda' specified twice"),
    (DomainBackup(disks=(BackupDisk("vda", backupmode="full", incremental="c"),)),
     "domainbackup/disks/disk[1]/@incremental: backupmode='full' conflicts with an "
     "incremental checkpoint"),
    (DomainBackup(disks=(BackupDisk("vda", backupmode="incremental"),)),
     "domainbackup/disks/disk[1]/@backupmode: 'incremental' backup mode of disk 'vda' "
     "requires setting 'incremental' field for disk or backup"),
    (DomainBackup(disks=(BackupDisk("vda", exportname="x"),)),
     "domainbackup/disks/disk[1]/@exportname: export names are only valid in pull mode"),
    (DomainBackup(mode="pull"), "domainbackup/server: a pull backup needs a <server>"),
    (DomainBackup(server=BackupServer(name="h")),
     "domainbackup/server: use of <server> requires pull mode backup"),
    (DomainBackup(mode="pull", server=BackupServer(name="h", port=65536)),
     "domainbackup/server/@port: port '65536' out of range"),
    (DomainBackup(mode="pull", server=BackupServer(name="bad_host")),
     "domainbackup/server/@name: 'bad_host' is not a host name or address"),
    (DomainBackup(mode="pull", server=BackupServer("unix", socket="s")),
     "domainbackup/server/@socket: backup socket path 's' must be absolute"),
    (DomainBackup(disks=(BackupDisk("vda", store=BackupStore("rel")),)),
     "domainbackup/disks/disk[1]/target/@file: path 'rel' must be absolute"),
    (DomainBackup(disks=(BackupDisk("/dev/sda"),)),
     "domainbackup/disks/disk[1]/@name: '/dev/sda' is not a disk target name"),
    (DomainBackup(mode="pull", server=BackupServer(name="h"),
                  disks=(BackupDisk("vda", format="raw", store=BackupStore("/s")),)),
     "domainbackup/disks/disk[1]/driver/@type: the scratch image of a pull backup must be "
     "qcow2"),
    (DomainCheckpoint(name=".hidden"),
     "domaincheckpoint/name: '.hidden' is not a valid checkpoint name (letters, digits, '_', "
     "'-', '.'; not starting with '.')"),
    (DomainCheckpoint(disks=(CheckpointDisk("vda", "no", "b"),)),
     "domaincheckpoint/disks/disk[1]/@bitmap: a disk with checkpoint='no' cannot name a "
     "bitmap"),
    (DomainCheckpoint(disks=(CheckpointDisk("vda"), CheckpointDisk("vda"))),
     "domaincheckpoint/disks/disk[2]/@name: disk 'vda' specified twice"),
    (DomainSnapshot(name="a/b"),
     "domainsnapshot/name: invalid snapshot name 'a/b': name can't contain '/' or start "
     "with '.'"),
    (DomainSnapshot(memory=SnapshotMemory("internal", "/m")),
     "domainsnapshot/memory/@file: memory filename '/m' requires external snapshot"),
    (DomainSnapshot(memory=SnapshotMemory("external")),
     "domainsnapshot/memory/@file: external memory snapshots require a filename"),
    (DomainSnapshot(disks=(SnapshotDisk("vda", "internal", source=SnapshotSource("/f")),)),
     "domainsnapshot/disks/disk[1]/@snapshot: file '/f' for disk 'vda' requires use of "
     "external snapshot mode"),
    (DomainSnapshot(disks=(SnapshotDisk("vda", "external", source=SnapshotSource("r")),)),
     "domainsnapshot/disks/disk[1]/source: disk snapshot image path 'r' must be absolute"),
]


@pytest.mark.parametrize(("model", "message"), CHECKS)
def test_check_names_the_place(model: Model, message: str) -> None:
    assert [problem.message for problem in check(model, "m.xml")] == [message]
    assert all(problem.path == "m.xml" for problem in check(model, "m.xml"))


def _domain(*disks: DomainDisk) -> Domain:
    return Domain("g", None, disks)


def _align_error(model: Model, domain: Domain, **options: str) -> str:
    with pytest.raises(FormatError) as caught:
        align(model, domain, **options)
    return caught.value.problems[0].message


QCOW = DomainDisk("vda", source="/img/vda.qcow2")


@pytest.mark.parametrize(("model", "domain", "message"), [
    (DomainBackup(), _domain(), "domain must have at least one disk to perform backup"),
    (DomainBackup(disks=(BackupDisk("vdb"),)), _domain(QCOW), "no disk named 'vdb'"),
    (DomainBackup(disks=(BackupDisk("vda", backupmode="incremental"),)), _domain(QCOW),
     "'incremental' backup mode of disk 'vda' requires setting 'incremental' field for disk "
     "or backup"),
    (DomainBackup(disks=(BackupDisk("vda"),)), _domain(DomainDisk("vda", device="cdrom")),
     "disk 'vda' has no media"),
    (DomainBackup(), _domain(DomainDisk("sda", "block", source="/dev/sdb")),
     "refusing to generate file name for disk 'sda'"),
    (DomainCheckpoint(name="c"), _domain(),
     "domain must have at least one disk to perform checkpoints"),
    (DomainCheckpoint(name="c", disks=(CheckpointDisk("/img/vda.qcow2"),
                                       CheckpointDisk("vda"))), _domain(QCOW),
     "too many disk checkpoint requests for domain"),
    (DomainSnapshot(name="s", disks=(SnapshotDisk("/img/other"),)), _domain(QCOW),
     "no disk named '/img/other'"),
])
def test_alignment_refusals(model: Model, domain: Domain, message: str) -> None:
    assert _align_error(model, domain, suffix="S") == message


def test_backup_listed_block_disk_without_target_gets_a_file() -> None:
    aligned = align(DomainBackup(disks=(BackupDisk("vda", type="block"),)), _domain(QCOW),
                    suffix="S")
    assert isinstance(aligned, DomainBackup)
    assert aligned.disks[0] == BackupDisk("vda", True, "file", "full",
                                          store=BackupStore("/img/vda.qcow2.S"))


def test_checkpoint_by_path_and_domain_order() -> None:
    domain = _domain(DomainDisk("vdb", source="/img/b"), QCOW)
    aligned = align(DomainCheckpoint("c", disks=(CheckpointDisk("/img/vda.qcow2"),)), domain)
    assert isinstance(aligned, DomainCheckpoint)
    assert aligned.disks == (CheckpointDisk("vdb", "no"), CheckpointDisk("vda", "bitmap", "c"))


def test_snapshot_external_names() -> None:
    domain = _domain(DomainDisk("vda", source="/a.d/img.qcow2"),
                     DomainDisk("vdb", source="/a.d/raw"), DomainDisk("hdc", device="cdrom"))
    snapshot = DomainSnapshot("s1", memory=SnapshotMemory("external", "/m"))
    aligned = align(snapshot, domain, is_regular_file=lambda path: True)
    assert isinstance(aligned, DomainSnapshot)
    assert [(d.name, d.snapshot, d.source.path) for d in aligned.disks] == [
        ("vda", "external", "/a.d/img.s1"), ("vdb", "external", "/a.d/raw.s1"),
        ("hdc", "no", None)]
    with pytest.raises(FormatError, match="not a regular file"):
        align(snapshot, domain, is_regular_file=lambda path: False)


def test_snapshot_external_name_collision() -> None:
    domain = _domain(DomainDisk("vda", source="/img/x.qcow2"),
                     DomainDisk("vdb", source="/img/x.raw"))
    with pytest.raises(FormatError) as caught:
        align_snapshot(DomainSnapshot("s"), domain, "external", is_regular_file=lambda p: True)
    assert caught.value.problems[0].message == (
        "cannot generate external snapshot name for disk 'vdb': collision with disk 'vda'")


def test_snapshot_uniform_internal_and_domain_defaults() -> None:
    domain = _domain(QCOW, DomainDisk("vdb", source="/img/b", snapshot="no"),
                     DomainDisk("vdc", source="/img/c", snapshot="external"))
    aligned = align(DomainSnapshot("s"), domain, is_regular_file=lambda path: True)
    assert isinstance(aligned, DomainSnapshot)
    assert [(d.snapshot, d.source.path) for d in aligned.disks] == [
        ("internal", None), ("no", None), ("external", "/img/c.s")]
    listed = DomainSnapshot("s", disks=(SnapshotDisk("vdc"),))
    aligned = align(listed, domain, is_regular_file=lambda path: False)
    assert isinstance(aligned, DomainSnapshot)
    assert aligned.disks[2].snapshot == "internal"  # the uniform rule wins for listed disks
    forced = align_snapshot(DomainSnapshot("s"), domain, "internal", force_default=True,
                            is_regular_file=lambda path: False)
    assert [d.snapshot for d in forced.disks] == ["internal", "internal", "internal"]
    assert _align_error(replace(listed, disks=(SnapshotDisk("vda", "no"),)), domain) == (
        "disk 'vda' must use snapshot mode 'internal'")


def _place(text: str, needle: str) -> tuple[int, int]:
    """Line and column of the last ``needle`` in ``text``: the element at fault comes last."""
    offset = text.rindex(needle)
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


@pytest.mark.parametrize(("text", "domain", "needle", "message"), [
    ("<domainbackup>\n  <disks><disk name='vda'/><disk name='vdb'/></disks>\n</domainbackup>",
     _domain(QCOW), "<disk", "no disk named 'vdb'"),
    ("<domainbackup>\n  <disks><disk name='vdb' backup='no'/>"
     "<disk name='vda' backupmode='incremental'/></disks>\n</domainbackup>",
     _domain(QCOW, DomainDisk("vdb", source="/img/b")), "<disk",
     "'incremental' backup mode of disk 'vda' requires setting 'incremental' field for disk "
     "or backup"),
    ("<domainbackup><disks>\n<disk name='vda'/></disks></domainbackup>",
     _domain(DomainDisk("vda", device="cdrom")), "<disk", "disk 'vda' has no media"),
    ("<domaincheckpoint><name>c</name>\n<disks><disk name='/img/vda.qcow2'/>"
     "<disk name='vda'/></disks></domaincheckpoint>",
     _domain(QCOW), "<disks", "too many disk checkpoint requests for domain"),
    ("<domaincheckpoint><name>c</name><disks>\n<disk name='vda' checkpoint='no'/>"
     "<disk name='vda'/></disks></domaincheckpoint>",
     _domain(QCOW, DomainDisk("vdb", source="/img/b")), "<disk", "disk 'vda' specified twice"),
    ("<domainsnapshot><name>s</name><disks>\n<disk name='vda' snapshot='internal'/>"
     "<disk name='vdb' snapshot='external'/></disks></domainsnapshot>",
     _domain(QCOW, DomainDisk("vdb", source="/img/b")), "<disk",
     "disk 'vdb' must use snapshot mode 'internal'"),
    ("<domainsnapshot><name>s</name><memory snapshot='external' file='/m'/><disks>\n"
     "<disk name='vda' snapshot='no'/><disk name='vdb'/></disks></domainsnapshot>",
     _domain(QCOW, DomainDisk("vdb", "block", source="/dev/b")), "<disk",
     "source for disk 'vdb' is not a regular file; refusing to generate external snapshot "
     "name"),
])
def test_alignment_refusals_name_the_element_at_fault(
    text: str, domain: Domain, needle: str, message: str
) -> None:
    model = from_xml(text, "d.xml", validate=False)
    with pytest.raises(FormatError) as caught:
        align(model, domain, suffix="S", is_regular_file=lambda path: False)
    (problem,) = caught.value.problems
    assert (problem.path, problem.message) == ("d.xml", message)
    assert (problem.line, problem.column) == _place(text, needle)


def test_alignment_refusals_about_the_domain_name_the_document_only() -> None:
    model = from_xml("<domainbackup/>", "d.xml", validate=False)
    with pytest.raises(FormatError) as caught:
        align(model, _domain(DomainDisk("sda", "block", source="/dev/sdb")), suffix="S")
    assert str(caught.value.problem) == "d.xml:0:0: refusing to generate file name for disk 'sda'"


def _disk_xml(target: str | None, source: str | None = None) -> str:
    where = "" if source is None else f"<source file='{source}'/>"
    dev = "" if target is None else f"<target dev='{target}'/>"
    return f"<disk type='file' device='cdrom'>{where}{dev}</disk>"


@pytest.mark.parametrize(("disks", "problem"), [
    # libvirt compares every pair in order: the earliest disk with a twin (vdb), not the
    # earliest twin (the second vda), with its first twin
    ([("vdb", "/b1"), ("vda", "/a1"), ("vda", "/a2"), ("vdb", "/b2")],
     (4, "/domain/devices/disk[4]", "target 'vdb' duplicated for disk sources '/b1' and '/b2'")),
    ([("hdc", None), ("hdc", None)],  # two empty CD-ROMs: libvirt prints no source as <null>
     (2, "/domain/devices/disk[2]", "target 'hdc' duplicated for disk sources '<null>' and "
                                    "'<null>'")),
    # every disk is parsed before the domain is validated: a parse refusal comes first
    ([("vda", "/a1"), ("vda", "/a2"), (None, "/c")],
     (3, "/domain/devices/disk[3]", "missing target information for device")),
])
def test_a_domain_with_a_target_twice_is_refused_at_the_later_disk(
    disks: list[tuple[str | None, str | None]], problem: tuple[int, str, str]
) -> None:
    text = "<domain>\n  <devices>\n" + "".join(
        f"    {_disk_xml(*disk)}\n" for disk in disks) + "  </devices>\n</domain>"
    with pytest.raises(FormatError) as caught:
        Domain.from_xml(text, "g.xml")
    (found,) = caught.value.problems
    line, element, message = problem
    assert (found.path, found.line, found.column, found.element, found.message) == (
        "g.xml", line + 2, 5, element, message)


def test_a_recorded_domain_is_not_validated_as_libvirt_does_not() -> None:
    """libvirt parses the domain a snapshot records with VIR_DOMAIN_DEF_PARSE_SKIP_VALIDATE:
    a target twice there does not stop the snapshot from being redefined."""
    from gueststate.formats import redefine_snapshot

    twins = _disk_xml("vda", "/a") + _disk_xml("vda", "/b")
    domain = f"<domain type='kvm'><devices>{twins}</devices></domain>"
    assert [disk.source for disk in Domain.from_xml(domain, validate=False).disks] == [
        "/a", "/b"]
    text = ("<domainsnapshot><name>s</name><creationTime>1</creationTime><state>shutoff</state>"
            f"{domain}</domainsnapshot>")
    snapshot = DomainSnapshot.from_xml(text, "s.xml", validate=False, redefine=True)
    assert [disk.name for disk in redefine_snapshot(snapshot, _domain(QCOW)).disks] == [
        "vda", "vda"]


def test_a_domain_without_disks_is_refused_at_its_devices() -> None:
    model = from_xml("<domaincheckpoint><name>c</name></domaincheckpoint>", "c.xml",
                     validate=False)
    with pytest.raises(FormatError) as caught:
        align(model, Domain.from_xml("<domain>\n  <devices/>\n</domain>", "g.xml"))
    (problem,) = caught.value.problems
    assert (problem.path, problem.line, problem.column, problem.element) == (
        "g.xml", 2, 3, "/domain/devices")
    # a domain built in Python has no file: the definition's document is named, on no line
    with pytest.raises(FormatError) as caught:
        align(model, _domain())
    assert str(caught.value.problem) == (
        "c.xml:0:0: domain must have at least one disk to perform checkpoints")


def test_a_redefined_snapshots_parent_is_where_it_is_refused() -> None:
    from gueststate.formats import redefine_snapshot

    text = ("<domainsnapshot><name>s</name>\n  <parent><name>s</name></parent>"
            "<creationTime>1</creationTime><state>shutoff</state></domainsnapshot>")
    snapshot = DomainSnapshot.from_xml(text, "s.xml", validate=False, redefine=True)
    with pytest.raises(FormatError) as caught:
        redefine_snapshot(snapshot, _domain(QCOW), existing=("s",))
    assert str(caught.value.problem) == "s.xml:2:3: cannot set moment s as its own parent"


def test_a_parsed_definition_still_pickles_and_aligns_to_a_model() -> None:
    import pickle

    text = "<domainbackup><disks><disk name='vda'/></disks></domainbackup>"
    model = from_xml(text, "d.xml", validate=False)
    assert model.origin is not None and model.origin.line == 1
    copied = pickle.loads(pickle.dumps(model))
    assert copied == model
    assert copied.origin is not None and copied.origin.element == "domainbackup"
    # what alignment completes is no longer the document: its problems name no line of it
    assert align(model, _domain(QCOW), suffix="S").origin is None


def test_a_definition_changed_since_it_was_read_names_no_stale_line() -> None:
    # Disks swapped with dataclasses.replace: the second listed disk is no longer the one the
    # document has second, so a refusal of it names the model's place, on no line.
    text = "<domainbackup>\n  <disks>\n    <disk name='vda'/>\n    <disk name='vdz'/>\n" \
           "  </disks>\n</domainbackup>"
    model = from_xml(text, "b.xml", validate=False)
    with pytest.raises(FormatError) as caught:
        align(model, _domain(QCOW), suffix="S")
    assert str(caught.value.problem) == "b.xml:4:5: no disk named 'vdz'"
    swapped = replace(model, disks=(model.disks[1], model.disks[0]))
    with pytest.raises(FormatError) as caught:
        align(swapped, _domain(QCOW), suffix="S")
    assert str(caught.value.problem) == "b.xml:0:0: no disk named 'vdz'"
    assert caught.value.problem.element == "/domainbackup/disks/disk[1]/@name"
