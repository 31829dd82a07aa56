"""Find the project's RELAX NG schemas, compile each once, detect formats and validate.

The embedded ``<domain>`` and ``<inactiveDomain>`` are open content in our schemas.  Given
libvirt's own schema directory, :func:`validate_tree` also checks them strictly against
libvirt's ``domain.rng`` and ``inactiveDomain.rng``.  Given a libvirt version, it judges the
document as that release's schemas would (see ``gueststate.releases``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from gueststate import releases, xmlsafe
from gueststate.problems import Problem

#: Format name (the root element) → schema file name.
FORMATS: dict[str, str] = {
    "domainbackup": "domainbackup.rng",
    "domaincheckpoint": "domaincheckpoint.rng",
    "domainsnapshot": "domainsnapshot.rng",
}

#: Where Debian installs libvirt's schemas.
LIBVIRT_SCHEMA_DIR = Path("/usr/share/libvirt/schemas")

#: Embedded elements checked strictly, and the libvirt schema for each.
_STRICT_EMBEDDED = {"domain": "domain.rng", "inactiveDomain": "inactiveDomain.rng"}


class SchemaError(Exception):
    """A schema that is missing or does not compile."""


@dataclass(frozen=True)
class ValidationResult:
    """The verdict on one document."""

    path: str
    schema: str | None
    problems: tuple[Problem, ...]

    @property
    def valid(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, object]:
        """The JSON shape used by ``gueststate validate --format json``."""
        return {
            "path": self.path,
            "valid": self.valid,
            "schema": self.schema,
            "problems": [problem.as_dict() for problem in self.problems],
        }


@functools.cache
def schema_dir() -> Path:
    """The directory holding our schemas: inside an installed wheel, or the source tree."""
    packaged = Path(__file__).resolve().parent / "schemas"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "schemas"


@functools.cache
def schema_path(name: str) -> Path:
    """Path of the schema for format ``name`` (``domainbackup``, ...)."""
    try:
        return schema_dir() / FORMATS[name]
    except KeyError:
        known = ", ".join(FORMATS)
        raise SchemaError(f"unknown schema '{name}' (known: {known})") from None


@functools.cache
def compiled(path: Path) -> etree.RelaxNG:
    """Compile a RELAX NG schema once per process."""
    if not path.is_file():
        raise SchemaError(f"{path}: schema not found")
    try:
        return etree.RelaxNG(file=str(path))
    except etree.RelaxNGParseError as error:
        raise SchemaError(f"{path}: schema does not compile: {error}") from None


def detect_format(root: etree._Element) -> str | None:
    """The format of a document from its root element, or None."""
    tag = root.tag
    if isinstance(tag, str) and tag in FORMATS:
        return tag
    return None


def validate_file(
    path: str | Path, schema: str | None = None, libvirt_schemas: Path | None = None,
    *, libvirt_version: str | None = None,
) -> ValidationResult:
    """Read and validate one file; I/O errors propagate as :class:`OSError`."""
    return validate_bytes(
        xmlsafe.read_bounded(path), str(path), schema, libvirt_schemas,
        libvirt_version=libvirt_version,
    )


def validate_bytes(
    data: bytes, path: str = "<string>", schema: str | None = None,
    libvirt_schemas: Path | None = None, *, libvirt_version: str | None = None,
) -> ValidationResult:
    """Validate a document held in memory; ``path`` names it in problems."""
    check_libvirt_version(libvirt_version)  # the caller's error, whatever the data
    try:
        tree = xmlsafe.parse_bytes(data, path)
    except xmlsafe.XMLParseError as error:
        return ValidationResult(path, schema, (error.problem,))
    return validate_tree(
        tree, path, schema, libvirt_schemas, source=data, libvirt_version=libvirt_version
    )


def check_libvirt_version(libvirt_version: str | None) -> None:
    """Raise :class:`ValueError` for a version that is not ``X.Y.Z`` (or ``X.Y``)."""
    _release(libvirt_version)


def _release(libvirt_version: str | None) -> releases.Release | None:
    return None if libvirt_version is None else releases.Release.parse(libvirt_version)


def validate_tree(
    tree: etree._ElementTree, path: str, schema: str | None = None,
    libvirt_schemas: Path | None = None, source: bytes | None = None,
    *, libvirt_version: str | None = None,
) -> ValidationResult:
    """Validate a parsed document against ``schema`` (detected from the root when None).

    ``source``, the document's bytes, lets problems name a column as well as a line.
    ``libvirt_version`` (``X.Y.Z``) judges it by that release's schemas: what a later release
    added is refused, naming the release that added it.
    """
    release = _release(libvirt_version)
    root = tree.getroot()
    name = schema or detect_format(root)
    if name is None:
        known = ", ".join(f"<{n}>" for n in FORMATS)
        problem = Problem(
            path, line_of(root), 1,
            f"unknown root element <{root.tag}>: expected one of {known}",
        )
        return ValidationResult(path, None, (problem,))
    grammar = schema_path(name)
    validator = compiled(grammar) if release is None else releases.compiled_for(grammar, release)
    problems: list[Problem] = []
    if not validator.validate(tree):
        # libxml2 decides; the diagnosis only words the verdict better when it can.
        later = [] if release is None else releases.needed_additions(tree, grammar, release)
        problems.extend(
            _too_new(later, root, path, source)
            or _diagnose(tree, path, grammar, source)
            or _problems_from_log(validator.error_log, root, path, source)
        )
    if libvirt_schemas is not None:
        problems.extend(_strict_embedded(root, path, libvirt_schemas, source))
    return ValidationResult(path, name, tuple(problems))


def _too_new(
    later: list[releases.Addition], root: etree._Element, path: str, source: bytes | None
) -> list[Problem]:
    """One problem per construct the release lacks, at its first use in the document."""
    lines = source.decode("utf-8", "replace").splitlines() if source is not None else []
    problems = []
    for addition in later:
        element, needle = _first_use(addition, root)
        line = line_of(element)
        column = _column_of(lines, line, needle) if lines else 0
        problems.append(
            Problem(path, line, column, f"{addition.describe()}: libvirt {addition.since} or newer")
        )
    return sorted(set(problems), key=lambda p: (p.line, p.column, p.message))


def _first_use(addition: releases.Addition, root: etree._Element) -> tuple[etree._Element, str]:
    """The first element that uses ``addition``, and what to look for on its line."""
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if addition.context is not None:
            tag, attribute, value = addition.context
            around = element if addition.kind == "absent" else element.getparent()
            if around is None or around.tag != tag or around.get(attribute) != value:
                continue
        if addition.kind == "element" and element.tag == addition.name and (
            addition.value is None or element.get(str(addition.owner)) == addition.value
        ):
            return element, f"<{element.tag}"
        if addition.kind == "attribute" and addition.name in element.attrib and (
            addition.value is None or element.get(addition.name) == addition.value
        ):
            return element, f"{addition.name}="
        if addition.kind == "value" and addition.owner is not None and (
            element.get(addition.owner) == addition.value
        ):
            return element, f"{addition.owner}="
        if addition.kind == "absent" and element.tag == addition.owner and (
            element.find(str(addition.name)) is None
        ):
            return element, f"<{element.tag}"
        if addition.kind not in ("element", "attribute") and element.tag == addition.owner:
            return element, f"<{element.tag}"
    return root, f"<{root.tag}"


def _strict_embedded(
    root: etree._Element, path: str, libvirt_schemas: Path, source: bytes | None
) -> list[Problem]:
    problems: list[Problem] = []
    for child in root:
        if not isinstance(child.tag, str) or child.tag not in _STRICT_EMBEDDED:
            continue
        if root.tag == "domainsnapshot" and [c.tag for c in child] == ["uuid"]:
            continue  # the snapshot's uuid-only reference, which our schema checks itself
        grammar = libvirt_schemas / _STRICT_EMBEDDED[child.tag]
        if child.tag == "inactiveDomain" and not grammar.is_file():
            continue  # a release from before <inactiveDomain>: our grammar refuses it already
        problems.extend(
            Problem(p.path, p.line, p.column, f"embedded <{child.tag}>: {p.message}")
            for p in validate_element(grammar, child, path, source)
        )
    return problems


def validate_element(
    grammar: Path, element: etree._Element, path: str, source: bytes | None = None
) -> list[Problem]:
    """Problems of ``element`` against the schema ``grammar`` (none when it is valid).

    lxml validates an inner element as a document of its own, in place: lines are kept.
    """
    validator = compiled(grammar)
    if validator.validate(element):
        return []
    return _problems_from_log(validator.error_log, element, path, source)


def _problems_from_log(
    log: etree._ListErrorLog, top: etree._Element, path: str, source: bytes | None = None
) -> list[Problem]:
    """Problems from libxml2's log; ``top`` is the element that was validated as the root."""
    lines = source.decode("utf-8", "replace").splitlines() if source is not None else []
    seen: set[tuple[int, int, str]] = set()
    problems: list[Problem] = []
    for entry in log:
        message = _humanise(entry.message, entry.path)
        line, column = entry.line, max(entry.column, 0)
        if entry.path:  # libxml2 often reports line 0; the node's own line is better
            found = _find(top, entry.path)
            if found and isinstance(found[0], etree._Element):
                line = line_of(found[0])
                column = column or _column_of(lines, line, f"<{found[0].tag}")
        key = (line, column, message)
        if key in seen or line <= 0:
            continue
        seen.add(key)
        problems.append(Problem(path, line, column, message))
    return problems or [Problem(path, 1, 0, "document does not match the schema")]


def _diagnose(
    tree: etree._ElementTree, path: str, grammar: Path, source: bytes | None
) -> list[Problem]:
    # Imported on the first invalid document: the grammar reader behind it costs a valid-only
    # run a fifth of its start-up.
    from gueststate.diagnose import diagnose

    return diagnose(tree, path, grammar, source)


def _column_of(lines: list[str], line: int, needle: str) -> int:
    from gueststate.diagnose import column_of

    return column_of(lines, line, needle)


def _find(top: etree._Element, node_path: str) -> list[object] | None:
    """The nodes at libxml2's path, which starts at ``top`` as if it were the root."""
    head = f"/{top.tag}"
    if not node_path.startswith(head):
        return None
    try:
        found = top.xpath("." + node_path[len(head):]) if node_path != head else [top]
    except etree.XPathError:  # a prefix declared in the document, unknown to XPath here
        return None
    return found if isinstance(found, list) else None


def _humanise(message: str, node_path: str | None = None) -> str:
    """libxml2's RELAX NG messages, made a little plainer for people."""
    message = message.strip()
    if message.endswith("failed to validate content") and node_path:
        steps = [step.split("[")[0] for step in node_path.strip("/").split("/")]
        where = f" in <{steps[-2]}>" if len(steps) > 1 else ""
        return (
            f"<{steps[-1]}>{where} matches none of the forms the grammar allows here: "
            "check which attributes and children go together"
        )
    invalid = re.fullmatch(r"Invalid attribute (\S+) for element (\S+)", message)
    if invalid:
        attribute, element = invalid.groups()
        return (
            f"attribute '{attribute}' of <{element}> does not fit with the rest of the element: "
            "check which attributes and children go together"
        )
    replacements = {
        "Expecting element ": "expected element <",
        "Did not expect element ": "unexpected element <",
        "Element ": "element <",
    }
    for old, new in replacements.items():
        if message.startswith(old):
            rest = message[len(old):]
            name, _, tail = rest.partition(" ")
            message = f"{new}{name.rstrip(',')}>{',' if name.endswith(',') else ''} {tail}".strip()
            break
    return message


def line_of(element: etree._Element) -> int:
    """The element's line in its document (1 when lxml does not know it)."""
    line = element.sourceline
    return line if isinstance(line, int) and line > 0 else 1
