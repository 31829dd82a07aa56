"""Shared pytest setup: Sphinx's testing fixtures, with test projects under tests/roots."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from scan_count import ScanCount
from sphinx.testing.util import SphinxTestApp

pytest_plugins = ("sphinx.testing.fixtures",)

# tools/debian_archive.py: libvirt's schemas and test data, from Debian's archive.
sys.path.insert(0, str(Path(__file__).parents[1] / "tools"))

ROOTS = Path(__file__).parent / "roots"
SCHEMAS = Path(__file__).parents[1] / "schemas"

# `make fuzz` runs tests/test_fuzz.py with ``--hypothesis-profile=long`` (see that module).
settings.register_profile("long", deadline=None, print_blob=True)


@pytest.fixture
def positions_scans(monkeypatch: pytest.MonkeyPatch) -> tuple[ScanCount, ScanCount]:
    """How often :mod:`gueststate.positions` scans a text for markup and for attributes: work
    counted, not timed, so that a test can show it linear."""
    from gueststate import positions

    markup, attributes = ScanCount(positions._MARKUP), ScanCount(positions._ATTRIBUTE)
    monkeypatch.setattr(positions, "_MARKUP", markup)
    monkeypatch.setattr(positions, "_ATTRIBUTE", attributes)
    return markup, attributes


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP listener on 127.0.0.1 that a hostile document points at; nothing may connect."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()


@pytest.fixture(scope="session")
def rootdir() -> Path:
    """Where ``@pytest.mark.sphinx(testroot=...)`` finds ``test-<name>`` projects."""
    return ROOTS


@pytest.fixture(scope="session")
def formats_app(tmp_path_factory: pytest.TempPathFactory) -> SphinxTestApp:
    """The three format grammars rendered into HTML, built once; read its outdir and env.

    Built in place (the marker would copy the root, and its pages name ``../../../schemas``),
    and cleaned up at once so that the apps of other tests start from a clean registry.
    """
    app = SphinxTestApp(
        "html",
        srcdir=ROOTS / "test-reference-formats",
        builddir=tmp_path_factory.mktemp("formats"),
        freshenv=True,
    )
    try:
        app.build()
    finally:
        app.cleanup()
    assert app.statuscode == 0, app.warning.getvalue()
    return app
