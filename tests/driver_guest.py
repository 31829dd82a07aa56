"""libvirt's test driver holding a guest of our own: what the formats' differential tests share.

``test_formats_libvirt.py`` (checkpoints) and ``test_formats_snapshot_libvirt.py`` (snapshots)
each describe a guest with the disks their definitions name; this opens it, as libvirt sees it
and as gueststate's model reads libvirt's own description of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import pytest

from gueststate.formats import Domain


def libvirt_binding() -> Any:
    """The ``libvirt`` module; its absence fails the test (a live test never skips)."""
    try:
        import libvirt
    except ImportError as error:
        pytest.fail(f"the libvirt Python binding is not importable ({error}); `make venv` "
                    "installs libvirt-python (needs libvirt-dev and pkg-config)")
    return libvirt


@dataclass
class DriverGuest:
    """The guest of a custom ``test:///`` node, as libvirt and as gueststate see it."""

    libvirt: Any
    handle: Any
    domain: Domain
    dir: Path


def open_guest(folder: Path, node: str, name: str) -> DriverGuest:
    """Open the test-driver node described by ``node`` (written to ``folder``) and its guest
    ``name``; libvirt's error messages are read from exceptions, not printed."""
    libvirt = libvirt_binding()
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    config = folder / "node.xml"
    config.write_text(node, encoding="utf-8")
    handle = libvirt.open(f"test://{config}").lookupByName(name)
    domain = Domain.from_xml(handle.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    return DriverGuest(libvirt, handle, domain, folder)


def attrs(**values: str | None) -> str:
    """`` key='value'`` for each value given (a trailing ``_`` dropped: ``type_``)."""
    return "".join(f" {key.rstrip('_')}={quoteattr(value)}" for key, value in values.items()
                   if value is not None)
