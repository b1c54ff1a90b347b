"""ISAKMP message codec (RFC 2408): header, payload chain and the structured payload bodies.

Payloads stay raw bytes in `Message.payloads` because IKEv1 hashes cover exact wire bodies
(SAi_b, IDii_b, the payload run after HASH in quick mode); typed views are decoded on demand.
Every decoder raises only `ParseError`; lengths are checked strictly.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field

from xfrmctl.keying.errors import ParseError
from xfrmctl.keying.ikev1.constants import (
    DOI_IPSEC,
    HEADER_SIZE,
    ISAKMP_VERSION,
    SIT_IDENTITY_ONLY,
    Flag,
    IdType,
    PayloadType,
)

_HDR = struct.Struct("!8s8sBBBBII")
_KNOWN = frozenset(int(p) for p in PayloadType) - {0, 2, 3}


def _err(msg: str) -> ParseError:
    return ParseError(f"ISAKMP: {msg}", notify=None)


# ------------------------------------------------------------------ header and chain


@dataclass(frozen=True)
class Header:
    spi_i: bytes
    spi_r: bytes
    next_payload: int
    exchange: int
    flags: int
    message_id: int
    length: int = 0
    version: int = ISAKMP_VERSION

    def encode(self, length: int) -> bytes:
        return _HDR.pack(self.spi_i, self.spi_r, self.next_payload, self.version,
                         self.exchange, self.flags, self.message_id, length)  # fmt: skip

    @classmethod
    def decode(cls, data: bytes) -> Header:
        if len(data) < HEADER_SIZE:
            raise _err("datagram shorter than the header")
        spi_i, spi_r, nxt, ver, exch, flags, mid, length = _HDR.unpack_from(data)
        if ver >> 4 != 1:
            raise _err(f"major version {ver >> 4} is not ISAKMP")
        if length != len(data):
            raise _err(f"header length {length} but datagram has {len(data)} bytes")
        return cls(spi_i, spi_r, nxt, exch, flags, mid, length, ver)

    @property
    def encrypted(self) -> bool:
        return bool(self.flags & Flag.ENCRYPTION)


@dataclass(frozen=True)
class Payload:
    type: int
    body: bytes = field(repr=False)

    def encode(self, next_type: int) -> bytes:
        return struct.pack("!BBH", next_type, 0, 4 + len(self.body)) + self.body


def encode_chain(payloads: list[Payload]) -> bytes:
    out = bytearray()
    for i, p in enumerate(payloads):
        nxt = payloads[i + 1].type if i + 1 < len(payloads) else 0
        out += p.encode(nxt)
    return bytes(out)


def decode_chain(first: int, data: bytes, *, allow_trailing: bool) -> list[Payload]:
    """The payload chain starting with type `first`; trailing bytes only where padding may be."""
    out: list[Payload] = []
    pos, ptype = 0, first
    while ptype != 0:
        if ptype not in _KNOWN:
            raise _err(f"unsupported payload type {ptype}")
        if pos + 4 > len(data):
            raise _err("truncated payload header")
        nxt, _res, length = struct.unpack_from("!BBH", data, pos)
        if length < 4 or pos + length > len(data):
            raise _err(f"payload length {length} out of bounds")
        out.append(Payload(ptype, data[pos + 4 : pos + length]))
        pos += length
        ptype = nxt
        if len(out) > 64:
            raise _err("too many payloads")
    if pos != len(data) and not allow_trailing:
        raise _err("trailing bytes after the last payload")
    return out


@dataclass(frozen=True)
class Message:
    """A decoded ISAKMP message; `payloads` is empty until an encrypted body is decrypted."""

    header: Header
    payloads: tuple[Payload, ...]
    body: bytes = field(repr=False, default=b"")  # bytes after the header (ciphertext if so)

    @classmethod
    def decode(cls, data: bytes) -> Message:
        hdr = Header.decode(data)
        body = data[HEADER_SIZE:]
        if hdr.encrypted:
            return cls(hdr, (), body)
        return cls(hdr, tuple(decode_chain(hdr.next_payload, body, allow_trailing=False)), body)

    def with_plaintext(self, plaintext: bytes) -> Message:
        chain = decode_chain(self.header.next_payload, plaintext, allow_trailing=True)
        return Message(self.header, tuple(chain), self.body)

    def all(self, ptype: PayloadType) -> list[Payload]:
        return [p for p in self.payloads if p.type == ptype]

    def first(self, ptype: PayloadType) -> Payload | None:
        for p in self.payloads:
            if p.type == ptype:
                return p
        return None

    def need(self, ptype: PayloadType) -> Payload:
        p = self.first(ptype)
        if p is None:
            raise _err(f"exchange {self.header.exchange} message lacks a {ptype.name} payload")
        return p


def encode_message(
    spi_i: bytes,
    spi_r: bytes,
    exchange: int,
    flags: int,
    message_id: int,
    *,
    body: bytes,
    first: int,
) -> bytes:
    hdr = Header(spi_i, spi_r, first, exchange, flags, message_id)
    return hdr.encode(HEADER_SIZE + len(body)) + body


# ------------------------------------------------------------------ data attributes

Attribute = tuple[int, int]


def encode_attributes(attrs: list[Attribute]) -> bytes:
    """TV form for values that fit 16 bits, TLV (minimal length) otherwise."""
    out = bytearray()
    for atype, value in attrs:
        if value < 0:
            raise ValueError("attribute values are unsigned")
        if value <= 0xFFFF:
            out += struct.pack("!HH", 0x8000 | atype, value)
        else:
            raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
            out += struct.pack("!HH", atype, len(raw)) + raw
    return bytes(out)


def decode_attributes(data: bytes) -> list[Attribute]:
    out: list[Attribute] = []
    pos = 0
    while pos < len(data):
        if pos + 4 > len(data):
            raise _err("truncated data attribute")
        atype, val = struct.unpack_from("!HH", data, pos)
        pos += 4
        if atype & 0x8000:
            out.append((atype & 0x7FFF, val))
            continue
        if val > 8 or pos + val > len(data):
            raise _err(f"variable attribute length {val} not supported")
        out.append((atype, int.from_bytes(data[pos : pos + val], "big")))
        pos += val
    return out


# ------------------------------------------------------------------ SA payload


@dataclass(frozen=True)
class TransformBody:
    number: int
    transform_id: int
    attributes: tuple[Attribute, ...]

    def get(self, atype: int) -> int | None:
        for t, v in self.attributes:
            if t == atype:
                return v
        return None


@dataclass(frozen=True)
class ProposalBody:
    number: int
    protocol: int
    spi: bytes
    transforms: tuple[TransformBody, ...]


@dataclass(frozen=True)
class SaBody:
    proposals: tuple[ProposalBody, ...]
    doi: int = DOI_IPSEC
    situation: int = SIT_IDENTITY_ONLY

    def encode(self) -> bytes:
        out = bytearray(struct.pack("!II", self.doi, self.situation))
        for i, p in enumerate(self.proposals):
            tbytes = bytearray()
            for j, t in enumerate(p.transforms):
                tb = struct.pack("!BBH", t.number, t.transform_id, 0)
                tb += encode_attributes(list(t.attributes))
                nxt = PayloadType.TRANSFORM if j + 1 < len(p.transforms) else 0
                tbytes += struct.pack("!BBH", nxt, 0, 4 + len(tb)) + tb
            pb = struct.pack("!BBBB", p.number, p.protocol, len(p.spi), len(p.transforms))
            pb += p.spi + bytes(tbytes)
            nxt = PayloadType.PROPOSAL if i + 1 < len(self.proposals) else 0
            out += struct.pack("!BBH", nxt, 0, 4 + len(pb)) + pb
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> SaBody:
        if len(data) < 8:
            raise _err("truncated SA payload")
        doi, sit = struct.unpack_from("!II", data)
        if doi != DOI_IPSEC:
            raise _err(f"unsupported DOI {doi}")
        if sit != SIT_IDENTITY_ONLY:
            raise _err(f"unsupported situation {sit}")
        props = []
        for pbody in _substructures(data[8:], PayloadType.PROPOSAL, "proposal"):
            if len(pbody) < 4:
                raise _err("truncated proposal")
            num, proto, spi_size, ntrans = struct.unpack_from("!BBBB", pbody)
            if 4 + spi_size > len(pbody):
                raise _err("proposal SPI overruns the proposal")
            spi = pbody[4 : 4 + spi_size]
            trans = []
            for tbody in _substructures(pbody[4 + spi_size :], PayloadType.TRANSFORM, "transform"):
                if len(tbody) < 4:
                    raise _err("truncated transform")
                tnum, tid = tbody[0], tbody[1]
                trans.append(TransformBody(tnum, tid, tuple(decode_attributes(tbody[4:]))))
            if len(trans) != ntrans:
                raise _err(f"proposal says {ntrans} transforms, carries {len(trans)}")
            props.append(ProposalBody(num, proto, spi, tuple(trans)))
        if not props:
            raise _err("SA payload without proposals")
        return cls(tuple(props), doi, sit)


def _substructures(data: bytes, kind: int, what: str) -> list[bytes]:
    out: list[bytes] = []
    pos = 0
    while pos < len(data):
        if pos + 4 > len(data):
            raise _err(f"truncated {what} header")
        nxt, _r, length = struct.unpack_from("!BBH", data, pos)
        if length < 4 or pos + length > len(data):
            raise _err(f"{what} length {length} out of bounds")
        out.append(data[pos + 4 : pos + length])
        pos += length
        if nxt == 0:
            break
        if nxt != kind:
            raise _err(f"unexpected next payload {nxt} inside SA")
    if pos != len(data):
        raise _err(f"bytes after the last {what}")
    return out


# ------------------------------------------------------------------ ID, notify, delete, NAT-OA


@dataclass(frozen=True)
class IdBody:
    """ID payload body (also IDci/IDcr of quick mode, whose subnets and ranges it carries)."""

    id_type: int
    data: bytes
    protocol: int = 0
    port: int = 0

    def encode(self) -> bytes:
        return struct.pack("!BBH", self.id_type, self.protocol, self.port) + self.data

    @classmethod
    def decode(cls, data: bytes) -> IdBody:
        if len(data) < 4:
            raise _err("truncated ID payload")
        t, proto, port = struct.unpack_from("!BBH", data)
        body = data[4:]
        sizes = {IdType.IPV4_ADDR: 4, IdType.IPV6_ADDR: 16, IdType.IPV4_ADDR_SUBNET: 8,
                 IdType.IPV6_ADDR_SUBNET: 32, IdType.IPV4_ADDR_RANGE: 8,
                 IdType.IPV6_ADDR_RANGE: 32}  # fmt: skip
        want = sizes.get(IdType(t)) if t in IdType._value2member_map_ else None
        if want is not None and len(body) != want:
            raise _err(f"ID type {t} needs {want} bytes, has {len(body)}")
        if t not in IdType._value2member_map_:
            raise _err(f"unknown ID type {t}")
        if not body:
            raise _err("empty identification data")
        return cls(t, body, proto, port)

    def selector_range(self) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address,
                                      ipaddress.IPv4Address | ipaddress.IPv6Address]:  # fmt: skip
        """The address range of an address, subnet or range ID (ParseError for others)."""
        t, d = self.id_type, self.data
        if t in (IdType.IPV4_ADDR, IdType.IPV6_ADDR):
            a = ipaddress.ip_address(d)
            return a, a
        if t in (IdType.IPV4_ADDR_SUBNET, IdType.IPV6_ADDR_SUBNET):
            half = len(d) // 2
            addr = ipaddress.ip_address(d[:half])
            mask = int.from_bytes(d[half:], "big")
            bits = half * 8
            prefix = bin(mask).count("1")
            if mask != ((1 << bits) - 1) ^ ((1 << (bits - prefix)) - 1):
                raise _err("non-contiguous subnet mask in ID")
            net = ipaddress.ip_network(f"{addr}/{prefix}", strict=False)
            return net.network_address, net.broadcast_address
        if t in (IdType.IPV4_ADDR_RANGE, IdType.IPV6_ADDR_RANGE):
            half = len(d) // 2
            lo, hi = ipaddress.ip_address(d[:half]), ipaddress.ip_address(d[half:])
            if int(lo) > int(hi):
                raise _err("reversed address range in ID")
            return lo, hi
        raise _err(f"ID type {t} is not an address selector")


@dataclass(frozen=True)
class NotifyBody:
    protocol: int
    notify_type: int
    spi: bytes = b""
    data: bytes = b""
    doi: int = DOI_IPSEC

    def encode(self) -> bytes:
        head = struct.pack("!IBBH", self.doi, self.protocol, len(self.spi), self.notify_type)
        return head + self.spi + self.data

    @classmethod
    def decode(cls, data: bytes) -> NotifyBody:
        if len(data) < 8:
            raise _err("truncated notification")
        doi, proto, spi_size, ntype = struct.unpack_from("!IBBH", data)
        if 8 + spi_size > len(data):
            raise _err("notification SPI overruns the payload")
        return cls(proto, ntype, data[8 : 8 + spi_size], data[8 + spi_size :], doi)


@dataclass(frozen=True)
class DeleteBody:
    protocol: int
    spis: tuple[bytes, ...]
    doi: int = DOI_IPSEC

    def encode(self) -> bytes:
        size = len(self.spis[0]) if self.spis else 0
        if any(len(s) != size for s in self.spis):
            raise ValueError("delete SPIs differ in size")
        return struct.pack("!IBBH", self.doi, self.protocol, size, len(self.spis)) + b"".join(
            self.spis
        )

    @classmethod
    def decode(cls, data: bytes) -> DeleteBody:
        if len(data) < 8:
            raise _err("truncated delete payload")
        doi, proto, size, count = struct.unpack_from("!IBBH", data)
        if len(data) != 8 + size * count:
            raise _err("delete payload length does not match its SPI count")
        spis = tuple(data[8 + i * size : 8 + (i + 1) * size] for i in range(count))
        return cls(proto, spis, doi)


@dataclass(frozen=True)
class NatOaBody:
    address: ipaddress.IPv4Address | ipaddress.IPv6Address

    def encode(self) -> bytes:
        t = IdType.IPV4_ADDR if self.address.version == 4 else IdType.IPV6_ADDR
        return bytes([t, 0, 0, 0]) + self.address.packed

    @classmethod
    def decode(cls, data: bytes) -> NatOaBody:
        if len(data) not in (8, 20):
            raise _err("NAT-OA payload has the wrong length")
        if data[0] not in (IdType.IPV4_ADDR, IdType.IPV6_ADDR) or (
            (data[0] == IdType.IPV4_ADDR) != (len(data) == 8)
        ):
            raise _err("NAT-OA address type does not match its length")
        return cls(ipaddress.ip_address(data[4:]))


def cert_payload(encoding: int, data: bytes) -> Payload:
    return Payload(PayloadType.CERT, bytes([encoding]) + data)


def split_cert(body: bytes) -> tuple[int, bytes]:
    if len(body) < 1:
        raise _err("empty CERT/CERTREQ payload")
    return body[0], body[1:]
