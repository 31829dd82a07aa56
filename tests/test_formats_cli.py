"""``gueststate format`` and ``gueststate align``: output, exit codes, in-place safety."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gueststate.cli import main

DOMAIN = """<domain type='kvm'>
  <name>guest</name>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/images/guest.qcow2'/>
      <target dev='vda'/>
    </disk>
    <disk type='file' device='cdrom'>
      <target dev='hdc'/>
    </disk>
  </devices>
</domain>
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_format_prints_canonical_form(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "b.xml", '<domainbackup><disks><disk name="vda"/></disks>'
                  "</domainbackup>")
    assert main(["format", str(path)]) == 0
    assert capsys.readouterr().out == (
        "<domainbackup mode='push'>\n  <disks>\n    <disk name='vda' backup='yes' type='file'/>\n"
        "  </disks>\n</domainbackup>\n")


def test_format_in_place_rewrites_atomically(tmp_path: Path) -> None:
    path = _write(tmp_path, "c.xml", '<domaincheckpoint><name>c1</name></domaincheckpoint>')
    path.chmod(0o640)
    assert main(["format", "--in-place", str(path)]) == 0
    assert path.read_text() == "<domaincheckpoint>\n  <name>c1</name>\n</domaincheckpoint>\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["c.xml"]


@pytest.mark.parametrize("text", [
    "<domainbackup mode='pull'><disks><disk name='vda'/>",          # malformed
    "<domainbackup mode='sideways'/>",                               # schema
    "<domaincheckpoint><name>../x</name></domaincheckpoint>",        # schema pattern
    "<domainsnapshot><memory file='relative'/></domainsnapshot>",    # parser rule
    "<notours/>",
    "",
])
def test_format_in_place_leaves_invalid_file_untouched(
    tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "bad.xml", text)
    before = path.read_bytes()
    assert main(["format", "--in-place", str(path)]) == 1
    assert path.read_bytes() == before
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:") and "Traceback" not in err
    assert [p.name for p in tmp_path.iterdir()] == ["bad.xml"]


def test_format_no_validate_accepts_what_libvirt_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Schema-invalid (raw is not a snapshot driver type for the schema) but libvirt's parser
    # accepts it when the caller does not ask for validation.
    path = _write(tmp_path, "s.xml", "<domainsnapshot><disks><disk name='vda'>"
                  "<driver type='raw'/></disk></disks></domainsnapshot>")
    assert main(["format", str(path)]) == 1
    assert main(["format", "--no-validate", str(path)]) == 0
    assert "<disk name='vda' snapshot='external' type='file'>" in capsys.readouterr().out


def test_format_missing_file_is_usage_error(tmp_path: Path) -> None:
    assert main(["format", str(tmp_path / "absent.xml")]) == 2


def test_align_backup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    domain = _write(tmp_path, "domain.xml", DOMAIN)
    backup = _write(tmp_path, "b.xml", "<domainbackup/>")
    assert main(["align", "--domain", str(domain), "--suffix", "S", str(backup)]) == 0
    assert capsys.readouterr().out == (
        "<domainbackup mode='push'>\n  <disks>\n"
        "    <disk name='vda' backup='yes' type='file' backupmode='full'>\n"
        "      <target file='/var/lib/images/guest.qcow2.S'/>\n    </disk>\n"
        "    <disk name='hdc' backup='no'/>\n  </disks>\n</domainbackup>\n")


def test_align_refusal_names_the_element_at_fault(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    domain = _write(tmp_path, "domain.xml", DOMAIN)
    text = ("<domaincheckpoint><name>c</name>\n"
            "  <disks><disk name='vda'/><disk name='hdc'/></disks></domaincheckpoint>")
    checkpoint = _write(tmp_path, "c.xml", text)
    assert main(["align", "--domain", str(domain), str(checkpoint)]) == 1
    column = text.splitlines()[1].index("<disk name='hdc'") + 1
    assert capsys.readouterr().err == (
        f"{checkpoint}:2:{column}: disk 'hdc' is empty or readonly\n")


@pytest.mark.parametrize(("text", "definition", "message"), [
    ("<domain>\n  <name>g</name>\n  <devices/>\n</domain>",
     "<domaincheckpoint><name>c</name></domaincheckpoint>",
     "3:3: domain must have at least one disk to perform checkpoints"),
    ("<domain>\n  <name>g</name>\n  <devices><interface type='network'/></devices>\n</domain>",
     "<domainbackup/>", "3:3: domain must have at least one disk to perform backup"),
    ("<domain>\n  <name>g</name>\n</domain>", "<domainbackup/>",  # no <devices>: its root
     "1:1: domain must have at least one disk to perform backup"),
], ids=["checkpoint", "backup", "no-devices"])
def test_align_refusal_about_the_domain_names_the_domain_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, definition: str,
    message: str,
) -> None:
    """The domain lacks the disks, not the definition: the problem points into the domain."""
    domain = _write(tmp_path, "domain.xml", text)
    path = _write(tmp_path, "d.xml", definition)
    assert main(["align", "--domain", str(domain), "--suffix", "S", str(path)]) == 1
    assert capsys.readouterr().err == f"{domain}:{message}\n"


#: Two disks on target vda, the second on line 9; libvirt refuses to define it.
TWIN_TARGETS = """<domain type='kvm'>
  <name>guest</name>
  <devices>
    <disk type='file' device='disk'>
      <source file='/img/a.qcow2'/>
      <target dev='vda'/>
    </disk>
    <disk type='file' device='disk'><source file='/img/b.qcow2'/><target dev='vdb'/></disk>
    <disk type='network' device='disk'>
      <source protocol='rbd' name='pool/c'/>
      <target dev='vda'/>
    </disk>
  </devices>
</domain>
"""


@pytest.mark.parametrize("definition", [
    "<domainbackup/>", "<domaincheckpoint><name>c</name></domaincheckpoint>",
    "<domainsnapshot><name>s</name></domainsnapshot>",
], ids=["backup", "checkpoint", "snapshot"])
def test_align_refuses_a_domain_with_a_target_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], definition: str
) -> None:
    domain = _write(tmp_path, "domain.xml", TWIN_TARGETS)
    path = _write(tmp_path, "d.xml", definition)
    assert main(["align", "--domain", str(domain), "--suffix", "S", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"{domain}:9:5: target 'vda' duplicated for disk sources "
                            "'/img/a.qcow2' and 'pool/c'\n")


#: Output encodings that cannot or would not write the document's text as UTF-8.
NOT_UTF8 = [
    pytest.param({"PYTHONIOENCODING": "ascii"}, id="ascii"),
    pytest.param({"PYTHONIOENCODING": "latin-1"}, id="latin-1"),
    pytest.param({"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}, id="C-locale"),
]
ROOT = Path(__file__).resolve().parents[1]
CHECKPOINT_CAFE = ("<domaincheckpoint><name>c</name><description>café ☃</description>"
                   "</domaincheckpoint>")


def _run_in(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    """The command as a user runs it, its output as bytes, in the given locale settings."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONIOENCODING", "PYTHONUTF8", "LANG", "LC_CTYPE")
           and not key.startswith("LC_")}
    return subprocess.run([sys.executable, "-m", "gueststate", *args],
                          env={**env, **environment}, capture_output=True, timeout=60)


@pytest.mark.parametrize("environment", NOT_UTF8)
def test_format_writes_utf8_whatever_the_output_encoding(
    tmp_path: Path, environment: dict[str, str]
) -> None:
    path = _write(tmp_path, "c.xml", CHECKPOINT_CAFE)
    result = _run_in(environment, "format", str(path))
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout == ("<domaincheckpoint>\n  <name>c</name>\n"
                             "  <description>café ☃</description>\n"
                             "</domaincheckpoint>\n").encode()


@pytest.mark.parametrize("environment", NOT_UTF8)
def test_align_writes_utf8_whatever_the_output_encoding(
    tmp_path: Path, environment: dict[str, str]
) -> None:
    domain = _write(tmp_path, "domain.xml", DOMAIN.replace("guest.qcow2", "gäst☃.qcow2"))
    backup = _write(tmp_path, "b.xml", "<domainbackup><disks><disk name='vda'/></disks>"
                    "</domainbackup>")
    result = _run_in(environment, "align", "--domain", str(domain), "--suffix", "S",
                     str(backup))
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout == (
        "<domainbackup mode='push'>\n  <disks>\n"
        "    <disk name='vda' backup='yes' type='file' backupmode='full'>\n"
        "      <target file='/var/lib/images/gäst☃.qcow2.S'/>\n    </disk>\n"
        "    <disk name='hdc' backup='no'/>\n  </disks>\n</domainbackup>\n").encode()
    checkpoint = _write(tmp_path, "c.xml", CHECKPOINT_CAFE)
    result = _run_in(environment, "align", "--domain", str(ROOT / "examples/domain/web01.xml"),
                     str(checkpoint))
    assert (result.returncode, result.stderr) == (0, b"")
    assert "<description>café ☃</description>".encode() in result.stdout
    assert result.stdout.decode("utf-8").count("checkpoint='bitmap' bitmap='c'") == 2


def test_format_to_a_closed_stdout_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = _write(tmp_path, "c.xml", CHECKPOINT_CAFE)
    result = subprocess.run([sys.executable, "-m", "gueststate", "format", str(path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            timeout=60, preexec_fn=lambda: os.close(1))
    assert result.returncode == 2
    assert result.stderr == "gueststate: cannot write the output: standard output is closed\n"


def test_format_in_place_follows_symlinks(tmp_path: Path) -> None:
    real = _write(tmp_path, "real.xml", "<domaincheckpoint><name>c1</name></domaincheckpoint>")
    link = tmp_path / "link.xml"
    link.symlink_to(real)
    assert main(["format", "--in-place", str(link)]) == 0
    assert link.is_symlink()
    assert real.read_text() == "<domaincheckpoint>\n  <name>c1</name>\n</domaincheckpoint>\n"


@pytest.mark.parametrize(("release", "words"), [
    (None, "source for disk 'vda' is not a regular file"),
    ("11.3.0", "source for disk 'vda' is not a regular file"),
    ("12.9.0", "source for disk 'vda' (/nonexistent/g.qcow2) doesn't exist or is not a regular "
               "file"),
])
def test_align_words_a_refusal_as_the_release_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], release: str | None, words: str
) -> None:
    domain = _write(tmp_path, "guest.xml", "<domain><name>g</name><devices><disk type='file'>"
                    "<source file='/nonexistent/g.qcow2'/><target dev='vda'/></disk></devices>"
                    "</domain>")
    snapshot = _write(tmp_path, "s.xml", "<domainsnapshot><name>s</name></domainsnapshot>")
    version = [] if release is None else ["--libvirt-version", release]
    assert main(["align", "--disk-only", "--domain", str(domain), *version, str(snapshot)]) == 1
    assert capsys.readouterr().err == (
        f"{snapshot}:0:0: {words}; refusing to generate external snapshot name\n")


def test_align_refuses_a_malformed_release(tmp_path: Path) -> None:
    domain = _write(tmp_path, "guest.xml", "<domain><devices/></domain>")
    snapshot = _write(tmp_path, "s.xml", "<domainsnapshot/>")
    assert main(["align", "--libvirt-version", "12", "--domain", str(domain),
                 str(snapshot)]) == 2


def test_format_called_where_output_is_text_alone_prints_the_text(tmp_path: Path) -> None:
    """``main()`` in a process that captures its output as text (a doctest does): no bytes."""
    path = _write(tmp_path, "c.xml", CHECKPOINT_CAFE)
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        assert main(["format", str(path)]) == 0
    assert captured.getvalue() == ("<domaincheckpoint>\n  <name>c</name>\n"
                                   "  <description>café ☃</description>\n</domaincheckpoint>\n")


def test_format_whose_output_would_pass_a_limit_says_so_in_one_line(tmp_path: Path) -> None:
    # Kept content deep in <metadata>, indented again, grows past the 8 MiB document limit.
    deep = "<a>" * 200 + "<b/>" * 30_000 + "</a>" * 200
    snapshot = _write(tmp_path, "deep.xml", "<domainsnapshot><name>s</name><domain type='kvm'>"
                      f"<name>g</name><metadata>{deep}</metadata></domain></domainsnapshot>")
    result = subprocess.run([sys.executable, "-m", "gueststate", "format", str(snapshot)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.count("\n") == 1 and "byte limit" in result.stderr, result.stderr
