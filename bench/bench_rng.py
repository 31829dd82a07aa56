"""Reading a large grammar: `gueststate reference --format json` against `jing -s`, side by side.

libvirt's domain.rng (from Debian's archive, as the tests read it) includes 8 more files,
8,000 lines in domaincommon.rng alone.  Each command runs as people run it, a fresh process
(JVM start included for jing), output discarded.  The commands are timed in turn, one run of
each per round, so that a busy machine slows them alike; each round gives the ratio of ours to
jing's, in wall time and in CPU time (user + system of the child), and the medians of those
ratios over :data:`ROUNDS` rounds are reported beside the medians of the times.

Target: the default command, `reference --format json` (which reads ``--by path``: the tree
with every element expanded where it may appear), at most half of jing's wall and CPU time.
`--by definition` is shown beside it.  A first, untimed round warms the page cache and lets
Python write the package's bytecode, which an installed package has (pip compiles it).
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

ROUNDS = 15
TARGET_RATIO = 0.5
LIBVIRT = "9.0.0"


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``command``, output discarded."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                   env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> None:
    jing = shutil.which("jing")
    if jing is None:
        sys.exit("bench_rng: jing is missing (apt-get install jing)")
    gueststate = str(Path(sys.executable).with_name("gueststate"))
    if not os.access(gueststate, os.X_OK):
        sys.exit(f"bench_rng: {gueststate} is missing (make venv)")
    grammar = str(debian_archive.schemas(LIBVIRT) / "domain.rng")
    commands = {
        "jing -s": [jing, "-s", grammar],
        "reference --format json (by path, the default)":
            [gueststate, "reference", "--format", "json", grammar],
        "reference --by definition --format json":
            [gueststate, "reference", "--by", "definition", "--format", "json", grammar],
    }
    writing_bytecode = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for command in commands.values():
        timed(command, writing_bytecode)
    times: dict[str, list[tuple[float, float]]] = {label: [] for label in commands}
    for _ in range(ROUNDS):
        for label, command in commands.items():
            times[label].append(timed(command))

    theirs = times.pop("jing -s")
    print(f"grammar: libvirt {LIBVIRT} domain.rng; {ROUNDS} rounds, one run of each command per "
          "round; medians (of the times, and of the per-round ratios to jing)")
    print(f"{'':<48} {'wall':>7}  {'CPU':>7}   ratio: wall    CPU")
    print(f"{'jing -s':<48} {_median(theirs, 0):5.3f} s  {_median(theirs, 1):5.3f} s")
    for index, (label, ours) in enumerate(times.items()):
        wall = statistics.median(o[0] / t[0] for o, t in zip(ours, theirs, strict=True))
        cpu = statistics.median(o[1] / t[1] for o, t in zip(ours, theirs, strict=True))
        line = (f"{label:<48} {_median(ours, 0):5.3f} s  {_median(ours, 1):5.3f} s"
                f"          {wall:4.2f}x  {cpu:4.2f}x")
        if index == 0:
            verdict = "met" if max(wall, cpu) <= TARGET_RATIO else "MISSED"
            line += f"   target <= {TARGET_RATIO}x on both: {verdict}"
        print(line)


def _median(runs: list[tuple[float, float]], which: int) -> float:
    return statistics.median(run[which] for run in runs)


if __name__ == "__main__":
    main()
