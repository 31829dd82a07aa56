"""The lab page's files are what the sandbox uses: its disk script and its guest."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import sandbox
from disks import holds
from lxml import etree

from gueststate import xmlsafe

pytestmark = pytest.mark.live


def test_disk_script_makes_a_qcow2_v3_image_with_known_bytes(tmp_path: Path) -> None:
    image = tmp_path / "web01-vda.qcow2"
    subprocess.run(["sh", str(sandbox.MAKE_DISK), str(image), "0x11"], check=True)
    info = json.loads(
        subprocess.run(
            ["qemu-img", "info", "--output=json", str(image)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert info["format"] == "qcow2"
    assert info["virtual-size"] == 16 * 1024 * 1024
    assert info["format-specific"]["data"]["compat"] == "1.1"
    assert holds(image, 0x11, 0, 64 * 1024)
    assert holds(image, 0x00, 64 * 1024, 64 * 1024)


def test_sandbox_guest_is_the_lab_guest_with_other_disks(tmp_path: Path) -> None:
    lab = xmlsafe.parse_bytes(sandbox.GUEST_XML.read_bytes(), "lab").getroot()
    made = sandbox.Sandbox().guest_xml("vm1", {"vda": tmp_path / "one.qcow2"})
    guest = xmlsafe.parse_bytes(made.encode(), "made").getroot()
    assert guest.findtext("name") == "vm1"
    assert [disk.find("source").get("file") for disk in guest.iter("disk")] == [
        str(tmp_path / "one.qcow2")
    ]
    for part in ("memory", "os"):
        assert etree.tostring(guest.find(part)) == etree.tostring(lab.find(part))
    assert guest.get("type") == lab.get("type") == "qemu"
