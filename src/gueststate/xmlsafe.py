"""The one place that opens input files and parses XML.

``open_input()`` opens every file the tool reads: regular files only, so a FIFO, a device
or a directory is refused at once instead of blocking or streaming forever.  The parser loads
no DTD, expands no entity, opens no file or network resource, performs no XInclude and refuses
documents that are too large or too deep.  Whatever goes wrong with a document becomes an
:class:`XMLParseError` carrying one :class:`~gueststate.problems.Problem`; a file that cannot
be opened is an :class:`OSError` whose ``strerror`` says why in one line.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
from pathlib import Path

from lxml import etree

from gueststate.positions import Positions
from gueststate.problems import GueststateError, Problem, problem_at

#: Largest document accepted, in bytes.  libvirt's own documents are a few kilobytes.
MAX_DOCUMENT_BYTES = 8 * 1024 * 1024
#: Deepest element nesting accepted: libxml2's own bound without XML_PARSE_HUGE (``huge_tree``).
MAX_DEPTH = 256
#: Most attributes on one element; libvirt's elements carry a few dozen at most.
MAX_ATTRIBUTES = 1024
#: Most elements in one document: enough for a domain with 20,000 disks and bounding what a
#: diagnosis in Python walks.  An 8 MiB document of tiny elements would hold millions.
MAX_ELEMENTS = 1 << 18
#: Most tags, comments and instructions (each starts with ``<``), counted before parsing: the
#: tree's nodes, and so the parser's memory (about 150 bytes a node), stay bounded.
MAX_MARKUP = 4 * MAX_ELEMENTS
#: Most child elements under one element.  libxml2 validates siblings matched by an
#: interleave or by open content (anyName) in time growing with the square of their number:
#: 20,000 take half a second, 200,000 minutes.  So the squares of the children counts of
#: the crowded elements (over ``_CROWD`` children) may add up to this limit's square at
#: most: one element with 32,768 children, or a backup and its domain with 20,000 disks each.
MAX_SIBLINGS = 32_768
#: Children from which an element counts as crowded; below, the squares add up to little.
_CROWD = 256


class XMLParseError(GueststateError):
    """A document that could not be parsed safely; ``problem`` says where and why."""


class _RefuseResolver(etree.Resolver):  # type: ignore[misc]  # lxml ships no types
    """Refuse every external resource the parser asks for, and remember that it asked."""

    def resolve(self, system_url: str, public_id: str, context: object) -> None:
        raise _ExternalResourceRefused(system_url or public_id or "?")


class _ExternalResourceRefused(Exception):
    pass


_local = threading.local()


def _parser(*, text: bool = False) -> etree.XMLParser:
    """The parser of bytes, or (``text``) of a ``str``'s characters sent as UTF-8, whatever
    the encoding its declaration names."""
    # lxml parsers are not thread-safe; keep one of each per thread.
    name = "text_parser" if text else "parser"
    parser: etree.XMLParser | None = getattr(_local, name, None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            load_dtd=False,
            dtd_validation=False,
            no_network=True,
            huge_tree=False,
            remove_blank_text=False,
            collect_ids=False,
            encoding="utf-8" if text else None,
        )
        parser.resolvers.add(_RefuseResolver())
        setattr(_local, name, parser)
    return parser


def _crowded() -> etree.XPath:
    """The first element with too many attributes: compiled once per thread, as it is asked
    of every document (and an XPath evaluator, like a parser, is not shared between threads)."""
    finder: etree.XPath | None = getattr(_local, "crowded", None)
    if finder is None:
        finder = _local.crowded = etree.XPath(f"(//*[count(@*) > {MAX_ATTRIBUTES}])[1]")
    return finder


def _too_many_siblings(root: etree._Element) -> tuple[etree._Element, int] | None:
    """The most crowded element and its number of children, when the crowded elements hold
    more children than :data:`MAX_SIBLINGS` allows (squares added up)."""
    counts = [(element, int(element.xpath("count(*)")))
              for element in root.xpath(f"//*[count(*) > {_CROWD}]")]
    if sum(count * count for _, count in counts) <= MAX_SIBLINGS * MAX_SIBLINGS:
        return None
    return max(counts, key=lambda found: found[1])


def parse_bytes(data: bytes, path: str) -> etree._ElementTree:
    """Parse ``data`` (read from ``path``, used only in messages) into an element tree."""
    return _parse(data, path, _parser(), data)


def parse_text(text: str, path: str) -> etree._ElementTree:
    """Parse a document already decoded (``path`` is used only in messages).

    The encoding its XML declaration names is not applied: the characters are the document's.
    Limits and refusals are those of :func:`parse_bytes`, the size counted in UTF-8 bytes.
    """
    # A lone surrogate passes as bytes that are no UTF-8: the parser refuses them, located.
    return _parse(text.encode("utf-8", "surrogatepass"), path, _parser(text=True), text)


def _parse(
    data: bytes, path: str, parser: etree.XMLParser, source: bytes | str
) -> etree._ElementTree:
    """``data`` parsed by ``parser`` within every limit; ``source``, the document as given,
    locates a problem."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise XMLParseError(
            Problem(path, 0, 0, f"document is larger than the {MAX_DOCUMENT_BYTES} byte limit")
        )
    if not data.strip():
        raise XMLParseError(Problem(path, 1, 1, "document is empty"))
    if data.count(b"<") > MAX_MARKUP:  # a text node lies between two of them at most
        raise XMLParseError(Problem(
            path, 1, 1, f"document has more than the {MAX_MARKUP} limit of tags, comments "
            "and instructions"))
    try:
        root = etree.fromstring(data, parser, base_url=None)
    except _ExternalResourceRefused as refused:
        raise XMLParseError(
            Problem(path, 1, 1, f"external resource refused: {refused.args[0]}")
        ) from None
    except etree.XMLSyntaxError as error:
        raise XMLParseError(_syntax_problem(error, path)) from None
    tree = root.getroottree()
    _check_no_entities(tree, path)
    # Each attribute takes at least five bytes (` a=""`): a smaller document cannot be crowded,
    # and the search costs a seventh of parsing it.
    crowded = _crowded()(root) if len(data) > 5 * MAX_ATTRIBUTES else None
    if crowded:
        raise XMLParseError(problem_at(
            path, crowded[0], f"element <{crowded[0].tag}> has more than the {MAX_ATTRIBUTES} "
            "attribute limit", positions=Positions(source),
        ))
    # Each element takes four bytes at least (`<a/>`): a smaller document cannot have more.
    if len(data) > 4 * MAX_ELEMENTS and root.xpath("count(//*)") > MAX_ELEMENTS:
        raise XMLParseError(Problem(
            path, 1, 1, f"document has more than the {MAX_ELEMENTS} element limit"))
    # The crowded elements need 32,768 elements at least, four bytes each (`<a/>`).
    siblings = _too_many_siblings(root) if len(data) > 4 * MAX_SIBLINGS else None
    if siblings:
        element, count = siblings
        raise XMLParseError(problem_at(
            path, element, f"element <{element.tag}> has {count} child elements: more than "
            f"the {MAX_SIBLINGS} sibling limit (less when several elements are crowded)",
            positions=Positions(source),
        ))
    return tree


def attributes(element: etree._Element) -> list[tuple[str, str]]:
    """An element's attributes (name, value) in document order, in time linear in their number.

    lxml's ``attrib.items()`` looks every value up again by name, which is quadratic; XPath
    reads them in one pass but costs more for the usual handful.
    """
    if len(element.attrib) <= 32:
        return list(element.attrib.items())
    return [(value.attrname, str(value)) for value in element.xpath("@*")]


def written_attributes(element: etree._Element) -> list[tuple[str, str]]:
    """An element's attributes (name, value) in document order, named as the document writes
    them (``q:a``, ``xml:lang``), in time linear in their number.

    lxml names an attribute in a namespace by its URI (``{urn:x}a``), and the namespaces in
    scope cannot give the prefix back: several may be bound to that URI, the default namespace
    never applies to an attribute, and ``xml`` is bound without a declaration.  libxml2 keeps
    the prefix each attribute was written with; XPath's ``name()`` reads it.
    """
    found = attributes(element)
    if not any(name.startswith("{") for name, _ in found):
        return found
    names: _WrittenNames | None = getattr(_local, "names", None)
    if names is None:
        names = _local.names = _WrittenNames()
    written = names.of(element)
    return [(written.get(name, name), value) for name, value in found]


#: The namespace of :class:`_WrittenNames`' XPath extension function.
_EXTENSIONS = "urn:x-gueststate:xmlsafe"


class _WrittenNames:
    """The name as written of each attribute in a namespace, read in one XPath pass over an
    element's attributes.  One per thread, as an XPath evaluator is not shared between them."""

    def __init__(self) -> None:
        self._found: dict[str, str] = {}
        self._xpath = etree.XPath(
            "@*[namespace-uri()][gs:note(namespace-uri(), local-name(), name())]",
            namespaces={"gs": _EXTENSIONS}, extensions={(_EXTENSIONS, "note"): self._note})

    def _note(self, _context: object, uri: str, local: str, name: str) -> bool:
        self._found[f"{{{uri}}}{local}"] = str(name)
        return False  # selects nothing: the names are what the pass is for

    def of(self, element: etree._Element) -> dict[str, str]:
        """lxml's name (``{urn:x}a``) -> the name as written (``q:a``)."""
        self._found = {}
        self._xpath(element)
        return self._found


_KINDS = {
    stat.S_IFDIR: "a directory", stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
}


class NotRegularFile(OSError):
    """An input path that names something other than a regular file."""


def open_input(
    path: str | Path, *, dir_fd: int | None = None, follow_symlinks: bool = True
) -> int:
    """Open ``path`` for reading and return the descriptor, refusing anything but a file.

    Neither the open nor a read ever blocks (``O_NONBLOCK``: a FIFO without a writer opens at
    once, a terminal is not made ours) and the type is checked on the descriptor, not the name,
    so nothing can be swapped in between.  A symbolic link loop is ``ELOOP``, and so is any link
    when ``follow_symlinks`` is false.  Works for names that are not valid UTF-8.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    if not follow_symlinks:
        flags |= os.O_NOFOLLOW
    fd = os.open(path, flags, dir_fd=dir_fd)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
            raise NotRegularFile(errno.EINVAL, f"{kind}, not a regular file", os.fspath(path))
        # O_NONBLOCK stays: it changes nothing for a file on disk, and a "regular" file that
        # waits for data (/proc/kmsg) fails at once instead of blocking.
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_fd(fd: int, limit: int = MAX_DOCUMENT_BYTES) -> bytes:
    """The bytes of an open file from where it stands, at most one byte more than ``limit``.

    Reading one byte past the limit lets the parser say the document is too large.
    """
    # Ask for what the file holds (plus one byte to notice growth) rather than the limit:
    # allocating the limit for every small file costs more than parsing it.
    expected = min(os.fstat(fd).st_size, limit)
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        try:
            chunk = os.read(fd, min(limit + 1 - total, max(expected + 1 - total, 8192)))
        except BlockingIOError:
            raise BlockingIOError(
                errno.EAGAIN, "it waits for data to arrive, it is no file on disk"
            ) from None
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def read_bounded(path: str | Path, limit: int = MAX_DOCUMENT_BYTES) -> bytes:
    """The bytes of the regular file ``path`` (see :func:`open_input`), bounded by ``limit``."""
    fd = open_input(path)
    try:
        return read_fd(fd, limit)
    finally:
        os.close(fd)


def parse_file(path: str | Path) -> etree._ElementTree:
    """Read and parse a file; I/O errors propagate as :class:`OSError`."""
    return parse_bytes(read_bounded(path), str(path))


def _syntax_problem(error: etree.XMLSyntaxError, path: str) -> Problem:
    entry = error.error_log.last_error if error.error_log else None
    if entry is not None:
        message = entry.message.strip()
        line, column = entry.line, entry.column
    else:
        message = str(error.msg or error)
        line, column = error.position
    message = " ".join(message.split())  # libxml2 may quote document text, newlines and all
    if "use XML_PARSE_HUGE" in message or "Huge input lookup" in message:
        message = message.split(",")[0].split(" use XML_PARSE_HUGE")[0] + " (limit exceeded)"
    return Problem(path, max(line, 0), max(column, 0), f"not well-formed XML: {message}")


def _check_no_entities(tree: etree._ElementTree, path: str) -> None:
    dtd = tree.docinfo.internalDTD
    if dtd is None:
        return
    entity = next(iter(dtd.iterentities()), None)
    if entity is not None:
        raise XMLParseError(
            Problem(path, 1, 1, f"entity declarations are not allowed (found '{entity.name}')")
        )
    if dtd.system_url or getattr(dtd, "external_id", None):
        raise XMLParseError(
            Problem(path, 1, 1, "external DTD references are not allowed")
        )


def text_content(element: etree._Element) -> str:
    """All the text inside ``element``, its children's included, comments and instructions
    left out: XPath's ``string()``, as libvirt reads it, in one pass.  lxml's ``itertext()``
    hands every node to Python, in time growing with the square of the comments among them."""
    return str(element.xpath("string()"))
