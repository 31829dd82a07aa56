"""Libvirt's own RELAX NG schemas, the oracle no one here wrote.

They come from Debian's package of a fixed release (``tools/debian_archive.py``), downloaded
(not installed) into the clone's cache, so every machine compares against the same files
whatever libvirt it runs.
"""

from __future__ import annotations

from pathlib import Path

import debian_archive

#: The release whose schemas the grammar reader and the differential test compare against.
RELEASE = "9.0.0"


def libvirt_schema_dir(release: str = RELEASE) -> Path:
    """Return the unpacked ``/usr/share/libvirt/schemas`` of libvirt ``release``."""
    return debian_archive.schemas(release)
