"""Reading a large grammar: `read_grammar` on libvirt's domain.rng against `jing -s`, one run.

domain.rng includes 8 more files (8,000 lines in domaincommon.rng alone).  `read_grammar` is
timed in-process (best of several runs, each starting from the files on disk); `jing -s` is
timed as people run it, JVM start included.  Target: within 2x of jing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from libvirt_schemas import libvirt_schema_dir  # noqa: E402

from gueststate.rng import read_grammar  # noqa: E402

RUNS = 5
TARGET_RATIO = 2.0


def time_read(grammar: Path) -> tuple[float, float]:
    """Seconds for the first read and for the best of :data:`RUNS`."""
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        read_grammar(grammar)
        times.append(time.perf_counter() - start)
    return times[0], min(times)


def time_jing(jing: str, grammar: Path) -> float:
    """Best of :data:`RUNS` runs of ``jing -s``, output discarded."""
    best = float("inf")
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run([jing, "-s", str(grammar)], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    jing = shutil.which("jing")
    if jing is None:
        sys.exit("bench_rng: jing is missing (apt-get install jing)")
    grammar = libvirt_schema_dir() / "domain.rng"
    first, ours = time_read(grammar)
    theirs = time_jing(jing, grammar)
    ratio = ours / theirs
    print(f"grammar            {grammar}")
    print(f"read_grammar       {ours:.3f} s (best of {RUNS}; first run {first:.3f} s)")
    print(f"jing -s            {theirs:.3f} s (best of {RUNS}, JVM start included)")
    verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
    print(f"ratio              {ratio:.2f}x jing (target <= {TARGET_RATIO:.0f}x: {verdict})")


if __name__ == "__main__":
    main()
