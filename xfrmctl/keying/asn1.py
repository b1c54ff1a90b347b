"""The little DER the IKE AUTH payload needs: AlgorithmIdentifiers of RFC 7427 signatures.

Only definite-length TLVs, OBJECT IDENTIFIER, NULL, INTEGER and SEQUENCE / context tags; every
malformed input raises ParseError.
"""

from __future__ import annotations

from xfrmctl.keying.errors import ParseError

SEQUENCE = 0x30
OID = 0x06
NULL = 0x05
INTEGER = 0x02


def encode_tlv(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        return bytes([tag, n]) + value
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + value


def encode_oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    body = bytearray([40 * parts[0] + parts[1]])
    for arc in parts[2:]:
        chunk = [arc & 0x7F]
        rest = arc >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        body += bytes(reversed(chunk))
    return encode_tlv(OID, bytes(body))


def encode_integer(value: int) -> bytes:
    size = value.bit_length() // 8 + 1
    return encode_tlv(INTEGER, value.to_bytes(size, "big", signed=True))


def decode_tlv(data: bytes, offset: int = 0) -> tuple[int, bytes, int]:
    """(tag, value, offset after the element)."""
    if len(data) - offset < 2:
        raise ParseError("truncated DER element")
    tag, first = data[offset], data[offset + 1]
    pos = offset + 2
    if first < 0x80:
        length = first
    else:
        nbytes = first & 0x7F
        if nbytes == 0 or nbytes > 4 or len(data) - pos < nbytes:
            raise ParseError("unsupported or truncated DER length")
        length = int.from_bytes(data[pos : pos + nbytes], "big")
        if length < 0x80 or data[pos] == 0:
            raise ParseError("non-minimal DER length")
        pos += nbytes
    if len(data) - pos < length:
        raise ParseError("DER element longer than its container")
    return tag, data[pos : pos + length], pos + length


def decode_sequence(data: bytes) -> list[tuple[int, bytes]]:
    """The (tag, value) elements inside a SEQUENCE's value."""
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        tag, value, pos = decode_tlv(data, pos)
        out.append((tag, value))
    return out


def decode_oid(value: bytes) -> str:
    if not value or value[-1] & 0x80:
        raise ParseError("malformed OBJECT IDENTIFIER")
    arcs: list[int] = []
    acc = 0
    for b in value:
        acc = (acc << 7) | (b & 0x7F)
        if not b & 0x80:
            arcs.append(acc)
            acc = 0
    first = arcs[0]
    head = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    return ".".join(str(a) for a in head + arcs[1:])


def decode_integer(value: bytes) -> int:
    if not value:
        raise ParseError("empty INTEGER")
    return int.from_bytes(value, "big", signed=True)
