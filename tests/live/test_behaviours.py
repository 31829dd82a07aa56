"""The machine's libvirt release answers as its record in ``kbase/versions.json`` says.

`make matrix` runs this with ``GUESTSTATE_RECORD=1`` in each release's system, which writes the
record instead; everywhere else a release without a record, or one that now answers
differently, fails: the version matrix on the site must be what the releases do.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import ModuleType

import pytest
from behaviours import PROBES
from sandbox import Sandbox

pytestmark = pytest.mark.live

RECORDS = Path(__file__).resolve().parents[2] / "kbase" / "versions.json"


def release(version: int) -> str:
    return ".".join(str(version // 1000**power % 1000) for power in (2, 1, 0))


def test_the_release_answers_as_its_record_says(libvirt: ModuleType, libvirtd: Sandbox) -> None:
    connection = libvirtd.connect()
    libvirt_release, qemu_release = release(libvirt.getVersion()), release(connection.getVersion())
    observed = {probe.key: probe.run(libvirt, libvirtd) for probe in PROBES}
    records = json.loads(RECORDS.read_text(encoding="utf-8"))
    if os.environ.get("GUESTSTATE_RECORD"):
        records["behaviours"] = {
            probe.key: {"driver": probe.driver, "behaviour": probe.behaviour, "page": probe.page}
            for probe in PROBES
        }
        records["releases"][libvirt_release] = {"qemu": qemu_release, "observed": observed}
        RECORDS.write_text(json.dumps(records, indent=2) + "\n", encoding="utf-8")
    releases = records["releases"]
    assert libvirt_release in releases, (
        f"kbase/versions.json has no record of libvirt {libvirt_release}: add the release to "
        "the matrix (tools/debian-system) and run `make matrix`"
    )
    record = releases[libvirt_release]["observed"]
    differences = {key: (record.get(key), answer) for key, answer in observed.items()
                   if record.get(key) != answer}
    assert not differences, f"libvirt {libvirt_release}: (recorded, observed) {differences}"
