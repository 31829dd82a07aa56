"""libvirt's rules as data, each written once and applied by parsing, ``check()`` and alignment.

A format lists its rules per part (the definition, a disk, a host...).  The parser enforces
the ``parse`` rules of a part as soon as it has read it, so the first refusal is the one
libvirt reports; alignment enforces the ``align`` rules; ``check()`` reports every rule a model
breaks, with the element path of what broke it.

A disk's ``parse`` rules judge that disk alone (comparing disks is alignment's), so the parser
shows each disk as the only one of a definition: a definition of the disks read so far, built
for every disk, made parsing time grow with the square of their number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Generic, Literal, Protocol, TypeVar

from gueststate.formats.location import Location

T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)

#: ``parse``: libvirt's parser refuses the document; ``align``: libvirt refuses when it
#: completes the definition against the domain; ``advice``: only :func:`check` reports it
#: (libvirt accepts the document but the job would fail or do something else).
Stage = Literal["parse", "align", "advice"]


@dataclass(frozen=True)
class Rule(Generic[T_contra]):
    """One rule about a part: what it points at (relative to the part) and its test."""

    where: str | Callable[[T_contra], str]
    test: Callable[[T_contra], str | None]
    stage: Stage = "parse"

    def place(self, part: T_contra) -> str:
        """The element path, relative to the part, of what the rule points at."""
        return self.where if isinstance(self.where, str) else self.where(part)


def broken(rules: Iterable[Rule[T]], part: T, *stages: Stage) -> Iterator[tuple[str, str]]:
    """``(where, message)`` of each rule of ``stages`` that ``part`` breaks, in list order."""
    for rule in rules:
        if rule.stage in stages:
            message = rule.test(part)
            if message is not None:
                yield rule.place(part), message


def enforce(rules: Iterable[Rule[T]], part: T, location: Location, *stages: Stage) -> None:
    """Raise libvirt's error for the first rule of ``stages`` (default ``parse``) broken."""
    for where, message in broken(rules, part, *(stages or ("parse",))):
        raise location.at(where).error(message)


def report(
    rules: Iterable[Rule[T]], part: T, location: Location
) -> Iterator[tuple[Location, str]]:
    """Every rule ``part`` breaks, at any stage, with the place it points at."""
    for where, message in broken(rules, part, "parse", "align", "advice"):
        yield location.at(where), message


class HasDisks(Protocol):
    """A definition with a disk list (backup, checkpoint, snapshot)."""

    @property
    def disks(self) -> Sequence[Any]: ...


D_co = TypeVar("D_co", bound=HasDisks, covariant=True)


@dataclass(frozen=True)
class Listed(Generic[D_co]):
    """Entry ``index`` of a definition's disk list, as a part that rules judge.

    ``identities`` says which entries are the same disk: the domain's targets they resolve to
    when the definition is aligned; None means their names as written (a model checked alone).
    """

    definition: D_co
    index: int
    identities: Sequence[str] | None = None
    #: The entry as judged where it differs from the definition's (a mode decided by alignment).
    entry: Any = None
    #: Where each identity first appears, kept by alignment, so that judging the last entry of
    #: a long list costs no more than judging the first.
    first: Mapping[str, int] | None = None

    @property
    def name(self) -> str:
        return str(self.definition.disks[self.index].name)

    def repeated(self) -> bool:
        """Whether an earlier entry names the same disk."""
        if self.identities is None:
            return self.name in map(attrgetter("name"), self.definition.disks[:self.index])
        identity = self.identities[self.index]
        if self.first is not None:
            return self.first[identity] < self.index
        return identity in self.identities[:self.index]


#: libvirt checks that a definition lists each disk once when it aligns it.
SPECIFIED_TWICE: Rule[Listed[HasDisks]] = Rule(
    "@name", lambda item: f"disk '{item.name}' specified twice" if item.repeated() else None,
    "align")


class Host(Protocol):
    """A network endpoint: a backup's ``<server>`` or a network source's ``<host>``."""

    @property
    def transport(self) -> str | None: ...
    @property
    def name(self) -> str | None: ...
    @property
    def port(self) -> int | None: ...
    @property
    def socket(self) -> str | None: ...


HOST_TRANSPORTS = ("tcp", "unix", "rdma", "fd")


def _socket_not_supported(host: Host) -> str | None:
    if (host.transport or "tcp") != "unix" and host.socket is not None:
        return f"transport '{host.transport or 'tcp'}' does not support socket attribute"
    return None


def port_out_of_range(text: str) -> str:
    """libvirt's refusal of a port above 65535."""
    return f"port '{text}' out of range"


def port_not_a_number(text: str) -> str:
    """libvirt's refusal of a port that is not a number."""
    return f"failed to parse port number '{text}'"


#: How libvirt reads any ``<host>``-like element (virDomainStorageNetworkParseHost).
HOST_RULES: tuple[Rule[Host], ...] = (
    Rule("@transport", lambda h: None if (h.transport or "tcp") in HOST_TRANSPORTS
         else f"unknown protocol transport type '{h.transport}'"),
    Rule("@socket", lambda h: "missing socket for unix transport"
         if h.transport == "unix" and not h.socket else None),
    Rule("@socket", _socket_not_supported),
    Rule("@name", lambda h: "missing name for host"
         if (h.transport or "tcp") in ("tcp", "rdma") and not h.name else None),
    Rule("@port", lambda h: port_out_of_range(str(h.port))
         if h.port is not None and not 0 <= h.port <= 65535 else None),
)
