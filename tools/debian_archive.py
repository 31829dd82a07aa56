"""libvirt's own files from Debian's archive, pinned by release and cached inside the clone.

The tests compare against libvirt itself (its schemas, its xml2xml corpus, virsh's test data),
never against a copy kept in this repository or beside it. Each release the project names maps
to the Debian suite that ships it; the package is downloaded with apt-get (never installed),
using a private apt state under ``.cache/debian/`` and the Debian mirror this machine's apt is
already configured for, then unpacked once and reused.

Run as a script it prints the directory asked for, fetching it first if needed::

    python3 tools/debian_archive.py schemas 9.0.0
    python3 tools/debian_archive.py tests 11.3.0
    python3 tools/debian_archive.py mirror
    python3 tools/debian_archive.py package docbook5-xml
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("GUESTSTATE_CACHE", ROOT / ".cache")) / "debian"

#: The libvirt releases the project checks against → the Debian suite that ships each.
SUITES = {
    "7.0.0": "bullseye",
    "9.0.0": "bookworm",
    "11.3.0": "trixie",
    "12.9.0": "trixie-backports",
}

SCHEMA_SUBDIR = "usr/share/libvirt/schemas"

#: What of libvirt's source package the tests read: the xml2xml folders and virsh's test data.
TEST_DATA = re.compile(
    r"^[^/]+/tests/(domainbackupxml2xml(in|out)|qemudomaincheckpointxml2xml(in|out)"
    r"|qemudomainsnapshotxml2xml(in|out)|virshtestdata)/[^/]+$"
)


class ArchiveUnavailable(RuntimeError):
    """A package could not be fetched from Debian's archive; the message says why and how."""


def schemas(version: str) -> Path:
    """libvirt ``version``'s ``/usr/share/libvirt/schemas``, unpacked from its binary package.

    The schemas moved from ``libvirt0`` to ``libvirt-common`` in 9.x; both are tried.
    """
    target = CACHE / f"libvirt-{version}-schemas"
    if (target / "domain.rng").is_file():
        return target
    with tempfile.TemporaryDirectory(dir=_cache_dir()) as work:
        for package in ("libvirt-common", "libvirt0"):
            if not _has(package, version):
                continue
            _apt(_apt_dir(), ["download", f"{package}={_debian_version(package, version)}"],
                 cwd=Path(work))
            debs = sorted(Path(work).glob(f"{package}_*.deb"))
            unpacked = Path(work) / package
            _run(["dpkg-deb", "-x", str(debs[0]), str(unpacked)])
            found = unpacked / SCHEMA_SUBDIR
            if (found / "domain.rng").is_file():
                _publish(found, target)
                return target
    raise ArchiveUnavailable(f"no package of libvirt {version} held {SCHEMA_SUBDIR}/domain.rng")


def tests(version: str) -> Path:
    """libvirt ``version``'s ``tests/`` folders of test data, from its source package."""
    target = CACHE / f"libvirt-{version}-tests"
    if (target / "virshtestdata").is_dir():
        return target
    with tempfile.TemporaryDirectory(dir=_cache_dir()) as work:
        # The archive serves the tarballs but not every .dsc or signature: apt has checked each
        # file it fetched against the signed Sources index, so a failure is final only when the
        # upstream tarball is missing.
        spec = f"libvirt={_debian_version('libvirt', version, 'src')}"
        error = None
        try:
            _apt(_apt_dir(), ["source", "--download-only", spec], cwd=Path(work))
        except ArchiveUnavailable as failed:
            error = failed
        origs = sorted(Path(work).glob("libvirt_*.orig.tar.*[!c]"))
        if not origs:
            raise error or ArchiveUnavailable(f"the source of libvirt {version} has no tarball")
        unpacked = Path(work) / "tests"
        with tarfile.open(origs[0]) as tar:
            for member in tar:
                if member.isfile() and TEST_DATA.match(member.name):
                    # Written by hand: the names matched above have no "..", and Python 3.11.2
                    # (Debian 12) has no extraction filters.
                    target_file = unpacked / member.name.split("/tests/", 1)[1]
                    target_file.parent.mkdir(parents=True, exist_ok=True)
                    source = tar.extractfile(member)
                    assert source is not None
                    target_file.write_bytes(source.read())
        _publish(unpacked, target)
    return target


def package(name: str, suite: str = "bookworm") -> Path:
    """The files of Debian binary package ``name`` from ``suite``, unpacked (never installed).

    For grammars no one here wrote (``docbook5-xml``, ``xhtml-relaxng``): the tests read them
    as their maintainers ship them.
    """
    target = CACHE / f"{name}-{suite}"
    if (target / "usr").is_dir():
        return target
    with tempfile.TemporaryDirectory(dir=_cache_dir()) as work:
        _apt(_apt_dir(), ["download", f"{name}/{suite}"], cwd=Path(work))
        debs = sorted(Path(work).glob(f"{name}_*.deb"))
        if not debs:
            raise ArchiveUnavailable(f"apt-get download {name}/{suite} fetched no package")
        unpacked = Path(work) / name
        _run(["dpkg-deb", "-x", str(debs[0]), str(unpacked)])
        _publish(unpacked, target)
    return target


def mirror() -> str:
    """The Debian archive URI this machine's apt uses for its own release."""
    listed = _run(["apt-get", "indextargets", "--format", "$(REPO_URI) $(RELEASE)"]).split("\n")
    for line in listed:
        uri, _, release = line.partition(" ")
        if release and not re.search(r"-(security|updates|backports)$", release) \
                and "/debian-security" not in uri and "debian" in uri:
            return uri
    raise ArchiveUnavailable("apt has no Debian archive configured (see /etc/apt/sources.list*)")


def _cache_dir() -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    return CACHE


def _publish(source: Path, target: Path) -> None:
    """Move a finished download into place in one step, so no half-unpacked copy is reused."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.move(str(source), str(target))


def _apt_dir() -> Path:
    """A private apt state (lists, cache, sources) holding every suite the project names."""
    apt = _cache_dir() / "apt"
    stamp = apt / "updated"
    if stamp.is_file():
        return apt
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise ArchiveUnavailable(f"{tool} is missing: libvirt's files come from Debian")
    (apt / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (apt / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    (apt / "status").touch()
    uri = mirror()
    (apt / "sources.list").write_text("".join(
        f"deb {uri} {suite} main\ndeb-src {uri} {suite} main\n"
        for suite in sorted(set(SUITES.values()))
    ))
    _apt(apt, ["update"])
    stamp.touch()
    return apt


def _options(apt: Path) -> list[str]:
    """apt options that read and write only the private state under ``apt``."""
    return [
        f"-oDir::Etc::SourceList={apt / 'sources.list'}",
        "-oDir::Etc::SourceParts=/nonexistent",
        f"-oDir::State::Lists={apt / 'lists'}",
        f"-oDir::State::status={apt / 'status'}",
        f"-oDir::Cache={apt}",
        f"-oDir::Cache::Archives={apt / 'archives'}",
        "-oAPT::Sandbox::User=root",
        "-oAcquire::Retries=3",
        "-q",
    ]


def _apt(apt: Path, arguments: list[str], cwd: Path | None = None) -> str:
    return _run(["apt-get", *_options(apt), *arguments], cwd=cwd)


def _madison(package: str, kind: str) -> list[tuple[str, str]]:
    """(Debian version, suite) of every binary or source ``package`` in the private lists."""
    listed = _run(["apt-cache", *_options(_apt_dir()), "madison", package])
    found = []
    for line in listed.splitlines():
        fields = [f.strip() for f in line.split("|")]
        if len(fields) == 3 and (kind == "src") == fields[2].endswith("Sources"):
            found.append((fields[1], fields[2].split()[1].split("/")[0]))
    return found


def _has(package: str, version: str) -> bool:
    return any(_upstream(v) == version for v, _ in _madison(package, "bin"))


def _debian_version(package: str, version: str, kind: str = "bin") -> str:
    """The Debian version of ``package`` that carries libvirt ``version``, from its suite."""
    for debian, suite in _madison(package, kind):
        if _upstream(debian) == version and suite == SUITES[version]:
            return debian
    raise ArchiveUnavailable(
        f"Debian's {SUITES[version]} has no {package} of libvirt {version} (the archive moved on?"
        " update tools/debian_archive.py's SUITES)"
    )


def _upstream(debian: str) -> str:
    return debian.split(":", 1)[-1].split("-", 1)[0].split("+", 1)[0]


def _run(command: list[str], cwd: Path | None = None) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise ArchiveUnavailable(f"`{' '.join(command[:1] + command[-2:])}` failed: {last}")
    return done.stdout


if __name__ == "__main__":
    if sys.argv[1:] == ["mirror"]:
        print(mirror())
    else:
        what, argument = sys.argv[1:3]
        print({"schemas": schemas, "tests": tests, "package": package}[what](argument))
