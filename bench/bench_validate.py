"""Validation speed: `gueststate validate` against the reference tools, in one run.

3,000 documents (libvirt's corpus for the three formats, repeated) are validated
- by one `gueststate validate` process,
- by one `xmllint --relaxng` process per format with our schemas (the C engine underneath),
- by `virt-xml-validate`, one process per file as people run it today (timed on a sample and
  scaled, since 3,000 runs take minutes).
Targets: within 1.5x of xmllint; at least 50x faster than virt-xml-validate.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "libvirt-11.3"
DOCUMENTS = 3000
VIRT_XML_VALIDATE_SAMPLE = 30


def corpus_files() -> list[Path]:
    files = sorted(
        path for path in CORPUS.glob("*xml2xml*/*.xml") if "-invalid." not in path.name
    )
    if not files:
        sys.exit(f"bench_validate: no corpus at {CORPUS}")
    return files


def make_documents(target: Path) -> dict[str, list[Path]]:
    sources = corpus_files()
    by_format: dict[str, list[Path]] = {}
    for index in range(DOCUMENTS):
        source = sources[index % len(sources)]
        copy = target / f"{index:04d}-{source.name}"
        shutil.copyfile(source, copy)
        root = source.read_text().lstrip().split(">", 1)[0]
        name = next(f for f in ("domainbackup", "domaincheckpoint", "domainsnapshot") if f in root)
        by_format.setdefault(name, []).append(copy)
    return by_format


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def best_of(runs: int, command: list[str]) -> float:
    return min(timed(command) for _ in range(runs))


def main() -> None:
    gueststate = str(Path(sys.executable).with_name("gueststate"))
    with tempfile.TemporaryDirectory() as scratch:
        by_format = make_documents(Path(scratch))
        everything = [str(p) for paths in by_format.values() for p in paths]
        ours = best_of(3, [gueststate, "validate", *everything])

        def xmllint_all() -> float:
            return sum(
                timed(["xmllint", "--noout", "--relaxng", str(ROOT / "schemas" / f"{name}.rng"),
                       *map(str, paths)])
                for name, paths in by_format.items()
            )

        xmllint = min(xmllint_all() for _ in range(3))
        sample = everything[:VIRT_XML_VALIDATE_SAMPLE]
        start = time.perf_counter()
        for path in sample:
            subprocess.run(["virt-xml-validate", path], capture_output=True, check=False)
        per_file = (time.perf_counter() - start) / len(sample)
        virt = per_file * len(everything)

    print(f"documents                     {len(everything)}")
    print(f"gueststate validate (1 run)   {ours:7.2f} s")
    print(f"xmllint --relaxng (1 per fmt) {xmllint:7.2f} s   ratio {ours / xmllint:5.2f}x"
          "   (target <= 1.5x)")
    print(f"virt-xml-validate (per file)  {virt:7.2f} s   speed-up {virt / ours:6.1f}x"
          f"   (target >= 50x; {per_file * 1000:.0f} ms/file over {len(sample)} files, scaled)")


if __name__ == "__main__":
    main()
