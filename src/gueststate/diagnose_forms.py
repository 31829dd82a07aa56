"""Name the fault when an element's attributes and children do not go together.

An element's forms are those of :mod:`gueststate.forms`, the labelled alternatives its
reference page shows.  Once libxml2 has refused a document, :func:`diagnose_forms` fits each
element to its closest form, top down, and words the differences with the form's label.  It
never decides validity: it runs only after libxml2 has said no, and it is silent when it finds
no difference.

A fit depends only on an element's *shape*: its name, its attributes (with the values of
those some definition lists), and its children's shapes.  Fits are remembered by shape for the
life of the process, so a corpus of similar documents costs one fit per new shape.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from lxml import etree

from gueststate.diagnose import enumeration
from gueststate.forms import FOR_FITTING, Form, element_forms, message_label, uses
from gueststate.positions import Positions
from gueststate.problems import Problem, problem_at, shortened
from gueststate.rng.model import Node, unique_nodes

#: Cost of a value outside a fixed list: such a value tells which form the author meant.
VALUE_WEIGHT = 3
#: Bytes the memory of shapes and fits may hold (roughly counted) before it starts again.
MAX_REMEMBERED = 64 * 1024 * 1024
#: Bytes one entry of a tuple, list or dictionary costs, with the object it holds.
_ENTRY_BYTES = 80

#: name (as lxml spells it) -> (its definitions in this form, whether the form requires it)
_Named = dict[str, tuple[tuple[Node, ...], bool]]


@dataclass(frozen=True)
class _Parts:
    """What one form allows, by the names lxml gives attributes and elements."""

    attributes: _Named
    children: _Named
    any_attribute: bool
    any_child: bool
    labels: tuple[str, ...]  # the form's labels, worded for a message


@functools.cache
def parts_of(element: Node) -> tuple[_Parts, ...]:
    """The forms of an element definition, as the fitting reads them."""
    return tuple(_parts(form) for form in element_forms(element, FOR_FITTING))


def _parts(form: Form) -> _Parts:
    named: dict[str, _Named] = {"attribute": {}, "element": {}}
    any_name = {"attribute": False, "element": False}
    for (kind, _), (occurs, nodes) in uses(form.content, "").items():
        for node in nodes:
            defined: tuple[Node, ...]
            if node.kind == "ref":  # recursion: the element is known, not checked again
                names, defined = [(node.target or "*").rpartition("/")[2]], ()
            else:
                names, defined = (node.name or "*").split("|"), (node,)
            for name in names:
                if "*" in name:  # anyName or nsName: anything goes here
                    any_name[kind] = True
                    continue
                qualified = f"{{{node.namespace}}}{name}" if node.namespace else name
                known, required = named[kind].get(qualified, ((), False))
                named[kind][qualified] = (known + defined, required or occurs.low > 0)
    return _Parts(
        named["attribute"], named["element"], any_name["attribute"], any_name["element"],
        tuple(message_label(label) for label in form.labels),
    )


@functools.cache
def _root_definitions(start: Node) -> _Named:
    """The elements a document may start with, by name."""
    return _parts(Form((), start)).children


@dataclass
class _Miss:
    """One difference between an element and a form; ``what`` is worded later."""

    kind: str  # missing-attribute, attribute, value, missing-child, child
    name: str
    weight: int
    values: tuple[str, ...] = ()
    child: int = -1  # the child at fault, by its place among the element's children


@dataclass
class _Fit:
    """How well an element of some shape fits one definition, with its children's fits."""

    node: Node
    cost: int
    matched: int
    parts: _Parts
    misses: list[_Miss]
    children: list[tuple[int, _Fit]] = field(default_factory=list)  # by place, as above


_NO_PARTS = _Parts({}, {}, False, False, ())


def _rank(fit: _Fit) -> tuple[int, int, int]:
    """Fewest differences, then most parts recognised, then fewest choices taken."""
    return fit.cost, -fit.matched, len(fit.parts.labels)


class _Memory:
    """Shapes by number, and the best fit of each shape to each definition.

    Bounded by the bytes it holds, roughly counted: past :data:`MAX_REMEMBERED` it starts
    again, so no corpus makes it grow without end.  Each thread has its own (see
    :func:`_memory`): starting again while another thread fits would mix up numbers.
    """

    def __init__(self) -> None:
        self.shapes: dict[tuple[str, tuple[tuple[str, str | None], ...], tuple[int, ...]], int] = {}
        self.fits: dict[tuple[Node, int], _Fit] = {}
        self.weight = 0

    def forget_if_full(self) -> None:
        if self.weight > MAX_REMEMBERED:
            self.shapes.clear()
            self.fits.clear()
            self.weight = 0

    def number(self, key: tuple[str, tuple[tuple[str, str | None], ...], tuple[int, ...]]) -> int:
        """The number of a shape, a new one for a shape not met before."""
        known = self.shapes.get(key)
        if known is None:
            known = self.shapes[key] = len(self.shapes)
            tag, attributes, children = key
            self.weight += _ENTRY_BYTES * (2 + len(attributes) + len(children)) + len(tag) + sum(
                len(name) + len(value or "") for name, value in attributes)
        return known

    def remember(self, key: tuple[Node, int], fit: _Fit) -> None:
        self.fits[key] = fit
        self.weight += _ENTRY_BYTES * (4 + len(fit.children) + 2 * len(fit.misses))


_THREAD = threading.local()
#: Raised by :func:`forget_grammars`: a thread's memory of an older generation is dropped.
_generation = 0


def _memory() -> _Memory:
    memory: _Memory | None = getattr(_THREAD, "memory", None)
    if memory is None or _THREAD.generation != _generation:
        memory = _THREAD.memory = _Memory()
        _THREAD.generation = _generation
    return memory


def forget_grammars() -> None:
    """Let go of forms and fits worked out from grammars read so far (see
    :func:`gueststate.diagnose.forget_grammars`): this thread's memory of fits now, another
    thread's when it next fits."""
    global _generation
    for cached in (parts_of, _root_definitions, _listed_values):
        cached.cache_clear()
    _generation += 1
    _THREAD.memory = None


class _Fitter:
    """Fits the elements of one document, numbering their shapes first."""

    def __init__(self, root: etree._Element, listed: dict[str, frozenset[str]]) -> None:
        self.memory = _memory()
        self.memory.forget_if_full()
        self.children: dict[etree._Element, list[etree._Element]] = {}
        self.shape: dict[etree._Element, int] = {}
        for element in reversed([e for e in root.iter() if isinstance(e.tag, str)]):
            kids = [child for child in element if isinstance(child.tag, str)]
            # A value outside every list of its name fits no form better than another does.
            attributes = tuple((name, value if value in listed.get(name, ()) else None)
                               for name, value in element.attrib.items())
            key = (str(element.tag), attributes, tuple(self.shape[child] for child in kids))
            self.children[element] = kids
            self.shape[element] = self.memory.number(key)

    def best(self, element: etree._Element, nodes: Iterable[Node]) -> _Fit | None:
        fits = [self.fit(element, node) for node in nodes if node.kind == "element"]
        return min(fits, key=_rank, default=None)

    def fit(self, element: etree._Element, node: Node) -> _Fit:
        key = (node, self.shape[element])
        found = self.memory.fits.get(key)
        if found is None:
            candidates = [self._fit_form(element, node, parts) for parts in parts_of(node)]
            found = min(candidates, key=_rank, default=_Fit(node, 0, 0, _NO_PARTS, []))
            self.memory.remember(key, found)
        return found

    def _fit_form(self, element: etree._Element, node: Node, form: _Parts) -> _Fit:
        misses: list[_Miss] = []
        matched = 0
        for name, value in element.attrib.items():
            if name not in form.attributes:
                if not form.any_attribute:
                    misses.append(_Miss("attribute", name, 1))
                continue
            allowed = _allowed_values(form.attributes[name][0])
            if allowed is not None and value not in allowed:
                misses.append(_Miss("value", name, VALUE_WEIGHT, allowed))
            else:
                matched += 1
        for name, (nodes, required) in form.attributes.items():
            if required and name not in element.attrib:
                values = _allowed_values(nodes) or ()
                misses.append(_Miss("missing-attribute", name, 1, values))
        present: set[str] = set()
        children: list[tuple[int, _Fit]] = []
        for place, child in enumerate(self.children[element]):
            tag = str(child.tag)
            present.add(tag)
            if tag not in form.children:
                if not form.any_child:
                    misses.append(_Miss("child", tag, 1, child=place))
                continue
            matched += 1
            found = self.best(child, form.children[tag][0])
            if found is not None:
                children.append((place, found))
        for name, (_, required) in form.children.items():
            if required and name not in present:
                misses.append(_Miss("missing-child", name, 1))
        cost = sum(miss.weight for miss in misses) + sum(fit.cost for _, fit in children)
        matched += sum(fit.matched for _, fit in children)
        return _Fit(node, cost, matched, form, misses, children)


def _allowed_values(nodes: tuple[Node, ...]) -> tuple[str, ...] | None:
    """Values the attribute definitions accept together; None when one is not a list."""
    values: set[str] = set()
    for node in nodes:
        listed = enumeration(node)
        if listed is None:
            return None
        values.update(listed)
    return tuple(sorted(values)) if nodes else None


@functools.cache
def _listed_values(start: Node) -> dict[str, frozenset[str]]:
    """The values of each attribute some definition below ``start`` limits to a list: the
    only attribute values a fit depends on."""
    values: dict[str, set[str]] = {}
    for node in unique_nodes(start):
        listed = enumeration(node) if node.kind == "attribute" else None
        for name in (node.name or "").split("|") if listed is not None else ():
            qualified = f"{{{node.namespace}}}{name}" if node.namespace else name
            values.setdefault(qualified, set()).update(listed or ())
    return {name: frozenset(found) for name, found in values.items()}


def diagnose_forms(
    root: etree._Element, start: Node, path: str, positions: Positions | None = None
) -> list[Problem]:
    """Problems from fitting ``root`` to the closest forms of the grammar's ``start``."""
    candidates = _root_definitions(start).get(str(root.tag), ((), False))[0]
    fitter = _Fitter(root, _listed_values(start))
    fit = fitter.best(root, candidates)
    if fit is None or fit.cost == 0:
        return []
    problems: list[Problem] = []
    _report(fitter, root, fit, (), path, positions, problems)
    return sorted(problems, key=lambda p: (p.line, p.column))


def _report(
    fitter: _Fitter, element: etree._Element, fit: _Fit, labels: tuple[str, ...], path: str,
    positions: Positions | None, problems: list[Problem],
) -> None:
    labels = labels + fit.parts.labels
    children = fitter.children[element]
    desc = _describe(element, fit.parts)
    where = f" (form: {' / '.join(labels[-2:])})" if labels else ""
    for miss in fit.misses:
        at, attribute = element, None
        if miss.kind == "attribute":
            attribute = miss.name
            text = f"attribute '{miss.name}' is not allowed on {desc}"
        elif miss.kind == "value":
            attribute = miss.name
            shown = f"<{element.tag} {miss.name}='{shortened(element.get(miss.name) or '')}'>"
            text = f"{shown} is not allowed (allowed: {', '.join(miss.values)})"
        elif miss.kind == "missing-attribute":
            need = (f"{miss.name}='{miss.values[0]}'" if len(miss.values) == 1
                    else f"a '{miss.name}' attribute")
            why = _what_needs(fitter, element, fit.node, miss.name) if len(miss.values) == 1 else ""
            text = f"{desc} needs {need}{why}"
        elif miss.kind == "missing-child":
            text = f"{desc} needs a <{miss.name}> child"
        else:
            at = children[miss.child]
            text = f"element <{miss.name}> is not allowed in {desc}"
        problems.append(problem_at(
            path, at, text + where, positions=positions, attribute=attribute))
    for place, child_fit in fit.children:
        if child_fit.cost:
            _report(fitter, children[place], child_fit, labels, path, positions, problems)


def _what_needs(fitter: _Fitter, element: etree._Element, node: Node, attribute: str) -> str:
    """' to allow <x>, 'y'': the parts present that only forms requiring ``attribute`` allow."""
    others = [f for f in parts_of(node) if not f.attributes.get(attribute, ((), False))[1]]
    needing = [
        f"<{child.tag}>" for child in fitter.children[element]
        if not any(child.tag in f.children or f.any_child for f in others)
    ] + [
        f"'{name}'" for name in element.attrib
        if not any(name in f.attributes or f.any_attribute for f in others)
    ]
    return f" to allow {', '.join(dict.fromkeys(needing))}" if needing and others else ""


def _describe(element: etree._Element, form: _Parts) -> str:
    """``<tag a='v'>`` with the attributes whose listed value picked this form."""
    shown = []
    for name, value in element.attrib.items():
        nodes, _ = form.attributes.get(name, ((), False))
        allowed = _allowed_values(nodes)
        if allowed is not None and value in allowed:
            shown.append(f" {name}='{value}'")
    return f"<{element.tag}{''.join(shown)}>"
