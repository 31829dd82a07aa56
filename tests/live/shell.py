"""Run the shell commands the pages show against the sandbox, and print what a host prints.

A page writes a command as a reader types it on the lab host (`virsh domjobinfo web01`,
`/var/lib/libvirt/images/...`). `Shell` points `virsh` at the sandbox's libvirtd, puts the
sandbox's directories in place of the host's, runs the line with `sh`, and prints its output
(standard output, then standard error) with the host's names back in place and trailing blanks
removed. The lab page (kbase/lab.md) shows this file.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

HOST_IMAGES = "/var/lib/libvirt/images"


class Shell:
    """`run(command)` for one sandbox; `places` maps more host directories to sandbox ones."""

    def __init__(self, uri: str, images: Path, places: dict[str, Path], cwd: Path) -> None:
        self.uri = uri
        self.places = {HOST_IMAGES: images, **places}
        self.cwd = cwd

    def __call__(self, command: str) -> None:
        for host, sandbox in self.places.items():
            command = command.replace(host, str(sandbox))
        command = command.replace("virsh ", f"virsh -c '{self.uri}' ")
        done = subprocess.run(
            ["sh", "-c", command], cwd=self.cwd, capture_output=True, text=True, check=False
        )
        output = done.stdout + done.stderr
        for host, sandbox in self.places.items():
            output = output.replace(str(sandbox), host)
        lines = [line.rstrip() for line in output.rstrip().splitlines()]
        if done.returncode != 0:
            lines.append(f"(exit status {done.returncode})")
        if lines:
            print("\n".join(lines))
