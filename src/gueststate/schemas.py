"""Find the project's RELAX NG schemas, compile each once, detect formats and validate.

The embedded ``<domain>`` and ``<inactiveDomain>`` are open content in our schemas.  Given
libvirt's own schema directory, :func:`validate_tree` also checks them strictly against
libvirt's ``domain.rng`` and ``inactiveDomain.rng``.  Given a libvirt version, it judges the
document as that release's schemas would (see ``gueststate.releases``).
"""

from __future__ import annotations

import base64
import functools
import os
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree

from gueststate import scratch, xmlsafe
from gueststate.positions import Positions
from gueststate.problems import (
    GueststateError,
    Problem,
    position_of,
    printable,
    problem_at,
    shortened,
    unicode_path,
)

if TYPE_CHECKING:
    # Imported where a libvirt version is given: the CLI builds its parser from this module,
    # and `reference` or a plain `validate` should not pay for hashlib and the rest.
    from gueststate import releases

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


#: RELAX NG's namespace, whose ``include`` and ``externalRef`` name other files.
_RNG = "{http://relaxng.org/ns/structure/1.0}"
#: An ``href`` a grammar may use: a plain relative path below its own directory.
_SAFE_HREF = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*(?:/[A-Za-z0-9_][A-Za-z0-9._-]*)*")
#: Most files one grammar may pull in, and most times libxml2 may load them (it loads a file
#: again for each reference to it, so references that fan out cost exponential time).
MAX_GRAMMAR_FILES = 256
MAX_GRAMMAR_LOADS = 4096
#: Longest XSD pattern in a grammar not ours (libvirt's longest, an IPv6 address, has 931
#: characters): libxml2 compiles a pattern again for each value it checks, in time that grows
#: faster than its length (30,000 alternatives: 13 s a value).
MAX_PATTERN = 4096


class SchemaError(GueststateError):
    """A schema that is missing, unsafe or does not compile."""

    def __init__(self, message: str, path: object = "", line: int = 0, column: int = 0) -> None:
        super().__init__(Problem(str(path), line, column, message))

    def __str__(self) -> str:
        problem = self.problem
        if problem.line:
            return str(problem)
        message = printable(problem.message, backslashes=False)  # one line, whatever it quotes
        return f"{printable(problem.path)}: {message}" if problem.path else message


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
        """The JSON shape used by ``gueststate validate --format json``.

        A file name that is not UTF-8 is given with ``\\xNN`` escapes, and its bytes in
        base64 as ``path_bytes``, which tell it from a file whose name is spelt that way.
        """
        shown = unicode_path(self.path)
        named = {"path": shown} if shown == self.path else {
            "path": shown, "path_bytes": base64.b64encode(os.fsencode(self.path)).decode()}
        return {
            **named,
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
    """Compile a RELAX NG schema once per process, never letting libxml2 open a file itself.

    libxml2 would follow ``include`` and ``externalRef`` anywhere (``/etc/shadow``, a FIFO, a
    URL).  Instead every file of the grammar is read through :mod:`gueststate.xmlsafe`, its
    references must be plain relative paths below the grammar's directory, and libxml2
    compiles a private copy of exactly those files.  libxml2 has no bound on its work either:
    a grammar whose definitions fan out or nest thousands deep takes it minutes and gigabytes,
    or overflows its stack.  So a grammar from elsewhere than our schemas and the system's
    libvirt schemas is measured first, without expanding its content models (DocBook passes),
    and each of its XSD patterns is tried once.
    """
    files = _grammar_files(path)
    _MADE_FROM[path] = tuple(_stamp(path.parent / relative) for relative in files)
    with scratch.private("rng") as private:
        for relative, data in files.items():
            copy = Path(private, relative)
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(data)
        top = Path(private, path.name)
        if os.path.realpath(path.parent) not in _trusted_folders():
            _check_bounded(top, path)
            _check_patterns(files, path)
        try:
            return etree.RelaxNG(file=str(top))
        except etree.RelaxNGParseError as error:
            message = _named_as(str(error), top, path)
            raise SchemaError(f"schema does not compile: {message}", path) from None


@functools.cache
def _trusted_folders() -> frozenset[str]:
    """Folders whose grammars are known sound: ours, and the system's libvirt schemas (whose
    writer could change anything on the system).  Checking them would cost each process that
    compiles libvirt's domain grammar 0.08 s, a site build that embeds it included."""
    return frozenset(map(os.path.realpath, (schema_dir(), LIBVIRT_SCHEMA_DIR)))


def _check_bounded(copy: Path, path: Path) -> None:
    """Refuse the private ``copy`` of the grammar ``path`` where libxml2's work compiling it
    would pass the bounds of :mod:`gueststate.rng.bounds`."""
    from gueststate import rng  # the reader: only for grammars not ours

    try:
        rng.check_bounded(copy)
    except rng.GrammarError as error:
        problem = error.problem
        raise SchemaError(_named_as(problem.message, copy, path), _named_as(problem.path, copy,
                          path), problem.line, problem.column) from None


def _check_patterns(files: dict[str, bytes], path: Path) -> None:
    """Refuse a datatype parameter libxml2 would take out on documents: an XSD pattern that is
    too long or that libxml2 cannot compile, and a parameter it does not know or cannot use.

    libxml2 compiles a pattern only when a value meets it, and then blames the document for
    a pattern it cannot read.  So each pattern is tried here once, as ``P|.*``, on a value
    that ``.*`` takes: only a pattern that does not compile fails.  Likewise it accepts a
    grammar with a misspelt facet, a negative length or a name with spaces around it (which
    RELAX NG strips and libxml2 keeps), then refuses every value.
    """
    where: dict[str, tuple[Path, etree._Element, Positions]] = {}
    for relative, data in files.items():
        file, positions = path.parent / relative, Positions(data)
        for param in xmlsafe.parse_bytes(data, str(file)).iter(f"{_RNG}param"):
            fault = _param_fault(param)
            if fault is not None:
                raise _pattern_error(fault, file, param, positions)
            if param.get("name") == "pattern":  # its text whole, comments left out
                where.setdefault(xmlsafe.text_content(param), (file, param, positions))
    for pattern, place in where.items():
        if len(pattern) > MAX_PATTERN:
            raise _pattern_error(f"a pattern longer than {MAX_PATTERN} characters", *place)
    tried = list(where)
    if not tried:
        return
    rng = etree.Element(f"{_RNG}element", name="tried", nsmap={None: _RNG[1:-1]},
                        datatypeLibrary="http://www.w3.org/2001/XMLSchema-datatypes")
    values = etree.Element("tried")
    for index, pattern in enumerate(tried):
        data = etree.SubElement(etree.SubElement(rng, f"{_RNG}element", name=f"p{index}"),
                                f"{_RNG}data", type="string")
        etree.SubElement(data, f"{_RNG}param", name="pattern").text = f"{pattern}|.*"
        etree.SubElement(values, f"p{index}").text = "x"
    validator = etree.RelaxNG(rng)
    if validator.validate(values):
        return
    failed = re.search(r"/p(\d+)", validator.error_log[0].path or "")
    pattern = tried[int(failed.group(1))] if failed else tried[0]
    raise _pattern_error(f"invalid XSD pattern '{shortened(pattern)}'", *where[pattern])


#: The XSD facets RELAX NG allows as parameters, and the values of those that count.
_FACETS = {"length": 0, "minLength": 0, "maxLength": 0, "fractionDigits": 0,
           "totalDigits": 1, "pattern": None, "minInclusive": None, "maxInclusive": None,
           "minExclusive": None, "maxExclusive": None}
_XSD_TYPES = "http://www.w3.org/2001/XMLSchema-datatypes"


def _param_fault(param: etree._Element) -> str | None:
    """What libxml2 cannot use in one ``param``, or None."""
    name = param.get("name", "")
    library = next((str(above.get("datatypeLibrary")) for above in param.iterancestors()
                    if above.get("datatypeLibrary") is not None), "")
    if library != _XSD_TYPES:
        return None  # libxml2 itself refuses parameters of the other libraries
    if name.strip() != name:
        return (f"parameter name '{printable(name)}' has spaces around it, which libxml2 "
                f"keeps: write '{printable(name.strip())}'")
    if name not in _FACETS:
        return f"unknown XSD facet '{printable(shortened(name))}'"
    least = _FACETS[name]
    value = xmlsafe.text_content(param).strip()
    digits = value.removeprefix("+")
    if least is not None and not (digits.isascii() and digits.isdigit() and int(digits) >= least):
        kind = "a whole number" if least == 0 else "a whole number above 0"
        return f"facet '{name}' must be {kind}, not '{printable(shortened(value))}'"
    return None


def _pattern_error(
    message: str, file: Path, param: etree._Element, positions: Positions
) -> SchemaError:
    line, column = position_of(param, positions=positions)
    return SchemaError(message, file, line, column)


def _named_as(text: str, copy: Path, path: Path) -> str:
    """``text`` naming the grammar's own folder where it names the private copy's."""
    for folder in sorted({str(copy.parent), os.path.realpath(copy.parent)}, key=len,
                         reverse=True):  # /private/tmp/x before /tmp/x
        text = text.replace(folder + os.sep, f"{path.parent}{os.sep}")
    return text


#: The files each compiled grammar was read from, with their stamps then.
_MADE_FROM: dict[Path, tuple[tuple[Path, int, int], ...]] = {}


def _stamp(file: Path) -> tuple[Path, int, int]:
    """``(file, modification time, size)``; a file gone has the stamp of no file."""
    try:
        status = os.stat(file)
    except OSError:
        return file, -1, -1
    return file, status.st_mtime_ns, status.st_size


def forget_changed_grammars() -> None:
    """Forget what was compiled or read from grammar files changed since.

    For a process that builds again (Sphinx run in-process, as some sphinx-autobuild
    releases do): an edited grammar must judge the examples of the next build.
    """
    if all(_stamp(file) == (file, *stamp)
           for stamps in _MADE_FROM.values() for file, *stamp in stamps):
        return
    _MADE_FROM.clear()
    compiled.cache_clear()
    diagnosis = sys.modules.get("gueststate.diagnose")
    if diagnosis is not None:
        diagnosis.forget_grammars()


def _grammar_files(path: Path) -> dict[str, bytes]:
    """The bytes of ``path`` and of every file it references, by path relative to its folder."""
    base = path.parent
    files: dict[str, bytes] = {}
    references: dict[str, list[tuple[str, int]]] = {}
    pending = [(path.name, path, 0)]
    while pending:
        relative, including, line = pending.pop()
        if relative in files:
            continue
        if len(files) >= MAX_GRAMMAR_FILES:
            raise SchemaError(
                f"grammar uses more than {MAX_GRAMMAR_FILES} files", including, line
            )
        file = base / relative
        try:
            data = xmlsafe.read_bounded(file)
            root = xmlsafe.parse_bytes(data, str(file)).getroot()
        except OSError as error:
            what = "schema not found" if relative == path.name else f"cannot read {relative}"
            raise SchemaError(f"{what}: {error.strerror or error}",
                              path if relative == path.name else including, line) from None
        except xmlsafe.XMLParseError as error:
            raise SchemaError(error.problem.message, file, error.problem.line) from None
        files[relative] = data
        references[relative] = []
        folder = os.path.dirname(relative)
        for element in root.iter():
            if "{http://www.w3.org/XML/1998/namespace}base" in element.attrib:
                raise SchemaError("xml:base is not allowed in a grammar", file,
                                  element.sourceline or 0)
            if element.tag not in (f"{_RNG}include", f"{_RNG}externalRef"):
                continue
            href = (element.get("href") or "").strip()
            if not _SAFE_HREF.fullmatch(href):
                raise SchemaError(
                    f"href '{href}' is not a relative path below the grammar's folder",
                    file, element.sourceline or 0,
                )
            target = os.path.join(folder, href) if folder else href
            references[relative].append((target, element.sourceline or 0))
            pending.append((target, file, element.sourceline or 0))
    _check_loads(path.name, references, base)
    return files


def _check_loads(top: str, references: dict[str, list[tuple[str, int]]], base: Path) -> None:
    """Refuse references that loop, or that make libxml2 load files too many times."""
    loads: dict[str, int] = {}
    opening: list[str] = []

    def count(relative: str) -> int:
        if relative in loads:
            return loads[relative]
        opening.append(relative)
        total = 1
        for target, line in references[relative]:
            if target in opening:
                raise SchemaError(f"{target} includes itself (through {relative})",
                                  base / relative, line)
            total += count(target)
            if total > MAX_GRAMMAR_LOADS:
                raise SchemaError(
                    f"references fan out: libxml2 would load files more than "
                    f"{MAX_GRAMMAR_LOADS} times", base / relative, line,
                )
        opening.pop()
        loads[relative] = total
        return total

    count(top)


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
    if not isinstance(data, bytes):  # a str has lost the bytes its declaration speaks of
        raise TypeError(f"a document to validate is bytes, not {type(data).__name__}")
    try:
        tree = xmlsafe.parse_bytes(data, path)
    except xmlsafe.XMLParseError as error:
        return ValidationResult(path, schema, (error.problem,))
    return validate_tree(
        tree, path, schema, libvirt_schemas, source=data, libvirt_version=libvirt_version
    )


def check_libvirt_version(libvirt_version: str | None) -> None:
    """Raise :class:`ValueError` for a version that is not ``X.Y.Z`` (or ``X.Y``)."""
    if libvirt_version is not None and not isinstance(libvirt_version, str):
        raise TypeError(f"a libvirt version is a str such as '9.0.0', not "
                        f"{type(libvirt_version).__name__}")
    _release(libvirt_version)


def _release(libvirt_version: str | None) -> releases.Release | None:
    if libvirt_version is None:
        return None
    from gueststate import releases

    return releases.Release.parse(libvirt_version)


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
        problem = problem_at(
            path, root, f"unknown root element <{root.tag}>: expected one of {known}"
        )
        return ValidationResult(path, None, (replace(problem, line=line_of(root), column=1),))
    grammar = schema_path(name)
    if release is None:
        validator = compiled(grammar)
    else:
        from gueststate import releases

        validator = releases.compiled_for(grammar, release)
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
    if not later:
        return []
    positions = Positions(source) if source is not None else None
    problems = []
    for addition in later:
        element, attribute = _first_use(addition, root)
        problem = problem_at(
            path, element, f"{addition.describe()}: libvirt {addition.since} or newer",
            positions=positions, attribute=attribute,
        )
        problems.append(problem if problem.line else replace(problem, line=line_of(element)))
    return sorted(set(problems), key=lambda p: (p.line, p.column, p.message))


def _first_use(
    addition: releases.Addition, root: etree._Element
) -> tuple[etree._Element, str | None]:
    """The first element that uses ``addition``, and its attribute at fault, if any."""
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
            return element, None
        if addition.kind == "attribute" and addition.name in element.attrib and (
            addition.value is None or element.get(addition.name) == addition.value
        ):
            return element, addition.name
        if addition.kind == "value" and addition.owner is not None and (
            element.get(addition.owner) == addition.value
        ):
            return element, addition.owner
        if addition.kind == "absent" and element.tag == addition.owner and (
            element.find(str(addition.name)) is None
        ):
            return element, None
        if addition.kind not in ("element", "attribute") and element.tag == addition.owner:
            return element, None
    return root, None


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
            replace(p, message=f"embedded <{child.tag}>: {p.message}")
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
    positions = Positions(source) if source is not None else None
    seen: set[tuple[int, int, str]] = set()
    problems: list[Problem] = []
    for entry in log:
        message = _humanise(entry.message, entry.path)
        problem = Problem(path, entry.line, max(entry.column, 0), message)
        found = _find(top, entry.path) if entry.path else None
        if found and isinstance(found[0], etree._Element):
            # libxml2 often reports line 0 and no column; the node's own position is better
            at = problem_at(path, found[0], message, positions=positions)
            if problem.column or not at.column:
                at = replace(at, line=line_of(found[0]), column=problem.column)
            problem = at
        key = (problem.line, problem.column, message)
        if key in seen or problem.line <= 0:
            continue
        seen.add(key)
        problems.append(problem)
    return problems or [Problem(path, 1, 0, "document does not match the schema")]


def _diagnose(
    tree: etree._ElementTree, path: str, grammar: Path, source: bytes | None
) -> list[Problem]:
    # Imported on the first invalid document: the grammar reader behind it costs a valid-only
    # run a fifth of its start-up.
    from gueststate.diagnose import diagnose

    return diagnose(tree, path, grammar, source)


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
