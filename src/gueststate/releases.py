"""Our schemas as a given libvirt release had them, derived from their ``gs:since`` annotations.

Each pattern a later release added carries ``gs:since="X.Y.Z"``.  For release R, every pattern
whose ``since`` is newer than R is pruned from a copy of the schema files and the copy is
compiled by libxml2, which still decides validity.  Pruning means "this did not exist yet":

* an ``optional`` or ``zeroOrMore`` becomes ``empty`` (the release allowed none of it);
* a branch of a ``choice`` is dropped;
* anything else (element, attribute, value, group...) takes with it the pattern that needs it,
  up to the enclosing ``define``, which becomes ``notAllowed``.

When a document fails for a release but passes for a later one, :func:`needed_additions` names
the additions it relies on, so the verdict can say "fdgroup: libvirt 11.3.0 or newer".
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from gueststate import scratch, xmlsafe
from gueststate.problems import printable

RELAX_NG = "http://relaxng.org/ns/structure/1.0"
SINCE = "{urn:x-gueststate:annotations}since"
ANNOTATIONS = "http://relaxng.org/ns/compatibility/annotations/1.0"

#: Patterns that may match nothing: pruning empties them instead of forbidding them.
_EMPTIED_WHEN_PRUNED = frozenset({"optional", "zeroOrMore"})

_VERSION = re.compile(r"(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})(?:\.(0|[1-9][0-9]{0,3}))?")


class ReleaseError(ValueError):
    """A libvirt version that cannot be read, or a schema whose annotations cannot be."""


@dataclass(frozen=True, order=True)
class Release:
    """A libvirt release number, compared numerically (9.10.0 comes after 9.9.0)."""

    major: int
    minor: int
    micro: int = 0

    @classmethod
    def parse(cls, text: str) -> Release:
        found = _VERSION.fullmatch(text.strip())
        if found is None:
            raise ReleaseError(
                f"'{printable(text)}' is not a libvirt version (expected X.Y.Z, e.g. 9.0.0)")
        major, minor, micro = found.groups()
        return cls(int(major), int(minor), int(micro or 0))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.micro}"


@dataclass(frozen=True)
class Addition:
    """One annotated pattern: where it is, what it is and the release that added it.

    ``key`` is the schema file's name and the pattern's position among the annotated
    patterns of that file, in document order.
    """

    key: tuple[str, int]
    since: Release
    kind: str
    name: str | None
    value: str | None
    owner: str | None  # the attribute or element a value or group belongs to
    within: frozenset[tuple[str, int]]  # keys of the annotated patterns around this one
    documentation: str | None = None
    #: The element around it, told apart by a fixed attribute: ("source", "protocol", "http").
    context: tuple[str, str, str] | None = None

    def _in_context(self) -> str:
        return "" if self.context is None else " in " + _shown(self.context)

    def describe(self) -> str:
        """How a reader recognises it: ``fdgroup``, ``<revertDisks>``, ``format='luks-any'``."""
        if self.kind == "element":
            shown = f"<{self.name}>"
            if self.value:
                shown = f"{shown[:-1]} {self.owner}='{self.value}'>"
            return shown + self._in_context()
        if self.kind == "attribute":
            shown = f"{self.name}='{self.value}'" if self.value else str(self.name)
            return shown + self._in_context()
        if self.kind == "absent":
            around = _shown(self.context) if self.context else f"<{self.owner}>"
            return f"{around} without <{self.name}>"
        if self.kind == "value":
            return f"{self.owner}='{self.value}'" if self.owner else repr(self.value)
        if self.owner and self.documentation:
            words = self.documentation.rstrip(".")
            return f"<{self.owner}> ({words[:1].lower()}{words[1:]})"
        return f"this form of <{self.owner}>" if self.owner else f"<{self.kind}>"


def _shown(context: tuple[str, str, str]) -> str:
    element, attribute, value = context
    return f"<{element} {attribute}='{value}'>"


def _context(pattern: etree._Element) -> tuple[str, str, str] | None:
    """The element pattern around ``pattern``, if a fixed attribute tells it apart."""
    element = next(pattern.iterancestors(f"{{{RELAX_NG}}}element"), None)
    if element is None or not element.get("name"):
        return None
    fixed = _first_fixed_attribute(element, within=element)
    if fixed is None:
        return None
    return str(element.get("name")), str(fixed.get("name")), str(_single_value(fixed))


def _local(element: etree._Element) -> str:
    return str(etree.QName(element).localname)


def _single_value(pattern: etree._Element) -> str | None:
    values = [v for v in pattern.iter(f"{{{RELAX_NG}}}value")]
    return (values[0].text or "") if len(values) == 1 else None


def _first_fixed_attribute(
    pattern: etree._Element, within: etree._Element | None = None
) -> etree._Element | None:
    """The first attribute with one possible value.

    With ``within``, an attribute that element always has: not optional, not one branch of a
    choice, not on an element below it.
    """
    for attribute in pattern.iter(f"{{{RELAX_NG}}}attribute"):
        if within is not None:
            path = []
            for ancestor in attribute.iterancestors():
                if ancestor is within:
                    break
                path.append(_local(ancestor))
            if set(path) - {"group", "interleave"}:
                continue
        if attribute.get("name") and _single_value(attribute) is not None:
            return attribute
    return None


def _held(pattern: etree._Element) -> etree._Element | None:
    """The element or attribute a wrapper holds first, through a ``ref`` to the same file."""
    for child in _patterns(pattern):
        kind = _local(child)
        if kind in ("element", "attribute") and child.get("name"):
            return child
        if kind == "ref":
            defines = pattern.getroottree().getroot().findall(f"{{{RELAX_NG}}}define")
            target = next((d for d in defines if d.get("name") == child.get("name")), None)
            return None if target is None else _held(target)
        return _held(child)
    return None


def _describe(
    key: tuple[str, int], pattern: etree._Element, since: Release,
    within: frozenset[tuple[str, int]],
) -> Addition:
    kind = _local(pattern)
    name = pattern.get("name")
    value: str | None = None
    owner: str | None = None
    context: tuple[str, str, str] | None = None
    if kind == "attribute":
        value = _single_value(pattern)
    elif kind == "element":
        # An element told apart by a fixed attribute, such as <source protocol='nfs'>.
        fixed = _first_fixed_attribute(pattern, within=pattern)
        if fixed is not None:
            owner, value = fixed.get("name"), _single_value(fixed)
    elif kind != "value" and (fixed := _first_fixed_attribute(pattern)) is not None:
        # A form told apart by a fixed attribute, such as type='vhostvdpa': named like one.
        kind, name, value = "attribute", fixed.get("name"), _single_value(fixed)
    elif kind in _EMPTIED_WHEN_PRUNED and (held := _held(pattern)) is not None:
        # An optional <auth> or <slices>, say: named by what it holds.
        kind, name, context = _local(held), held.get("name"), _context(pattern)
    elif kind == "empty" and (held := _held_beside(pattern)) is not None:
        # <empty/> beside <identity> in a choice: the element became optional.
        kind, name, owner = "absent", held.get("name"), _owner(pattern)
        context = _context(pattern)
    else:
        value = pattern.text if kind == "value" else None
        owner = _owner(pattern)
    documentation = pattern.findtext(f"{{{ANNOTATIONS}}}documentation")
    return Addition(key, since, kind, name, value, owner, within, documentation, context)


def _owner(pattern: etree._Element) -> str | None:
    """The name of the attribute or element that ``pattern`` is part of."""
    for ancestor in pattern.iterancestors():
        if _local(ancestor) in ("attribute", "element") and ancestor.get("name"):
            return str(ancestor.get("name"))
    return None


def _held_beside(pattern: etree._Element) -> etree._Element | None:
    """For a choice branch, the element the other branch holds."""
    parent = pattern.getparent()
    if parent is None or _local(parent) != "choice":
        return None
    others = [p for p in _patterns(parent) if p is not pattern]
    if len(others) != 1:
        return None
    if _local(others[0]) == "element":
        return others[0]
    held = _held(others[0])
    return held if held is not None and _local(held) == "element" else None


def _annotated(tree: etree._ElementTree) -> list[etree._Element]:
    return [e for e in tree.iter() if isinstance(e.tag, str) and e.get(SINCE) is not None]


@functools.cache
def additions(schema_dir: Path) -> tuple[Addition, ...]:
    """Every annotated pattern of the ``*.rng`` files in ``schema_dir``."""
    found: list[Addition] = []
    for path in sorted(schema_dir.glob("*.rng")):
        annotated = _annotated(xmlsafe.parse_file(path))
        keys = {pattern: (path.name, index) for index, pattern in enumerate(annotated)}
        for index, pattern in enumerate(annotated):
            within = frozenset(keys[a] for a in pattern.iterancestors() if a in keys)
            text = str(pattern.get(SINCE))
            try:
                since = Release.parse(text)
            except ReleaseError:
                raise ReleaseError(
                    f"{path}:{pattern.sourceline}: gs:since='{text}' is not a version"
                ) from None
            found.append(_describe((path.name, index), pattern, since, within))
    return tuple(found)


def _prune(pattern: etree._Element) -> None:
    """Remove ``pattern`` from the language, simplifying upwards as RELAX NG would.

    libxml2 refuses some grammars where ``notAllowed`` stays nested (inside ``zeroOrMore``, for
    one), so the simplification is done here: a choice loses the branch, an optional or
    repeated pattern becomes ``empty``, and a pattern that needs the pruned one (group,
    interleave, element, attribute...) is pruned in turn, up to its ``define``.
    """
    parent = pattern.getparent()
    if parent is None:
        raise ReleaseError("a schema's root cannot carry gs:since")
    kind = _local(parent)
    if _local(pattern) in _EMPTIED_WHEN_PRUNED:
        # ``empty`` is dropped where it changes nothing: libxml2 mishandles it in interleave.
        alone = len(_patterns(parent)) == 1 or kind not in ("group", "interleave")
        _replace(pattern, "empty" if alone else None)
        return
    if kind == "choice" and len(_patterns(parent)) > 1:
        _replace(pattern, None)
    elif kind in ("define", "start", "grammar"):
        _replace(pattern, "notAllowed")
    else:
        _prune(parent)


def _patterns(parent: etree._Element) -> list[etree._Element]:
    """Children that are patterns (not annotations)."""
    return [c for c in parent if isinstance(c.tag, str) and c.tag.startswith(f"{{{RELAX_NG}}}")]


def _replace(pattern: etree._Element, kind: str | None) -> None:
    parent = pattern.getparent()
    assert parent is not None
    if kind is None:
        previous = pattern.getprevious()
        if pattern.tail and previous is not None:
            previous.tail = (previous.tail or "") + pattern.tail
        parent.remove(pattern)
        return
    replacement = etree.Element(f"{{{RELAX_NG}}}{kind}")
    replacement.tail = pattern.tail
    parent.replace(pattern, replacement)


@functools.cache
def workspace() -> Path:
    """The temporary folder of the pruned copies, removed when the process that made it exits.

    Made before any fork (see below): forked workers share it, as they could not remove one of
    their own (a forked worker ends without running exit handlers).  One left by a command
    killed outright is removed later (see :mod:`gueststate.scratch`).
    """
    folder = scratch.made("releases")
    atexit.register(scratch.remove, folder)
    return folder


os.register_at_fork(before=workspace)


@functools.lru_cache(maxsize=256)
def compiled_without(grammar: Path, removed: frozenset[tuple[str, int]]) -> etree.RelaxNG:
    """``grammar`` compiled with the annotated patterns ``removed`` pruned.

    Even with nothing pruned, libxml2 compiles a copy written here from the hardened reader's
    trees: it never opens a grammar file of its own accord.
    """
    # One folder per set of pruned patterns: a set evicted from the cache reuses its folder.
    label = ",".join(f"{file}:{index}" for file, index in sorted(removed))
    target = workspace() / hashlib.sha256(f"{grammar.parent}|{label}".encode()).hexdigest()[:24]
    if not target.is_dir():
        # Written aside and renamed whole: workers sharing the folder never read a half copy.
        staging = Path(tempfile.mkdtemp(dir=workspace()))
        for path in sorted(grammar.parent.glob("*.rng")):
            tree = xmlsafe.parse_file(path)
            annotated = _annotated(tree)
            root = tree.getroot()
            here = sorted(index for file, index in removed if file == path.name)
            for pattern in (annotated[index] for index in here):  # outer patterns first
                if any(a is root for a in pattern.iterancestors()):  # not gone with an outer one
                    _prune(pattern)
            tree.write(str(staging / path.name), encoding="UTF-8", xml_declaration=True)
        try:
            staging.rename(target)
        except OSError:  # another worker made the same copy first
            shutil.rmtree(staging, ignore_errors=True)
    return etree.RelaxNG(file=str(target / grammar.name))


def _newer_than(schema_dir: Path, release: Release) -> frozenset[tuple[str, int]]:
    return frozenset(a.key for a in additions(schema_dir) if a.since > release)


def compiled_for(grammar: Path, release: Release) -> etree.RelaxNG:
    """``grammar`` as libvirt ``release`` had it: everything added later pruned."""
    return compiled_without(grammar, _newer_than(grammar.parent, release))


def later_releases(schema_dir: Path, release: Release) -> list[Release]:
    """The releases after ``release`` that added something to these schemas, oldest first."""
    return sorted({a.since for a in additions(schema_dir) if a.since > release})


def needed_additions(
    tree: etree._ElementTree | etree._Element, grammar: Path, release: Release
) -> list[Addition]:
    """What ``tree``, refused by ``release``'s grammar, needs from a later release.

    Empty when no later release accepts it either (the document is wrong anyway).  Otherwise
    the additions, up to the first release that accepts it, without which it fails; an
    annotated pattern is named only when none of the annotated patterns inside it is.
    """
    schema_dir = grammar.parent
    accepting = next(
        (later for later in later_releases(schema_dir, release)
         if compiled_for(grammar, later).validate(tree)),
        None,
    )
    if accepting is None:
        return []
    pruned = _newer_than(schema_dir, accepting)
    candidates = [a for a in additions(schema_dir) if release < a.since <= accepting]
    needed = [
        a for a in candidates
        if not compiled_without(grammar, pruned | {a.key}).validate(tree)
    ]
    root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
    format_itself = [
        a for a in needed if a.kind == "element" and a.name == root.tag and not a.within
    ]
    return format_itself or _innermost(needed)


def _innermost(needed: Iterable[Addition]) -> list[Addition]:
    """Drop a pattern when a needed pattern inside it already says what is missing."""
    chosen = list(needed)
    around = {key for a in chosen for key in a.within}
    return [a for a in chosen if a.key not in around]
