"""Parts shared by the formats: errors, value readers, ``<seclabel>`` and ``<encryption>``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from gueststate.formats.canonical import Tag
from gueststate.formats.location import FormatError, Location, locate
from gueststate.positions import Positions
from gueststate.xmlsafe import text_content

#: Image formats libvirt's C parser accepts in ``<driver type=...>``; not ``luks``, and not
#: ``none``, which opens libvirt's list but names no format.
IMAGE_FORMATS = (
    "raw", "dir", "bochs", "cloop", "dmg", "iso", "vpc", "vdi", "fat", "vhd", "ploop",
    "cow", "qcow", "qcow2", "qed", "vmdk",
)
ENCRYPTION_FORMATS = ("default", "qcow", "luks", "luks2", "luks-any")
ENCRYPTION_ENGINES = ("qemu", "librbd")

_UUID = re.compile(
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")


def digits(text: str) -> bool:
    """Only ASCII digits: ``str.isdigit()`` also takes "¹" and "٣", which ``int()`` refuses
    and libvirt reads as junk."""
    return text.isascii() and text.isdigit()


@dataclass(frozen=True)
class Source:
    """Where a document came from (its path and, to find columns, its text's positions)."""

    path: str
    positions: Positions | None = field(default=None, compare=False)

    def locate(self, element: etree._Element | None) -> Location:
        """Where ``element`` is in the document."""
        return locate(self.path, self.positions, element)

    def fail(self, element: etree._Element | None, message: str) -> FormatError:
        """libvirt's error ``message`` located at ``element``."""
        return self.locate(element).error(message)


def text_of(element: etree._Element, child: str) -> str | None:
    """Text of the first ``child`` element; empty text counts as absent (as in libvirt)."""
    found = element.find(child)
    if found is None:
        return None
    return text_content(found) or None


def attr(element: etree._Element, name: str) -> str | None:
    """An attribute value; empty strings are kept, as libvirt does."""
    value = element.get(name)
    return None if value is None else str(value)


def invalid_value(attribute: str, element: str, value: str) -> str:
    """libvirt's refusal of an enumerated attribute's value it does not know."""
    return f"Invalid value for attribute '{attribute}' in element '{element}': '{value}'."


def missing_attribute(attribute: str, element: str) -> str:
    """libvirt's refusal of an element without an attribute it requires."""
    return f"Missing required attribute '{attribute}' in element '{element}'"


def yes_no(source: Source, element: etree._Element, name: str) -> bool | None:
    """A ``yes``/``no`` attribute as a boolean."""
    value = attr(element, name)
    if value is None:
        return None
    if value not in ("yes", "no"):
        raise source.fail(element, invalid_value(name, str(element.tag), value))
    return value == "yes"


def format_uuid(value: str) -> str:
    """libvirt's canonical UUID spelling (lower case with dashes); other text is kept."""
    if not _UUID.fullmatch(value):
        return value
    digits = value.replace("-", "").lower()
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def is_absolute(path: str) -> bool:
    """An absolute path as libvirt's parsers understand it."""
    return path.startswith("/")


@dataclass(frozen=True)
class Seclabel:
    """A per-device ``<seclabel>``: relabel policy for one security model."""

    model: str | None = None
    relabel: bool = True
    labelskip: bool = False
    label: str | None = None

    @classmethod
    def parse(cls, source: Source, element: etree._Element) -> Seclabel:
        relabel = yes_no(source, element, "relabel")
        labelskip = yes_no(source, element, "labelskip")
        label = text_of(element, "label")
        model = attr(element, "model")
        if relabel is False and label is not None:
            raise source.fail(
                element,
                f"Cannot specify a label if relabelling is turned off. model={model or ''}",
            )
        return cls(model, relabel is not False, bool(labelskip), label)

    def tag(self) -> Tag:
        policy = ("labelskip", "yes") if self.labelskip else (
            "relabel", "yes" if self.relabel else "no")
        return Tag("seclabel", [("model", self.model), policy],
                   [Tag("label", text=self.label)] if self.label is not None else [])


def parse_seclabels(source: Source, parent: etree._Element) -> tuple[Seclabel, ...]:
    """All ``<seclabel>`` children; two for the same model is an error, as in libvirt."""
    labels: list[Seclabel] = []
    for element in parent.findall("seclabel"):
        label = Seclabel.parse(source, element)
        if any(other.model == label.model for other in labels):
            raise source.fail(element, f"seclabel for model {label.model} is already provided")
        labels.append(label)
    return tuple(labels)


@dataclass(frozen=True)
class Secret:
    """The passphrase secret of an encrypted image, by ``uuid`` or by ``usage``."""

    uuid: str | None = None
    usage: str | None = None
    type: str = "passphrase"

    def tag(self) -> Tag:
        return Tag("secret", [("type", self.type), ("uuid", self.uuid), ("usage", self.usage)])


@dataclass(frozen=True)
class Cipher:
    """LUKS ``<cipher>``: algorithm name, key size and optional mode/hash."""

    name: str
    size: int
    mode: str | None = None
    hash: str | None = None


@dataclass(frozen=True)
class Ivgen:
    """LUKS ``<ivgen>``: initialisation-vector generator."""

    name: str
    hash: str | None = None


@dataclass(frozen=True)
class Encryption:
    """An ``<encryption>`` block."""

    format: str = "luks"
    secrets: tuple[Secret, ...] = ()
    engine: str | None = None
    cipher: Cipher | None = None
    ivgen: Ivgen | None = None

    @classmethod
    def parse(cls, source: Source, element: etree._Element) -> Encryption:
        fmt = attr(element, "format") or ""
        if fmt not in ENCRYPTION_FORMATS:
            raise source.fail(element, f"unknown volume encryption format type {fmt}")
        engine = attr(element, "engine")
        if engine is not None and engine not in ENCRYPTION_ENGINES:
            raise source.fail(element, f"unknown encryption engine '{engine}'")
        secrets = []
        for node in element.findall("secret"):
            kind = attr(node, "type") or ""
            if kind != "passphrase":
                raise source.fail(node, f"invalid secret type {kind}")
            uuid, usage = attr(node, "uuid"), attr(node, "usage")
            if uuid is None and usage is None:
                raise source.fail(node, "missing secret uuid or usage attribute")
            if uuid is not None and not _UUID.fullmatch(uuid):
                raise source.fail(node, f"invalid secret uuid '{uuid}'")
            secrets.append(Secret(format_uuid(uuid) if uuid else None, usage if not uuid else None))
        cipher = ivgen = None
        node = element.find("cipher")
        if node is not None:
            size = attr(node, "size") or ""
            if not digits(size):
                raise source.fail(node, f"cannot parse cipher size: '{size}'")
            cipher = Cipher(attr(node, "name") or "", int(size), attr(node, "mode"),
                            attr(node, "hash"))
        node = element.find("ivgen")
        if node is not None:
            ivgen = Ivgen(attr(node, "name") or "", attr(node, "hash"))
        return cls(fmt, tuple(secrets), engine, cipher, ivgen)

    def tag(self) -> Tag:
        children: list[Tag] = [secret.tag() for secret in self.secrets]
        if self.format == "luks" and self.cipher is not None:
            cipher = self.cipher
            children.append(Tag("cipher", [("name", cipher.name), ("size", str(cipher.size)),
                                           ("mode", cipher.mode), ("hash", cipher.hash)]))
            if self.ivgen is not None:
                children.append(Tag("ivgen", [("name", self.ivgen.name),
                                              ("hash", self.ivgen.hash)]))
        return Tag("encryption", [("format", self.format), ("engine", self.engine)],
                   list(children))


def parse_encryption(source: Source, parent: etree._Element) -> Encryption | None:
    """The ``<encryption>`` child, if any."""
    element = parent.find("encryption")
    return None if element is None else Encryption.parse(source, element)
