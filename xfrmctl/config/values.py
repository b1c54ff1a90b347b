"""Value types of configuration statements: how a word is checked, normalised and written back.

Each type's `parse` raises `ValueProblem` with text that says what is allowed, so every front end
(YAML, ``set``, curly) reports the same message for the same mistake.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Protocol

from xfrmctl.config import algorithms
from xfrmctl.config.secrets import (
    PLACEHOLDER,
    Secret,
    SecretFormatError,
    is_junos_obfuscated,
    junos9_decode,
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


class ValueProblem(ValueError):
    """A word that is not a valid value; the message says what is allowed."""


@dataclass
class ParseContext:
    """What value parsing needs beyond the word itself: the Junos -> Linux interface names."""

    interface_map: dict[str, str] = field(default_factory=dict)
    used_mappings: set[str] = field(default_factory=set)
    # Lab and testing only (`xfrmctl daemon --lab-lifetime-floor`): the lowest `lifetime-seconds`
    # and `idle-time` accepted instead of the Junos minimum, so rekeying and idle deletion can be
    # watched in minutes.
    lifetime_floor: int | None = None


class ValueType(Protocol):
    def parse(self, word: str, ctx: ParseContext) -> object: ...

    def render(self, value: object) -> str: ...

    def describe(self) -> str: ...


class _Plain:
    """Values whose written form is ``str(value)``."""

    def render(self, value: object) -> str:
        return str(value)


@dataclass(frozen=True)
class Int(_Plain):
    low: int
    high: int

    def parse(self, word: str, ctx: ParseContext) -> object:
        if not re.fullmatch(r"[0-9]+", word):
            raise ValueProblem(f"expected a number in range {self.low}..{self.high}")
        number = int(word)
        if not self.low <= number <= self.high:
            raise ValueProblem(f"out of range {self.low}..{self.high}")
        return number

    def describe(self) -> str:
        return f"a number in range {self.low}..{self.high}"


@dataclass(frozen=True)
class Lifetime(Int):
    """`lifetime-seconds` and `idle-time`: a range whose minimum only a lab daemon lowers
    (`lifetime_floor`)."""

    def parse(self, word: str, ctx: ParseContext) -> object:
        floor = ctx.lifetime_floor
        low = self.low if floor is None else min(self.low, floor)
        return Int(low, self.high).parse(word, ctx)


@dataclass(frozen=True)
class Keyword(_Plain):
    words: tuple[str, ...]

    def parse(self, word: str, ctx: ParseContext) -> object:
        if word not in self.words:
            raise ValueProblem(f"must be one of: {', '.join(self.words)}")
        return word

    def describe(self) -> str:
        return " | ".join(self.words)


_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:@/+-]{0,62}")


@dataclass(frozen=True)
class Name(_Plain):
    """An object name (proposal, gateway, VPN, zone, address-book entry...)."""

    what: str = "name"

    def parse(self, word: str, ctx: ParseContext) -> object:
        if not _NAME.fullmatch(word):
            raise ValueProblem(
                f"invalid {self.what}: use up to 63 letters, digits and - _ . : @ / +"
            )
        return word

    def describe(self) -> str:
        return self.what


@dataclass(frozen=True)
class Text:
    """Free text (descriptions, e-mail identities, DNs)."""

    def parse(self, word: str, ctx: ParseContext) -> object:
        if "\n" in word or len(word) > 255:
            raise ValueProblem("expected text of at most 255 characters on one line")
        return word

    def render(self, value: object) -> str:
        return str(value)

    def describe(self) -> str:
        return "text"


@dataclass(frozen=True)
class Address(_Plain):
    family: str = "any"  # "inet", "inet6" or "any"

    def parse(self, word: str, ctx: ParseContext) -> object:
        try:
            address = ipaddress.ip_address(word)
        except ValueError:
            raise ValueProblem(f"expected {self.describe()}") from None
        _check_family(address.version, self.family, self.describe())
        return address

    def describe(self) -> str:
        return {"inet": "an IPv4 address", "inet6": "an IPv6 address"}.get(
            self.family, "an IPv4 or IPv6 address"
        )


def _check_family(version: int, family: str, what: str) -> None:
    if (family == "inet" and version != 4) or (family == "inet6" and version != 6):
        raise ValueProblem(f"expected {what}")


@dataclass(frozen=True)
class Prefix(_Plain):
    """A network prefix; host bits are cleared (``10.1.1.1/24`` means ``10.1.1.0/24``)."""

    family: str = "any"

    def parse(self, word: str, ctx: ParseContext) -> object:
        try:
            network = ipaddress.ip_network(word, strict=False)
        except ValueError:
            raise ValueProblem(f"expected {self.describe()}") from None
        _check_family(network.version, self.family, self.describe())
        return network

    def describe(self) -> str:
        return {"inet": "an IPv4 prefix", "inet6": "an IPv6 prefix"}.get(
            self.family, "an IPv4 or IPv6 prefix"
        )


@dataclass(frozen=True)
class InterfaceAddress(_Plain):
    """An interface address with its prefix length (``10.11.11.10/24``)."""

    family: str

    def parse(self, word: str, ctx: ParseContext) -> object:
        if "/" not in word:
            raise ValueProblem(f"expected {self.describe()} with a prefix length")
        try:
            interface = ipaddress.ip_interface(word)
        except ValueError:
            raise ValueProblem(f"expected {self.describe()}") from None
        _check_family(interface.version, self.family, self.describe())
        return interface

    def describe(self) -> str:
        return "an IPv4 address/length" if self.family == "inet" else "an IPv6 address/length"


_HOSTNAME = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?"
)


@dataclass(frozen=True)
class AddressOrHostname(_Plain):
    def parse(self, word: str, ctx: ParseContext) -> object:
        try:
            return ipaddress.ip_address(word)
        except ValueError:
            pass
        if _HOSTNAME.fullmatch(word) and not re.fullmatch(r"[0-9.]+", word):
            return word.lower()
        raise ValueProblem("expected an IPv4 or IPv6 address or a hostname")

    def describe(self) -> str:
        return "an IPv4 or IPv6 address or a hostname"


@dataclass(frozen=True)
class Hostname(_Plain):
    def parse(self, word: str, ctx: ParseContext) -> object:
        if not _HOSTNAME.fullmatch(word):
            raise ValueProblem("expected a hostname")
        return word

    def describe(self) -> str:
        return "a hostname"


_ST0 = re.compile(r"st0\.([0-9]+)")
# Junos physical/logical interface names that have no Linux meaning and must be mapped.
_JUNOS_IFNAME = re.compile(
    r"([a-z]{2,4}-[0-9]+/[0-9]+/[0-9]+(:[0-9]+)?|lo0|reth[0-9]+|fxp[0-9]+|irb|vlan|ae[0-9]+)"
    r"(\.[0-9]+)?"
)
_LINUX_IFNAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@:-]{0,14}")


@dataclass(frozen=True)
class St0Unit:
    """A reference to ``st0.N``; the Linux xfrm interface of the same name."""

    unit: int

    def __str__(self) -> str:
        return f"st0.{self.unit}"


MAX_ST0_UNIT = 16385


def parse_st0(word: str) -> St0Unit | None:
    match = _ST0.fullmatch(word)
    if not match:
        return None
    unit = int(match.group(1))
    if unit > MAX_ST0_UNIT:
        raise ValueProblem(f"st0 unit out of range 0..{MAX_ST0_UNIT}")
    return St0Unit(unit)


def is_junos_interface_name(word: str) -> bool:
    return bool(_JUNOS_IFNAME.fullmatch(word))


@dataclass(frozen=True)
class St0Ref(_Plain):
    def parse(self, word: str, ctx: ParseContext) -> object:
        unit = parse_st0(word)
        if unit is None:
            raise ValueProblem("expected a tunnel interface st0.N")
        return unit

    def describe(self) -> str:
        return "st0.N"


def map_interface(word: str, ctx: ParseContext) -> str | St0Unit:
    """A Linux interface name for `word`: mapped, kept (already Linux), or refused."""
    unit = parse_st0(word)
    if unit is not None:
        return unit
    if word in ctx.interface_map:
        ctx.used_mappings.add(word)
        return ctx.interface_map[word]
    if is_junos_interface_name(word) or "/" in word:
        raise ValueProblem(
            f"'{word}' is a Junos interface name with no Linux equivalent; map it with "
            f"--map-interface {word}=eth0 or 'set xfrmctl interface-map {word} eth0'"
        )
    if not _LINUX_IFNAME.fullmatch(word):
        raise ValueProblem("expected a Linux interface name (at most 15 characters) or st0.N")
    return word


@dataclass(frozen=True)
class Interface(_Plain):
    """A Linux interface name, or a Junos one translated through the interface map."""

    def parse(self, word: str, ctx: ParseContext) -> object:
        return map_interface(word, ctx)

    def describe(self) -> str:
        return "an interface name"


@dataclass(frozen=True)
class ZoneInterface(_Plain):
    """A zone member: translated when the map knows it, else kept as written (zones only
    tell which side of a tunnel policy faces the peer, so an unmapped name is no error)."""

    def parse(self, word: str, ctx: ParseContext) -> object:
        try:
            return map_interface(word, ctx)
        except ValueProblem:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}", word):
                raise ValueProblem("expected an interface name") from None
            return word

    def describe(self) -> str:
        return "an interface name"


@dataclass(frozen=True)
class LinuxInterface(_Plain):
    def parse(self, word: str, ctx: ParseContext) -> object:
        if not _LINUX_IFNAME.fullmatch(word) or "/" in word:
            raise ValueProblem("expected a Linux interface name (at most 15 characters)")
        return word

    def describe(self) -> str:
        return "a Linux interface name"


@dataclass(frozen=True)
class JunosInterface(_Plain):
    def parse(self, word: str, ctx: ParseContext) -> object:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}", word):
            raise ValueProblem("expected a Junos interface name such as ge-0/0/0.0")
        return word

    def describe(self) -> str:
        return "a Junos interface name"


@dataclass(frozen=True)
class NextHop(_Plain):
    """A route's next hop: a gateway address or an interface (``st0.0``)."""

    def parse(self, word: str, ctx: ParseContext) -> object:
        try:
            return ipaddress.ip_address(word)
        except ValueError:
            return map_interface(word, ctx)

    def describe(self) -> str:
        return "an address or an interface"


@dataclass(frozen=True)
class SecretValue:
    """A key; `form` is ``ascii-text`` or ``hexadecimal``. ``$9$`` strings are decoded."""

    form: str

    def parse(self, word: str, ctx: ParseContext) -> object:
        if word == PLACEHOLDER:
            raise ValueProblem(
                "the key was removed by 'config convert' (run it with --show-secrets to keep "
                "keys); put the real key here"
            )
        text = word
        if is_junos_obfuscated(word):
            try:
                text = junos9_decode(word)
            except SecretFormatError as exc:
                raise ValueProblem(f"invalid $9$ secret: {exc}") from None
        if not text:
            raise ValueProblem("the key is empty")
        if self.form == "hexadecimal":
            digits = text[2:] if text.lower().startswith("0x") else text
            if not re.fullmatch(r"([0-9A-Fa-f]{2})+", digits):
                raise ValueProblem("expected an even number of hexadecimal digits")
        elif any(ord(c) > 255 for c in text):
            raise ValueProblem("ascii-text keys must be 8-bit text")
        return Secret(self.form, text)

    def render(self, value: object) -> str:
        assert isinstance(value, Secret)
        return value.text

    def describe(self) -> str:
        return "a key"


@dataclass(frozen=True)
class Algorithm(_Plain):
    """A Junos algorithm keyword, checked against the transform registry."""

    kind: str  # one of algorithms.KINDS

    def parse(self, word: str, ctx: ParseContext) -> object:
        problem = algorithms.check(self.kind, word)
        if problem:
            raise ValueProblem(problem)
        return word

    def describe(self) -> str:
        return algorithms.describe(self.kind)


@dataclass(frozen=True)
class Time(_Plain):
    """``HH:MM`` (FIPS self-test start time)."""

    def parse(self, word: str, ctx: ParseContext) -> object:
        if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", word):
            raise ValueProblem("expected a time HH:MM")
        return word

    def describe(self) -> str:
        return "HH:MM"


@dataclass(frozen=True)
class FilePath(_Plain):
    """An absolute path of a file the daemon reads (certificates, keys); not opened here."""

    def parse(self, word: str, ctx: ParseContext) -> object:
        if not word.startswith("/") or "\x00" in word or "\n" in word:
            raise ValueProblem("expected an absolute file path")
        return word

    def describe(self) -> str:
        return "an absolute file path"


_SIZE = re.compile(r"([0-9]+)([kmg]?)")
_SIZE_FACTOR = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


@dataclass(frozen=True)
class Size(_Plain):
    """A file size written as Junos does (``128k``, ``10m``, ``1g``), within [low, high] bytes."""

    low: int
    high: int

    def parse(self, word: str, ctx: ParseContext) -> object:
        match = _SIZE.fullmatch(word.lower())
        if not match:
            raise ValueProblem("expected a size such as 128k, 10m or 1g")
        size = int(match.group(1)) * _SIZE_FACTOR[match.group(2)]
        if not self.low <= size <= self.high:
            raise ValueProblem(f"out of range {_human(self.low)}..{_human(self.high)}")
        return word.lower()

    def describe(self) -> str:
        return f"a size in range {_human(self.low)}..{_human(self.high)} (k, m, g)"


def _human(size: int) -> str:
    for suffix in ("g", "m", "k"):
        if size % _SIZE_FACTOR[suffix] == 0:
            return f"{size // _SIZE_FACTOR[suffix]}{suffix}"
    return str(size)
