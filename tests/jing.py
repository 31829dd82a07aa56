"""jing, the independent RELAX NG reader the grammar reader's tests check against."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest


def run_jing(*args: str) -> subprocess.CompletedProcess[bytes]:
    """``jing ARGS``; a test fails loudly when jing is missing (tools/debian-deps installs it).

    Without performance data the JVM leaves no /tmp/hsperfdata_<user> behind, which CI's
    check that nothing is left outside the clone would find.
    """
    jing = shutil.which("jing")
    if jing is None:
        pytest.fail("jing is missing: it is the independent oracle here (apt-get install jing)")
    quiet_jvm = {**os.environ, "JAVA_TOOL_OPTIONS": "-XX:-UsePerfData"}
    return subprocess.run([jing, *args], capture_output=True, check=False, env=quiet_jvm,
                          timeout=120)
