"""A snapshot disk source's ``<dataStore>`` (libvirt 10.10.0): kept, written as libvirt 11.3.0
writes it, and refused where its parser refuses it.

The expected texts and messages are what libvirt 11.3.0's test driver returned for the same
definitions (snapshotCreateXML with REDEFINE, then getXMLDesc).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gueststate.formats import (
    DataStore,
    DomainSnapshot,
    FormatError,
    NetworkHost,
    SnapshotDisk,
    SnapshotSource,
    check,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "snapshot" / "data-store.xml"

#: A qcow2 format with a metadata cache, an index, a nested data store with index 0.
GIVEN = """<domainsnapshot>
  <disks>
    <disk name='vda' type='file'>
      <driver type='qcow2'/>
      <source file='/x.qcow2'>
        <seclabel model='dac' relabel='no'/>
        <dataStore type='file'>
          <format type='qcow2'>
            <metadata_cache><max_size unit='KiB'>1</max_size></metadata_cache>
          </format>
          <source file='/d' index=' +7'>
            <dataStore type='block'>
              <format type='raw'/>
              <source dev='/dev/z' index='0'/>
            </dataStore>
          </source>
        </dataStore>
      </source>
    </disk>
    <disk name='vdb'>
      <source file='/y.qcow2'>
        <dataStore type='file'><format type='raw'/><source/></dataStore>
      </source>
    </disk>
  </disks>
</domainsnapshot>
"""

CANONICAL = """<domainsnapshot>
  <disks>
    <disk name='vda' snapshot='external' type='file'>
      <driver type='qcow2'/>
      <source file='/x.qcow2'>
        <seclabel model='dac' relabel='no'/>
        <dataStore type='file'>
          <format type='raw'/>
          <source file='/d' index='7'>
            <dataStore type='block'>
              <format type='raw'/>
              <source dev='/dev/z'/>
            </dataStore>
          </source>
        </dataStore>
      </source>
    </disk>
    <disk name='vdb' snapshot='external' type='file'>
      <source file='/y.qcow2'>
        <dataStore type='file'>
          <format type='raw'/>
        </dataStore>
      </source>
    </disk>
  </disks>
</domainsnapshot>
"""


def test_the_model_keeps_data_stores() -> None:
    snapshot = DomainSnapshot.from_xml(GIVEN, validate=False)
    store = snapshot.disks[0].source.data_store
    assert store == DataStore("file", SnapshotSource(
        "/d", data_store=DataStore("block", SnapshotSource("/dev/z"))), index=7)
    assert snapshot.disks[1].source.data_store == DataStore("file")


def test_canonical_form_is_libvirts() -> None:
    # The format is always written raw, the metadata cache and a zero index are not written,
    # an empty inner source is left out.
    assert DomainSnapshot.from_xml(GIVEN, validate=False).to_xml() == CANONICAL


def test_round_trip() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    snapshot = DomainSnapshot.from_xml(text)
    again = DomainSnapshot.from_xml(snapshot.to_xml())
    assert again == snapshot
    assert again.to_xml() == snapshot.to_xml()
    nested = CANONICAL.split("    <disk name='vdb'")[0] + "  </disks>\n</domainsnapshot>\n"
    assert DomainSnapshot.from_xml(nested).to_xml() == nested


def test_an_empty_inner_source_cannot_be_read_back() -> None:
    # libvirt writes no <source/> for a data store whose source says nothing, and then
    # refuses what it wrote: the model does both.
    with pytest.raises(FormatError, match="missing disk data file store source"):
        DomainSnapshot.from_xml(CANONICAL, validate=False)


def test_every_kind_of_the_example_keeps_its_data_store() -> None:
    snapshot = DomainSnapshot.from_xml(EXAMPLE.read_bytes(), str(EXAMPLE))
    kinds = [disk.source.data_store.type for disk in snapshot.disks
             if disk.source.data_store is not None]
    assert kinds == ["block", "file", "dir", "volume", "nvme", "vhostuser", "vhostvdpa",
                     "network"]
    assert snapshot.to_xml().count("<dataStore ") == len(kinds)


def _refused(store: str) -> str:
    text = ("<domainsnapshot>\n  <disks>\n    <disk name='vda'>\n      <source file='/y'>\n"
            f"        {store}\n      </source>\n    </disk>\n  </disks>\n</domainsnapshot>\n")
    with pytest.raises(FormatError) as caught:
        DomainSnapshot.from_xml(text, "s.xml", validate=False)
    [problem] = caught.value.problems
    return str(problem)


@pytest.mark.parametrize(("store", "message"), [
    ("<dataStore><format type='raw'/><source file='/d'/></dataStore>",
     "s.xml:5:9: Missing required attribute 'type' in element 'dataStore'"),
    ("<dataStore type='file'><format/><source file='/d'/></dataStore>",
     "s.xml:5:9: missing data file store format"),
    ("<dataStore type='file'><source file='/d'/></dataStore>",
     "s.xml:5:9: missing data file store format"),
    ("<dataStore type='file'><format type='raw'/></dataStore>",
     "s.xml:5:9: missing disk data file store source"),
    ("<dataStore type='none'><format type='raw'/><source file='/d'/></dataStore>",
     "s.xml:5:9: unknown storage source type 'none'"),
    ("<dataStore type='file'><format type='luks'/><source file='/d'/></dataStore>",
     "s.xml:5:9: unknown storage source format 'luks'"),
    ("<dataStore type='file'><format type='raw'/><source index='4294967296'/></dataStore>",
     "s.xml:5:52: invalid storage source index '4294967296'"),
    ("<dataStore type='volume'><format type='raw'/><source pool='p'/></dataStore>",
     "s.xml:5:54: 'pool' and 'volume' must be specified together for 'pool' type source"),
])
def test_refusals_name_the_element(store: str, message: str) -> None:
    assert _refused(store) == message


def test_the_inner_source_is_read_like_a_disk_source() -> None:
    assert _refused("<dataStore type='network'><format type='raw'/>"
                    "<source protocol='rbd' name='noslash'/></dataStore>") == (
        "s.xml:5:55: can't split path 'noslash' into pool name and image name")


def test_the_data_store_is_written_last() -> None:
    # After encryption and reservations, as libvirt writes it (our schema, like libvirt's,
    # wants it before encryption, and has no reservations in an overlay: not validated here).
    text = ("<domainsnapshot><disks><disk name='sda' type='block'><source dev='/dev/o'>"
            "<dataStore type='file'><format type='raw'/><source file='/d'/></dataStore>"
            "<encryption format='luks'><secret type='passphrase' usage='u'/></encryption>"
            "<reservations managed='yes'/></source></disk></disks></domainsnapshot>")
    written = DomainSnapshot.from_xml(text, validate=False).to_xml()
    order = ["<encryption", "<reservations", "<dataStore"]
    assert sorted(order, key=written.index) == order


def test_check_judges_the_hosts_of_a_data_store() -> None:
    inner = SnapshotSource("pool/img", "rbd", hosts=(NetworkHost(None, 6789),))
    snapshot = DomainSnapshot(disks=(SnapshotDisk(
        "vda", "external", source=SnapshotSource("/o", data_store=DataStore("network", inner))),))
    assert [problem.message for problem in check(snapshot)] == [
        "domainsnapshot/disks/disk[1]/source/dataStore/source/host[1]/@name: "
        "missing name for host"]


def test_format_in_place_keeps_the_data_store(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.xml"
    path.write_bytes(EXAMPLE.read_bytes())
    done = subprocess.run([sys.executable, "-m", "gueststate", "format", "--in-place",
                           str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    written = path.read_text(encoding="utf-8")
    assert written == DomainSnapshot.from_xml(EXAMPLE.read_bytes()).to_xml()
    assert written.count("<dataStore ") == 8
