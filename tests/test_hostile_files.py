"""Hostile files, names and streams around the documents: one line, exit 2, in time, bounded.

Each attack class runs the real command in its own process (``run_measured`` from
``test_hostile_inputs``), so a hang is a timeout, a traceback is visible on stderr and the
peak memory is the kernel's figure.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from test_hostile_inputs import MAX_RSS_BYTES, SECRET, run_measured

from gueststate import schemas

ROOT = Path(__file__).resolve().parents[1]
BACKUP = (ROOT / "examples" / "backup" / "push-full.xml").read_bytes()
RNG = "http://relaxng.org/ns/structure/1.0"
DOMAIN = (b"<domain type='kvm'><name>g</name><devices><disk type='file' device='disk'>"
          b"<source file='/var/lib/vda.qcow2'/><target dev='vda'/></disk></devices></domain>")


def one_error_line(status: int, out: str, err: str, rss: int) -> str:
    """The single stderr line of a run that must end with exit 2 and no output."""
    assert status == 2, (status, out, err)
    assert "Traceback" not in err and out == "", (out, err)
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert rss < MAX_RSS_BYTES, f"peak memory {rss / 2**20:.0f} MiB"
    return lines[0]


# --- special files: refused at once, whichever command reads them ---

SPECIAL = ["fifo", "dev-zero", "directory", "symlink-loop"]


def special_path(kind: str, tmp_path: Path) -> tuple[Path, str]:
    """A path of the given kind and the words its message must contain."""
    if kind == "fifo":
        path = tmp_path / "pipe.xml"
        os.mkfifo(path)
        return path, "a FIFO, not a regular file"
    if kind == "dev-zero":
        return Path("/dev/zero"), "a character device, not a regular file"
    if kind == "directory":
        (tmp_path / "folder.xml").mkdir()
        return tmp_path / "folder.xml", "directory"
    path = tmp_path / "loop.xml"
    path.symlink_to(path.name)
    return path, "symbolic links"


COMMANDS = ["validate", "format", "format-in-place", "align-domain", "align-file", "reference"]
#: A directory given to ``validate`` is walked instead (see test_validate_directory_*).
SPECIAL_CASES = [(command, kind) for command in COMMANDS for kind in SPECIAL
                 if (command, kind) != ("validate", "directory")]


@pytest.mark.parametrize(("command", "kind"), SPECIAL_CASES)
def test_special_file_is_refused_in_one_line(command: str, kind: str, tmp_path: Path) -> None:
    special, words = special_path(kind, tmp_path)
    document, domain = tmp_path / "backup.xml", tmp_path / "domain.xml"
    document.write_bytes(BACKUP)
    domain.write_bytes(DOMAIN)
    args = {
        "validate": ["validate", str(special)],
        "format": ["format", str(special)],
        "format-in-place": ["format", "--in-place", str(special)],
        "align-domain": ["align", "--domain", str(special), str(document)],
        "align-file": ["align", "--domain", str(domain), str(special)],
        "reference": ["reference", str(special)],
    }[command]

    line = one_error_line(*run_measured(args))

    assert line.startswith(f"gueststate: {special}: cannot "), line
    assert words in line, line


def test_regular_file_that_waits_for_data_is_refused_not_waited_on() -> None:
    # /proc/kmsg looks like a regular file and blocks until the kernel logs; unprivileged, it
    # cannot even be opened.  Either way: one line, exit 2, at once.
    line = one_error_line(*run_measured(["validate", "/proc/kmsg"]))
    assert line.startswith("gueststate: /proc/kmsg: cannot read: "), line


def test_special_file_inside_a_validated_directory_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "good.xml").write_bytes(BACKUP)
    os.mkfifo(tmp_path / "pipe.xml")
    line = one_error_line(*run_measured(["validate", str(tmp_path)]))
    assert line == f"gueststate: {tmp_path / 'pipe.xml'}: cannot read: a FIFO, not a regular file"


#: Root reads every folder: the run drops the capabilities that let it (util-linux setpriv).
WITHOUT_ROOT_READ = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search",
                     "--inh-caps", "-dac_override,-dac_read_search"]


def test_validate_directory_reports_an_unreadable_folder(tmp_path: Path) -> None:
    (tmp_path / "good.xml").write_bytes(BACKUP)
    (tmp_path / "hidden").mkdir()
    (tmp_path / "hidden" / "bad.xml").write_bytes(b"<domainbackup><nope/></domainbackup>")
    (tmp_path / "hidden").chmod(0o000)
    prefix = WITHOUT_ROOT_READ if os.geteuid() == 0 else []
    try:
        result = subprocess.run(
            [*prefix, sys.executable, "-m", "gueststate", "validate", str(tmp_path)],
            capture_output=True, text=True, timeout=60,
        )
    finally:
        (tmp_path / "hidden").chmod(0o755)
    assert result.returncode == 2, result
    assert result.stdout == ""
    assert result.stderr == f"gueststate: {tmp_path / 'hidden'}: cannot read: Permission denied\n"


# --- libvirt's schema directory: read through the hardened path, never by libxml2 ---


def libvirt_dir(tmp_path: Path, domain_rng: str) -> Path:
    folder = tmp_path / "libvirt"
    folder.mkdir()
    (folder / "domain.rng").write_text(domain_rng)
    return folder


def grammar(body: str) -> str:
    return (f'<grammar xmlns="{RNG}">{body}<start><element name="domain"><empty/></element>'
            "</start></grammar>")


SNAPSHOT_WITH_DOMAIN = b"<domainsnapshot><domain type='kvm'/></domainsnapshot>"


@pytest.mark.parametrize("attack", ["absolute-href", "parent-href", "url-href", "fifo-href",
                                    "xml-base", "entity"])
def test_hostile_libvirt_schema_dir_is_refused(attack: str, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text(f"<div xmlns='{RNG}'>{SECRET}</div>")
    hostile = {
        "absolute-href": grammar(f'<include href="{secret}"/>'),
        "parent-href": grammar('<include href="../secret"/>'),
        "url-href": grammar('<include href="file:///etc/passwd"/>'),
        "fifo-href": grammar('<include href="pipe.rng"/>'),
        "xml-base": grammar(f'<div xml:base="{tmp_path}/"><include href="secret"/></div>'),
        "entity": f'<!DOCTYPE grammar [<!ENTITY s SYSTEM "{secret}">]>'
                  + grammar("<div>&s;</div>"),
    }[attack]
    folder = libvirt_dir(tmp_path, hostile)
    if attack == "fifo-href":
        os.mkfifo(folder / "pipe.rng")
    document = tmp_path / "snapshot.xml"
    document.write_bytes(SNAPSHOT_WITH_DOMAIN)

    line = one_error_line(*run_measured(
        ["validate", "--libvirt-schemas", str(folder), str(document)]
    ))

    assert line.startswith(f"gueststate: {folder / 'domain.rng'}"), line
    assert SECRET not in line


def test_libvirt_grammar_whose_references_fan_out_or_loop_is_refused(tmp_path: Path) -> None:
    # Each file references the next twice: libxml2 would load the last one 2**30 times.
    folder = libvirt_dir(tmp_path, grammar(""))
    (folder / "domain.rng").write_text(
        f'<grammar xmlns="{RNG}"><start><element name="domain">'
        '<externalRef href="a0.rng"/></element></start></grammar>'
    )
    for index in range(30):
        inner = (f'<choice><externalRef href="a{index + 1}.rng"/>'
                 f'<externalRef href="a{index + 1}.rng"/></choice>')
        (folder / f"a{index}.rng").write_text(
            f'<element xmlns="{RNG}" name="e{index}">{inner}</element>'
        )
    (folder / "a30.rng").write_text(f'<element xmlns="{RNG}" name="e30"><empty/></element>')
    document = tmp_path / "snapshot.xml"
    document.write_bytes(SNAPSHOT_WITH_DOMAIN)
    command = ["validate", "--libvirt-schemas", str(folder), str(document)]

    line = one_error_line(*run_measured(command))
    assert "references fan out" in line, line

    (folder / "a30.rng").write_text(
        f'<element xmlns="{RNG}" name="e30"><externalRef href="a3.rng"/></element>'
    )
    line = one_error_line(*run_measured(command))
    assert line.startswith(f"gueststate: {folder / 'a30.rng'}:1:0: a3.rng includes itself"), line


def _pattern_grammar(pattern: str) -> str:
    return _param_grammar(f'<param name="pattern">{pattern}</param>')


def _param_grammar(param: str) -> str:
    return (f'<grammar xmlns="{RNG}" datatypeLibrary="http://www.w3.org/2001/XMLSchema-datatypes">'
            '<start><element name="domain"><optional><attribute name="type">\n'
            f'<data type="string">{param}</data>'
            "</attribute></optional></element></start></grammar>")


@pytest.mark.parametrize(("param", "said"), [
    # RELAX NG strips a name of its spaces, libxml2 keeps them: every value would fail.
    ('<param name=" pattern ">[a-z]+</param>', "parameter name ' pattern ' has spaces around "
     "it, which libxml2 keeps: write 'pattern'"),
    ('<param name="patern">[a-z]+</param>', "unknown XSD facet 'patern'"),
    ('<param name="maxLength">-1</param>', "facet 'maxLength' must be a whole number, not '-1'"),
    ('<param name="totalDigits">0</param>',
     "facet 'totalDigits' must be a whole number above 0, not '0'"),
])
def test_a_parameter_libxml2_cannot_use_is_refused_not_blamed_on_documents(
    param: str, said: str, tmp_path: Path
) -> None:
    folder = libvirt_dir(tmp_path, _param_grammar(param))
    document = tmp_path / "snapshot.xml"
    document.write_bytes(b"<domainsnapshot><domain type='kvm'/></domainsnapshot>")
    line = one_error_line(*run_measured(
        ["validate", "--libvirt-schemas", str(folder), str(document)]))
    assert line == f"gueststate: {folder / 'domain.rng'}:2:21: {said}", line


@pytest.mark.parametrize(("shape", "expect"), [
    # Each definition references the next twice: libxml2 takes gigabytes, then hangs.
    ("fan-out", ":1:"),
    # Element definitions nested 20,000 deep, each through the next: libxml2's stack overflows.
    ("deep-chain", "nest too deeply"),
    # libxml2 compiles a pattern for each value it checks: 30,000 alternatives take 13 s.
    ("long-pattern", ":2:21: a pattern longer than 4096 characters"),
    # ... and blames the document for a pattern it cannot compile.
    ("invalid-pattern", ":2:21: invalid XSD pattern '(['"),
])
def test_libvirt_grammar_beyond_libxml2s_means_is_refused_before_it_compiles(
    shape: str, expect: str, tmp_path: Path
) -> None:
    grammar_text = None
    if shape == "long-pattern":
        grammar_text = _pattern_grammar("|".join(f"x{index}" for index in range(30_000)))
    elif shape == "invalid-pattern":
        grammar_text = _pattern_grammar("([")
    elif shape == "fan-out":
        defines = "".join(f'<define name="d{index}"><choice><ref name="d{index + 1}"/>'
                          f'<ref name="d{index + 1}"/></choice></define>' for index in range(40))
        last = '<define name="d40"><element name="leaf"><empty/></element></define>'
    elif shape == "deep-chain":
        defines = "".join(f'<define name="d{index}"><element name="n"><optional>'
                          f'<ref name="d{index + 1}"/></optional></element></define>'
                          for index in range(20_000))
        last = '<define name="d20000"><empty/></define>'
    if grammar_text is None:
        grammar_text = (f'<grammar xmlns="{RNG}"><start><element name="domain">'
                        f'<ref name="d0"/></element></start>{defines}{last}</grammar>')
    folder = libvirt_dir(tmp_path, grammar_text)
    document = tmp_path / "snapshot.xml"
    document.write_bytes(b"<domainsnapshot><domain type='kvm'/></domainsnapshot>")

    line = one_error_line(*run_measured(
        ["validate", "--libvirt-schemas", str(folder), str(document)]))

    assert line.startswith(f"gueststate: {folder / 'domain.rng'}"), line
    assert expect in line, line


def test_libvirt_schema_dir_with_relative_includes_still_validates(tmp_path: Path) -> None:
    folder = libvirt_dir(tmp_path, grammar('<include href="common/types.rng"/>'))
    (folder / "common").mkdir()
    (folder / "common" / "types.rng").write_text(
        f'<grammar xmlns="{RNG}"><define name="unused"><text/></define></grammar>'
    )
    compiled = schemas.compiled(folder / "domain.rng")
    document = tmp_path / "snapshot.xml"
    document.write_bytes(b"<domainsnapshot><domain type='kvm'><x/></domain></domainsnapshot>")
    result = schemas.validate_file(document, libvirt_schemas=folder)
    assert compiled is schemas.compiled(folder / "domain.rng")  # compiled once
    assert [p.message for p in result.problems if "embedded <domain>" in p.message], result


# --- names: no file name forges a line, drives a terminal or breaks the encodings ---

HOSTILE_NAMES = {
    "newline-forgery": "doc\nFORGED.xml:9:9: all is well.xml",
    "terminal-escape": "doc\x1b[2J\x1b]0;owned\x07.xml",
    "not-utf-8": os.fsdecode(b"doc-\xff\xfe.xml"),
    "backslash": "doc\\n.xml",
}


@pytest.mark.parametrize("name", HOSTILE_NAMES.values(), ids=HOSTILE_NAMES.keys())
def test_hostile_file_name_stays_one_escaped_line(name: str, tmp_path: Path) -> None:
    document = tmp_path / name
    document.write_bytes(b"<domainbackup><nope/></domainbackup>")
    env = {**os.environ, "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8"}

    text = subprocess.run([sys.executable, "-m", "gueststate", "validate", str(document)],
                          capture_output=True, timeout=60, env=env)
    as_json = subprocess.run(
        [sys.executable, "-m", "gueststate", "validate", "--format", "json", str(document)],
        capture_output=True, timeout=60, env=env,
    )

    assert text.returncode == 1 and text.stderr == b"", text
    lines = text.stdout.decode("utf-8").splitlines()
    assert len(lines) == 1, lines
    assert lines[0].isprintable()
    assert lines[0].startswith(str(tmp_path) + "/doc"), lines[0]
    assert "FORGED" not in lines[0] or "\\nFORGED" in lines[0]
    assert as_json.returncode == 1 and as_json.stderr == b""
    files = json.loads(as_json.stdout.decode("utf-8", "strict"))["files"]
    shown = files[0]["path"]
    shown.encode("utf-8")  # no lone surrogate: a strict reader accepts it
    if "\udcff" in name:
        assert shown.endswith("doc-\\xff\\xfe.xml"), shown
        assert base64.b64decode(files[0]["path_bytes"]) == os.fsencode(document)
    else:
        assert shown == str(document) and "path_bytes" not in files[0]


def test_a_name_that_is_not_utf_8_is_told_from_one_spelt_like_its_escape(
    tmp_path: Path,
) -> None:
    (tmp_path / os.fsdecode(b"a\xff.xml")).write_bytes(b"<domainbackup><nope/></domainbackup>")
    (tmp_path / "a\\xff.xml").write_bytes(b"<domainbackup/>")  # a backslash, 'x', 'f', 'f'
    result = subprocess.run(
        [sys.executable, "-m", "gueststate", "validate", "--format", "json", str(tmp_path)],
        capture_output=True, timeout=60,
    )
    files = json.loads(result.stdout.decode("utf-8", "strict"))["files"]
    assert [f["path"] for f in files] == [str(tmp_path / "a\\xff.xml")] * 2  # the same text
    named = {f.get("path_bytes"): f["valid"] for f in files}
    assert named == {
        base64.b64encode(os.fsencode(tmp_path) + b"/a\xff.xml").decode(): False, None: True}


@pytest.mark.parametrize("option", [
    ["--libvirt-schemas", "schemas\nFORGED.xml:9:9: all is well\x1b[2J"],
    ["--libvirt-version", "9.0.0x\nFORGED.xml:9:9: all is well\x1b[2J"],
])
def test_an_option_value_in_an_error_stays_one_escaped_line(
    option: list[str], tmp_path: Path
) -> None:
    document = tmp_path / "doc.xml"
    document.write_bytes(b"<domainbackup/>")
    result = subprocess.run(
        [sys.executable, "-m", "gueststate", "validate", *option, str(document)],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr[:-1].isprintable(), result.stderr
    assert "\\nFORGED.xml:9:9" in result.stderr and "\\x1b[2J" in result.stderr


def test_a_grammar_quoted_in_a_compile_error_stays_one_escaped_line(tmp_path: Path) -> None:
    folder = tmp_path / "libvirt"
    folder.mkdir()
    (folder / "domain.rng").write_text(
        '<grammar xmlns="http://relaxng.org/ns/structure/1.0"><start>'
        '<ref name="x&#10;FORGED.xml:9:9: all is well&#x9b;31m"/></start></grammar>')
    result = subprocess.run(
        [sys.executable, "-m", "gueststate", "validate", "--libvirt-schemas", str(folder),
         str(ROOT / "examples" / "backup" / "push-full.xml")],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr[:-1].isprintable(), result.stderr
    assert "FORGED.xml:9:9" in result.stderr


# --- streams ---


def test_full_disk_on_stdout_is_one_line_and_exit_2() -> None:
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "gueststate", "validate", "--format", "json",
             str(ROOT / "examples" / "backup")],
            stdout=full, stderr=subprocess.PIPE, text=True, timeout=60,
        )
    assert result.returncode == 2
    assert result.stderr == "gueststate: cannot write the output: No space left on device\n"


@pytest.mark.parametrize(("output", "paths", "status"), [
    ("json", ["examples/invalid/checkpoint/name-with-slash.xml"], 1),
    ("text", ["examples/invalid/checkpoint/name-with-slash.xml"], 1),
    ("json", ["examples/backup/chain-full.xml"], 0),
    ("json", ["examples/backup/chain-full.xml", "no-such.xml"], 2),
])
def test_a_reader_that_stops_early_still_gets_the_verdict(
    output: str, paths: list[str], status: int
) -> None:
    """`validate ... | head` under `set -o pipefail`: the status must not turn into "valid"."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte: every write is EPIPE
    try:
        result = subprocess.run(
            [sys.executable, "-m", "gueststate", "validate", "--format", output,
             *(str(ROOT / path) for path in paths)],
            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60,
        )
    finally:
        os.close(write_end)
    assert result.returncode == status
    unreadable = f"gueststate: {ROOT / 'no-such.xml'}: cannot read: No such file or directory\n"
    assert result.stderr == (unreadable if status == 2 else "")


@pytest.mark.parametrize(("document", "status"), [
    ("examples/backup/chain-full.xml", 0),  # nothing to write: nothing fails
    ("examples/invalid/checkpoint/name-with-slash.xml", 2),
])
def test_closed_stdout_is_one_line_and_exit_2(document: str, status: int) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gueststate", "validate", str(ROOT / document)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60,
        pass_fds=(), preexec_fn=lambda: os.close(1),
    )
    assert result.returncode == status
    expected = "gueststate: cannot write the output: standard output is closed\n"
    assert result.stderr == (expected if status else "")


def test_closed_stdin_is_one_line_and_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import os, sys; os.close(0); sys.stdin = None; "
         "from gueststate.cli import main; sys.exit(main(['validate', '-']))"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == "gueststate: <stdin>: cannot read: standard input is closed\n"


def test_stdin_of_endless_zeros_is_bounded() -> None:
    with open("/dev/zero", "rb") as zeros:
        status, out, err, rss = run_measured_stdin(["validate", "-"], zeros)
    assert status == 1 and err == "", err
    assert out.startswith("<stdin>:") and "limit" in out and len(out.splitlines()) == 1
    assert rss < MAX_RSS_BYTES


def run_measured_stdin(args: list[str], stdin: object) -> tuple[int, str, str, int]:
    """:func:`run_measured` with another standard input."""
    import test_hostile_inputs

    with tempfile.NamedTemporaryFile("r") as report:
        result = subprocess.run(
            [sys.executable, "-c", test_hostile_inputs._MEASURED, report.name, *args],
            stdin=stdin, capture_output=True, text=True, timeout=60,
        )
        peak_kib = int(report.read())
    return result.returncode, result.stdout, result.stderr, peak_kib * 1024


# --- huge domains: alignment lists every disk, once ---


def test_backup_of_a_domain_with_thousands_of_disks_is_aligned(tmp_path: Path) -> None:
    count = 5000
    domain, backup = tmp_path / "domain.xml", tmp_path / "backup.xml"
    domain.write_text(
        "<domain type='kvm'><name>g</name><devices>"
        + "".join(f"<disk type='file' device='disk'><source file='/v/{n}.qcow2'/>"
                  f"<target dev='vd{n}'/></disk>" for n in range(count))
        + "</devices></domain>"
    )
    listed = [n for n in range(count) if n % 2 == 0]
    backup.write_text(
        "<domainbackup><disks>"
        + "".join(f"<disk name='vd{n}' type='file'><target file='/b/{n}'/></disk>"
                  for n in listed)
        + "</disks></domainbackup>"
    )
    status, out, err, rss = run_measured(
        ["align", "--domain", str(domain), "--suffix", "s", str(backup)]
    )
    assert (status, err) == (0, ""), err
    assert out.count("<disk ") == count
    assert out.count("backup='no'") == count - len(listed)
    assert rss < MAX_RSS_BYTES

    twice = "<disk name='vd7'/>" * 2
    backup.write_text(f"<domainbackup><disks>{twice}</disks></domainbackup>")
    status, out, err, _ = run_measured(["align", "--domain", str(domain), str(backup)])
    assert status == 1 and err.endswith("disk 'vd7' specified twice\n"), err


def test_grammar_including_a_symlink_loop_or_a_fifo_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "loop.rng").symlink_to("loop.rng")
    os.mkfifo(tmp_path / "pipe.rng")
    # Python 3.11's pathlib says "Symlink loop", the kernel "Too many levels of symbolic links".
    for included, words in (("loop.rng", "link"), ("pipe.rng", "a FIFO, not a regular file")):
        grammar_file = tmp_path / f"uses-{included}"
        grammar_file.write_text(
            f'<grammar xmlns="{RNG}"><include href="{included}"/>'
            '<start><element name="a"><empty/></element></start></grammar>'
        )
        status, out, err, rss = run_measured(["reference", str(grammar_file)])
        assert status in (1, 2) and out == "" and "Traceback" not in err, err
        assert len(err.splitlines()) == 1 and words in err, err
        assert rss < MAX_RSS_BYTES


def reference_refusal(grammar_file: Path, *options: str) -> str:
    """The one located line of ``reference`` refusing ``grammar_file`` (exit 1), in bounded
    memory."""
    status, out, err, rss = run_measured(["reference", str(grammar_file), *options])
    assert status == 1 and out == "" and "Traceback" not in err, (status, out, err)
    assert len(err.splitlines()) == 1, err
    assert rss < MAX_RSS_BYTES, f"peak memory {rss / 2**20:.0f} MiB"
    return err.rstrip("\n")


def test_a_shared_group_copied_into_thousands_of_elements_is_refused(tmp_path: Path) -> None:
    # b0 is a group of 65,536 leaves made once (a 100 KB file); each element's content is a
    # copy of its items: half a megabyte per element, uncounted, used to grow past a gigabyte.
    levels = "".join(f'<define name="b{n}"><group><ref name="b{n + 1}"/><ref name="b{n + 1}"/>'
                     "</group></define>" for n in range(16))
    elements = "".join(f'<element name="e{n}"><ref name="b0"/></element>' for n in range(1000))
    grammar_file = tmp_path / "flat.rng"
    grammar_file.write_text(
        f'<grammar xmlns="{RNG}">\n<start><element name="x">{elements}</element></start>{levels}'
        '<define name="b16"><element name="leaf"><empty/></element></define></grammar>'
    )
    line = reference_refusal(grammar_file)
    assert line == f"{grammar_file}:1:1: the content model expands to more than 250000 nodes"


@pytest.mark.parametrize("reference", ["externalRef", "include"])
def test_nested_grammars_reading_the_next_file_twice_are_refused(
    reference: str, tmp_path: Path
) -> None:
    # 2**40 readings: a new grammar scope each time, so no cache serves them.
    for n in range(40):
        inner = (f'<grammar><start><externalRef href="f{n + 1}.rng"/></start></grammar>'
                 if reference == "externalRef"
                 else f'<grammar><include href="f{n + 1}.rng"/></grammar>')
        (tmp_path / f"f{n}.rng").write_text(
            f'<grammar xmlns="{RNG}"><start><element name="e{n}">{inner}{inner}</element></start>'
            "</grammar>"
        )
    (tmp_path / "f40.rng").write_text(f'<grammar xmlns="{RNG}"><start><text/></start></grammar>')
    line = reference_refusal(tmp_path / "f0.rng", "--format", "json")
    assert line.startswith(str(tmp_path / "f")), line
    assert line.endswith(": the grammar's files are read more than 16 times over "
                         "(nested grammars that reference the same files)"), line


@pytest.mark.parametrize("options", [(), ("--format", "json", "--by", "definition")])
def test_a_name_that_would_forge_an_output_line_is_refused(
    options: tuple[str, ...], tmp_path: Path
) -> None:
    grammar_file = tmp_path / "names.rng"
    grammar_file.write_text(
        f'<grammar xmlns="{RNG}"><start><element name="x&#10;element forged  text">'
        '<attribute name="&#155;31mred&#8238;"/><element name=""><text/></element>'
        "</element></start></grammar>"
    )
    line = reference_refusal(grammar_file, *options)
    assert line == (f"{grammar_file}:1:61: 'x\\nelement forged  text' is not a valid name: "
                    "an XML NCName, with or without a prefix and a colon before it")


def test_non_ascii_name_under_an_ascii_locale_is_escaped(tmp_path: Path) -> None:
    document = tmp_path / "été.xml"  # printable, but not in ASCII
    document.write_bytes(b"")
    env = {**os.environ, "LC_ALL": "C", "PYTHONIOENCODING": "ascii"}
    result = subprocess.run([sys.executable, "-m", "gueststate", "validate", str(document)],
                            capture_output=True, timeout=60, env=env)
    assert result.returncode == 1 and result.stderr == b""
    assert result.stdout == f"{tmp_path}/\\xe9t\\xe9.xml:1:1: document is empty\n".encode()


# --- the site: a special file shown with xml-example fails the build in one located line ---


@pytest.mark.parametrize("kind", ["fifo", "symlink-loop", "directory"])
def test_special_example_file_fails_the_build_with_one_warning(kind: str, tmp_path: Path) -> None:
    from test_trust_hostile_build import ROOT as HOSTILE_ROOT
    from test_trust_hostile_build import build

    srcdir = tmp_path / "src"
    shutil.copytree(HOSTILE_ROOT, srcdir)
    (srcdir / "examples").mkdir()
    example = srcdir / "examples" / "hostile.xml"
    if kind == "fifo":
        os.mkfifo(example)
    elif kind == "symlink-loop":
        example.symlink_to(example.name)
    else:
        example.mkdir()

    located = one_located_warning(*build(srcdir, tmp_path / "out"))
    assert Path(located["path"]) == srcdir / "index.rst", located[0]
    assert "examples/hostile.xml" in located["msg"] and "cannot be read" in located["msg"]


@pytest.mark.parametrize("loop", ["included", "grammar"])
def test_grammar_on_a_symlink_loop_fails_the_build_with_one_located_warning(
    loop: str, tmp_path: Path
) -> None:
    from test_trust_hostile_build import build

    srcdir = tmp_path / "src"
    srcdir.mkdir()
    (srcdir / "conf.py").write_text('extensions = ["gueststate.sphinxext"]\n')
    (srcdir / "index.rst").write_text("Test\n====\n\n.. rng-reference:: grammar.rng\n")
    (srcdir / "l1.rng").symlink_to("l2.rng")
    (srcdir / "l2.rng").symlink_to("l1.rng")
    if loop == "included":
        (srcdir / "grammar.rng").write_text(
            f'<grammar xmlns="{RNG}">\n<include href="l1.rng"/>'
            '<start><element name="x"><empty/></element></start></grammar>'
        )
    else:
        (srcdir / "grammar.rng").symlink_to("l1.rng")

    located = one_located_warning(*build(srcdir, tmp_path / "out"))
    if loop == "included":
        assert (located["path"], located["line"]) == (str(srcdir / "grammar.rng"), "2")
        assert located["msg"] == (f"cannot read grammar: cannot read '{srcdir / 'l1.rng'}': "
                                  "Too many levels of symbolic links [xml.grammar]")
    else:
        assert (located["path"], located["line"]) == (str(srcdir / "index.rst"), "4")
        assert located["msg"] == ("cannot open grammar grammar.rng: "
                                  "Too many levels of symbolic links [xml.missing_file]")


def test_validate_directory_of_any_depth_without_following_folder_links() -> None:
    # Outside pytest's tmp_path: its clean-up (shutil.rmtree) recurses and would fail on this.
    top = Path(tempfile.mkdtemp(prefix="gueststate-deep-"))
    folder = top
    try:
        for _ in range(1200):  # deeper than Python's recursion limit
            folder = folder / "d"
            folder.mkdir()
        (folder / "deep.xml").write_bytes(BACKUP)
        (top / "up.xml").symlink_to(".", target_is_directory=True)  # a loop, if followed
        result = subprocess.run(
            [sys.executable, "-m", "gueststate", "validate", "--format", "json", str(top)],
            capture_output=True, text=True, timeout=60,
        )
        assert (result.returncode, result.stderr) == (0, "")
        files = json.loads(result.stdout)["files"]
        assert [f["path"] for f in files] == [str(folder / "deep.xml")]
    finally:  # from the bottom up, without recursion
        (folder / "deep.xml").unlink(missing_ok=True)
        while folder != top:
            folder.rmdir()
            folder = folder.parent
        (top / "up.xml").unlink(missing_ok=True)
        top.rmdir()


def one_located_warning(status: int, output: str, warnings: str) -> re.Match[str]:
    """The single located warning of a ``sphinx-build -W`` that failed without crashing."""
    from test_trust_hostile_build import LOCATED_WARNING

    assert "Traceback" not in output and "Exception occurred" not in output, output
    assert status == 1, output
    lines = warnings.splitlines()
    assert len(lines) == 1, warnings
    located = LOCATED_WARNING.match(lines[0])
    assert located is not None, lines[0]
    return located
