"""Hostile and broken documents: one located line, the right exit code, nothing leaked.

Each case runs ``gueststate validate`` in its own process so that its peak memory can be read
from the kernel's accounting, and a local TCP listener notices any network connection.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from gueststate import schemas, xmlsafe

SECRET = "gueststate-secret-7f3a9c"
MAX_RSS_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[Path, int], bytes]  # (directory with the secret file, listener port) -> bytes
    expect: str  # a substring of the one-line message


def _doc(body: str) -> bytes:
    return body.encode()


CASES = [
    Case("external-entity-file", lambda d, p: _doc(
        f'<?xml version="1.0"?><!DOCTYPE domainbackup [<!ENTITY s SYSTEM "file://{d}/secret">]>'
        "<domainbackup><incremental>&s;</incremental></domainbackup>"), "entity"),
    Case("parameter-entity", lambda d, p: _doc(
        f'<?xml version="1.0"?><!DOCTYPE domainbackup [<!ENTITY % s SYSTEM "file://{d}/secret">'
        " %s;]><domainbackup/>"), "refused"),
    Case("billion-laughs", lambda d, p: _doc(
        '<?xml version="1.0"?><!DOCTYPE domainbackup [<!ENTITY a "aaaaaaaaaa">'
        + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
        + "]><domainbackup><incremental>&j;</incremental></domainbackup>"), "entity"),
    Case("external-dtd-network", lambda d, p: _doc(
        f'<?xml version="1.0"?><!DOCTYPE domainbackup SYSTEM "http://127.0.0.1:{p}/x.dtd">'
        "<domainbackup/>"), "refused"),
    Case("external-entity-network", lambda d, p: _doc(
        f'<?xml version="1.0"?><!DOCTYPE domainbackup [<!ENTITY n SYSTEM "http://127.0.0.1:{p}/n">]>'
        "<domainbackup><incremental>&n;</incremental></domainbackup>"), "entity"),
    Case("xinclude", lambda d, p: _doc(
        '<domainbackup xmlns:xi="http://www.w3.org/2001/XInclude">'
        f'<xi:include href="file://{d}/secret" parse="text"/></domainbackup>'), "include"),
    Case("malformed", lambda d, p: b"<domainbackup><disks></domainbackup>", "not well-formed"),
    Case("empty-file", lambda d, p: b"", "empty"),
    Case("binary-garbage", lambda d, p: bytes(range(256)) * 64, "not well-formed"),
    Case("deep-nesting", lambda d, p: b"<domainbackup>" + b"<a>" * 200_000 + b"</a>" * 200_000
         + b"</domainbackup>", "depth"),
    Case("huge-attribute", lambda d, p: b"<domainbackup mode='" + b"x" * (20 * 1024 * 1024)
         + b"'/>", "limit"),
    Case("wrong-encoding-declaration", lambda d, p: b'<?xml version="1.0" encoding="UTF-16"?>'
         b"<domainbackup/>", "not well-formed"),
    Case("unknown-root", lambda d, p: b"<domain type='kvm'><name>x</name></domain>",
         "unknown root element"),
    Case("foreign-namespace", lambda d, p: b"<domainbackup xmlns='urn:example:other'/>",
         "unknown root element"),
    Case("two-roots", lambda d, p: b"<domainbackup/><domainbackup/>", "not well-formed"),
    Case("crowded-element", lambda d, p: b"<domainbackup "
         + b" ".join(b"a%d=''" % index for index in range(20_000)) + b"/>", "attribute limit"),
    # libxml2 validates siblings in time growing with the square of their number.
    Case("crowded-children", lambda d, p: b"<domainbackup><disks>"
         + b"<disk name='vda'/>" * 40_000 + b"</disks></domainbackup>", "sibling limit"),
    Case("millions-of-elements", lambda d, p: b"<domainsnapshot><domain>"
         + (b"<b>" + b"<a/>" * 255 + b"</b>") * 1100 + b"</domain></domainsnapshot>",
         "element limit"),
    Case("millions-of-instructions", lambda d, p: b"<domainsnapshot><domain>"
         + b"<?a?>" * 1_100_000 + b"</domain></domainsnapshot>", "limit of tags"),
    # The message quotes the value: it is cut, and quoting it costs no time per character.
    Case("megabytes-quoted", lambda d, p: b"<domaincheckpoint><name>" + b"x/" * 3_000_000
         + b"</name></domaincheckpoint>", "(6000000 characters in all)"),
    Case("undefined-encoding", lambda d, p: b'<?xml version="1.0" encoding="undefined"?>'
         b"<domainbackup/>", "unsupported encoding"),
    Case("text-codec-encoding", lambda d, p: b'<?xml version="1.0" encoding="rot13"?>'
         b"<domainbackup/>", "unsupported encoding"),
]


# Runs the CLI and then records the peak memory of this process image.  VmHWM belongs to the
# address space that exec created; ru_maxrss would also count the forking pytest process.
_MEASURED = (
    "import re, sys\n"
    "from gueststate.cli import main\n"
    "status = main(sys.argv[2:])\n"
    "with open('/proc/self/status') as status_file:\n"
    "    peak = re.search(r'VmHWM:\\s+(\\d+) kB', status_file.read()).group(1)\n"
    "with open(sys.argv[1], 'w') as report:\n"
    "    report.write(peak)\n"
    "sys.exit(status)\n"
)


def run_measured(args: list[str]) -> tuple[int, str, str, int]:
    """Run the CLI; return exit status, stdout, stderr and its peak resident memory in bytes."""
    with tempfile.NamedTemporaryFile("r") as report:
        result = subprocess.run(
            [sys.executable, "-c", _MEASURED, report.name, *args],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
        )
        peak_kib = int(report.read())  # empty (ValueError) if the CLI never returned
    return result.returncode, result.stdout, result.stderr, peak_kib * 1024


def accepted_connection(server: socket.socket) -> bool:
    try:
        connection, _ = server.accept()
    except BlockingIOError:
        return False
    connection.close()
    return True


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_document(case: Case, tmp_path: Path, listener: socket.socket) -> None:
    (tmp_path / "secret").write_text(SECRET)
    document = tmp_path / f"{case.name}.xml"
    document.write_bytes(case.make(tmp_path, listener.getsockname()[1]))

    status, out, err, rss = run_measured(["validate", str(document)])

    assert status == 1, (out, err)
    assert err == ""
    lines = out.splitlines()
    assert len(lines) == 1, out
    assert len(lines[0]) < 1000 + len(str(document)) + 100, "a value quoted whole"
    assert lines[0].startswith(f"{document}:")
    assert case.expect in lines[0].lower(), lines[0]
    assert SECRET not in out
    assert not accepted_connection(listener), "the parser opened a network connection"
    assert rss < MAX_RSS_BYTES, f"peak memory {rss / 2**20:.0f} MiB"


def test_utf16_with_bom_is_read_as_text(tmp_path: Path) -> None:
    document = tmp_path / "utf16.xml"
    document.write_bytes(
        '<?xml version="1.0" encoding="UTF-16"?>\n<domaincheckpoint><name>nightly</name>'
        "</domaincheckpoint>".encode("utf-16")
    )
    assert document.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    status, out, err, _ = run_measured(["validate", str(document)])
    assert (status, out, err) == (0, "", "")


def test_missing_path_is_an_io_error(tmp_path: Path) -> None:
    status, out, err, _ = run_measured(["validate", str(tmp_path / "absent.xml")])
    assert status == 2 and out == ""
    assert err.startswith(f"gueststate: {tmp_path / 'absent.xml'}: cannot read")
    assert len(err.splitlines()) == 1


def test_unreadable_path_is_an_io_error(tmp_path: Path) -> None:
    # A path through a regular file cannot be opened, even by root.
    (tmp_path / "file").write_text("x")
    status, out, err, _ = run_measured(["validate", str(tmp_path / "file" / "doc.xml")])
    assert status == 2 and out == ""
    assert "cannot read" in err and "Traceback" not in err


@pytest.mark.parametrize(("crowds", "refused"), [
    ([xmlsafe.MAX_SIBLINGS], False),
    ([xmlsafe.MAX_SIBLINGS + 1], True),
    ([20_000, 20_000], False),  # a snapshot and its domain, 20,000 disks each
    ([20_000, 20_000, 20_000], True),  # the squares add up past the limit's
])
def test_crowded_elements_share_one_limit(crowds: list[int], refused: bool) -> None:
    data = b"<r>\n" + b"".join(b" <c>" + b"<a/>" * n + b"</c>\n" for n in crowds) + b"</r>"
    if not refused:
        xmlsafe.parse_bytes(data, "many.xml")
        return
    with pytest.raises(xmlsafe.XMLParseError) as raised:
        xmlsafe.parse_bytes(data, "many.xml")
    most = max(crowds)
    line = 2 + crowds.index(most)
    assert str(raised.value.problem) == (
        f"many.xml:{line}:2: element <c> has {most} child elements: more than the "
        f"{xmlsafe.MAX_SIBLINGS} sibling limit (less when several elements are crowded)")


@pytest.mark.parametrize(("data", "version", "said"), [
    ("<domainbackup/>", None, "a document to validate is bytes, not str"),
    (memoryview(b"<domainbackup/>"), None, "a document to validate is bytes, not memoryview"),
    (b"<domainbackup/>", 9, "a libvirt version is a str such as '9.0.0', not int"),
])
def test_the_library_names_the_type_it_wants(data: object, version: object, said: str) -> None:
    with pytest.raises(TypeError) as raised:
        schemas.validate_bytes(data, libvirt_version=version)  # type: ignore[arg-type]
    assert str(raised.value) == said
