"""Libvirt's own RELAX NG schemas, the oracle no one here wrote.

They come from Debian's ``libvirt0`` package, downloaded (not installed) with
``apt-get download`` and unpacked under ``.cache/`` in the checkout, so the tests use the same
files on every machine whether or not libvirt is installed.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "libvirt0"
SCHEMA_SUBDIR = Path("usr/share/libvirt/schemas")


class OracleUnavailable(RuntimeError):
    """libvirt's schemas could not be fetched; the message says why."""


def libvirt_schema_dir() -> Path:
    """Return the unpacked ``/usr/share/libvirt/schemas`` of Debian's libvirt0 package."""
    schemas = CACHE / SCHEMA_SUBDIR
    if (schemas / "domain.rng").is_file():
        return schemas
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise OracleUnavailable(
                f"{tool} is missing: libvirt's schemas come from Debian's libvirt0"
            )
    with tempfile.TemporaryDirectory() as download:
        fetched = subprocess.run(
            ["apt-get", "download", "libvirt0"], cwd=download, capture_output=True, text=True
        )
        debs = list(Path(download).glob("libvirt0_*.deb"))
        if fetched.returncode != 0 or not debs:
            raise OracleUnavailable(
                "`apt-get download libvirt0` failed (run `apt-get update` first?): "
                + (fetched.stderr.strip().splitlines() or ["no .deb downloaded"])[-1]
            )
        unpacked = CACHE.with_name("libvirt0.partial")
        unpacked.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(unpacked, ignore_errors=True)
        subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(unpacked)], check=True)
        shutil.rmtree(CACHE, ignore_errors=True)
        unpacked.rename(CACHE)
    if not (schemas / "domain.rng").is_file():
        raise OracleUnavailable(f"libvirt0 did not contain {SCHEMA_SUBDIR}/domain.rng")
    return schemas
