"""``gueststate reference``: the content model of a grammar on the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import pytest
from libvirt_schemas import libvirt_schema_dir

from gueststate.cli import main
from gueststate.rng import read_grammar

GRAMMAR = """<grammar xmlns="http://relaxng.org/ns/structure/1.0"
    xmlns:gs="urn:x-gueststate:annotations">
  <start>
    <element name="domainbackup">
      <optional><attribute name="mode"><choice><value>push</value><value>pull</value></choice>
      </attribute></optional>
      <zeroOrMore><element name="disk" gs:since="6.0.0"><attribute name="name"/></element>
      </zeroOrMore>
    </element>
  </start>
</grammar>
"""


@pytest.fixture
def grammar(tmp_path: Path) -> Path:
    path = tmp_path / "backup.rng"
    path.write_text(GRAMMAR, encoding="utf-8")
    return path


def test_json_is_the_tree(grammar: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reference", str(grammar), "--format", "json"]) == 0
    tree = json.loads(capsys.readouterr().out)
    assert (tree["kind"], tree["name"]) == ("element", "domainbackup")
    mode, disks = tree["children"]
    assert mode["kind"] == "optional"
    assert [value["value"] for value in mode["children"][0]["children"][0]["children"]] == [
        "push", "pull"]
    assert disks["kind"] == "zeroOrMore"
    assert disks["children"][0]["since"] == "6.0.0"


#: Every field of a node, with text JSON must escape: quotes, backslashes, controls, non-ASCII.
EVERY_FIELD = """<grammar xmlns="http://relaxng.org/ns/structure/1.0"
    xmlns:a="http://relaxng.org/ns/compatibility/annotations/1.0"
    xmlns:x="urn:x" datatypeLibrary="http://www.w3.org/2001/XMLSchema-datatypes">
  <start><element name="r"><ref name="shared"/><element name="again"><ref name="shared"/>
    </element><ref name="r"/></element></start>
  <define name="r"><element name="r2"><zeroOrMore><ref name="r"/></zeroOrMore></element></define>
  <define name="shared">
    <a:documentation>Caf\u00e9 "quoted" \\ back\u2028slash\ttab</a:documentation>
    <optional><attribute name="x:mode" a:defaultValue="p&#x7f;ush"><choice>
      <value type="string">\u00e9t\u00e9</value><value>pull</value></choice></attribute></optional>
    <element><anyName><except><name>secret</name></except></anyName><text/></element>
    <element name="d"><data type="string"><param name="pattern">[a-z]+"\\d</param>
      <except><value>no</value></except></data></element>
  </define>
</grammar>
"""


@pytest.mark.parametrize("source", ["every field", "our schemas", "libvirt domain.rng"])
def test_json_is_json_dumps_of_the_tree(
    source: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The output is written without building a dictionary; it must be the very text
    json.dumps makes of :meth:`Node.to_dict`, byte for byte."""
    if source == "every field":
        grammars = [tmp_path / "all.rng"]
        grammars[0].write_text(EVERY_FIELD, encoding="utf-8")
    elif source == "our schemas":
        grammars = sorted((Path(__file__).resolve().parents[1] / "schemas").glob("domain*.rng"))
    else:
        grammars = [libvirt_schema_dir() / "domain.rng"]
    for path in grammars:
        start = read_grammar(path).start
        assert main(["reference", str(path), "--format", "json"]) == 0
        expected = json.dumps(start.to_dict(), separators=(",", ":")) + "\n"
        assert capsys.readouterr().out == expected
        assert start.to_json() == expected[:-1]


def test_text_is_an_outline(grammar: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reference", str(grammar)]) == 0
    assert capsys.readouterr().out == (
        "element domainbackup\n"
        '  attribute mode?: "push" | "pull"\n'
        "  element disk*  [since 6.0.0]\n"
        "    attribute name: text\n"
    )


def test_a_bad_grammar_is_one_located_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.rng"
    path.write_text(GRAMMAR.replace('<attribute name="name"/>', '<ref name="diskName"/>'))
    assert main(["reference", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"{path}:7:57: reference to undefined pattern 'diskName'\n"


def test_a_missing_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reference", str(tmp_path / "absent.rng")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "absent.rng" in err and "No such file" in err


def test_json_by_definition_names_children_by_key(
    grammar: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reference", str(grammar), "--by", "definition", "--format", "json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["roots"] == ["domainbackup"]
    backup, disk = found["elements"]
    assert (backup["key"], disk["key"], disk["parents"]) == ("domainbackup", "disk",
                                                             ["domainbackup"])
    disks = backup["content"][1]
    assert disks["kind"] == "zeroOrMore"
    assert disks["children"] == [{"kind": "ref", "name": "disk", "target": "disk"}]
    assert disk["since"] == "6.0.0"


def test_text_by_definition_is_one_outline_per_element(
    grammar: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reference", str(grammar), "--by", "definition"]) == 0
    assert capsys.readouterr().out == (
        "element domainbackup (in root)\n"
        '  attribute mode?: "push" | "pull"\n'
        "  zero or more\n"
        "    element <disk>\n"
        "element disk (in domainbackup)  [since 6.0.0]\n"
        "  attribute name: text\n"
    )


def test_text_names_the_forms_of_a_choice_as_the_pages_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "disk.rng"
    path.write_text(
        '<element name="disk" xmlns="http://relaxng.org/ns/structure/1.0"><choice>'
        '<group><attribute name="type"><value>file</value></attribute>'
        '<attribute name="path"/></group>'
        '<group><attribute name="type"><value>network</value></attribute>'
        '<element name="host"><text/></element></group>'
        "</choice></element>")
    assert main(["reference", str(path)]) == 0
    assert capsys.readouterr().out == (
        "element disk\n"
        "  choice of\n"
        '    form type="file"\n'
        "      group (in this order)\n"
        '        attribute type: "file"\n'
        "        attribute path: text\n"
        '    form type="network"\n'
        "      group (in this order)\n"
        '        attribute type: "network"\n'
        "        element host: text\n"
    )


def test_every_field_has_its_documented_key_and_place() -> None:
    """The JSON keys and their order, spelt out: to_dict and to_json share one list of
    fields, so only a text written here catches a key renamed or moved there."""
    from gueststate.rng.model import Node

    node = Node("element", name="disk", namespace="urn:x", prefix="x",
                documentation="A disk.", since="1.0.0", children=[
                    Node("attribute", name="size", default="1", children=[Node(
                        "data", datatype="unsignedInt", datatype_library="urn:types",
                        params={"pattern": "[0-9]+"}, except_=Node("value", value="0"))]),
                    Node("attribute", name="*", name_except="id"),
                    Node("ref", target="disk"),
                ])
    expected = (
        '{"kind":"element","name":"disk","namespace":"urn:x","prefix":"x",'
        '"documentation":"A disk.","since":"1.0.0","children":['
        '{"kind":"attribute","name":"size","default":"1","children":['
        '{"kind":"data","datatype":"unsignedInt","datatypeLibrary":"urn:types",'
        '"params":{"pattern":"[0-9]+"},"except":{"kind":"value","value":"0"}}]},'
        '{"kind":"attribute","name":"*","nameExcept":"id"},'
        '{"kind":"ref","target":"disk"}]}'
    )
    assert node.to_json() == expected
    assert json.dumps(node.to_dict(), separators=(",", ":")) == expected


@pytest.mark.parametrize("by", ["path", "definition"])
def test_grammar_nesting_past_pythons_stack_is_one_located_line(by: str, tmp_path: Path) -> None:
    """40 files, each nesting 120 elements then the next file: deeper than Python recurses."""
    rng = "http://relaxng.org/ns/structure/1.0"
    for index in range(40):
        inner = (f'<externalRef href="f{index + 1}.rng"/>' if index < 39 else "<empty/>")
        nested = "".join(f'<element name="e{depth}">' for depth in range(120))
        (tmp_path / f"f{index}.rng").write_text(
            f'<element xmlns="{rng}" name="r{index}">{nested}{inner}'
            + "</element>" * 121)
    result = subprocess.run(
        [sys.executable, "-m", "gueststate", "reference", "--by", by, str(tmp_path / "f0.rng")],
        capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (1, "")
    # Located at the externalRef where the nesting passes the bound.
    assert result.stderr.startswith(f"{tmp_path / 'f11.rng'}:1:2475: patterns nest too deeply "
                                    "to read: more than 1500 levels"), result.stderr
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("by", ["path", "definition"])
def test_running_out_of_memory_is_one_line(
    by: str, grammar: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def exhausted(path: object) -> NoReturn:
        raise MemoryError

    monkeypatch.setattr("gueststate.rng.read_grammar", exhausted)
    monkeypatch.setattr("gueststate.rng.definitions.read_definitions", exhausted)
    assert main(["reference", "--by", by, str(grammar)]) == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == (
        "", f"gueststate: {grammar}: not enough memory to read the grammar\n")
