"""Deterministic mutants of valid documents, for testing schemas against each other.

Starting from seed documents, each mutant applies one or two small edits: an attribute
dropped, changed (to a value seen elsewhere, or to an unlikely one) or added; an element
removed, duplicated, renamed, inserted (a copy of one seen elsewhere), moved to another parent,
swapped with its next sibling; or an element's text changed.  Nothing inside the opaque
elements (``<domain>``, ``<inactiveDomain>``, ``<cookie>``) is touched, nor is anything moved
into them.  The same seed documents and the same random seed always give the same mutants.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from lxml import etree

#: Elements whose content the project's schemas treat as open content by default.
OPAQUE = frozenset({"domain", "inactiveDomain", "cookie"})

#: Values that are wrong for most attributes or text in these formats.
UNLIKELY_VALUES = (
    "", " ", "bogus", "-1", "+1", "0", "4294967296", "18446744073709551616", " 5 ", "a_b",
    "a.b", "/", "relative/path", "C:\\", "c:\\images\\x", "::1", "256.1.1.1", "[::1]",
    "YES", "Yes", "0x10", "1e3", "\u00e9t\u00e9", "two words",
)


@dataclass(frozen=True)
class Mutant:
    """One mutated document and how it was made."""

    seed: str
    edits: tuple[str, ...]
    data: bytes

    @property
    def description(self) -> str:
        return f"{self.seed}: " + "; ".join(self.edits)


def _is_element(node: object) -> bool:
    return isinstance(node, etree._Element) and isinstance(node.tag, str)


def mutable_elements(root: etree._Element) -> list[etree._Element]:
    """Elements outside opaque subtrees, the root included, in document order."""
    found: list[etree._Element] = []

    def walk(element: etree._Element) -> None:
        found.append(element)
        if element is not root and element.tag in OPAQUE:
            return
        for child in element:
            if _is_element(child):
                walk(child)

    walk(root)
    return [e for e in found if e is root or e.tag not in OPAQUE]


def _path(element: etree._Element) -> str:
    return str(element.getroottree().getpath(element))


@dataclass
class _Pools:
    """What the seed documents contain, to draw plausible edits from."""

    attribute_values: dict[str, list[str]]
    values_by_element: dict[tuple[str, str], list[str]]
    element_names: list[str]
    texts: list[str]
    fragments: list[etree._Element]
    enumerated: list[str]

    @classmethod
    def from_seeds(cls, roots: Sequence[etree._Element], enumerated: Sequence[str]) -> _Pools:
        values: dict[str, set[str]] = {}
        by_element: dict[tuple[str, str], set[str]] = {}
        names: set[str] = set()
        texts: set[str] = set()
        fragments: list[etree._Element] = []
        for root in roots:
            for element in mutable_elements(root):
                names.add(element.tag)
                for name, value in element.attrib.items():
                    values.setdefault(name, set()).add(value)
                    by_element.setdefault((element.tag, name), set()).add(value)
                text = (element.text or "").strip()
                if text and len(element) == 0:
                    texts.add(text)
                if element is not root and element.tag not in OPAQUE:
                    fragments.append(element)
        return cls(
            {name: sorted(found) for name, found in sorted(values.items())},
            {key: sorted(found) for key, found in sorted(by_element.items())},
            sorted(names),
            sorted(texts),
            fragments,
            sorted(set(enumerated)),
        )


Edit = Callable[[random.Random, etree._Element, _Pools], str | None]


def _pick_value(
    rng: random.Random, pools: _Pools, tag: str, name: str, current: str | None = None
) -> str:
    """A value seen on the same element or on any element, an enumerated one, or an unlikely one."""
    same_place = [v for v in pools.values_by_element.get((tag, name), []) if v != current]
    anywhere = [v for v in pools.attribute_values.get(name, []) if v != current]
    enumerated = [v for v in pools.enumerated if v != current]
    draw = rng.random()
    if same_place and draw < 0.3:
        return rng.choice(same_place)
    if anywhere and draw < 0.55:
        return rng.choice(anywhere)
    if enumerated and draw < 0.75:
        return rng.choice(enumerated)
    return rng.choice([v for v in UNLIKELY_VALUES if v != current])


def _drop_attribute(rng: random.Random, root: etree._Element, pools: _Pools) -> str | None:
    targets = [e for e in mutable_elements(root) if e.attrib]
    if not targets:
        return None
    element = rng.choice(targets)
    name = rng.choice(sorted(element.attrib))
    del element.attrib[name]
    return f"drop @{name} of {_path(element)}"


def _change_attribute(rng: random.Random, root: etree._Element, pools: _Pools) -> str | None:
    targets = [e for e in mutable_elements(root) if e.attrib]
    if not targets:
        return None
    element = rng.choice(targets)
    name = rng.choice(sorted(element.attrib))
    value = _pick_value(rng, pools, element.tag, name, element.get(name))
    element.set(name, value)
    return f"set @{name}={value!r} on {_path(element)}"


def _add_attribute(rng: random.Random, root: etree._Element, pools: _Pools) -> str | None:
    element = rng.choice(mutable_elements(root))
    absent = [name for name in pools.attribute_values if name not in element.attrib]
    if not absent:
        return None
    name = rng.choice(absent)
    value = _pick_value(rng, pools, element.tag, name)
    element.set(name, value)
    return f"add @{name}={value!r} to {_path(element)}"


def _children(root: etree._Element) -> list[etree._Element]:
    return [e for e in mutable_elements(root) if e is not root]


def _remove_element(rng: random.Random, root: etree._Element, pools: _Pools) -> str | None:
    targets = _children(root)
    if not targets:
        return None
    element = rng.choice(targets)
    where = _path(element)
    parent = element.getparent()
    assert parent is not None
    parent.remove(element)
    return f"remove {where}"


def _duplicate_element(rng: random.Random, root: etree._Element, pools: _Pools) -> str | None:
    targets = _children(root)
    if not targets:
        return None
    element = rng.choice(targets)
    element.addnext(copy.deepcopy(element))
    return f"duplicate {_path(element)}"


def _rename_element(rng: random.Random, root: etree._Element, pools: _Pools) -> str | None:
    targets = _children(root)
    if not targets:
        return None
    element = rng.choice(targets)
    where = _path(element)
    others = [name for name in pools.element_names if name != element.tag]
    new = rng.choice([*others, "bogus"])
    element.tag = new
    return f"rename {where} to <{new}>"


def _insert_element(rng: random.Random, root: etree._Element, pools: _Pools) -> str | None:
    parent = rng.choice(mutable_elements(root))
    fragment = copy.deepcopy(rng.choice(pools.fragments))
    fragment.tail = None
    position = rng.randint(0, len(parent))
    parent.insert(position, fragment)
    return f"insert a <{fragment.tag}> as child {position} of {_path(parent)}"


def _move_element(rng: random.Random, root: etree._Element, pools: _Pools) -> str | None:
    targets = _children(root)
    if not targets:
        return None
    element = rng.choice(targets)
    inside = set(element.iter())
    parents = [e for e in mutable_elements(root) if e not in inside]
    if not parents:
        return None
    where = _path(element)
    parent = rng.choice(parents)
    old_parent = element.getparent()
    assert old_parent is not None
    old_parent.remove(element)
    position = rng.randint(0, len(parent))
    parent.insert(position, element)
    return f"move {where} to child {position} of {_path(parent)}"


def _swap_with_next(rng: random.Random, root: etree._Element, pools: _Pools) -> str | None:
    targets = [e for e in _children(root) if _is_element(e.getnext())]
    if not targets:
        return None
    element = rng.choice(targets)
    where = _path(element)
    following = element.getnext()
    assert following is not None
    following.addnext(element)
    return f"swap {where} with its next sibling"


def _change_text(rng: random.Random, root: etree._Element, pools: _Pools) -> str | None:
    targets = [e for e in _children(root) if len(e) == 0]
    if not targets:
        return None
    element = rng.choice(targets)
    current = element.text or ""
    plausible = [t for t in pools.texts if t != current.strip()]
    if plausible and rng.random() < 0.5:
        text = rng.choice(plausible)
    else:
        text = rng.choice([v for v in UNLIKELY_VALUES if v != current])
    element.text = text
    return f"set text of {_path(element)} to {text!r}"


EDITS: tuple[Edit, ...] = (
    _drop_attribute, _change_attribute, _add_attribute, _remove_element, _duplicate_element,
    _rename_element, _insert_element, _move_element, _swap_with_next, _change_text,
)


def mutants(
    seeds: Sequence[tuple[str, etree._Element]],
    count: int,
    random_seed: int,
    enumerated: Sequence[str] = (),
) -> Iterator[Mutant]:
    """``count`` mutants of ``seeds`` (name, parsed root element).

    Seeds are drawn in proportion to how many elements they offer to edit, so a rich seed gets
    more mutants than a bare one.  ``enumerated`` adds values (such as a schema's enumerations)
    to those tried for attributes.
    """
    rng = random.Random(random_seed)
    pools = _Pools.from_seeds([root for _, root in seeds], enumerated)
    weights = [len(mutable_elements(root)) for _, root in seeds]
    made = 0
    while made < count:
        name, original = rng.choices(seeds, weights)[0]
        root = copy.deepcopy(original)
        edits: list[str] = []
        wanted = 1 if rng.random() < 0.75 else 2
        attempts = 0
        while len(edits) < wanted and attempts < 20:
            attempts += 1
            edit = rng.choice(EDITS)(rng, root, pools)
            if edit is not None:
                edits.append(edit)
        if not edits:
            continue
        made += 1
        yield Mutant(name, tuple(edits), etree.tostring(root, encoding="utf-8"))
