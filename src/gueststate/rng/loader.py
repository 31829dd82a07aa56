"""Read a grammar's files into one pattern graph.

Every file is read and parsed by :mod:`gueststate.xmlsafe`, and all of them together are
bounded (:data:`MAX_GRAMMAR_BYTES`).  ``include`` (with overriding ``define`` and ``start``),
``div``, ``combine``, nested ``grammar`` with ``parentRef`` and ``externalRef`` are resolved
here, following sections 4.5 to 4.18 of the RELAX NG specification; ``ns`` and
``datatypeLibrary`` are inherited as it says.  Each ``grammar``
element is its own scope of names, so a define overridden in an outer grammar never leaks into
a nested one.
"""

from __future__ import annotations

import functools
import inspect
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast
from urllib.parse import unquote, urlsplit

from lxml import etree

from gueststate.rng.errors import GrammarError, fault
from gueststate.rng.model import NodeKind
from gueststate.rng.nesting import MAX_NESTING, TOO_DEEP
from gueststate.rng.patterns import (
    ANNOTATIONS_NS,
    GUESTSTATE_NS,
    RNG_NS,
    Define,
    NameClass,
    Pattern,
)
from gueststate.rng.recursion import check_recursion
from gueststate.rng.restrictions import check_restrictions
from gueststate.rng.syntax import check_syntax
from gueststate.xmlsafe import (
    MAX_DOCUMENT_BYTES,
    XMLParseError,
    parse_bytes,
    read_bounded,
    text_content,
)

_DOCUMENTATION = f"{{{ANNOTATIONS_NS}}}documentation"
_SINCE = f"{{{GUESTSTATE_NS}}}since"
_DEFAULT_VALUE = f"{{{ANNOTATIONS_NS}}}defaultValue"
_CONTAINERS = frozenset(
    ("group", "interleave", "choice", "optional", "zeroOrMore", "oneOrMore", "mixed", "list")
)
_LEAVES = frozenset(("text", "empty", "notAllowed"))
_NAME_CLASSES = frozenset(("name", "anyName", "nsName", "choice"))
_RNG_PREFIX = "{" + RNG_NS + "}"
_XML_NS = "http://www.w3.org/XML/1998/namespace"  # bound to "xml" without a declaration
_XML_BASE = f"{{{_XML_NS}}}base"
#: XML's white space (its S production): RELAX NG strips it, and only it, around names (4.2).
_XML_SPACE = " \t\r\n"
_NAME_START = ("A-Z_a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff"
               "\u200c\u200d\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf"
               "\ufdf0-\ufffd\U00010000-\U000effff")
#: An NCName: XML 1.0's Name (its NameStartChar and NameChar, fifth edition) without a colon.
#: Names are printed as they are, so a newline, a control or a bidi override is refused here.
_NCNAME = f"[{_NAME_START}][{_NAME_START}\\-.0-9\u00b7\u0300-\u036f\u203f\u2040]*"
#: The same for a name all in ASCII, nearly every name: compiled in a fraction of the time
#: the whole of Unicode takes (5 ms, at every start of the reader).
_ASCII_NCNAME = re.compile(r"[A-Z_a-z][A-Z_a-z\-.0-9]*")


def _is_ncname(name: str) -> bool:
    if name.isascii():
        return _ASCII_NCNAME.fullmatch(name) is not None
    return _unicode_ncname().fullmatch(name) is not None


@functools.cache
def _unicode_ncname() -> re.Pattern[str]:
    return re.compile(_NCNAME)

#: Patterns the loader may make per element of the files it has read.  Each ``grammar`` element
#: is a new scope, so a file included or referenced from several nested grammars is read again
#: for each: libvirt's domainsnapshot.rng reads domaincommon.rng three times.  Files that each
#: hold two grammars referencing the next file would be read 2**N times.
PATTERNS_PER_ELEMENT = 16
#: Bytes a grammar and every file it includes or references may hold together: as many as one
#: file may.  Reading takes up to some 20 bytes of memory per byte of grammar (a Sphinx build of
#: 8.8 MB of included values peaks at 270 MB, 26 MB ran out of 500 MB); the largest real
#: grammars are far smaller: libvirt's whole schema folder 0.45 MB, DocBook 5.0 0.5 MB, TEI's
#: tei_all 0.75 MB.
MAX_GRAMMAR_BYTES = MAX_DOCUMENT_BYTES


@dataclass(slots=True)
class _Context:
    """What a pattern element inherits: its file, ``ns`` and ``datatypeLibrary``."""

    file: str
    ns: str
    library: str


@dataclass(eq=False, slots=True)
class _Scope:
    """The names of one ``grammar`` element."""

    parent: _Scope | None
    defines: dict[str, Define] = field(default_factory=dict)
    start: Define = field(default_factory=lambda: Define("start"))


@dataclass(slots=True)
class _Component:
    """A ``start`` (``name`` None) or ``define`` element of a grammar, with its context."""

    name: str | None
    element: etree._Element
    context: _Context


@dataclass(slots=True)
class Loaded:
    """The start pattern of a grammar and every file read to get it."""

    start: Pattern
    files: tuple[str, ...]


def load(path: str | Path) -> Loaded:
    """Load the grammar at ``path``; raise :class:`GrammarError` or :class:`OSError`."""
    loader = _Loader()
    file = real_path(path)
    root = loader.document(file, None)
    loader.opening.append(file)
    start = loader.pattern(root, _Context(file, root.get("ns", ""), ""), None)
    check_recursion(start)
    check_syntax(loader.trees)
    check_restrictions(start)
    return Loaded(start, tuple(loader.trees))


def real_path(path: str | Path) -> str:
    """``path`` absolute, its links resolved.

    Not ``Path.resolve()``: before Python 3.13 it raises RuntimeError on a symlink loop, which
    no caller expects.  ``os.path.realpath`` (what it became) leaves the loop in the path, and
    opening the file fails with ELOOP, an OSError like any unreadable file's.
    """
    return os.path.realpath(path)


class _Loader:
    def __init__(self) -> None:
        self.trees: dict[str, etree._Element] = {}
        self.opening: list[str] = []
        # A file included or referenced from several places is read into components or a
        # pattern once per context, so fan-out (each file including the next twice) stays
        # linear instead of doubling at every level.
        self.included: dict[tuple[str, str, str], list[_Component]] = {}
        # Keyed by the scope itself, not its id: a nested grammar's scope is freed once read,
        # and a later scope at the same address would get a pattern whose parentRefs point at
        # the first one's defines.
        self.external: dict[tuple[str, str, str, _Scope | None], Pattern] = {}
        # Patterns made, and elements in the files read: see PATTERNS_PER_ELEMENT.
        self.made = 0
        self.elements = 0
        self.bytes = 0  # in the files read: see MAX_GRAMMAR_BYTES
        # Patterns and includes being read, one inside another, and the includes and
        # externalRefs among them, innermost last: see nesting.MAX_NESTING.
        self.depth = 0
        self.following: list[tuple[str, etree._Element]] = []

    # -- files ---------------------------------------------------------------------------

    def document(self, file: str, referrer: tuple[str, etree._Element] | None) -> etree._Element:
        """The root element of ``file``; ``referrer`` is the include or externalRef asking."""
        root = self.trees.get(file)
        if root is not None:
            return root
        try:
            data = read_bounded(file)
        except OSError as error:
            if referrer is None:
                raise
            where, element = referrer
            reason = error.strerror or str(error)
            raise fault(where, element, f"cannot read '{file}': {reason}") from None
        # Counted before parsing, which is where the memory goes.  The first file alone is
        # within the bound (or too large a document), so an include or externalRef passes it.
        self.bytes += len(data)
        if self.bytes > MAX_GRAMMAR_BYTES and referrer is not None:
            where, element = referrer
            raise fault(where, element, f"'{file}' takes the grammar's files past the "
                                        f"{MAX_GRAMMAR_BYTES} byte limit on all of them together")
        try:
            root = parse_bytes(data, file).getroot()
        except XMLParseError as error:
            raise GrammarError(error.problem) from None
        if etree.QName(root).namespace != RNG_NS:
            raise fault(file, root, f"<{root.tag}> is not a RELAX NG element")
        self.trees[file] = root
        self.elements += sum(1 for _ in root.iter(etree.Element))
        return root

    def referenced(
        self, element: etree._Element, context: _Context
    ) -> tuple[etree._Element, _Context]:
        """Open the file an ``include`` or ``externalRef`` points at, refusing loops."""
        href = element.get("href")
        if not href:
            raise fault(context.file, element, f"<{_local(element)}> needs an href")
        file = real_path(Path(context.file).parent / _relative_path(element, href, context))
        if file in self.opening:
            raise fault(context.file, element, f"'{href}' includes itself")
        root = self.document(file, (context.file, element))
        # ns carries over into the referenced document; datatypeLibrary does not (4.3, 4.6).
        return root, _Context(file, root.get("ns", context.ns), root.get("datatypeLibrary", ""))

    # -- grammars ------------------------------------------------------------------------

    def grammar(self, element: etree._Element, context: _Context, parent: _Scope | None) -> Define:
        """Build the scope of a ``grammar`` element; return its start."""
        scope = _Scope(parent)
        components = self.components(element, context)
        grouped: dict[str | None, list[_Component]] = {}
        for component in components:
            grouped.setdefault(component.name, []).append(component)
        if None not in grouped:
            raise fault(context.file, element, "grammar has no <start>")
        for name in grouped:
            if name is not None:
                scope.defines[name] = Define(name)
        for name, parts in grouped.items():
            define = scope.start if name is None else scope.defines[name]
            define.body = self.combined(parts, scope)
        return scope.start

    def components(self, element: etree._Element, context: _Context) -> list[_Component]:
        """The ``start`` and ``define`` elements of a grammar, ``div`` and ``include`` undone."""
        found: list[_Component] = []
        for child in _rng_children(element):
            kind = _local(child)
            inner = _inherit(child, context)
            if kind == "start":
                found.append(_Component(None, child, inner))
            elif kind == "define":
                name = child.get("name")
                if not name:
                    raise fault(context.file, child, "<define> needs a name")
                found.append(_Component(_ncname(child, name, context), child, inner))
            elif kind == "div":
                found.extend(self.components(child, inner))
            elif kind == "include":
                found.extend(self.include(child, inner))
            else:
                raise fault(context.file, child, f"<{kind}> is not allowed in a grammar")
        return found

    def include(self, element: etree._Element, context: _Context) -> list[_Component]:
        """The included grammar's components, with those the ``include`` overrides replaced."""
        root, inner = self.referenced(element, context)
        if _local(root) != "grammar":
            raise fault(inner.file, root, "an included file must be a <grammar>")
        key = (inner.file, inner.ns, inner.library)
        included = self.included.get(key)
        if included is None:
            self.opening.append(inner.file)
            self.enter(element, context)
            included = self.included[key] = _distinct(self.components(root, inner))
            self.leave(element)
            self.opening.pop()
        overrides = self.components(element, context)
        names = {component.name for component in overrides}
        present = {component.name for component in included}
        for component in overrides:
            if component.name not in present:
                what = "<start>" if component.name is None else f"define '{component.name}'"
                raise fault(
                    context.file, component.element, f"overrides {what}, absent from '{inner.file}'"
                )
        return _distinct([c for c in included if c.name not in names] + overrides)

    def combined(self, parts: list[_Component], scope: _Scope) -> Pattern:
        """One pattern from the ``define`` (or ``start``) elements sharing a name (4.17)."""
        plain = [part for part in parts if part.element.get("combine") is None]
        methods = {part.element.get("combine") for part in parts} - {None}
        label = "<start>" if parts[0].name is None else f"define '{parts[0].name}'"
        if len(plain) > 1:
            second = plain[1]
            raise fault(
                second.context.file, second.element, f"{label} is defined twice without combine"
            )
        for part in parts:
            method = part.element.get("combine")
            if method is not None and method not in ("choice", "interleave"):
                raise fault(part.context.file, part.element, f"unknown combine '{method}'")
        if len(methods) > 1:
            last = parts[-1]
            raise fault(
                last.context.file, last.element, f"{label} combines with both choice and interleave"
            )
        bodies = [self.body(part, scope) for part in parts]
        if len(bodies) == 1:
            return bodies[0]
        first = parts[0]
        return Pattern(methods.pop() or "choice", first.context.file, _line(first.element), bodies)

    def body(self, part: _Component, scope: _Scope) -> Pattern:
        """The pattern inside one ``define`` or ``start``, keeping the define's annotations."""
        children, documentation_elements = _children(part.element)
        pattern = self.group(part.element, children, part.context, scope)
        documentation, since = _annotations(part.element, documentation_elements)
        if pattern.documentation is None and pattern.since is None:
            pattern.documentation, pattern.since = documentation, since
        return pattern

    # -- patterns ------------------------------------------------------------------------

    def patterns(
        self, element: etree._Element, children: list[etree._Element], context: _Context,
        scope: _Scope | None,
    ) -> list[Pattern]:
        """The patterns of ``children`` (the RELAX NG children of ``element``), at least one."""
        if not children:
            raise fault(context.file, element, f"<{_local(element)}> needs a pattern inside")
        return [self.pattern(child, context, scope) for child in children]

    def group(
        self, element: etree._Element, children: list[etree._Element], context: _Context,
        scope: _Scope | None,
    ) -> Pattern:
        """The ``children`` of ``element`` as one pattern (a ``group`` when there are several)."""
        patterns = self.patterns(element, children, context, scope)
        if len(patterns) == 1:
            return patterns[0]
        return Pattern("group", context.file, _line(element), patterns)

    def enter(self, element: etree._Element, context: _Context) -> None:
        """Go one level deeper, into ``element`` (an include or externalRef: noted as such)."""
        self.depth += 1
        if _local(element) in ("include", "externalRef"):
            self.following.append((context.file, element))
        if self.depth > MAX_NESTING:
            where, at = self.following[-1] if self.following else (context.file, element)
            raise fault(where, at, TOO_DEEP)

    def leave(self, element: etree._Element) -> None:
        """Back out of ``element`` (not after an error: reading stops there)."""
        self.depth -= 1
        if self.following and self.following[-1][1] is element:
            self.following.pop()

    def pattern(self, element: etree._Element, context: _Context, scope: _Scope | None) -> Pattern:
        """One pattern element, with what it inherits in ``context``, one level deeper."""
        self.enter(element, context)
        made = self.read(element, context, scope)
        self.leave(element)
        return made

    def read(self, element: etree._Element, context: _Context, scope: _Scope | None) -> Pattern:
        """The pattern of ``element``: see :meth:`pattern`."""
        context = _inherit(element, context)
        self.made += 1
        if self.made > PATTERNS_PER_ELEMENT * self.elements:
            raise fault(context.file, element,
                        f"the grammar's files are read more than {PATTERNS_PER_ELEMENT} times "
                        "over (nested grammars that reference the same files)")
        tag = _local(element)
        kind = cast(NodeKind, tag)
        file, line = context.file, element.sourceline or 0
        # Its children are read once, for the patterns and the annotations alike: this runs
        # for every pattern of the grammar.
        children, documentation = _children(element)
        if kind in _CONTAINERS:
            if kind in ("group", "interleave", "choice"):
                inner = self.patterns(element, children, context, scope)
            else:
                inner = [self.group(element, children, context, scope)]
            pattern = Pattern(kind, file, line, inner)
        elif kind in ("element", "attribute"):
            pattern = self.named(element, children, context, scope)
        elif kind in _LEAVES:
            pattern = Pattern(kind, file, line)
        elif kind == "data":
            pattern = self.data(element, children, context, scope)
        elif kind == "value":
            pattern = _value(element, context)
        elif kind in ("ref", "parentRef"):
            pattern = self.ref(element, context, scope)
        elif tag == "externalRef":
            root, inner_context = self.referenced(element, context)
            key = (inner_context.file, inner_context.ns, inner_context.library, scope)
            shared = self.external.get(key)
            if shared is None:
                self.opening.append(inner_context.file)
                shared = self.external[key] = self.pattern(root, inner_context, scope)
                self.opening.pop()
            return shared
        elif tag == "grammar":
            start = self.grammar(element, context, scope)
            pattern = Pattern("ref", file, line, define=start)
        else:
            raise fault(file, element, f"<{tag}> is not a pattern")
        pattern.documentation, pattern.since = _annotations(element, documentation)
        return pattern

    def named(
        self, element: etree._Element, children: list[etree._Element], context: _Context,
        scope: _Scope | None,
    ) -> Pattern:
        """An ``element`` or ``attribute`` (its RELAX NG ``children`` given) with its name class
        and content."""
        kind = cast(NodeKind, _local(element))
        name = element.get("name")
        if name is not None:
            # Attributes are in no namespace unless they say so themselves (4.8).
            default_ns = context.ns if kind == "element" else element.get("ns", "")
            name_class = _qname(element, name, default_ns, context)
        elif children:
            name_class = self.name_class(children[0], context)
            children = children[1:]
        else:
            raise fault(context.file, element, f"<{kind}> needs a name")
        content = [self.pattern(child, context, scope) for child in children]
        if not content:
            if kind == "element":
                raise fault(context.file, element, "<element> needs a pattern inside")
            content = [Pattern("text", context.file, _line(element))]
        pattern = Pattern(kind, context.file, _line(element), content, name_class=name_class)
        if kind == "attribute":
            # DTD compatibility (section 3 of its specification): the value an absent
            # attribute stands for.
            pattern.default = element.get(_DEFAULT_VALUE)
        return pattern

    def name_class(self, element: etree._Element, context: _Context) -> NameClass:
        """A ``name``, ``anyName``, ``nsName`` or ``choice`` name class (4.10, 4.11)."""
        context = _inherit(element, context)
        kind = _local(element)
        if kind not in _NAME_CLASSES:
            raise fault(context.file, element, f"<{kind}> is not a name class")
        if kind == "name":
            return _qname(element, element.text or "", context.ns, context)
        if kind == "choice":
            children = [self.name_class(child, context) for child in _rng_children(element)]
            if not children:
                raise fault(context.file, element, "<choice> of names needs a name inside")
            return NameClass("choice", children=children)
        found = NameClass(kind, namespace=context.ns if kind == "nsName" else "")
        for child in _rng_children(element):
            if _local(child) != "except":
                raise fault(context.file, child, f"<{_local(child)}> is not allowed in <{kind}>")
            names = [self.name_class(c, context) for c in _rng_children(child)]
            found.except_ = names[0] if len(names) == 1 else NameClass("choice", children=names)
        return found

    def data(
        self, element: etree._Element, children: list[etree._Element], context: _Context,
        scope: _Scope | None,
    ) -> Pattern:
        """A ``data`` pattern (its RELAX NG ``children`` given) with its facets and ``except``."""
        datatype = element.get("type")
        if not datatype:
            raise fault(context.file, element, "<data> needs a type")
        pattern = Pattern(
            "data", context.file, _line(element),
            datatype=datatype.strip(), datatype_library=context.library,
        )
        for child in children:
            kind = _local(child)
            if kind == "param":
                pattern.params[child.get("name", "").strip()] = child.text or ""
            elif kind == "except":
                inner = self.group(child, _rng_children(child), _inherit(child, context), scope)
                if inner.kind == "group":
                    inner = Pattern("choice", inner.file, inner.line, inner.children)
                pattern.except_ = inner
            else:
                raise fault(context.file, child, f"<{kind}> is not allowed in <data>")
        return pattern

    def ref(self, element: etree._Element, context: _Context, scope: _Scope | None) -> Pattern:
        """A ``ref`` or ``parentRef``, resolved in its grammar scope."""
        kind = _local(element)
        name = element.get("name")
        if not name:
            raise fault(context.file, element, f"<{kind}> needs a name")
        name = _ncname(element, name, context)
        if scope is None:
            raise fault(context.file, element, f"<{kind}> outside a grammar")
        if kind == "parentRef":
            if scope.parent is None:
                raise fault(context.file, element, "<parentRef> outside a nested grammar")
            scope = scope.parent
        pattern = Pattern("ref", context.file, _line(element))
        define = scope.defines.get(name)
        if define is None:
            raise fault(context.file, element, f"reference to undefined pattern '{name}'")
        pattern.define = define
        return pattern


def _relative_path(element: etree._Element, href: str, context: _Context) -> str:
    """The path an ``href`` names, relative to the folder of the file that holds it.

    An href is a URI reference (4.5): ``my%20part.rng`` names ``my part.rng``, and
    ``file:other.rng`` (a ``file`` URI without a host) names ``other.rng``.  Only a local path
    is read: a host, another scheme, a query, a fragment and ``xml:base`` are refused.  (The
    grammars libxml2 compiles keep to their folder: see :func:`gueststate.schemas.compiled`.)
    """
    for holder in (element, *element.iterancestors()):
        if _XML_BASE in holder.attrib:
            raise fault(context.file, holder, "xml:base is not allowed in a grammar")
    try:
        parts = urlsplit(href)
        path = unquote(parts.path, errors="strict")
        plain = parts.scheme.lower() in ("", "file") and not parts.netloc
    except ValueError:  # an unreadable host, or escapes that are not UTF-8
        path, plain = "", False
    if not plain or "?" in href or "#" in href or not path or "\0" in path:
        raise fault(context.file, element, f"href '{href}' is not a path to a local file")
    return path


def _distinct(components: list[_Component]) -> list[_Component]:
    """``components`` without the repeats a file included more than once brings.

    A ``combine="choice"`` part met twice adds nothing (a choice of a pattern with itself is
    that pattern).  Any other part is kept at most twice: enough for a part without
    ``combine`` to be refused as defined twice, and a bound on what fan-out can multiply.
    """
    seen: dict[tuple[int, str, str, str], int] = {}
    out: list[_Component] = []
    for component in components:
        context = component.context
        key = (id(component.element), context.file, context.ns, context.library)
        count = seen.get(key, 0)
        if count and (count > 1 or component.element.get("combine") == "choice"):
            continue
        seen[key] = count + 1
        out.append(component)
    return out


def _rng_children(element: etree._Element) -> list[etree._Element]:
    """The RELAX NG child elements; comments and annotations are skipped."""
    return [
        child
        for child in element
        if isinstance(child.tag, str) and child.tag.startswith(_RNG_PREFIX)
    ]


def _children(element: etree._Element) -> tuple[list[etree._Element], list[etree._Element]]:
    """The RELAX NG child elements and the ``a:documentation`` ones, in one pass."""
    patterns: list[etree._Element] = []
    documentation: list[etree._Element] = []
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        if tag.startswith(_RNG_PREFIX):
            patterns.append(child)
        elif tag == _DOCUMENTATION:
            documentation.append(child)
    return patterns, documentation


def _local(element: etree._Element) -> str:
    return str(element.tag).rpartition("}")[2]


def _line(element: etree._Element) -> int:
    return element.sourceline or 0


def _inherit(element: etree._Element, context: _Context) -> _Context:
    ns = element.get("ns")
    library = element.get("datatypeLibrary")
    if ns is None and library is None:
        return context
    return _Context(
        context.file,
        context.ns if ns is None else ns,
        context.library if library is None else library,
    )


def _qname(element: etree._Element, qname: str, default_ns: str, context: _Context) -> NameClass:
    """The name class of a QName written on ``element``, its prefix resolved there (4.10)."""
    qname = qname.strip(_XML_SPACE)
    prefix, colon, local = qname.partition(":")
    if not (_is_ncname(prefix) and (not colon or _is_ncname(local))):
        raise fault(context.file, element, f"'{qname}' is not a valid name: an XML NCName, "
                                           "with or without a prefix and a colon before it")
    if not colon:
        return NameClass("name", local=prefix, namespace=default_ns)
    namespace = _XML_NS if prefix == "xml" else element.nsmap.get(prefix)
    if namespace is None:
        raise fault(context.file, element, f"undeclared namespace prefix '{prefix}'")
    return NameClass("name", local=local, namespace=namespace, prefix=prefix)


def _ncname(element: etree._Element, name: str, context: _Context) -> str:
    """The name of a ``define``, ``ref`` or ``parentRef``, white space stripped (4.2); refused
    unless it is an NCName, as RELAX NG's own schema says."""
    name = name.strip(_XML_SPACE)
    if not _is_ncname(name):
        raise fault(context.file, element, f"'{name}' is not a valid name: an XML NCName")
    return name


def _value(element: etree._Element, context: _Context) -> Pattern:
    """A ``value``: without a type it is a ``token`` of the built-in library (4.4)."""
    datatype = element.get("type")
    library = context.library if datatype else ""
    text = (element.text or "") + "".join(child.tail or "" for child in element)
    return Pattern(
        "value", context.file, _line(element),
        datatype=(datatype or "token").strip(), datatype_library=library,
        value=text, namespace=context.ns,
    )


def _annotations(
    element: etree._Element, documentation_elements: list[etree._Element]
) -> tuple[str | None, str | None]:
    """The ``a:documentation`` children of ``element`` (joined by blank lines) and its
    ``gs:since`` attribute."""
    documentation = None
    if documentation_elements:  # most patterns have none
        texts = [inspect.cleandoc(text_content(child)) for child in documentation_elements]
        documentation = "\n\n".join(text for text in texts if text) or None
    since = element.get(_SINCE)
    return documentation, since.strip() if since else None
