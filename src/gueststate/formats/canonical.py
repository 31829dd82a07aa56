"""libvirt's XML writer conventions: two-space indentation, single quotes, its escaping.

Models build a small :class:`Tag` tree and :func:`render` turns it into text.  Subtrees the
models do not interpret (an embedded ``<domain>``, a ``<cookie>``) are kept as
:class:`RawElement` and re-written with the same conventions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from gueststate.xmlsafe import parse_bytes, written_attributes

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
        root = parse_bytes(tag.xml.encode(), "<embedded element>").getroot()
        return _write_foreign(root, depth, single_quotes=True, declared={})
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
        return cls(_write_foreign(element, 0, single_quotes=True, declared={}).rstrip("\n"))


def _written_tag(element: etree._Element) -> str:
    """The element's name as the document writes it: ``local`` or ``prefix:local``."""
    local = str(element.tag).rpartition("}")[2]
    return f"{element.prefix}:{local}" if element.prefix else local


def _write_foreign(
    element: etree._Element, depth: int, *, single_quotes: bool, declared: dict[str | None, str],
    inline: bool = False,
) -> str:
    """``element`` indented at ``depth``, or (``inline``) as one run inside mixed content."""
    pad, end = ("", "") if inline else (_INDENT * depth, "\n")
    nsmap: dict[str | None, str] = dict(element.nsmap)
    name = _written_tag(element)
    pieces: list[tuple[str, str]] = [
        ("xmlns" if prefix is None else f"xmlns:{prefix}", uri)
        for prefix, uri in nsmap.items()
        if declared.get(prefix) != uri
    ]
    pieces += written_attributes(element)  # prefixes as written: one URI may have several
    if single_quotes:
        attrs = "".join(f" {key}='{escape(value)}'" for key, value in pieces)
    else:
        attrs = "".join(f' {key}="{_escape_libxml2(value, True)}"' for key, value in pieces)
    children = [child for child in element if isinstance(child.tag, str)]
    text = element.text or ""
    if not text.strip() and "\n" in text:
        text = ""  # indentation of an element left empty, not content: keeps output a fixed point
    if not children:
        if not text:
            return f"{pad}<{name}{attrs}/>{end}"
        return f"{pad}<{name}{attrs}>{_text(text, single_quotes)}</{name}>{end}"
    # Children of <metadata> are foreign documents: libvirt dumps them with libxml2 (double
    # quotes, namespace declarations on the element that needs them).
    foreign = str(element.tag) == "metadata" or not single_quotes
    if inline or _is_mixed(element):
        # Text between the children is content: written as it is, never re-indented.
        inner = _text(element.text or "", single_quotes) + "".join(
            (_write_foreign(child, 0, single_quotes=not foreign, declared=nsmap, inline=True)
             if isinstance(child.tag, str) else "") + _text(child.tail or "", single_quotes)
            for child in element
        )
        return f"{pad}<{name}{attrs}>{inner}</{name}>{end}"
    inner = "".join(
        _write_foreign(child, depth + 1, single_quotes=not foreign, declared=nsmap)
        for child in children
    )
    return f"{pad}<{name}{attrs}>\n{inner}{pad}</{name}>\n"


def _text(value: str, single_quotes: bool) -> str:
    """Element text escaped by libvirt's writer (single quotes) or libxml2's."""
    return escape(value) if single_quotes else _escape_libxml2(value, False)


def _is_mixed(element: etree._Element) -> bool:
    """Whether text other than indentation sits before or between the element's children."""
    return bool((element.text or "").strip()) or any(
        (child.tail or "").strip() for child in element
    )
