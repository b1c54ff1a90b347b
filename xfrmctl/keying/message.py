"""IKEv2 message framing: the fixed header (RFC 7296 3.1) and whole-message encode/decode."""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

from xfrmctl.keying.constants import (
    IKE_HEADER_SIZE,
    IKE_MAJOR_VERSION,
    ExchangeType,
    HeaderFlag,
    NotifyType,
    PayloadType,
)
from xfrmctl.keying.errors import ParseError
from xfrmctl.keying.payloads import (
    NotifyPayload,
    Payload,
    encode_payloads,
    enum_or_int,
    parse_payloads,
)

_HEADER = struct.Struct("!8s8sBBBBII")
_P = TypeVar("_P", bound=Payload)


@dataclass(frozen=True)
class IkeHeader:
    spi_i: bytes
    spi_r: bytes
    next_payload: int
    exchange_type: int
    flags: int
    message_id: int
    length: int = 0
    major_version: int = IKE_MAJOR_VERSION
    minor_version: int = 0

    @property
    def is_response(self) -> bool:
        return bool(self.flags & HeaderFlag.RESPONSE)

    @property
    def is_initiator(self) -> bool:
        """Set when the sender is the original initiator of the IKE SA."""
        return bool(self.flags & HeaderFlag.INITIATOR)

    def encode(self) -> bytes:
        if len(self.spi_i) != 8 or len(self.spi_r) != 8:
            raise ValueError("IKE SPIs are 8 bytes")
        return _HEADER.pack(
            self.spi_i, self.spi_r, self.next_payload,
            (self.major_version << 4) | (self.minor_version & 0x0F),
            self.exchange_type, self.flags, self.message_id, self.length,
        )  # fmt: skip


def parse_header(data: bytes) -> IkeHeader:
    """Just the fixed header (for dispatch by SPI before any payload work)."""
    if len(data) < IKE_HEADER_SIZE:
        raise ParseError(f"IKE message of {len(data)} bytes is shorter than its header")
    spi_i, spi_r, nxt, version, exch, flags, msgid, length = _HEADER.unpack_from(data)
    major = version >> 4
    if major != IKE_MAJOR_VERSION:
        raise ParseError(
            f"IKE major version {major} not supported", notify=NotifyType.INVALID_MAJOR_VERSION
        )
    if length < IKE_HEADER_SIZE:
        raise ParseError(f"IKE header length field {length} is too small")
    return IkeHeader(
        spi_i, spi_r, enum_or_int(PayloadType, nxt), enum_or_int(ExchangeType, exch), flags,
        msgid, length, major, version & 0x0F,
    )  # fmt: skip


@dataclass(frozen=True)
class Message:
    """A decoded IKE message. ``protected`` marks payloads that came out of a verified SK."""

    header: IkeHeader
    payloads: tuple[Payload, ...] = ()
    protected: bool = field(default=False)

    def encode(self) -> bytes:
        """Wire bytes with Next Payload and Length recomputed (unprotected messages only)."""
        first, body = encode_payloads(self.payloads)
        header = replace(self.header, next_payload=first, length=IKE_HEADER_SIZE + len(body))
        return header.encode() + body

    def all(self, cls: type[_P]) -> Iterator[_P]:
        return (p for p in self.payloads if isinstance(p, cls))

    def get(self, cls: type[_P]) -> _P | None:
        return next(self.all(cls), None)

    def notifies(self, notify_type: int | None = None) -> list[NotifyPayload]:
        return [
            p
            for p in self.all(NotifyPayload)
            if notify_type is None or p.notify_type == notify_type
        ]

    def notify(self, notify_type: int) -> NotifyPayload | None:
        found = self.notifies(notify_type)
        return found[0] if found else None


def parse_message(data: bytes) -> Message:
    """Decode a whole IKE message (the SK payload stays encrypted; see ``sk.unprotect``).

    Raises only ParseError, whatever the input.
    """
    header = parse_header(data)
    if header.length != len(data):
        raise ParseError(f"IKE header length {header.length} but datagram has {len(data)} bytes")
    return Message(header, parse_payloads(header.next_payload, data[IKE_HEADER_SIZE:]))


def build_message(header: IkeHeader, payloads: Sequence[Payload]) -> bytes:
    return Message(header, tuple(payloads)).encode()
