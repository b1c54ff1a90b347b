"""IKEv2 payloads (RFC 7296 section 3, RFC 7383 SKF): one frozen dataclass per payload type.

Decoders are strict about every length (payload vs remaining data, proposal/transform nesting,
selector and attribute lengths, nonce size) and raise only ``ParseError``. An unknown payload with
the critical bit rejects the message (UNSUPPORTED_CRITICAL_PAYLOAD with its type in the notify
data); an unknown non-critical one is kept as ``UnknownPayload`` and skipped by the engine.
Numeric fields are plain ints (IANA enums where known) so unknown values survive a round trip.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import ClassVar, Self, TypeVar

from xfrmctl.keying.constants import (
    ATTRIBUTE_FORMAT_TV,
    AuthMethod,
    CertEncoding,
    CfgAttributeType,
    CfgType,
    EapCode,
    IdType,
    NotifyType,
    PayloadType,
    ProtocolId,
    TransformAttributeType,
    TsType,
)
from xfrmctl.keying.errors import ParseError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

NONCE_MIN = 16
NONCE_MAX = 256
CRITICAL = 0x80

_E = TypeVar("_E", bound=IntEnum)


_MEMBERS: dict[type[IntEnum], dict[int, IntEnum]] = {}


def enum_or_int(enum: type[_E], value: int) -> int:
    """The enum member for a known value, else the plain int (unknown values stay lossless).

    Known values are looked up in a table per enum: calling the enum class costs a
    microsecond, and every message has a few dozen of them."""
    members = _MEMBERS.get(enum)
    if members is None:
        members = _MEMBERS[enum] = {int(m): m for m in enum}
    found = members.get(value)
    if found is not None:
        return found
    try:
        return enum(value)
    except ValueError:
        return value


def _need(body: bytes, size: int, what: str) -> None:
    if len(body) < size:
        raise ParseError(f"{what} too short: {len(body)} bytes, need {size}")


class Payload:
    """Base of every payload: the body codec (the generic header is handled by the chain codec)."""

    payload_type: ClassVar[int]

    @property
    def type_code(self) -> int:
        return self.payload_type

    @property
    def critical(self) -> bool:
        return False

    def encode_body(self) -> bytes:
        raise NotImplementedError

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        raise NotImplementedError


# ------------------------------------------------------------------------------------------ SA


@dataclass(frozen=True)
class TransformAttribute:
    """A transform attribute; TV format (16-bit value) when ``value`` is an int."""

    type: int
    value: int | bytes

    def encode(self) -> bytes:
        if isinstance(self.value, int):
            if not 0 <= self.value <= 0xFFFF or not 0 <= self.type <= 0x7FFF:
                raise ValueError("TV attribute type or value out of range")
            return struct.pack("!HH", self.type | ATTRIBUTE_FORMAT_TV, self.value)
        return struct.pack("!HH", self.type & 0x7FFF, len(self.value)) + self.value


@dataclass(frozen=True)
class SaTransform:
    """A transform substructure as on the wire (type, id, attributes)."""

    type: int
    id: int
    attributes: tuple[TransformAttribute, ...] = ()

    @property
    def key_length(self) -> int | None:
        for a in self.attributes:
            if a.type == TransformAttributeType.KEY_LENGTH and isinstance(a.value, int):
                return a.value
        return None

    @classmethod
    def make(cls, type_: int, id_: int, key_length: int | None = None) -> SaTransform:
        attrs = () if key_length is None else (
            TransformAttribute(TransformAttributeType.KEY_LENGTH, key_length),)  # fmt: skip
        return cls(type_, id_, attrs)

    def encode(self, last: bool) -> bytes:
        attrs = b"".join(a.encode() for a in self.attributes)
        return struct.pack(
            "!BBHBBH", 0 if last else 3, 0, 8 + len(attrs), self.type, 0, self.id
        ) + (attrs)


@dataclass(frozen=True)
class SaProposal:
    number: int
    protocol: int
    spi: bytes
    transforms: tuple[SaTransform, ...]

    def encode(self, last: bool) -> bytes:
        if len(self.transforms) > 255 or len(self.spi) > 255:
            raise ValueError("too many transforms or SPI too long")
        body = b"".join(
            t.encode(i == len(self.transforms) - 1) for i, t in enumerate(self.transforms)
        )
        head = struct.pack(
            "!BBHBBBB", 0 if last else 2, 0, 8 + len(self.spi) + len(body), self.number,
            self.protocol, len(self.spi), len(self.transforms),
        )  # fmt: skip
        return head + self.spi + body


def _decode_attributes(data: bytes) -> tuple[TransformAttribute, ...]:
    attrs: list[TransformAttribute] = []
    off = 0
    while off < len(data):
        _need(data[off:], 4, "transform attribute")
        atype, word = struct.unpack_from("!HH", data, off)
        if atype & ATTRIBUTE_FORMAT_TV:
            attrs.append(TransformAttribute(atype & 0x7FFF, word))
            off += 4
        else:
            if off + 4 + word > len(data):
                raise ParseError("transform attribute length exceeds transform")
            attrs.append(TransformAttribute(atype, data[off + 4 : off + 4 + word]))
            off += 4 + word
    return tuple(attrs)


def _decode_transforms(data: bytes, count: int) -> tuple[SaTransform, ...]:
    if count == 0:
        raise ParseError("proposal without transforms")
    out: list[SaTransform] = []
    off = 0
    last = 3
    while off < len(data):
        if last == 0:
            raise ParseError("data after the last transform of a proposal")
        _need(data[off:], 8, "transform")
        last, _, tlen, ttype, _, tid = struct.unpack_from("!BBHBBH", data, off)
        if last not in (0, 3):
            raise ParseError(f"invalid transform last-substructure value {last}")
        if tlen < 8 or off + tlen > len(data):
            raise ParseError("transform length inconsistent with proposal length")
        out.append(SaTransform(ttype, tid, _decode_attributes(data[off + 8 : off + tlen])))
        off += tlen
    if last != 0 or len(out) != count:
        raise ParseError(f"proposal announces {count} transforms, carries {len(out)}")
    return tuple(out)


@dataclass(frozen=True)
class SaPayload(Payload):
    payload_type: ClassVar[int] = PayloadType.SA
    proposals: tuple[SaProposal, ...]

    def encode_body(self) -> bytes:
        return b"".join(
            p.encode(i == len(self.proposals) - 1) for i, p in enumerate(self.proposals)
        )

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        proposals: list[SaProposal] = []
        off = 0
        last = 2
        while off < len(body):
            if last == 0:
                raise ParseError("data after the last proposal")
            _need(body[off:], 8, "proposal")
            last, _, plen, num, proto, spisize, ntrans = struct.unpack_from("!BBHBBBB", body, off)
            if last not in (0, 2):
                raise ParseError(f"invalid proposal last-substructure value {last}")
            if plen < 8 + spisize or off + plen > len(body):
                raise ParseError("proposal length inconsistent with SA payload length")
            spi = body[off + 8 : off + 8 + spisize]
            transforms = _decode_transforms(body[off + 8 + spisize : off + plen], ntrans)
            proposals.append(SaProposal(num, enum_or_int(ProtocolId, proto), spi, transforms))
            off += plen
        if not proposals or last != 0:
            raise ParseError("SA payload without a complete last proposal")
        return cls(tuple(proposals))


# ----------------------------------------------------------------------------- simple payloads


@dataclass(frozen=True)
class KePayload(Payload):
    payload_type: ClassVar[int] = PayloadType.KE
    group: int
    data: bytes

    def encode_body(self) -> bytes:
        return struct.pack("!HH", self.group, 0) + self.data

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        _need(body, 4, "KE payload")
        (group,) = struct.unpack_from("!H", body)
        return cls(group, body[4:])


_ID_ADDRESS_SIZE = {IdType.IPV4_ADDR: 4, IdType.IPV6_ADDR: 16}


@dataclass(frozen=True)
class IdPayload(Payload):
    """IDi / IDr; ``data`` is the raw identification data (address bytes, FQDN, DER DN...)."""

    id_type: int
    data: bytes

    def encode_body(self) -> bytes:
        return struct.pack("!B3x", self.id_type) + self.data

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        _need(body, 4, "ID payload")
        id_type = enum_or_int(IdType, body[0])
        data = body[4:]
        size = _ID_ADDRESS_SIZE.get(IdType(id_type)) if id_type in _ID_ADDRESS_SIZE else None
        if size is not None and len(data) != size:
            raise ParseError(f"ID payload of type {id_type} has {len(data)} address bytes")
        if not data and id_type != IdType.NULL:
            raise ParseError("empty identification data")
        return cls(id_type, data)


@dataclass(frozen=True)
class IdiPayload(IdPayload):
    payload_type: ClassVar[int] = PayloadType.IDI


@dataclass(frozen=True)
class IdrPayload(IdPayload):
    payload_type: ClassVar[int] = PayloadType.IDR


@dataclass(frozen=True)
class CertPayload(Payload):
    payload_type: ClassVar[int] = PayloadType.CERT
    encoding: int
    data: bytes

    def encode_body(self) -> bytes:
        return bytes([self.encoding]) + self.data

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        _need(body, 1, "CERT payload")
        return cls(enum_or_int(CertEncoding, body[0]), body[1:])


@dataclass(frozen=True)
class CertReqPayload(Payload):
    """CERTREQ; for X.509 the data is a list of 20-byte SHA-1 hashes of CA public keys."""

    payload_type: ClassVar[int] = PayloadType.CERTREQ
    encoding: int
    data: bytes

    @property
    def ca_key_hashes(self) -> tuple[bytes, ...]:
        if len(self.data) % 20:
            raise ParseError("CERTREQ authority list is not a multiple of 20 bytes")
        return tuple(self.data[i : i + 20] for i in range(0, len(self.data), 20))

    def encode_body(self) -> bytes:
        return bytes([self.encoding]) + self.data

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        _need(body, 1, "CERTREQ payload")
        return cls(enum_or_int(CertEncoding, body[0]), body[1:])


@dataclass(frozen=True)
class AuthPayload(Payload):
    payload_type: ClassVar[int] = PayloadType.AUTH
    method: int
    data: bytes = field(repr=False)

    def encode_body(self) -> bytes:
        return struct.pack("!B3x", self.method) + self.data

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        _need(body, 4, "AUTH payload")
        if len(body) == 4:
            raise ParseError("AUTH payload without authentication data")
        return cls(enum_or_int(AuthMethod, body[0]), body[4:])


@dataclass(frozen=True)
class NoncePayload(Payload):
    payload_type: ClassVar[int] = PayloadType.NONCE
    data: bytes

    def encode_body(self) -> bytes:
        return self.data

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        if not NONCE_MIN <= len(body) <= NONCE_MAX:
            raise ParseError(f"nonce of {len(body)} bytes (must be {NONCE_MIN}..{NONCE_MAX})")
        return cls(body)


@dataclass(frozen=True)
class NotifyPayload(Payload):
    payload_type: ClassVar[int] = PayloadType.NOTIFY
    notify_type: int
    data: bytes = b""
    protocol: int = ProtocolId.NONE
    spi: bytes = b""

    @property
    def is_error(self) -> bool:
        return self.notify_type < 16384

    def encode_body(self) -> bytes:
        return struct.pack("!BBH", self.protocol, len(self.spi), self.notify_type) + (
            self.spi + self.data
        )

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        _need(body, 4, "Notify payload")
        proto, spisize, ntype = struct.unpack_from("!BBH", body)
        _need(body, 4 + spisize, "Notify payload SPI")
        return cls(
            enum_or_int(NotifyType, ntype), body[4 + spisize :], enum_or_int(ProtocolId, proto),
            body[4 : 4 + spisize],
        )  # fmt: skip


@dataclass(frozen=True)
class DeletePayload(Payload):
    """Delete; an IKE SA delete carries no SPIs, ESP/AH deletes carry 4-byte SPIs."""

    payload_type: ClassVar[int] = PayloadType.DELETE
    protocol: int
    spis: tuple[bytes, ...] = ()

    def encode_body(self) -> bytes:
        size = len(self.spis[0]) if self.spis else (0 if self.protocol == ProtocolId.IKE else 4)
        if any(len(s) != size for s in self.spis):
            raise ValueError("Delete payload SPIs must all have the same size")
        return struct.pack("!BBH", self.protocol, size, len(self.spis)) + b"".join(self.spis)

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        _need(body, 4, "Delete payload")
        proto, size, num = struct.unpack_from("!BBH", body)
        if len(body) != 4 + size * num:
            raise ParseError("Delete payload length does not match its SPI count")
        if proto == ProtocolId.IKE and (size or num):
            raise ParseError("IKE SA Delete payload must not carry SPIs")
        if proto in (ProtocolId.ESP, ProtocolId.AH) and size != 4:
            raise ParseError(f"{ProtocolId(proto).name} Delete payload with SPI size {size}")
        if proto not in (ProtocolId.IKE, ProtocolId.ESP, ProtocolId.AH):
            raise ParseError(f"Delete payload for unknown protocol {proto}")
        spis = tuple(body[4 + i * size : 4 + (i + 1) * size] for i in range(num))
        return cls(ProtocolId(proto), spis)


@dataclass(frozen=True)
class VendorIdPayload(Payload):
    payload_type: ClassVar[int] = PayloadType.VENDOR_ID
    data: bytes

    def encode_body(self) -> bytes:
        return self.data

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        return cls(body)


# ------------------------------------------------------------------------------------------ TS


@dataclass(frozen=True)
class TrafficSelector:
    """An address range with protocol and port range (ports 0..65535 and proto 0 = any)."""

    start_addr: IPAddress
    end_addr: IPAddress
    ip_protocol: int = 0
    start_port: int = 0
    end_port: int = 65535

    @property
    def ts_type(self) -> TsType:
        return TsType.TS_IPV4_ADDR_RANGE if self.start_addr.version == 4 else (
            TsType.TS_IPV6_ADDR_RANGE)  # fmt: skip

    def encode(self) -> bytes:
        if self.start_addr.version != self.end_addr.version:
            raise ValueError("traffic selector mixes IPv4 and IPv6")
        addrs = self.start_addr.packed + self.end_addr.packed
        return struct.pack(
            "!BBHHH", self.ts_type, self.ip_protocol, 8 + len(addrs), self.start_port,
            self.end_port,
        ) + addrs  # fmt: skip


_TS_SIZES = {TsType.TS_IPV4_ADDR_RANGE: (16, 4), TsType.TS_IPV6_ADDR_RANGE: (40, 16)}


@dataclass(frozen=True)
class TsPayload(Payload):
    selectors: tuple[TrafficSelector, ...]

    def encode_body(self) -> bytes:
        if len(self.selectors) > 255:
            raise ValueError("more than 255 traffic selectors")
        return struct.pack("!B3x", len(self.selectors)) + b"".join(
            s.encode() for s in self.selectors
        )

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        _need(body, 4, "TS payload")
        count = body[0]
        off = 4
        out: list[TrafficSelector] = []
        for _ in range(count):
            _need(body[off:], 8, "traffic selector")
            ts_type, proto, slen, sport, eport = struct.unpack_from("!BBHHH", body, off)
            if ts_type not in _TS_SIZES:
                raise ParseError(f"unsupported traffic selector type {ts_type}")
            size, alen = _TS_SIZES[TsType(ts_type)]
            if slen != size or off + slen > len(body):
                raise ParseError(f"traffic selector length {slen} for type {ts_type}")
            a = body[off + 8 : off + 8 + alen]
            b = body[off + 8 + alen : off + 8 + 2 * alen]
            start = ipaddress.ip_address(a)
            end = ipaddress.ip_address(b)
            out.append(TrafficSelector(start, end, proto, sport, eport))
            off += slen
        if off != len(body):
            raise ParseError("TS payload length does not match its selectors")
        return cls(tuple(out))


@dataclass(frozen=True)
class TsiPayload(TsPayload):
    payload_type: ClassVar[int] = PayloadType.TSI


@dataclass(frozen=True)
class TsrPayload(TsPayload):
    payload_type: ClassVar[int] = PayloadType.TSR


# ------------------------------------------------------------------------------------- SK, SKF


@dataclass(frozen=True)
class SkPayload(Payload):
    """Encrypted payload as received: IV || ciphertext || ICV, decrypted by ``sk``.

    ``first_payload`` is the SK generic header's Next Payload: the type of the first inner payload.
    """

    payload_type: ClassVar[int] = PayloadType.SK
    first_payload: int
    data: bytes

    def encode_body(self) -> bytes:
        return self.data


@dataclass(frozen=True)
class SkfPayload(Payload):
    """Encrypted fragment (RFC 7383); ``first_payload`` is 0 except in fragment 1."""

    payload_type: ClassVar[int] = PayloadType.SKF
    first_payload: int
    fragment_number: int
    total_fragments: int
    data: bytes

    def encode_body(self) -> bytes:
        return struct.pack("!HH", self.fragment_number, self.total_fragments) + self.data

    @classmethod
    def decode_fields(cls, first_payload: int, body: bytes) -> SkfPayload:
        _need(body, 4, "SKF payload")
        number, total = struct.unpack_from("!HH", body)
        if number == 0 or total == 0 or number > total:
            raise ParseError(f"invalid fragment number {number} of {total}")
        return cls(first_payload, number, total, body[4:])


# ------------------------------------------------------------------------------------------ CP


@dataclass(frozen=True)
class CfgAttribute:
    type: int
    value: bytes = b""

    def encode(self) -> bytes:
        return struct.pack("!HH", self.type & 0x7FFF, len(self.value)) + self.value


@dataclass(frozen=True)
class CpPayload(Payload):
    payload_type: ClassVar[int] = PayloadType.CP
    cfg_type: int
    attributes: tuple[CfgAttribute, ...] = ()

    def encode_body(self) -> bytes:
        return struct.pack("!B3x", self.cfg_type) + b"".join(a.encode() for a in self.attributes)

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        _need(body, 4, "CP payload")
        attrs: list[CfgAttribute] = []
        off = 4
        while off < len(body):
            _need(body[off:], 4, "configuration attribute")
            atype, alen = struct.unpack_from("!HH", body, off)
            if off + 4 + alen > len(body):
                raise ParseError("configuration attribute length exceeds CP payload")
            attrs.append(
                CfgAttribute(
                    enum_or_int(CfgAttributeType, atype & 0x7FFF), body[off + 4 : off + 4 + alen]
                )
            )
            off += 4 + alen
        return cls(enum_or_int(CfgType, body[0]), tuple(attrs))


# ----------------------------------------------------------------------------------------- EAP


@dataclass(frozen=True)
class EapPayload(Payload):
    """An EAP message (RFC 3748), kept whole: code, identifier, length, [type, data]."""

    payload_type: ClassVar[int] = PayloadType.EAP
    message: bytes

    @property
    def code(self) -> int:
        return self.message[0]

    def encode_body(self) -> bytes:
        return self.message

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        _need(body, 4, "EAP message")
        code, _, length = struct.unpack_from("!BBH", body)
        if length != len(body):
            raise ParseError("EAP length field does not match the EAP payload")
        if code in (EapCode.REQUEST, EapCode.RESPONSE) and length < 5:
            raise ParseError("EAP request/response without a type")
        if code not in tuple(EapCode):
            raise ParseError(f"unknown EAP code {code}")
        return cls(body)


# ------------------------------------------------------------------------------------- unknown


@dataclass(frozen=True)
class UnknownPayload(Payload):
    """A payload type we do not implement (only legal when not critical)."""

    type: int
    is_critical: bool
    data: bytes

    @property
    def type_code(self) -> int:
        return self.type

    @property
    def critical(self) -> bool:
        return self.is_critical

    def encode_body(self) -> bytes:
        return self.data


PAYLOAD_CLASSES: dict[int, type[Payload]] = {
    cls.payload_type: cls
    for cls in (
        SaPayload, KePayload, IdiPayload, IdrPayload, CertPayload, CertReqPayload, AuthPayload,
        NoncePayload, NotifyPayload, DeletePayload, VendorIdPayload, TsiPayload, TsrPayload,
        CpPayload, EapPayload,
    )
}  # fmt: skip


# ------------------------------------------------------------------------------- payload chains


def parse_payloads(first: int, data: bytes, *, inner: bool = False) -> tuple[Payload, ...]:
    """Decode a chain of payloads starting with type ``first``; raises only ParseError.

    An SK or SKF payload ends the chain and must be the last bytes; ``inner`` (the decrypted
    content of SK/SKF) must not contain another one.
    """
    try:
        return _parse_chain(first, data, inner)
    except ParseError:
        raise
    except (ValueError, struct.error, IndexError) as exc:  # defence in depth
        raise ParseError(f"malformed payload: {exc}") from exc


def _parse_chain(first: int, data: bytes, inner: bool) -> tuple[Payload, ...]:
    out: list[Payload] = []
    ptype = first
    off = 0
    while ptype != PayloadType.NONE:
        if len(data) - off < 4:
            raise ParseError(f"truncated generic header of payload type {ptype}")
        nxt, flags, length = struct.unpack_from("!BBH", data, off)
        if length < 4 or off + length > len(data):
            raise ParseError(f"payload type {ptype} length {length} exceeds the message")
        body = data[off + 4 : off + length]
        off += length
        if ptype in (PayloadType.SK, PayloadType.SKF):
            if inner:
                raise ParseError("encrypted payload inside an encrypted payload")
            if off != len(data):
                raise ParseError("encrypted payload is not the last payload")
            if ptype == PayloadType.SK:
                out.append(SkPayload(nxt, body))
            else:
                out.append(SkfPayload.decode_fields(nxt, body))
            return tuple(out)
        cls = PAYLOAD_CLASSES.get(ptype)
        if cls is None:
            if flags & CRITICAL:
                raise ParseError(
                    f"unsupported critical payload type {ptype}",
                    notify=NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD,
                    data=bytes([ptype]),
                )
            out.append(UnknownPayload(ptype, False, body))
        else:
            out.append(cls.decode_body(body))
        ptype = nxt
    if off != len(data):
        raise ParseError(f"{len(data) - off} bytes after the last payload")
    return tuple(out)


def encode_payloads(payloads: Sequence[Payload]) -> tuple[int, bytes]:
    """(type of the first payload, the chained bytes); an SK/SKF payload must come last."""
    chunks: list[bytes] = []
    for i, p in enumerate(payloads):
        if isinstance(p, SkPayload | SkfPayload):
            if i != len(payloads) - 1:
                raise ValueError("the encrypted payload must be the last payload")
            nxt = p.first_payload
        else:
            nxt = payloads[i + 1].type_code if i + 1 < len(payloads) else PayloadType.NONE
        body = p.encode_body()
        if len(body) + 4 > 0xFFFF:
            raise ValueError(f"payload type {p.type_code} too long")
        chunks.append(struct.pack("!BBH", nxt, CRITICAL if p.critical else 0, len(body) + 4) + body)
    first = payloads[0].type_code if payloads else PayloadType.NONE
    return first, b"".join(chunks)


_P = TypeVar("_P", bound=Payload)


def find(payloads: Iterable[Payload], cls: type[_P]) -> _P | None:
    """The first payload of a class, or None."""
    for p in payloads:
        if isinstance(p, cls):
            return p
    return None
