"""Name the fault when an element's attributes and children do not go together.

An element's content model is a set of *forms*: one per way through the choices among its
attributes and direct children (choices inside child elements belong to those children).  A
form says which attributes and children it requires, allows, and which values it accepts.
Once libxml2 has refused a document, :func:`diagnose_forms` fits each element to its closest
form, top down, and words the differences.  It never decides validity: it runs only after
libxml2 has said no, and it is silent when it finds no difference.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import product

from lxml import etree

from gueststate.diagnose import enumeration
from gueststate.forms import alternative_labels, message_label
from gueststate.positions import Positions
from gueststate.problems import Problem, problem_at
from gueststate.rng.model import Node

#: At most this many forms per element; past it the alternatives are merged into one.
MAX_FORMS = 256
#: Cost of a value outside a fixed list: such a value tells which form the author meant.
VALUE_WEIGHT = 3


#: name -> (its definitions in this form, whether the form requires it)
_Parts = dict[str, tuple[tuple[Node, ...], bool]]


@dataclass(frozen=True)
class _Form:
    """One way to fill an element: name -> (definitions, required), plus labels."""

    attributes: _Parts = field(default_factory=dict)
    children: _Parts = field(default_factory=dict)
    any_attribute: bool = False
    any_child: bool = False
    labels: tuple[str, ...] = ()


_EMPTY = _Form()


def _join(first: _Form, second: _Form) -> _Form:
    """Both forms at once (a group or an interleave of their patterns)."""

    def merge(a: _Parts, b: _Parts) -> _Parts:
        out = dict(a)
        for name, (nodes, required) in b.items():
            known, was_required = out.get(name, ((), False))
            out[name] = (known + nodes, was_required or required)
        return out

    return _Form(
        merge(first.attributes, second.attributes), merge(first.children, second.children),
        first.any_attribute or second.any_attribute, first.any_child or second.any_child,
        first.labels + second.labels,
    )


def _loosen(form: _Form) -> _Form:
    """The form with nothing required."""
    return _Form(
        {name: (nodes, False) for name, (nodes, _) in form.attributes.items()},
        {name: (nodes, False) for name, (nodes, _) in form.children.items()},
        form.any_attribute, form.any_child, form.labels,
    )


def _merged(forms: list[_Form]) -> _Form:
    """One loose form allowing whatever any of ``forms`` allows."""
    return _loosen(functools.reduce(_join, forms, _EMPTY))


def _qualified(node: Node, name: str) -> str:
    return f"{{{node.namespace}}}{name}" if node.namespace else name


def _named(node: Node, name: str, is_attribute: bool) -> _Form:
    if "*" in name:  # anyName or nsName: anything goes here
        return _Form(any_attribute=True) if is_attribute else _Form(any_child=True)
    defined: tuple[Node, ...] = (node,) if node.kind != "ref" else ()
    entry = (defined, True)
    names = {_qualified(node, part): entry for part in name.split("|")}
    return _Form(attributes=names) if is_attribute else _Form(children=names)


@functools.cache
def element_forms(element: Node) -> tuple[_Form, ...]:
    """The forms of an element's content (bounded by :data:`MAX_FORMS`)."""
    return tuple(_forms_of_all(element.children))


def _forms_of_all(patterns: Iterable[Node]) -> list[_Form]:
    forms = [_EMPTY]
    for pattern in patterns:
        forms = _bounded([_join(a, b) for a, b in product(forms, _forms(pattern))])
    return forms


def _bounded(forms: list[_Form]) -> list[_Form]:
    return forms if len(forms) <= MAX_FORMS else [_merged(forms)]


def _forms(node: Node) -> list[_Form]:
    kind = node.kind
    if kind in ("element", "attribute"):
        return [_named(node, node.name or "*", kind == "attribute")]
    if kind == "ref":
        return [_named(node, (node.target or "*").rpartition("/")[2], False)]
    if kind in ("group", "interleave", "mixed"):
        return _forms_of_all(node.children)
    if kind == "choice":
        labels = alternative_labels(node.children)
        return _bounded([form for branch, label in zip(node.children, labels, strict=True)
                         for form in _branch(branch, label)])
    if kind == "notAllowed":
        return []
    inner = _forms_of_all(node.children)
    if kind == "optional":
        return [_loosen(inner[0])] if len(inner) == 1 else [*inner, _EMPTY]
    if kind == "zeroOrMore":
        return [_merged(inner)] if inner else [_EMPTY]
    if kind == "oneOrMore":
        return inner if len(inner) <= 1 else [_merged(inner)]
    return [_EMPTY]  # text, data, value, list, empty: nothing to fit here


def _branch(branch: Node, label: str | None) -> list[_Form]:
    """A choice branch's forms, labelled as the reference pages label that alternative.

    ``label`` comes from :func:`gueststate.forms.alternative_labels`; a branch that is one
    element or attribute is named by that part already, so it carries no label.
    """
    forms = _forms(branch)
    if not label or branch.kind in ("element", "attribute"):
        return forms
    label = message_label(label)
    return [_Form(f.attributes, f.children, f.any_attribute, f.any_child, (label, *f.labels))
            for f in forms]


@dataclass
class _Miss:
    """One difference between an element and a form; ``what`` is worded later."""

    kind: str  # missing-attribute, attribute, value, missing-child, child
    name: str
    weight: int
    values: tuple[str, ...] = ()
    node: etree._Element | None = None  # the child at fault


@dataclass
class _Fit:
    """How well an element fits one definition, with its children's fits."""

    node: Node
    cost: int
    matched: int
    form: _Form
    misses: list[_Miss]
    children: list[tuple[etree._Element, _Fit]]


def _rank(fit: _Fit) -> tuple[int, int, int]:
    """Fewest differences, then most parts recognised, then fewest choices taken."""
    return fit.cost, -fit.matched, len(fit.form.labels)


class _Fitter:
    def __init__(self) -> None:
        self._memo: dict[tuple[etree._Element, Node], _Fit] = {}

    def best(self, element: etree._Element, nodes: Iterable[Node]) -> _Fit | None:
        fits = [self.fit(element, node) for node in nodes if node.kind == "element"]
        return min(fits, key=_rank, default=None)

    def fit(self, element: etree._Element, node: Node) -> _Fit:
        key = (element, node)
        if key not in self._memo:
            candidates = [self._fit_form(element, node, form) for form in element_forms(node)]
            self._memo[key] = min(candidates, key=_rank, default=_Fit(node, 0, 0, _EMPTY, [], []))
        return self._memo[key]

    def _fit_form(self, element: etree._Element, node: Node, form: _Form) -> _Fit:
        misses: list[_Miss] = []
        matched = 0
        for name, value in element.attrib.items():
            nodes, _ = form.attributes.get(name, ((), False))
            if name not in form.attributes:
                if not form.any_attribute:
                    misses.append(_Miss("attribute", name, 1))
                continue
            allowed = _allowed_values(nodes)
            if allowed is not None and value not in allowed:
                misses.append(_Miss("value", name, VALUE_WEIGHT, allowed))
            else:
                matched += 1
        for name, (nodes, required) in form.attributes.items():
            if required and name not in element.attrib:
                values = _allowed_values(nodes) or ()
                misses.append(_Miss("missing-attribute", name, 1, values))
        present: set[str] = set()
        children: list[tuple[etree._Element, _Fit]] = []
        for child in element:
            if not isinstance(child.tag, str):
                continue
            present.add(child.tag)
            if child.tag not in form.children:
                if not form.any_child:
                    misses.append(_Miss("child", child.tag, 1, node=child))
                continue
            matched += 1
            found = self.best(child, form.children[child.tag][0])
            if found is not None:
                children.append((child, found))
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


def diagnose_forms(
    root: etree._Element, start: Node, path: str, positions: Positions | None = None
) -> list[Problem]:
    """Problems from fitting ``root`` to the closest forms of the grammar's ``start``."""
    candidates = [
        nodes for form in _forms(start)
        for name, (nodes, _) in form.children.items() if name == root.tag
    ]
    fit = _Fitter().best(root, (node for nodes in candidates for node in nodes))
    if fit is None or fit.cost == 0:
        return []
    problems: list[Problem] = []
    _report(root, fit, (), path, positions, problems)
    return sorted(problems, key=lambda p: (p.line, p.column))


def _report(
    element: etree._Element, fit: _Fit, labels: tuple[str, ...], path: str,
    positions: Positions | None, problems: list[Problem],
) -> None:
    labels = labels + fit.form.labels
    desc = _describe(element, fit.form)
    where = f" (form: {' / '.join(labels[-2:])})" if labels else ""
    for miss in fit.misses:
        at, attribute = element, None
        if miss.kind == "attribute":
            attribute = miss.name
            text = f"attribute '{miss.name}' is not allowed on {desc}"
        elif miss.kind == "value":
            attribute = miss.name
            shown = f"<{element.tag} {miss.name}='{element.get(miss.name)}'>"
            text = f"{shown} is not allowed (allowed: {', '.join(miss.values)})"
        elif miss.kind == "missing-attribute":
            need = (f"{miss.name}='{miss.values[0]}'" if len(miss.values) == 1
                    else f"a '{miss.name}' attribute")
            why = _what_needs(element, fit.node, miss.name) if len(miss.values) == 1 else ""
            text = f"{desc} needs {need}{why}"
        elif miss.kind == "missing-child":
            text = f"{desc} needs a <{miss.name}> child"
        else:
            at = element if miss.node is None else miss.node
            text = f"element <{miss.name}> is not allowed in {desc}"
        problems.append(problem_at(
            path, at, text + where, positions=positions, attribute=attribute))
    for child, child_fit in fit.children:
        if child_fit.cost:
            _report(child, child_fit, labels, path, positions, problems)


def _what_needs(element: etree._Element, node: Node, attribute: str) -> str:
    """' to allow <x>, 'y'': the parts present that only forms requiring ``attribute`` allow."""
    others = [f for f in element_forms(node) if not f.attributes.get(attribute, ((), False))[1]]
    needing = [
        f"<{child.tag}>" for child in element
        if isinstance(child.tag, str)
        and not any(child.tag in f.children or f.any_child for f in others)
    ] + [
        f"'{name}'" for name in element.attrib
        if not any(name in f.attributes or f.any_attribute for f in others)
    ]
    return f" to allow {', '.join(dict.fromkeys(needing))}" if needing and others else ""


def _describe(element: etree._Element, form: _Form) -> str:
    """``<tag a='v'>`` with the attributes whose listed value picked this form."""
    shown = []
    for name, value in element.attrib.items():
        nodes, _ = form.attributes.get(name, ((), False))
        allowed = _allowed_values(nodes)
        if allowed is not None and value in allowed:
            shown.append(f" {name}='{value}'")
    return f"<{element.tag}{''.join(shown)}>"
