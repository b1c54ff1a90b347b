"""ISAKMP (RFC 2408), IKEv1 (RFC 2409) and IPsec DOI (RFC 2407) code points used on the wire.

Algorithm ids are not here: they live in the one registry, `xfrmctl.keying.transforms`.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

HEADER_SIZE = 28
ISAKMP_VERSION = 0x10  # major 1, minor 0
DOI_IPSEC = 1
SIT_IDENTITY_ONLY = 1
KEY_IKE = 1  # phase-1 transform id


class PayloadType(IntEnum):
    NONE = 0
    SA = 1
    PROPOSAL = 2
    TRANSFORM = 3
    KE = 4
    ID = 5
    CERT = 6
    CERTREQ = 7
    HASH = 8
    SIG = 9
    NONCE = 10
    NOTIFY = 11
    DELETE = 12
    VENDOR_ID = 13
    NAT_D = 20
    NAT_OA = 21
    NAT_D_DRAFT = 130  # draft-ietf-ipsec-nat-t-ike-02/03
    NAT_OA_DRAFT = 131


class Exchange(IntEnum):
    MAIN = 2  # Identity Protection
    AGGRESSIVE = 4
    INFORMATIONAL = 5
    QUICK = 32


class Flag(IntFlag):
    ENCRYPTION = 1
    COMMIT = 2
    AUTH_ONLY = 4


class Protocol(IntEnum):
    ISAKMP = 1
    AH = 2
    ESP = 3


class Notify(IntEnum):
    INVALID_PAYLOAD_TYPE = 1
    INVALID_COOKIE = 4
    INVALID_EXCHANGE_TYPE = 7
    INVALID_MESSAGE_ID = 9
    INVALID_SPI = 11
    NO_PROPOSAL_CHOSEN = 14
    PAYLOAD_MALFORMED = 16
    INVALID_KEY_INFORMATION = 17
    INVALID_ID_INFORMATION = 18
    INVALID_CERTIFICATE = 20
    INVALID_HASH_INFORMATION = 23
    AUTHENTICATION_FAILED = 24
    INVALID_SIGNATURE = 25
    RESPONDER_LIFETIME = 24576
    REPLAY_STATUS = 24577
    INITIAL_CONTACT = 24578
    R_U_THERE = 36136
    R_U_THERE_ACK = 36137


class P1Attr(IntEnum):
    """Phase-1 SA attribute classes (RFC 2409 Appendix A)."""

    ENCRYPTION = 1
    HASH = 2
    AUTH_METHOD = 3
    GROUP = 4
    LIFE_TYPE = 11
    LIFE_DURATION = 12
    KEY_LENGTH = 14


class P2Attr(IntEnum):
    """IPsec DOI SA attributes (RFC 2407 4.5)."""

    LIFE_TYPE = 1
    LIFE_DURATION = 2
    GROUP = 3
    ENCAPSULATION = 4
    AUTH_ALG = 5
    KEY_LENGTH = 6


class LifeType(IntEnum):
    SECONDS = 1
    KILOBYTES = 2


class AuthMethod(IntEnum):
    PSK = 1
    RSA_SIG = 3


class Encapsulation(IntEnum):
    TUNNEL = 1
    TRANSPORT = 2
    UDP_TUNNEL = 3  # RFC 3947
    UDP_TRANSPORT = 4
    UDP_TUNNEL_DRAFT = 61443  # the NAT-T drafts' private values
    UDP_TRANSPORT_DRAFT = 61444


class IdType(IntEnum):
    """IPsec DOI identification types (RFC 2407 4.6.2.1)."""

    IPV4_ADDR = 1
    FQDN = 2
    USER_FQDN = 3
    IPV4_ADDR_SUBNET = 4
    IPV6_ADDR = 5
    IPV6_ADDR_SUBNET = 6
    IPV4_ADDR_RANGE = 7
    IPV6_ADDR_RANGE = 8
    DER_ASN1_DN = 9
    DER_ASN1_GN = 10
    KEY_ID = 11


class CertEncoding(IntEnum):
    X509_SIGNATURE = 4


# Vendor IDs (MD5 of the names the drafts give).
VID_RFC3947 = bytes.fromhex("4a131c81070358455c5728f20e95452f")
VID_NATT_DRAFT_02 = bytes.fromhex("cd60464335df21f87cfdb2fc68b6a448")
VID_NATT_DRAFT_02N = bytes.fromhex("90cb80913ebb696e086381b5ec427b1f")
VID_NATT_DRAFT_03 = bytes.fromhex("7d9419a65310ca6f2c179d9215529d56")
VID_DPD = bytes.fromhex("afcad71368a1f1c96b8696fc77570100")  # RFC 3706, version 1.0

NATT_PORT = 4500
