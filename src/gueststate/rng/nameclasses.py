"""Whether two name classes share a name: the one overlap test of sections 7.3 and 7.4.

Two name classes overlap when some name belongs to both.  Such a name, if there is one, is
among a few representatives of either: the names they spell, and for each ``nsName`` and
``anyName`` a name no grammar can spell in that namespace, or in none (the method of James
Clark's implementation notes).  Testing those is exact and takes time linear in the sizes of
the two name classes times the number of representatives.
"""

from __future__ import annotations

from collections.abc import Iterator

from gueststate.rng.patterns import NameClass

#: Stands for a namespace or a local name no grammar can write (NUL is not allowed in XML).
UNNAMED = "\x00"

Name = tuple[str, str]  # (namespace, local name)


def overlap(first: NameClass, second: NameClass) -> Name | None:
    """A name that both name classes allow, or None when they share none."""
    for name in (*_representatives(first), *_representatives(second)):
        if contains(first, name) and contains(second, name):
            return name
    return None


def contains(name_class: NameClass, name: Name) -> bool:
    """Whether ``name_class`` allows ``name``."""
    namespace, local = name
    kind = name_class.kind
    if kind == "name":
        return name_class.namespace == namespace and name_class.local == local
    if kind == "choice":
        return any(contains(child, name) for child in name_class.children)
    if kind == "nsName" and name_class.namespace != namespace:
        return False
    return name_class.except_ is None or not contains(name_class.except_, name)


def names(name_class: NameClass) -> list[Name] | None:
    """The names a name class of ``name`` and ``choice`` spells; None if it has a wildcard."""
    if name_class.kind == "name":
        return [(name_class.namespace, name_class.local)]
    if name_class.kind != "choice":
        return None
    found: list[Name] = []
    for child in name_class.children:
        inner = names(child)
        if inner is None:
            return None
        found += inner
    return found


def wildcard(name_class: NameClass) -> bool:
    """Whether ``name_class`` has an ``anyName`` or ``nsName`` anywhere."""
    if name_class.kind in ("anyName", "nsName"):
        return True
    return any(wildcard(child) for child in name_class.children)


def show(name: Name) -> str:
    """``name`` as a message spells it: ``a``, ``{urn:x}a``, ``{urn:x}*`` or ``*``."""
    namespace, local = name
    local = "*" if local == UNNAMED else local
    if namespace == UNNAMED:
        return "*"
    return f"{{{namespace}}}{local}" if namespace else local


def _representatives(name_class: NameClass) -> Iterator[Name]:
    kind = name_class.kind
    if kind == "name":
        yield name_class.namespace, name_class.local
    elif kind == "nsName":
        yield name_class.namespace, UNNAMED
    elif kind == "anyName":
        yield UNNAMED, UNNAMED
    for child in name_class.children:
        yield from _representatives(child)
    if name_class.except_ is not None:
        yield from _representatives(name_class.except_)
