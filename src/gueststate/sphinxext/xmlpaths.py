"""The element and attribute paths a document uses, named as the ``xml`` domain names objects.

``<domainbackup><disks><disk name='vda'/></disks></domainbackup>`` uses ``domainbackup``,
``domainbackup/disks``, ``domainbackup/disks/disk`` and ``domainbackup/disks/disk/@name``.
A name in a namespace is spelled with the prefix the document gives it (``xml:lang``,
``qemu:commandline``), as the reference spells the grammar's names; the default namespace
has none.
"""

from __future__ import annotations

from lxml import etree


def document_paths(root: etree._Element) -> frozenset[str]:
    """Every element and attribute path used in the tree below (and including) ``root``."""
    paths: set[str] = set()
    _collect(root, "", paths)
    return frozenset(paths)


def _collect(element: etree._Element, parent: str, paths: set[str]) -> None:
    if not isinstance(element.tag, str):
        return  # comments and processing instructions
    step = _prefixed(element.tag, element.prefix)
    path = f"{parent}/{step}" if parent else step
    paths.add(path)
    for name in element.attrib:
        if not name.startswith("{"):  # no namespace: most attributes, and quickly told
            paths.add(f"{path}/@{name}")
            continue
        namespace = name[1:].partition("}")[0]
        prefix = "xml" if namespace == _XML_NS else next(
            (p for p, uri in element.nsmap.items() if uri == namespace and p), None)
        paths.add(f"{path}/@{_prefixed(name, prefix)}")
    for child in element:
        _collect(child, path, paths)


_XML_NS = "http://www.w3.org/XML/1998/namespace"


def _prefixed(name: str, prefix: str | None) -> str:
    local = _local(name)
    return f"{prefix}:{local}" if prefix else local


def _local(name: str) -> str:
    return name.rpartition("}")[2]


def path_matches(pattern: str, path: str) -> bool:
    """Whether ``path`` is an instance of a grammar path that may contain ``*`` steps.

    ``*`` stands for any one element name and ``@*`` for any attribute name; a step naming
    several alternatives (``a|b``) matches any of them.

    >>> path_matches("domainsnapshot/cookie/*", "domainsnapshot/cookie/cpu")
    True
    >>> path_matches("domainsnapshot/cookie/*", "domainsnapshot/cookie/@x")
    False
    """
    wanted = pattern.split("/")
    steps = path.split("/")
    return len(wanted) == len(steps) and all(
        _step_matches(want, step) for want, step in zip(wanted, steps, strict=True)
    )


def _step_matches(want: str, step: str) -> bool:
    if want.startswith("@") != step.startswith("@"):
        return False
    names = want.removeprefix("@").split("|")
    name = step.removeprefix("@")
    return any(_local(choice) in ("*", name) for choice in names)
