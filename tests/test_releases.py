"""Validation for a given libvirt release: what a later release added is refused, by name."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gueststate import releases
from gueststate.schemas import schema_dir, schema_path, validate_bytes, validate_file

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

FD_PULL = b"""<domainbackup mode='pull'>
  <server transport='fd' fdgroup='backup'/>
  <disks>
    <disk name='vda' type='file'/>
  </disks>
</domainbackup>
"""


def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gueststate", *args],
        input=stdin.decode(), capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [("9.0.0", (9, 0, 0)), ("11.3", (11, 3, 0)), (" 12.9.0 ", (12, 9, 0))],
)
def test_release_numbers_are_read(text: str, expected: tuple[int, int, int]) -> None:
    assert releases.Release.parse(text) == releases.Release(*expected)


@pytest.mark.parametrize("text", ["", "9", "v9.0.0", "9.0.0.1", "9.x.0", "09.0.0", "9.0.0-rc1"])
def test_malformed_release_numbers_are_refused(text: str) -> None:
    with pytest.raises(releases.ReleaseError, match="not a libvirt version"):
        releases.Release.parse(text)


def test_releases_compare_by_number_not_by_text() -> None:
    assert releases.Release.parse("9.10.0") > releases.Release.parse("9.9.0")


def test_every_annotation_is_a_version_and_sits_on_a_pattern() -> None:
    found = releases.additions(schema_dir())
    assert len(found) >= 20
    kinds = {a.kind for a in found}
    assert kinds <= {"element", "attribute", "value", "group", "absent", "optional", "zeroOrMore",
                     "choice", "interleave", "empty"}, kinds


@pytest.mark.parametrize("version", ["11.3.0", "12.9.0", "99.0.0"])
def test_fd_transport_is_valid_from_11_3(version: str) -> None:
    assert validate_bytes(FD_PULL, "fd.xml", libvirt_version=version).valid


def test_fd_transport_before_11_3_names_each_construct_and_where_it_is() -> None:
    result = validate_bytes(FD_PULL, "fd.xml", libvirt_version="9.0.0")
    assert [str(p) for p in result.problems] == [
        "fd.xml:2:11: transport='fd': libvirt 11.3.0 or newer",
        "fd.xml:2:26: fdgroup: libvirt 11.3.0 or newer",
    ]


def test_a_release_before_the_format_existed_says_so_once() -> None:
    result = validate_bytes(FD_PULL, "fd.xml", libvirt_version="5.9.0")
    assert [p.message for p in result.problems] == ["<domainbackup>: libvirt 6.0.0 or newer"]


def test_a_document_wrong_in_every_release_gets_the_ordinary_diagnosis() -> None:
    wrong = FD_PULL.replace(b"<disks>", b"<disks bogus='1'>")
    result = validate_bytes(wrong, "fd.xml", libvirt_version="9.0.0")
    assert not result.valid
    assert not any("or newer" in p.message for p in result.problems), result.problems
    assert any("bogus" in p.message for p in result.problems), result.problems


def test_a_value_added_later_is_named_with_its_attribute() -> None:
    result = validate_file(EXAMPLES / "snapshot" / "manual.xml", libvirt_version="8.1.0")
    assert [p.message for p in result.problems] == ["snapshot='manual': libvirt 8.2.0 or newer"]
    assert validate_file(EXAMPLES / "snapshot" / "manual.xml", libvirt_version="8.2.0").valid


def test_several_releases_of_additions_are_all_named() -> None:
    result = validate_file(EXAMPLES / "snapshot" / "network-disks.xml", libvirt_version="8.0.0")
    messages = {p.message for p in result.problems}
    assert {"tlsHostname: libvirt 8.2.0 or newer", "delay: libvirt 9.2.0 or newer"} <= messages


def test_every_valid_example_stays_valid_for_the_newest_release() -> None:
    for path in sorted(EXAMPLES.glob("[!i]*/*.xml")):
        if path.parent.name == "domain":
            continue
        assert validate_file(path, libvirt_version="12.9.0").valid, path


def test_pruned_grammars_are_compiled_once_per_release() -> None:
    grammar = schema_path("domainbackup")
    first = releases.compiled_for(grammar, releases.Release(9, 0, 0))
    assert releases.compiled_for(grammar, releases.Release(9, 0, 0)) is first


def test_cli_option_refuses_later_constructs_with_exit_1(tmp_path: Path) -> None:
    document = tmp_path / "fd.xml"
    document.write_bytes(FD_PULL)
    older = run("validate", "--libvirt-version", "9.0.0", "--format", "json", str(document))
    assert older.returncode == 1, older.stderr
    (found,) = json.loads(older.stdout)["files"]
    assert found["valid"] is False
    assert found["problems"][1] == {"line": 2, "column": 26, "element": "/domainbackup/server",
                                    "message": "fdgroup: libvirt 11.3.0 or newer"}
    newer = run("validate", "--libvirt-version", "11.3.0", str(document))
    assert (newer.returncode, newer.stdout, newer.stderr) == (0, "", "")


def test_cli_option_reads_stdin_too() -> None:
    result = run("validate", "--libvirt-version", "9.0.0", "-", stdin=FD_PULL)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == "<stdin>:2:11: transport='fd': libvirt 11.3.0 or newer"


def test_cli_malformed_version_is_a_usage_error_in_one_line(tmp_path: Path) -> None:
    document = tmp_path / "fd.xml"
    document.write_bytes(FD_PULL)
    result = run("validate", "--libvirt-version", "eleven", str(document))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "gueststate: 'eleven' is not a libvirt version (expected X.Y.Z, e.g. 9.0.0)"]


def test_reference_pages_show_the_release_of_an_enumerated_value() -> None:
    from gueststate.rng import read_grammar
    from gueststate.sphinxext.render import describe_value

    model = read_grammar(schema_path("domainsnapshot"))
    shown = set()
    pending = [model.start]
    seen: set[int] = set()
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.kind == "attribute" and node.name == "format":
            shown.add("".join(part.astext() for part in describe_value(node)))
        pending.extend(node.children)
    assert "default | qcow | luks | luks2 (since 7.9.0) | luks-any (since 9.3.0)" in shown, shown
