"""Shared pytest setup: Sphinx's testing fixtures, with test projects under tests/roots."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

pytest_plugins = ("sphinx.testing.fixtures",)


@pytest.fixture(scope="session")
def rootdir() -> Path:
    """Where ``@pytest.mark.sphinx(testroot=...)`` finds ``test-<name>`` projects."""
    return Path(__file__).parent / "roots"


# `make fuzz` runs tests/test_fuzz.py with ``--hypothesis-profile=long`` (see that module).
settings.register_profile("long", deadline=None, print_blob=True)
