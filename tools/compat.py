"""The package as others get it: a wheel, installed into new virtualenvs, with no system tools.

``make compat`` runs this.  It builds the wheel from the checkout, then:

* ``lowest`` and ``newest``: a virtualenv with the wheel and the lowest Sphinx and myst-parser
  that ``pyproject.toml`` declares (its ``sphinx`` extra, ``>=`` read as ``==``), and one with
  the newest; in each, the ``gueststate`` command validates an example with the schemas inside
  the wheel, and ``sphinx-build -W -n`` builds two test projects and a project of its own that
  renders a grammar no one here wrote (libvirt 11.3.0's ``network.rng``, from Debian's archive
  through tools/debian_archive.py); every output must hold the extension's stylesheet;
* ``docs``: ``pip install .[docs]``, then the whole site with ``sphinx-build -W -n``, as a
  contributor who only writes pages builds it: PATH holds only the virtualenv's ``bin`` (no
  xmllint, jing, virsh, chromium) and libvirt's installed files are hidden (a private mount
  namespace puts an empty directory over ``/usr/share/libvirt``).

Everything is written under the build directory given (``_build/compat``); a virtualenv is
made anew when pyproject.toml changes and reused (with the wheel reinstalled) otherwise, and
pip's own cache is reused.  A failure prints the command and its output and exits 1.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from gueststate.sphinxext import STYLESHEET
from gueststate.sphinxext.warnings import WARNING_TYPE, Subtype

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import debian_archive  # noqa: E402  (a sibling script, not a package)

#: Test projects that use every directive and role, in reStructuredText and Markdown.
TEST_ROOTS = ("test-reference", "test-xmldomain")
#: The foreign grammar: a release the project pins, and a grammar it has no copy of.
FOREIGN_RELEASE, FOREIGN_GRAMMAR = "11.3.0", "network.rng"
#: An example that the installed command validates with the schemas inside the wheel.
EXAMPLE = ROOT / "examples" / "backup" / "chain-full.xml"


class CompatFailure(Exception):
    """One step failed; the message holds the command and what it printed."""


def run(command: list[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT) -> str:
    result = subprocess.run(
        command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        check=False,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()
        raise CompatFailure(
            f"exit {result.returncode}: {' '.join(command)}\n" + "\n".join(output[-40:])
        )
    return result.stdout


def lowest_pins() -> list[str]:
    """The ``sphinx`` extra's floors as exact pins: ``sphinx>=7.3`` becomes ``sphinx==7.3``."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    pins = []
    for requirement in extras["sphinx"]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", requirement)
        if match is None:
            raise CompatFailure(f"pyproject.toml: sphinx extra: {requirement!r} is not a floor")
        pins.append(f"{match[1]}=={match[2]}")
    return pins


def build_wheel(build: Path) -> Path:
    dist = build / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)])
    (wheel,) = dist.glob("gueststate-*.whl")
    return wheel


def make_venv(path: Path, requirements: list[str], wheel: Path) -> Path:
    """A virtualenv with ``requirements``, then this checkout's wheel put in afresh.

    It is made anew when pyproject.toml or the requirements change, and reused otherwise:
    deleting one takes longer here than everything else the check does.
    """
    python = path / "bin" / "python"
    stamp = path / "requirements.stamp"
    wanted = "\n".join([hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest(),
                        *requirements])
    if not (python.exists() and stamp.exists() and stamp.read_text() == wanted):
        shutil.rmtree(path, ignore_errors=True)
        # without pip of its own (ensurepip is slow): this interpreter's pip installs into it
        run([sys.executable, "-m", "venv", "--without-pip", str(path)])
        pip(python, *requirements)
        stamp.write_text(wanted)
    elif "--upgrade" in requirements:
        pip(python, *requirements)
    pip(python, "--force-reinstall", "--no-deps", str(wheel))
    return python


def pip(python: Path, *arguments: str) -> None:
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
         "--disable-pip-version-check", *arguments])


def versions(python: Path) -> str:
    code = (
        "from importlib.metadata import version as v; "
        "print(f\"Sphinx {v('sphinx')}, myst-parser {v('myst-parser')}\")"
    )
    return run([str(python), "-c", code]).strip()


def bare_env(venv: Path, home: Path) -> dict[str, str]:
    """Only the virtualenv's commands: whatever else is on this machine's PATH is not there."""
    home.mkdir(parents=True, exist_ok=True)
    return {"PATH": str(venv / "bin"), "HOME": str(home), "LANG": "C.UTF-8"}


def sphinx_build(venv: Path, srcdir: Path, outdir: Path, *, hide_libvirt: bool = False) -> None:
    # A fresh environment (-E) rewrites every page; the stylesheet must be copied anew too.
    (outdir / "_static" / STYLESHEET.name).unlink(missing_ok=True)
    command = [
        str(venv / "bin" / "sphinx-build"), "-q", "-E", "-W", "-n", "-b", "html",
        "-d", str(outdir.with_name(outdir.name + ".doctrees")), str(srcdir), str(outdir),
    ]
    if hide_libvirt and Path("/usr/share/libvirt").exists():
        unshare, mount = shutil.which("unshare"), shutil.which("mount")
        if unshare is None or mount is None:
            raise CompatFailure("unshare and mount (util-linux) are needed to hide libvirt")
        empty = outdir.parent / "empty"
        empty.mkdir(exist_ok=True)
        # root needs no user namespace, and cannot make one inside a chroot
        user_namespace = [] if os.geteuid() == 0 else ["--map-root-user"]
        command = [
            unshare, "--mount", *user_namespace, "/bin/sh", "-c",
            f'{mount} --bind "$0" /usr/share/libvirt && exec "$@"', str(empty), *command,
        ]
    env = bare_env(venv, outdir.parent / "home")
    run(command, env=env, cwd=srcdir)


def check_stylesheet(outdir: Path) -> None:
    copied = outdir / "_static" / STYLESHEET.name
    if not copied.is_file() or copied.read_bytes() != STYLESHEET.read_bytes():
        raise CompatFailure(f"{copied}: the extension's stylesheet is not in the output")
    index = (outdir / "index.html").read_text(encoding="utf-8")
    if f'href="_static/{STYLESHEET.name}' not in index:
        raise CompatFailure(f"{outdir / 'index.html'}: the page does not link the stylesheet")


def check_warning_table(page: Path) -> None:
    """The page that documents the extension names every warning subtype of its enum."""
    text = page.read_text(encoding="utf-8")
    missing = [f"{WARNING_TYPE}.{subtype}" for subtype in Subtype
               if f"{WARNING_TYPE}.{subtype}<" not in text]
    if missing:
        raise CompatFailure(f"{page}: no row for {', '.join(missing)}")


def foreign_project(build: Path) -> Path:
    """A project of its own that renders libvirt's grammar, with nothing of this site in it."""
    srcdir = build / "foreign"
    shutil.rmtree(srcdir, ignore_errors=True)
    shutil.copytree(debian_archive.schemas(FOREIGN_RELEASE), srcdir / "schemas")
    (srcdir / "conf.py").write_text('extensions = ["gueststate.sphinxext"]\nnitpicky = True\n')
    title = f"libvirt {FOREIGN_RELEASE} virtual networks"
    (srcdir / "index.rst").write_text(
        f"{title}\n{'=' * len(title)}\n\n.. rng-reference:: schemas/{FOREIGN_GRAMMAR}\n"
    )
    return srcdir


def check_extension(build: Path, name: str, requirements: list[str], wheel: Path) -> str:
    venv = build / name
    python = make_venv(venv / "venv", [str(wheel), *requirements], wheel)
    run([str(venv / "venv" / "bin" / "gueststate"), "validate", str(EXAMPLE)],
        env=bare_env(venv / "venv", venv / "home"), cwd=build)
    projects = build / "projects"
    for root in TEST_ROOTS:
        shutil.rmtree(projects / root, ignore_errors=True)
        shutil.copytree(ROOT / "tests" / "roots" / root, projects / root)
    for srcdir in [*(projects / root for root in TEST_ROOTS), foreign_project(build)]:
        outdir = venv / srcdir.name
        sphinx_build(venv / "venv", srcdir, outdir)
        check_stylesheet(outdir)
    built = f"{', '.join(TEST_ROOTS)} and libvirt {FOREIGN_RELEASE}'s {FOREIGN_GRAMMAR}"
    return f"{versions(python)}: {built} built with -W -n, stylesheet in each; command works"


def check_docs_only(build: Path, wheel: Path) -> str:
    venv = build / "docs"
    python = make_venv(venv / "venv", [f"{ROOT}[docs]"], wheel)
    sphinx_build(venv / "venv", ROOT, venv / "html", hide_libvirt=True)
    check_stylesheet(venv / "html")
    check_warning_table(venv / "html" / "docs" / "extension.html")
    how = "PATH holding only the venv's bin, /usr/share/libvirt hidden"
    return f"{versions(python)}: pip install .[docs], the site built with -W -n, {how}; " \
        f"docs/extension.html lists all {len(Subtype)} warning subtypes"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", type=Path, help="where the wheel, venvs and outputs go")
    args = parser.parse_args()
    build: Path = args.build.resolve()
    build.mkdir(parents=True, exist_ok=True)
    try:
        started = time.monotonic()
        wheel = build_wheel(build)
        print(f"compat: {wheel.name} built", flush=True)
        for name, requirements in (
            ("lowest", lowest_pins()),
            ("newest", ["--upgrade", "sphinx", "myst-parser"]),
        ):
            print(f"compat: {name}: {check_extension(build, name, requirements, wheel)}",
                  flush=True)
        print(f"compat: docs-only: {check_docs_only(build, wheel)}", flush=True)
        print(f"compat: all passed in {time.monotonic() - started:.0f} s")
    except (CompatFailure, debian_archive.ArchiveUnavailable) as failure:
        print(f"compat: FAILED: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
