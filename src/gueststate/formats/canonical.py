"""libvirt's XML writer conventions: two-space indentation, single quotes, its escaping.

Models build a small :class:`Tag` tree and :func:`render` turns it into text.  Subtrees the
models do not interpret (an embedded ``<domain>``, a ``<cookie>``) are kept as
:class:`RawElement` and re-written with the same conventions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from gueststate.positions import written_tag
from gueststate.xmlsafe import parse_text, written_attributes

_DROPPED_CONTROLS = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f]")
_ESCAPES = {"<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;"}
_ESCAPED = re.compile("[<>&\"']")
_INDENT = "  "


def escape(value: str) -> str:
    """Escape text or an attribute value the way libvirt does (control characters dropped)."""
    value = _DROPPED_CONTROLS.sub("", value)
    return _ESCAPED.sub(lambda match: _ESCAPES[match.group()], value)


def _escape_libxml2(value: str, attribute: bool) -> str:
    """Escaping of libxml2's own serialiser (used by libvirt for foreign metadata)."""
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if attribute:
        value = value.replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;")
        value = value.replace("\t", "&#9;")
    return value


@dataclass
class Tag:
    """One element to write: attributes whose value is ``None`` are left out."""

    name: str
    attrs: list[tuple[str, str | None]] = field(default_factory=list)
    children: list[Tag | RawElement] = field(default_factory=list)
    text: str | None = None

    def is_empty(self) -> bool:
        """True when the element would carry nothing (libvirt then leaves it out)."""
        has_attrs = any(value is not None for _, value in self.attrs)
        return not has_attrs and not self.children and self.text is None


def render(tag: Tag | RawElement, depth: int = 0) -> str:
    """The element as libvirt writes it, every line indented by ``depth`` levels."""
    if isinstance(tag, RawElement):
        if depth == 0:
            return tag.xml + "\n"
        # Written again at this depth: indenting its lines would change multi-line text.
        root = parse_text(tag.xml, "<embedded element>").getroot()
        return _KeptWriter(root).written(depth)
    pad = _INDENT * depth
    attrs = "".join(f" {name}='{escape(value)}'" for name, value in tag.attrs if value is not None)
    if tag.children:
        inner = "".join(render(child, depth + 1) for child in tag.children)
        return f"{pad}<{tag.name}{attrs}>\n{inner}{pad}</{tag.name}>\n"
    if tag.text is not None:
        return f"{pad}<{tag.name}{attrs}>{escape(tag.text)}</{tag.name}>\n"
    return f"{pad}<{tag.name}{attrs}/>\n"


@dataclass(frozen=True)
class RawElement:
    """An element kept as written, re-serialised in libvirt's style (``xml`` at depth 0)."""

    xml: str

    @classmethod
    def from_element(cls, element: etree._Element) -> RawElement:
        """Capture ``element`` (comments dropped, whitespace-only text re-indented)."""
        return cls(_KeptWriter(element).written(0).rstrip("\n"))


class _KeptWriter:
    """Writes a kept element and what it holds, in time linear in their size.

    The top element declares every namespace in scope there; an element below declares those
    of its own declarations that change what is in scope.  What is in scope is followed on the
    way down, from the declarations each element makes itself (read in one walk): lxml's
    ``nsmap`` gathers an element's from all its ancestors, and asking it of every element took
    time growing with (namespaces in scope) x (elements).  The text is joined once, at the end.
    """

    def __init__(self, top: etree._Element) -> None:
        self._top = top
        self._own = _own_declarations(top)
        self._own[top] = list(top.nsmap.items())
        self._scope: dict[str | None, str] = {}
        self._out: list[str] = []

    def written(self, depth: int) -> str:
        """The top element indented at ``depth``, with libvirt's single quotes."""
        self._write(self._top, depth, single_quotes=True)
        return "".join(self._out)

    def _write(
        self, element: etree._Element, depth: int, *, single_quotes: bool, inline: bool = False,
    ) -> None:
        """``element`` indented at ``depth``, or (``inline``) as one run inside mixed content."""
        declared = [(prefix, uri) for prefix, uri in self._own.get(element, ())
                    if self._scope.get(prefix) != uri]
        shadowed = [(prefix, self._scope.get(prefix)) for prefix, _ in declared]
        self._scope.update(declared)
        out = self._out
        pad, end = ("", "") if inline else (_INDENT * depth, "\n")
        name = written_tag(element)
        pieces = [("xmlns" if prefix is None else f"xmlns:{prefix}", uri)
                  for prefix, uri in declared]
        pieces += written_attributes(element)  # prefixes as written: one URI may have several
        if single_quotes:
            attrs = "".join(f" {key}='{escape(value)}'" for key, value in pieces)
        else:
            attrs = "".join(f' {key}="{_escape_libxml2(value, True)}"' for key, value in pieces)
        children = [child for child in element if isinstance(child.tag, str)]
        text = element.text or ""
        if not text.strip() and "\n" in text:
            text = ""  # indentation of an element left empty, not content: keeps a fixed point
        # Children of <metadata> are foreign documents: libvirt dumps them with libxml2 (double
        # quotes, namespace declarations on the element that needs them).
        foreign = str(element.tag) == "metadata" or not single_quotes
        if not children:
            out.append(f"{pad}<{name}{attrs}/>{end}" if not text else
                       f"{pad}<{name}{attrs}>{_text(text, single_quotes)}</{name}>{end}")
        elif inline or _is_mixed(element):
            # Text between the children is content: written as it is, never re-indented.
            out.append(f"{pad}<{name}{attrs}>{_text(element.text or '', single_quotes)}")
            for child in element:
                if isinstance(child.tag, str):
                    self._write(child, 0, single_quotes=not foreign, inline=True)
                out.append(_text(child.tail or "", single_quotes))
            out.append(f"</{name}>{end}")
        else:
            out.append(f"{pad}<{name}{attrs}>\n")
            for child in children:
                self._write(child, depth + 1, single_quotes=not foreign)
            out.append(f"{pad}</{name}>\n")
        for prefix, uri in shadowed:  # the bindings of the parent's scope come back
            if uri is None:
                del self._scope[prefix]
            else:
                self._scope[prefix] = uri


def _own_declarations(top: etree._Element) -> dict[etree._Element, list[tuple[str | None, str]]]:
    """The namespaces each element of ``top``'s subtree declares itself, read in one walk."""
    found: dict[etree._Element, list[tuple[str | None, str]]] = {}
    pending: list[tuple[str | None, str]] = []
    # An element's declarations come before its start; lxml names the default namespace "".
    for event, item in etree.iterwalk(top, events=("start-ns", "start")):
        if event == "start-ns":
            prefix, uri = item
            pending.append((prefix or None, uri))
        elif pending:
            found[item] = pending
            pending = []
    return found


def _text(value: str, single_quotes: bool) -> str:
    """Element text escaped by libvirt's writer (single quotes) or libxml2's."""
    return escape(value) if single_quotes else _escape_libxml2(value, False)


def _is_mixed(element: etree._Element) -> bool:
    """Whether text other than indentation sits before or between the element's children."""
    return bool((element.text or "").strip()) or any(
        (child.tail or "").strip() for child in element
    )
