"""Fixtures for the live tests: libvirt's test driver, and a private libvirtd with QEMU.

The modules of this directory (`sandbox`, `install`, `disks`, `nbdclient`) are imported by
their bare names: pytest puts this directory on sys.path because it has no __init__.py.
Where the live parts cannot run, every test fails with the reason; none is skipped.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import install
import pytest
import sandbox


@pytest.fixture(scope="session")
def libvirt() -> ModuleType:
    """The libvirt Python binding, installed into this interpreter if it was missing."""
    try:
        install.ensure_binding()
    except install.SandboxUnavailable as missing:
        pytest.fail(f"libvirt's Python binding is unavailable: {missing}", pytrace=False)
    return importlib.import_module("libvirt")


@pytest.fixture
def test_driver(libvirt: ModuleType) -> Iterator[Any]:
    """A fresh `test:///default` connection: its state lives as long as the connection."""
    connection = libvirt.open("test:///default")
    try:
        yield connection
    finally:
        connection.close()


@pytest.fixture
def test_domain(libvirt: ModuleType, test_driver: Any) -> Iterator[Any]:
    """The test driver's running domain `test` (one disk, `vda`) without checkpoints or
    snapshots, before and after the test: its state lives as long as the process."""
    domain = test_driver.lookupByName("test")
    forget_moments(libvirt, domain)
    yield domain
    forget_moments(libvirt, domain)


def forget_moments(libvirt: ModuleType, domain: Any) -> None:
    """Delete every checkpoint and snapshot of `domain`."""
    for root in domain.listAllCheckpoints(libvirt.VIR_DOMAIN_CHECKPOINT_LIST_ROOTS):
        root.delete(libvirt.VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN)
    for root in domain.listAllSnapshots(libvirt.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS):
        root.delete(libvirt.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN)


@pytest.fixture(scope="session")
def libvirtd(libvirt: ModuleType) -> Iterator[sandbox.Sandbox]:
    """A private libvirtd with QEMU for the whole session, removed afterwards."""
    box = sandbox.Sandbox()
    try:
        box.start()
    except install.SandboxUnavailable as missing:
        pytest.fail(f"the libvirtd sandbox cannot run: {missing}", pytrace=False)
    try:
        yield box
    finally:
        box.stop()
