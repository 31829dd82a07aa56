"""Read a pull-mode backup the way backup tools do: an NBD client built on libnbd."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import install
from disks import Extent, merge

DIRTY = 1  # NBD_STATE_DIRTY: in a qemu:dirty-bitmap context, the extent changed


def connect(socket: Path, export: str, context: str | None = None) -> Any:
    """An NBD handle on `export` served at the unix `socket`, asking for metadata `context`."""
    nbd = install.import_nbd()
    handle = nbd.NBD()
    if context is not None:
        handle.add_meta_context(context)
    handle.set_export_name(export)
    handle.connect_unix(str(socket))
    return handle


def dirty_extents(socket: Path, export: str, bitmap: str) -> list[Extent]:
    """The extents the export's `qemu:dirty-bitmap:<bitmap>` context marks as changed."""
    context = f"qemu:dirty-bitmap:{bitmap}"
    handle = connect(socket, export, context)
    try:
        if not handle.can_meta_context(context):
            raise LookupError(f"the server does not offer {context}")
        size = handle.get_size()
        found: list[tuple[int, int, int]] = []

        def collect(name: str, offset: int, entries: list[int], error: Any) -> int:
            if name == context:
                for length, flags in zip(entries[::2], entries[1::2], strict=True):
                    found.append((offset, length, flags))
                    offset += length
            return 0

        position = 0
        while position < size:
            handle.block_status(size - position, position, collect)
            position = found[-1][0] + found[-1][1]
        return merge((offset, length) for offset, length, flags in found if flags & DIRTY)
    finally:
        handle.shutdown()


def read(socket: Path, export: str, offset: int, length: int) -> bytes:
    """`length` bytes at `offset` of the export."""
    handle = connect(socket, export)
    try:
        data: bytes = handle.pread(length, offset)
        return data
    finally:
        handle.shutdown()
