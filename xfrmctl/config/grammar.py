"""The Junos configuration grammar xfrmctl understands: one table, read by every front end.

Each node says which keywords may follow, what values they take (with their ranges) and the
default when a statement is absent. YAML, ``set`` and curly text are all checked against this one
table, so they accept exactly the same configurations and produce the same messages. Statements
that belong to the SRX firewall or to the host (zones, screens, NAT, ``system``...) are `Opaque`:
accepted, never applied, and named in a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Union

from xfrmctl.config.values import (
    Address,
    AddressOrHostname,
    Algorithm,
    FilePath,
    Hostname,
    Int,
    Interface,
    InterfaceAddress,
    JunosInterface,
    Keyword,
    Lifetime,
    LinuxInterface,
    Name,
    NextHop,
    Prefix,
    SecretValue,
    Size,
    St0Ref,
    Text,
    ValueType,
    ZoneInterface,
)


@dataclass(frozen=True)
class Leaf:
    """``keyword VALUE;`` -- `multi` leaves take ``[ a b ]`` lists and accumulate."""

    value: ValueType
    default: object = None
    multi: bool = False
    max_items: int | None = None
    secret: bool = False
    bare: object = None
    """The value of the statement written without one (``respond-bad-spi;`` means 5)."""


@dataclass(frozen=True)
class Flag:
    """``keyword;`` on its own."""


@dataclass(frozen=True)
class Container:
    children: Mapping[str, Node] = field(default_factory=dict)
    choice: bool = False
    """At most one child: setting one replaces the other (``ascii-text`` | ``hexadecimal``)."""
    positional: ValueType | None = None
    """A value written without a keyword (``address sunnyvale 10.1.1.0/24``, ``file NAME``)."""
    inline: bool = False
    """Displayed on one line with its only child (``family inet {``, ``pre-shared-key
    ascii-text "..."``), as Junos shows it."""


@dataclass(frozen=True)
class Named:
    """``keyword NAME { ... }``: a collection of blocks keyed by name (proposals, units...)."""

    key: ValueType
    body: Container
    only: frozenset[str] | None = None
    other: Opaque | None = None
    """For keys outside `only` (``interfaces ge-0/0/0``): accepted with this warning."""
    merge_child: bool = False
    """Displayed on one line with its entries' only child (``from-zone A to-zone B {``)."""
    grouped: bool = False
    """Displayed as ``keyword { NAME { ... } }`` (``interfaces``, ``address-book``) rather
    than ``keyword NAME { ... }`` (``proposal``)."""


@dataclass(frozen=True)
class Opaque:
    """A statement xfrmctl accepts and ignores; `reason` is the warning operators see."""

    reason: str


Node = Union[Leaf, Flag, Container, Named, Opaque]  # noqa: UP007 (forward references)

MAX_PROPOSALS = 4
"""Proposals per IKE or IPsec policy (spec §2.21.3)."""

SRX_ONLY = "SRX-only statement, accepted and ignored"
FIREWALL = f"{SRX_ONLY}: filtering on Linux is configured in nftables"
HOST = "host setting, not part of xfrmctl's configuration; ignored"
ROUTING_DAEMON = "dynamic routing is left to a routing daemon such as FRR; ignored"
PHYSICAL = (
    "physical interfaces are configured by the host (ip, systemd-networkd, NetworkManager); ignored"
)

_SECRET_CHOICE = Container(
    {
        "ascii-text": Leaf(SecretValue("ascii-text"), secret=True),
        "hexadecimal": Leaf(SecretValue("hexadecimal"), secret=True),
    },
    choice=True,
    inline=True,
)

_TRACE_FILE = Container(
    {
        "files": Leaf(Int(2, 1000), default=10),
        "size": Leaf(Size(10 * 1024, 1024**3)),
        "match": Leaf(Text()),
        "world-readable": Flag(),
        "no-world-readable": Flag(),
    },
    positional=Name("file name"),
)

IKE_TRACE_FLAGS = (
    "all", "certificates", "config", "database", "general", "high-availability", "ike",
    "next-hop-tunnels", "parse", "policy-manager", "routing-socket", "thread", "timer",
)  # fmt: skip
IPSEC_TRACE_FLAGS = (
    "all", "next-hop-tunnel-binding", "packet-drops", "packet-processing", "security-associations",
)  # fmt: skip
AUTHENTICATION_METHODS = (
    "pre-shared-keys", "rsa-signatures", "dsa-signatures",
    "ecdsa-signatures-256", "ecdsa-signatures-384",
)  # fmt: skip

IKE_PROPOSAL = Container(
    {
        "description": Leaf(Text()),
        "authentication-method": Leaf(Keyword(AUTHENTICATION_METHODS)),
        "dh-group": Leaf(Algorithm("dh-group")),
        "authentication-algorithm": Leaf(Algorithm("ike-authentication")),
        "encryption-algorithm": Leaf(Algorithm("ike-encryption")),
        "lifetime-seconds": Leaf(Lifetime(180, 86400), default=28800),
    }
)

IKE_POLICY = Container(
    {
        "description": Leaf(Text()),
        "mode": Leaf(Keyword(("main", "aggressive")), default="main"),
        "proposals": Leaf(Name("proposal name"), multi=True, max_items=MAX_PROPOSALS),
        "proposal-set": Leaf(Algorithm("ike-proposal-set")),
        "pre-shared-key": _SECRET_CHOICE,
        "certificate": Container(
            {
                "local-certificate": Leaf(Name("certificate id")),
                "peer-certificate-type": Leaf(Keyword(("pkcs7", "x509-signature"))),
                "trusted-ca": Leaf(Name("CA index, use-all or CA profile")),
            }
        ),
    }
)

_DN_MATCH = Container({"container": Leaf(Text()), "wildcard": Leaf(Text())})

IKE_GATEWAY = Container(
    {
        "ike-policy": Leaf(Name("IKE policy name")),
        "address": Leaf(AddressOrHostname(), multi=True, max_items=5),
        "dynamic": Container(
            {
                "hostname": Leaf(Hostname()),
                "user-at-hostname": Leaf(Text()),
                "inet": Leaf(Address("inet")),
                "inet6": Leaf(Address("inet6")),
                "distinguished-name": _DN_MATCH,
                "connections-limit": Leaf(Int(1, 65535)),
                "ike-user-type": Leaf(Keyword(("group-ike-id", "shared-ike-id"))),
            }
        ),
        "dead-peer-detection": Container(
            {
                "always-send": Flag(),
                "optimized": Flag(),
                "probe-idle-tunnel": Flag(),
                "interval": Leaf(Int(10, 60), default=10),
                "threshold": Leaf(Int(1, 5), default=5),
            }
        ),
        "local-identity": Container(
            {
                "inet": Leaf(Address("inet")),
                "inet6": Leaf(Address("inet6")),
                "hostname": Leaf(Hostname()),
                "user-at-hostname": Leaf(Text()),
                "distinguished-name": Flag(),
            },
            choice=True,
            inline=True,
        ),
        "remote-identity": Container(
            {
                "inet": Leaf(Address("inet")),
                "inet6": Leaf(Address("inet6")),
                "hostname": Leaf(Hostname()),
                "user-at-hostname": Leaf(Text()),
                "distinguished-name": _DN_MATCH,
            },
            choice=True,
            inline=True,
        ),
        "external-interface": Leaf(Interface()),
        "local-address": Leaf(Address()),
        "nat-keepalive": Leaf(Int(1, 300), default=5),
        "no-nat-traversal": Flag(),
        "general-ikeid": Flag(),
        "version": Leaf(Keyword(("v1-only", "v2-only")), default="v1-only"),
        "xauth": Container({"access-profile": Leaf(Name("access profile"))}),
    }
)

IKE = Container(
    {
        "proposal": Named(Name("proposal name"), IKE_PROPOSAL),
        "policy": Named(Name("policy name"), IKE_POLICY),
        "gateway": Named(Name("gateway name"), IKE_GATEWAY),
        "respond-bad-spi": Leaf(Int(1, 30), bare=5),
        "traceoptions": Container(
            {
                "file": _TRACE_FILE,
                "flag": Leaf(Keyword(IKE_TRACE_FLAGS), multi=True),
                "no-remote-trace": Flag(),
                "rate-limit": Leaf(Int(0, 4294967295)),
            }
        ),
    }
)

IPSEC_PROPOSAL = Container(
    {
        "description": Leaf(Text()),
        "protocol": Leaf(Keyword(("esp", "ah")), default="esp"),
        "authentication-algorithm": Leaf(Algorithm("ipsec-authentication")),
        "encryption-algorithm": Leaf(Algorithm("ipsec-encryption")),
        "lifetime-seconds": Leaf(Lifetime(180, 86400), default=3600),
        "lifetime-kilobytes": Leaf(Int(64, 1048576)),
    }
)

IPSEC_POLICY = Container(
    {
        "description": Leaf(Text()),
        "perfect-forward-secrecy": Container({"keys": Leaf(Algorithm("pfs-group"))}),
        "proposal-set": Leaf(Algorithm("ipsec-proposal-set")),
        "proposals": Leaf(Name("proposal name"), multi=True, max_items=MAX_PROPOSALS),
    }
)

VPN = Container(
    {
        "bind-interface": Leaf(St0Ref()),
        "df-bit": Leaf(Keyword(("clear", "copy", "set")), default="clear"),
        "establish-tunnels": Leaf(Keyword(("immediately", "on-traffic")), default="on-traffic"),
        "ike": Container(
            {
                "gateway": Leaf(Name("gateway name")),
                "ipsec-policy": Leaf(Name("IPsec policy name")),
                "idle-time": Leaf(Lifetime(60, 999999)),
                "install-interval": Leaf(Int(0, 10), default=1),
                "no-anti-replay": Flag(),
                "anti-replay-window-size": Leaf(Int(64, 4096), default=64),
                "proxy-identity": Container(
                    {
                        "local": Leaf(Prefix()),
                        "remote": Leaf(Prefix()),
                        "service": Leaf(Name("service (any or an application name)")),
                    }
                ),
            }
        ),
        "manual": Container(
            {
                "authentication": Container(
                    {"algorithm": Leaf(Algorithm("ipsec-authentication")), "key": _SECRET_CHOICE}
                ),
                "encryption": Container(
                    {"algorithm": Leaf(Algorithm("ipsec-encryption")), "key": _SECRET_CHOICE}
                ),
                "external-interface": Leaf(Interface()),
                "gateway": Leaf(Address()),
                "protocol": Leaf(Keyword(("esp", "ah")), default="esp"),
                "spi": Leaf(Int(256, 16639)),
            }
        ),
        "traffic-selector": Named(
            Name("traffic selector name"),
            Container({"local-ip": Leaf(Prefix()), "remote-ip": Leaf(Prefix())}),
        ),
        "vpn-monitor": Container(
            {
                "destination-ip": Leaf(Address()),
                "optimized": Flag(),
                "source-interface": Leaf(Interface()),
            }
        ),
    }
)

IPSEC = Container(
    {
        "proposal": Named(Name("proposal name"), IPSEC_PROPOSAL),
        "policy": Named(Name("policy name"), IPSEC_POLICY),
        "vpn": Named(Name("VPN name"), VPN),
        "vpn-monitor-options": Container(
            {
                "interval": Leaf(Int(2, 3600), default=10),
                "threshold": Leaf(Int(1, 65536), default=10),
            }
        ),
        "traceoptions": Container({"flag": Leaf(Keyword(IPSEC_TRACE_FLAGS), multi=True)}),
    }
)

_ADDRESS_ENTRY = Container(
    {
        "description": Leaf(Text()),
        "dns-name": Leaf(Hostname()),
        "range-address": Named(Address(), Container({"to": Leaf(Address())})),
        "wildcard-address": Leaf(Text()),
    },
    positional=Prefix(),
)
_ADDRESS_SET = Container(
    {
        "description": Leaf(Text()),
        "address": Leaf(Name("address name"), multi=True),
        "address-set": Leaf(Name("address-set name"), multi=True),
    }
)
_BOOK_BODY: dict[str, Node] = {
    "description": Leaf(Text()),
    "address": Named(Name("address name"), _ADDRESS_ENTRY),
    "address-set": Named(Name("address-set name"), _ADDRESS_SET),
}
ADDRESS_BOOK = Container({**_BOOK_BODY, "attach": Container({"zone": Leaf(Name("zone"), True)})})

SECURITY_POLICY = Container(
    {
        "description": Leaf(Text()),
        "match": Container(
            {
                "source-address": Leaf(Name("address name"), multi=True),
                "destination-address": Leaf(Name("address name"), multi=True),
                "application": Leaf(Name("application name"), multi=True),
                "source-identity": Opaque(f"{SRX_ONLY}: user-role firewall"),
            }
        ),
        "then": Container(
            {
                "permit": Container(
                    {
                        "tunnel": Container(
                            {
                                "ipsec-vpn": Leaf(Name("VPN name")),
                                "pair-policy": Leaf(Name("policy name")),
                                "ipsec-group-vpn": Leaf(Name("group VPN name")),
                            }
                        ),
                        "firewall-authentication": Opaque(f"{SRX_ONLY}: firewall authentication"),
                        "application-services": Opaque(f"{SRX_ONLY}: application services"),
                        "source-nat": Opaque(f"{SRX_ONLY}: NAT on Linux is done in nftables"),
                        "destination-address": Opaque(f"{SRX_ONLY}: NAT is done in nftables"),
                    }
                ),
                "deny": Flag(),
                "reject": Flag(),
                "count": Opaque(f"{SRX_ONLY}: policy counters"),
                "log": Opaque(f"{SRX_ONLY}: policy session logging"),
            }
        ),
    }
)
_POLICY_SET = Container({"policy": Named(Name("policy name"), SECURITY_POLICY)})

POLICIES = Container(
    {
        "from-zone": Named(Name("zone"), Container({"to-zone": Named(Name("zone"), _POLICY_SET)})),
        "global": _POLICY_SET,
        "default-policy": Container(
            {"deny-all": Flag(), "permit-all": Flag()}, choice=True, inline=True
        ),
        "policy-rematch": Opaque(FIREWALL),
        "traceoptions": Opaque(FIREWALL),
    }
)

ZONES = Container(
    {
        "security-zone": Named(
            Name("zone"),
            Container(
                {
                    "description": Leaf(Text()),
                    "address-book": Container(_BOOK_BODY),
                    "host-inbound-traffic": Opaque(FIREWALL),
                    "interfaces": Named(
                        ZoneInterface(),
                        Container({"host-inbound-traffic": Opaque(FIREWALL)}),
                        grouped=True,
                    ),
                    "screen": Opaque(FIREWALL),
                    "tcp-rst": Opaque(FIREWALL),
                    "application-tracking": Opaque(FIREWALL),
                }
            ),
        ),
        "functional-zone": Opaque(FIREWALL),
    }
)

_THRESHOLD_1000 = Container({"threshold": Leaf(Int(1, 1000000000), default=1000)})
_THRESHOLD_20 = Container({"threshold": Leaf(Int(1, 1000000000), default=20)})

ALARMS = Container(
    {
        "audible": Flag(),
        "potential-violation": Container(
            {
                "authentication": Leaf(Int(1, 1000000000)),
                "cryptographic-self-test": Flag(),
                "decryption-failures": _THRESHOLD_1000,
                "encryption-failures": _THRESHOLD_1000,
                "ike-phase1-failures": _THRESHOLD_20,
                "ike-phase2-failures": _THRESHOLD_20,
                "key-generation-self-test": Flag(),
                "non-cryptographic-self-test": Flag(),
                "replay-attacks": Container({"threshold": Leaf(Int(0, 1000000000), default=1000)}),
                "security-log-percent-full": Opaque(HOST),
                "idp": Opaque(f"{SRX_ONLY}: IDP"),
                "policy": Opaque(FIREWALL),
                "audit-log": Opaque(HOST),
            }
        ),
    }
)

SECURITY = Container(
    {
        "ike": IKE,
        "ipsec": IPSEC,
        "address-book": Named(Name("address book"), ADDRESS_BOOK, grouped=True),
        "policies": POLICIES,
        "zones": ZONES,
        "flow": Container(
            {
                "tcp-mss": Container(
                    {
                        "ipsec-vpn": Container({"mss": Leaf(Int(64, 65535), default=1320)}),
                        "all-tcp": Opaque(FIREWALL),
                        "gre-in": Opaque(FIREWALL),
                        "gre-out": Opaque(FIREWALL),
                    }
                ),
                "traceoptions": Opaque(FIREWALL),
                "tcp-session": Opaque(FIREWALL),
                "syn-flood-protection-mode": Opaque(FIREWALL),
                "allow-dns-reply": Opaque(FIREWALL),
                "route-change-timeout": Opaque(FIREWALL),
            }
        ),
        "alarms": ALARMS,
        "log": Opaque(f"{SRX_ONLY}: security logging (xfrmctl logs to journald)"),
        "nat": Opaque(f"{SRX_ONLY}: NAT on Linux is configured in nftables"),
        "screen": Opaque(FIREWALL),
        "utm": Opaque(f"{SRX_ONLY}: UTM"),
        "idp": Opaque(f"{SRX_ONLY}: IDP"),
        "alg": Opaque(FIREWALL),
        "application-tracking": Opaque(FIREWALL),
        "forwarding-options": Opaque(FIREWALL),
        "pki": Opaque("certificates are loaded from files (xfrmctl certificate paths); ignored"),
        "group-vpn": Opaque(f"{SRX_ONLY}: Group VPN (GDOI) is not supported"),
        "dynamic-vpn": Opaque(f"{SRX_ONLY}: dynamic VPN (remote access) is not supported"),
        "ssh-known-hosts": Opaque(HOST),
        "user-identification": Opaque(FIREWALL),
    }
)

_FAMILY_INET = Container(
    {
        "address": Named(InterfaceAddress("inet"), Container({"primary": Flag()})),
        "next-hop-tunnel": Named(Address("inet"), Container({"ipsec-vpn": Leaf(Name("VPN name"))})),
        "mtu": Leaf(Int(68, 9192)),
        "filter": Opaque(FIREWALL),
    }
)
_FAMILY_INET6 = Container(
    {
        "address": Named(InterfaceAddress("inet6"), Container({"primary": Flag()})),
        "next-hop-tunnel": Named(
            Address("inet6"), Container({"ipsec-vpn": Leaf(Name("VPN name"))})
        ),
        "mtu": Leaf(Int(1280, 9192)),
        "filter": Opaque(FIREWALL),
    }
)
ST0_UNIT = Container(
    {
        "description": Leaf(Text()),
        "multipoint": Flag(),
        "if-id": Leaf(Int(1, 0xFFFFFFFF)),
        "family": Container({"inet": _FAMILY_INET, "inet6": _FAMILY_INET6}, inline=True),
    }
)
INTERFACES = Named(
    JunosInterface(),
    Container(
        {
            "description": Leaf(Text()),
            "unit": Named(Int(0, 16385), ST0_UNIT),
        }
    ),
    only=frozenset({"st0"}),
    other=Opaque(PHYSICAL),
    grouped=True,
)

ROUTE = Container(
    {
        "next-hop": Leaf(NextHop(), multi=True),
        "qualified-next-hop": Named(
            NextHop(),
            Container(
                {
                    "metric": Leaf(Int(0, 4294967295)),
                    "preference": Leaf(Int(0, 4294967295)),
                }
            ),
        ),
        "metric": Leaf(Int(0, 4294967295)),
        "preference": Leaf(Int(0, 4294967295)),
        "discard": Flag(),
        "reject": Flag(),
        "no-readvertise": Opaque(ROUTING_DAEMON),
        "resolve": Opaque(ROUTING_DAEMON),
    }
)
_STATIC = Container({"route": Named(Prefix(), ROUTE, merge_child=True)})
ROUTING_OPTIONS = Container(
    {
        "static": _STATIC,
        "rib": Named(Name("routing table"), Container({"static": _STATIC})),
        "router-id": Opaque(ROUTING_DAEMON),
        "autonomous-system": Opaque(ROUTING_DAEMON),
        "forwarding-table": Opaque(ROUTING_DAEMON),
    }
)

ROUTING_INSTANCES = Named(
    Name("routing instance"),
    Container(
        {
            "description": Leaf(Text()),
            "instance-type": Leaf(
                Keyword(("virtual-router", "vrf", "forwarding")), default="virtual-router"
            ),
            "interface": Named(Interface(), Container()),
            "routing-options": ROUTING_OPTIONS,
            "protocols": Opaque(ROUTING_DAEMON),
            "route-distinguisher": Opaque(ROUTING_DAEMON),
            "vrf-target": Opaque(ROUTING_DAEMON),
        }
    ),
    grouped=True,
)

# Linux facts Junos keeps elsewhere: interface names, and the files behind certificate ids
# (on an SRX they live in `security pki`).
XFRMCTL = Container(
    {
        "interface-map": Named(JunosInterface(), Container(positional=LinuxInterface())),
        "certificate": Named(
            Name("certificate id"),
            Container({"file": Leaf(FilePath()), "key": Leaf(FilePath())}),
        ),
        "ca-profile": Named(Name("CA profile"), Container({"file": Leaf(FilePath())})),
        # Responder protection against IKE_SA_INIT / Main Mode floods (Junos has no statement
        # for these; the defaults are the engines' own). See docs/reliability.md.
        "ike-flood-protection": Container(
            {
                "half-open-limit": Leaf(Int(1, 1_000_000), default=1000),
                "cookie-threshold": Leaf(Int(0, 1_000_000), default=100),
                "half-open-timeout": Leaf(Int(5, 300), default=30),
                "init-rate": Leaf(Int(0, 1_000_000), default=0),
            }
        ),
    }
)

ROOT = Container(
    {
        "xfrmctl": XFRMCTL,
        "security": SECURITY,
        "interfaces": INTERFACES,
        "routing-options": ROUTING_OPTIONS,
        "routing-instances": ROUTING_INSTANCES,
        "system": Opaque(HOST),
        "protocols": Opaque(ROUTING_DAEMON),
        "policy-options": Opaque(ROUTING_DAEMON),
        "applications": Opaque(f"{SRX_ONLY}: application definitions"),
        "access": Opaque(f"{SRX_ONLY}: access profiles (XAuth/RADIUS)"),
        "firewall": Opaque(FIREWALL),
        "snmp": Opaque(HOST),
        "services": Opaque(HOST),
        "chassis": Opaque(HOST),
        "vlans": Opaque(HOST),
        "bridge-domains": Opaque(HOST),
        "ethernet-switching-options": Opaque(HOST),
        "switch-options": Opaque(HOST),
        "forwarding-options": Opaque(HOST),
        "class-of-service": Opaque(HOST),
        "event-options": Opaque(HOST),
        "poe": Opaque(HOST),
        "virtual-chassis": Opaque(HOST),
        "schedulers": Opaque(f"{SRX_ONLY}: policy schedulers"),
        "logical-systems": Opaque("logical systems are not supported; ignored"),
        "version": Opaque(HOST),
    }
)
