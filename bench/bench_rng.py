"""Reading a large grammar: `gueststate reference --format json` against `jing -s`, one run.

libvirt's domain.rng (from Debian's archive, as the tests read it) includes 8 more files,
8,000 lines in domaincommon.rng alone.  Each command runs as people run it, a fresh process
(JVM start included for jing), output discarded; the median of :data:`RUNS` runs of wall and
CPU time (user + system of the child) is compared.  Target: `--by definition` at most half
of jing's time; `--by path` (the tree with every element expanded where it may appear, 16 MB
of JSON) is shown beside it.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import debian_archive  # noqa: E402

RUNS = 5
TARGET_RATIO = 0.5
LIBVIRT = "9.0.0"


def measure(command: list[str]) -> tuple[float, float]:
    """Median wall and CPU seconds of :data:`RUNS` runs of ``command``, output discarded."""
    walls, cpus = [], []
    for _ in range(RUNS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    jing = shutil.which("jing")
    if jing is None:
        sys.exit("bench_rng: jing is missing (apt-get install jing)")
    gueststate = str(Path(sys.executable).with_name("gueststate"))
    if not os.access(gueststate, os.X_OK):
        sys.exit(f"bench_rng: {gueststate} is missing (make venv)")
    grammar = debian_archive.schemas(LIBVIRT) / "domain.rng"
    theirs = measure([jing, "-s", str(grammar)])
    print(f"grammar                 libvirt {LIBVIRT} domain.rng (median of {RUNS} runs)")
    print(f"jing -s                 {theirs[0]:.3f} s wall, {theirs[1]:.3f} s CPU")
    for by in ("definition", "path"):
        ours = measure([gueststate, "reference", "--by", by, "--format", "json", str(grammar)])
        wall, cpu = ours[0] / theirs[0], ours[1] / theirs[1]
        line = (f"reference --by {by:<10} {ours[0]:.3f} s wall, {ours[1]:.3f} s CPU: "
                f"{wall:.2f}x jing wall, {cpu:.2f}x CPU")
        if by == "definition":
            verdict = "met" if max(wall, cpu) <= TARGET_RATIO else "MISSED"
            line += f" (target <= {TARGET_RATIO}x: {verdict})"
        print(line)


if __name__ == "__main__":
    main()
