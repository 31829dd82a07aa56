"""What validating every example costs a build.

Times (CPU seconds), each in a fresh ``sphinx-build`` process, as the median of ``--repeat``
runs:

1. the real site, as written (``xml-example``) and with every ``xml-example`` turned into a
   plain ``literalinclude``;
2. a generated site of 1,000 ``xml-example`` directives (50 pages of 20, each its own file
   copied from examples/) against the same site with ``literalinclude``;
3. on the generated site: a rebuild with nothing changed and a rebuild after editing one
   example, as fractions of its full build.

Targets (issue 4): validated build within 1.15x of the unvalidated one; each rebuild under 20%
of a full build.  Run with ``make bench`` or ``python bench/bench_examples.py``.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gueststate import schemas
from gueststate.sphinxext.example import check_example

ROOT = Path(__file__).resolve().parents[1]
PAGES, PER_PAGE = 50, 20
RATIO_TARGET, REBUILD_TARGET = 1.15, 0.20
#: Left out when the real site is copied: not pages, or too big to copy for nothing.
NOT_SITE = (".git", ".venv", ".cache", "_build", "tests", "bench", "build", "dist", "src")

EXAMPLE_FENCE = re.compile(r"```\{xml-example\}\s+(\S+)\n((?::[\w-]+:.*\n)*)")
EXAMPLE_DIRECTIVE = re.compile(r"\.\. xml-example::\s+(\S+)\n((?:[ \t]+:[\w-]+:.*\n)*)")


def sphinx_build(srcdir: Path, outdir: Path, *extra: str) -> float:
    """CPU seconds (user + system) of one serial ``sphinx-build -b html`` in its own process.

    CPU time, not wall time: the build is serial, so on an idle machine the two agree, and on
    a shared one CPU time is not inflated by other processes.  Wall time goes to stderr.
    """
    command = [sys.executable, "-m", "sphinx", "-q", "-b", "html", *extra, str(srcdir),
               str(outdir)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"sphinx-build failed on {srcdir}:\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"  {srcdir.name} {' '.join(extra)}: cpu {cpu:.2f} s, wall {wall:.2f} s",
          file=sys.stderr)
    return cpu


def full_build(srcdir: Path, outdir: Path) -> float:
    shutil.rmtree(outdir, ignore_errors=True)
    return sphinx_build(srcdir, outdir, "-E")


def median_pair(
    build_a: Callable[[], float], build_b: Callable[[], float], repeat: int
) -> tuple[float, float]:
    """Alternate the two builds so that machine noise falls on both alike."""
    times_a, times_b = [], []
    for _ in range(repeat):
        times_a.append(build_a())
        times_b.append(build_b())
    return statistics.median(times_a), statistics.median(times_b)


def _literal_fence(match: re.Match[str]) -> str:
    options = [line for line in match.group(2).splitlines() if _kept(line)]
    return "```{literalinclude} /" + match.group(1) + "\n:language: xml\n" + "".join(
        line + "\n" for line in options
    )


def _literal_directive(match: re.Match[str]) -> str:
    options = [line for line in match.group(2).splitlines() if _kept(line)]
    return f".. literalinclude:: /{match.group(1)}\n   :language: xml\n" + "".join(
        line + "\n" for line in options
    )


def _kept(option_line: str) -> bool:
    """Options literalinclude understands too."""
    return option_line.strip().split(":")[1] in ("caption", "emphasize-lines", "lineno-start")


def to_literal_includes(srcdir: Path) -> int:
    """Rewrite every page under ``srcdir`` to show examples with ``literalinclude``."""
    count = 0
    for page in [*srcdir.rglob("*.md"), *srcdir.rglob("*.rst")]:
        text = page.read_text(encoding="utf-8")
        text, fences = EXAMPLE_FENCE.subn(_literal_fence, text)
        text, directives = EXAMPLE_DIRECTIVE.subn(_literal_directive, text)
        if fences or directives:
            page.write_text(text, encoding="utf-8")
            count += fences + directives
    return count


def copy_site(target: Path) -> Path:
    shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(*NOT_SITE))
    return target


def generate_site(target: Path, literal: bool) -> Path:
    """A site of PAGES pages with PER_PAGE examples each, every example its own file."""
    templates = [
        file for file in sorted((ROOT / "examples").rglob("*.xml"))
        if "invalid" not in file.parts and _validates(file)
    ]
    if not templates:
        raise SystemExit("no example files under examples/ to generate a site from")
    (target / "examples").mkdir(parents=True)
    extensions = "[]" if literal else '["gueststate.sphinxext.example"]'
    (target / "conf.py").write_text(
        f"extensions = {extensions}\nexclude_patterns = ['_build']\n", encoding="utf-8"
    )
    toctree = []
    number = 0
    for page in range(PAGES):
        lines = [f"Page {page}", "=" * 12, ""]
        for _ in range(PER_PAGE):
            name = f"examples/e{number:04d}.xml"
            template = templates[number % len(templates)]
            (target / name).write_bytes(template.read_bytes())
            lines += [f"Example {number} shows {template.stem}.", ""]
            if literal:
                lines += [f".. literalinclude:: /{name}", "   :language: xml", ""]
            else:
                lines += [f".. xml-example:: {name}", ""]
            number += 1
        (target / f"page{page:02d}.rst").write_text("\n".join(lines), encoding="utf-8")
        toctree.append(f"   page{page:02d}")
    index = ["Generated", "=========", "", ".. toctree::", "", *toctree, ""]
    (target / "index.rst").write_text("\n".join(index), encoding="utf-8")
    return target


def _validates(file: Path) -> bool:
    verdict = check_example(file.read_bytes(), str(file), None, schemas.LIBVIRT_SCHEMA_DIR)
    return not verdict.problems


def touch_later(file: Path) -> None:
    later = time.time() + 5
    os.utime(file, (later, later))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--skip-site", action="store_true", help="only the generated site")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-examples-") as scratch:
        work = Path(scratch)
        if not args.skip_site:
            validated_site = copy_site(work / "site-validated")
            literal_site = copy_site(work / "site-literal")
            shown = to_literal_includes(literal_site)
            validated, literal = median_pair(
                lambda: full_build(validated_site, work / "out-site-v"),
                lambda: full_build(literal_site, work / "out-site-l"),
                args.repeat,
            )
            print(f"real site ({shown} examples): validated {validated:.2f} s, "
                  f"literalinclude {literal:.2f} s, ratio {validated / literal:.3f}")

        validated_gen = generate_site(work / "gen-validated", literal=False)
        literal_gen = generate_site(work / "gen-literal", literal=True)
        out = work / "out-gen-v"
        validated, literal = median_pair(
            lambda: full_build(validated_gen, out),
            lambda: full_build(literal_gen, work / "out-gen-l"),
            args.repeat,
        )
        ratio = validated / literal
        ok &= ratio <= RATIO_TARGET
        print(f"generated site ({PAGES * PER_PAGE} examples): validated {validated:.2f} s, "
              f"literalinclude {literal:.2f} s, ratio {ratio:.3f} (target <= {RATIO_TARGET})")

        baseline = statistics.median(
            sphinx_build(literal_gen, work / "out-gen-l") for _ in range(args.repeat)
        )
        print(f"literalinclude site, no-change rebuild (for scale): {baseline:.2f} s = "
              f"{baseline / literal:.1%} of its full build")
        # `out` holds the last full validated build: rebuild it incrementally.
        unchanged = statistics.median(
            sphinx_build(validated_gen, out) for _ in range(args.repeat)
        )
        one_example = []
        for run in range(args.repeat):
            touch_later(validated_gen / "examples" / f"e{run * 7:04d}.xml")
            one_example.append(sphinx_build(validated_gen, out))
        edited = statistics.median(one_example)
        for label, seconds in (("no-change rebuild", unchanged), ("one-example rebuild", edited)):
            share = seconds / validated
            ok &= share < REBUILD_TARGET
            print(f"{label}: {seconds:.2f} s = {share:.1%} of a full build "
                  f"(target < {REBUILD_TARGET:.0%})")
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    raise SystemExit(main())
