"""Where an element's start tag, or one of its attributes, begins in a document's text.

lxml knows an element's line (the line where its start tag *ends*) but no column.  The
document's text has the rest: its start tags, in document order, are its elements in document
order.  So :class:`Positions` reads the text once, with a small tokenizer that skips comments,
CDATA sections, processing instructions, the DOCTYPE and quoted attribute values, and pairs
the n-th start tag with the n-th element of the tree.  A start tag repeated on one line, a
``<disk`` inside a comment or a value, a start tag spread over several lines: each is found
where it is.  Everything is worked out on the first question, once, in time linear in the
document; each start tag's attributes are read on the first question about one of them.
"""

from __future__ import annotations

import bisect
import codecs
import re
from typing import NamedTuple

from lxml import etree

#: The namespace of ``xml:lang`` and ``xml:space``, bound to ``xml`` without a declaration.
XML_NS = "http://www.w3.org/XML/1998/namespace"

#: One piece of markup.  Only start tags name a group; the other alternatives are there to be
#: skipped whole (their text may hold anything that looks like a tag).  Possessive quantifiers
#: keep a failed match from backtracking, so scanning stays linear.
_MARKUP = re.compile(r"""
    <!--.*?-->
  | <!\[CDATA\[.*?]]>
  | <\?.*?\?>
  | <!(?:[^\["'>]++|"[^"]*+"|'[^']*+'|\[(?:[^\]"']++|"[^"]*+"|'[^']*+')*+])*+>
  | </[^>]*+>
  | <(?P<name>[^\s/>]++)(?P<attributes>(?:[^"'>]++|"[^"]*+"|'[^']*+')*+)>
""", re.DOTALL | re.VERBOSE)

#: One attribute of a start tag: its name as written (``name``, ``prefix:name``) and its value.
_ATTRIBUTE = re.compile(r"""(?P<name>[^\s=/>]++)\s*+=\s*+(?:"[^"]*+"|'[^']*+')""")

#: What ends a line as libxml2 counts lines (``sourceline``, its own errors): ``\n`` alone.
_LINE_END = re.compile(r"\n")


class Position(NamedTuple):
    """A 1-based line and column (in characters) of a document's text."""

    line: int
    column: int


class Positions:
    """Positions in one document's text (``str``, or UTF-8 ``bytes`` as read from a file).

    Ask about elements of the tree parsed from that very text.  A text with another number of
    start tags than the tree has elements, or another name where the element's tag should be,
    gets None rather than a guess; a tree whose elements were moved or edited since it was
    parsed is not detected, so ask before changing it.

    >>> from lxml import etree
    >>> from gueststate.positions import Positions
    >>> text = "<disks><disk name='a'/><disk name='b'/></disks>"
    >>> second = etree.fromstring(text)[1]
    >>> Positions(text).start_tag(second), Positions(text).attribute(second, "name")
    (Position(line=1, column=24), Position(line=1, column=30))
    """

    def __init__(self, text: str | bytes) -> None:
        self._source = text
        self._text = ""
        # The start tags' matches (group "name": as written, "attributes": the text between
        # name and '>'), None until the first question.
        self._tags: list[re.Match[str]] | None = None
        self._line_starts: list[int] = []
        self._order: dict[etree._Element, int] | None = None  # element -> its start tag
        self._attributes: dict[int, dict[str, int]] = {}  # read per start tag, when asked

    def start_tag(self, element: etree._Element) -> Position | None:
        """Where ``element``'s start tag begins (its ``<``)."""
        index = self._index_of(element)
        return None if index is None else self._position(self._tags_read()[index].start())

    def attribute(self, element: etree._Element, name: str) -> Position | None:
        """Where attribute ``name`` (lxml's name: ``x`` or ``{uri}x``) of ``element`` begins
        in the element's own start tag."""
        index = self._index_of(element)
        if index is None:
            return None
        offsets = self._attributes.get(index)
        if offsets is None:
            offsets = self._attributes[index] = self._read_attributes(self._tags_read()[index])
        for written in _written_names(element, name):
            if written in offsets:
                return self._position(offsets[written])
        return None

    def _tags_read(self, element: etree._Element | None = None) -> list[re.Match[str]]:
        if self._tags is None:
            source = self._source
            self._text = source if isinstance(source, str) else _decoded(source, element)
            self._line_starts = [0, *(end.end() for end in _LINE_END.finditer(self._text))]
            # Only a start tag sets a named group, "attributes" last of them.
            self._tags = [markup for markup in _MARKUP.finditer(self._text) if markup.lastgroup]
        return self._tags

    def _index_of(self, element: etree._Element) -> int | None:
        """The element's place in document order, when the text has its start tag there."""
        tags = self._tags_read(element)
        if self._order is None:
            elements = list(element.getroottree().iter(etree.Element))
            # Another count of start tags than of elements: not the text the tree came from.
            self._order = {} if len(elements) != len(tags) else {
                found: index for index, found in enumerate(elements)}
        index = self._order.get(element)
        if index is None or tags[index].group("name") != written_tag(element):
            return None
        return index

    def _read_attributes(self, tag: re.Match[str]) -> dict[str, int]:
        """Offset of each attribute name in one start tag; its first one when written twice."""
        offsets: dict[str, int] = {}
        for found in _ATTRIBUTE.finditer(self._text, *tag.span("attributes")):
            offsets.setdefault(found.group("name"), found.start())
        return offsets

    def _position(self, offset: int) -> Position:
        line = bisect.bisect_right(self._line_starts, offset)
        return Position(line, offset - self._line_starts[line - 1] + 1)


#: Byte order marks, longest first (UTF-32's begins like UTF-16's), and their codecs.
_MARKS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
          (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
          (codecs.BOM_UTF16_BE, "utf-16"))


#: The first bytes of a document without a byte order mark (``<?`` or ``<`` and a name) in
#: an encoding whose byte order the declaration does not say: XML 1.0, appendix F.
_UNMARKED = ((b"\0\0\0<", "utf-32-be"), (b"<\0\0\0", "utf-32-le"), (b"\0<", "utf-16-be"),
             (b"<\0", "utf-16-le"))


def _decoded(source: bytes, element: etree._Element | None) -> str:
    """The document's characters, so that a column counts characters whatever the encoding:
    by its byte order mark or first bytes, else as its declaration says (lxml's reading of
    it), else UTF-8."""
    encoding = next((codec for mark, codec in (*_MARKS, *_UNMARKED)
                     if source.startswith(mark)), None)
    if encoding is None and element is not None:
        encoding = element.getroottree().docinfo.encoding
    try:
        return source.decode(encoding or "utf-8", "replace")
    except LookupError:  # a name libxml2 knows and Python does not
        return source.decode("utf-8", "replace")


def written_tag(element: etree._Element) -> str:
    """The element's name as its start tag writes it: ``local`` or ``prefix:local``."""
    local = etree.QName(element).localname
    return f"{element.prefix}:{local}" if element.prefix else local


def _written_names(element: etree._Element, name: str) -> list[str]:
    """The ways attribute ``name`` may be written on ``element``: ``{uri}x`` as ``p:x`` for
    each prefix ``p`` bound to ``uri`` there (an attribute never takes the default one)."""
    if not name.startswith("{"):
        return [name]
    uri, _, local = name[1:].partition("}")
    prefixes = ["xml"] if uri == XML_NS else []
    prefixes += [prefix for prefix, bound in element.nsmap.items() if prefix and bound == uri]
    return [f"{prefix}:{local}" for prefix in prefixes]
