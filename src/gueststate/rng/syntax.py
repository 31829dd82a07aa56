"""Refuse what RELAX NG's XML syntax (section 3, and the name classes of 4.16) does not allow,
though the loader could read past it.

The loader reads only what it needs: it would take the text before ``<empty/>`` in
``<element name="x">hello<empty/></element>`` for white space, an unknown attribute for an
annotation, and the words around ``<foo/>`` in ``<value>a<foo/>b</value>`` for the value.
jing refuses each.  Each rule is one XPath expression over the files read, evaluated by
libxml2: a file of thousands of elements costs a few milliseconds, not a Python loop over them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from lxml import etree

from gueststate.rng.errors import fault
from gueststate.rng.patterns import RNG_NS

#: Unqualified attributes each element may carry besides ``ns`` and ``datatypeLibrary``.
_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "name": ("element", "attribute", "ref", "parentRef", "define", "param"),
    "combine": ("define", "start"),
    "type": ("data", "value"),
    "href": ("externalRef", "include"),
}
_STRINGS = ("value", "param", "name")  # elements whose content is a string, no element


def _any_of(kinds: tuple[str, ...], axis: str = "self") -> str:
    return " or ".join(f"{axis}::rng:{kind}" for kind in kinds)


_ALLOWED = " or ".join(
    ["local-name()='ns'", "local-name()='datatypeLibrary'"]
    + [f"(local-name()='{name}' and ({_any_of(kinds, 'parent')}))"
       for name, kinds in _ATTRIBUTES.items()]
)

Message = Callable[[etree._Element, object], str]

#: Each rule: what finds the nodes at fault (elements, attributes or text), and the message,
#: given the element at fault and the node found.
_RULES: tuple[tuple[str, Message], ...] = (
    (f"descendant-or-self::rng:*/@*[namespace-uri()='{RNG_NS}']",
     lambda e, node: f"attributes of <{_local(e)}> must not be in the RELAX NG namespace"),
    (f"descendant-or-self::rng:*/@*[namespace-uri()='' and not({_ALLOWED})]",
     lambda e, node: f"<{_local(e)}> has no attribute '{getattr(node, 'attrname', '')}'"),
    ("descendant-or-self::text()[normalize-space()][parent::rng:*]"
     f"[not({_any_of(_STRINGS, 'parent')})]",
     lambda e, node: f"<{_local(e)}> holds patterns: text other than white space is not "
                     "allowed in it"),
    (" | ".join(f"descendant-or-self::rng:{kind}/*" for kind in _STRINGS),
     lambda e, node: f"<{_local(e.getparent())}> holds a string, not elements"),
    ("descendant-or-self::rng:except[preceding-sibling::rng:except]",
     lambda e, node: f"<{_local(e.getparent())}> has more than one <except>"),
    ("descendant-or-self::rng:data/rng:except/following-sibling::rng:*",
     lambda e, node: f"<{_local(e)}> is not allowed after <except>"),
    ("descendant-or-self::rng:anyName/rng:except[not(rng:*)]"
     " | descendant-or-self::rng:nsName/rng:except[not(rng:*)]",
     lambda e, node: "<except> needs a name class inside"),
    ("descendant-or-self::rng:anyName/rng:except//rng:anyName"
     " | descendant-or-self::rng:nsName/rng:except//rng:*[self::rng:anyName or self::rng:nsName]",
     lambda e, node: f"an <except> inside <{_local(_name_class_of(e))}> must not contain "
                     f"<{_local(e)}> (section 4.16)"),
)
_FINDERS = tuple(
    (etree.XPath(path, namespaces={"rng": RNG_NS}), message) for path, message in _RULES
)


def check_syntax(trees: Mapping[str, etree._Element]) -> None:
    """Raise :class:`~gueststate.rng.errors.GrammarError` at an element of the files read
    (``trees``: file -> root) that RELAX NG's syntax refuses."""
    for file, root in trees.items():
        for finder, message in _FINDERS:
            found = finder(root)
            assert isinstance(found, list)
            for node in found:
                element = _owner(node)
                if not _annotation(element):
                    raise fault(file, element, message(element, node))


def _owner(node: object) -> etree._Element:
    """The element a node found belongs to: an attribute's or a text's parent."""
    if isinstance(node, etree._Element):
        return node
    assert isinstance(node, etree._ElementUnicodeResult)
    parent = node.getparent()
    assert parent is not None
    if node.is_tail:
        parent = parent.getparent()
        assert parent is not None
    return parent


def _annotation(element: etree._Element) -> bool:
    """Whether ``element`` is inside a foreign element, where RELAX NG looks at nothing."""
    return any(not str(above.tag).startswith(f"{{{RNG_NS}}}") for above in element.iterancestors())


def _name_class_of(element: etree._Element) -> etree._Element:
    """The ``anyName`` or ``nsName`` whose ``except`` holds ``element``."""
    for above in element.iterancestors(f"{{{RNG_NS}}}except"):
        parent = above.getparent()
        if parent is not None and _local(parent) in ("anyName", "nsName"):
            return parent
    return element


def _local(element: etree._Element | None) -> str:
    return "" if element is None else str(element.tag).rpartition("}")[2]
