"""The state machine's view of the codec: building payloads from engine objects and reading
engine objects (proposals, selectors, identities) out of decoded messages.

Conversions only; the wire formats themselves live in `xfrmctl.keying.payloads` / `message` /
`sk` / `fragments`, the algorithms in `transforms`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from xfrmctl.keying import fragments, sk
from xfrmctl.keying import payloads as pl
from xfrmctl.keying.constants import (
    CertEncoding,
    ExchangeType,
    HeaderFlag,
    IdType,
    NotifyType,
    PayloadType,
    ProtocolId,
)
from xfrmctl.keying.errors import ParseError, UnknownTransform
from xfrmctl.keying.ikev2.identity import Identity
from xfrmctl.keying.ikev2.proposals import Offered
from xfrmctl.keying.ikev2.settings import EngineSettings, Rng
from xfrmctl.keying.ikev2.ts import TrafficSelector, TrafficSelectorError
from xfrmctl.keying.message import IkeHeader, Message, build_message, parse_message
from xfrmctl.keying.transforms import (
    Proposal,
    Transform,
    TransformType,
    by_ike_id,
    make_proposal,
)

Payload = pl.Payload


@dataclass(frozen=True)
class Header:
    """The header fields the engine chooses; lengths and next-payload are the codec's."""

    spi_i: int
    spi_r: int
    exchange: ExchangeType
    mid: int
    response: bool
    initiator: bool  # the sender is the original initiator

    def to_ike(self) -> IkeHeader:
        flags = HeaderFlag.NONE
        if self.response:
            flags |= HeaderFlag.RESPONSE
        if self.initiator:
            flags |= HeaderFlag.INITIATOR
        return IkeHeader(
            spi_i=self.spi_i.to_bytes(8, "big"),
            spi_r=self.spi_r.to_bytes(8, "big"),
            next_payload=PayloadType.NONE,
            exchange_type=self.exchange,
            flags=int(flags),
            message_id=self.mid,
        )


@dataclass(frozen=True)
class Inbound:
    """A received message: header fields, the raw datagram, and its (decrypted) payloads."""

    message: Message
    raw: bytes = field(repr=False)
    payloads: tuple[Payload, ...] = ()

    @classmethod
    def parse(cls, data: bytes) -> Inbound:
        """Raises ParseError for anything malformed, an unknown exchange included."""
        msg = parse_message(data)
        if not isinstance(msg.header.exchange_type, ExchangeType):
            raise ParseError(f"unknown exchange type {msg.header.exchange_type}")
        return cls(msg, data, msg.payloads)

    def with_payloads(self, payloads: tuple[Payload, ...]) -> Inbound:
        return Inbound(self.message, self.raw, payloads)

    # ---------------------------------------------------------------- header

    @property
    def header(self) -> IkeHeader:
        return self.message.header

    @property
    def spi_i(self) -> int:
        return int.from_bytes(self.header.spi_i, "big")

    @property
    def spi_r(self) -> int:
        return int.from_bytes(self.header.spi_r, "big")

    @property
    def exchange(self) -> ExchangeType:
        return ExchangeType(self.header.exchange_type)

    @property
    def mid(self) -> int:
        return self.header.message_id

    @property
    def response(self) -> bool:
        return self.header.is_response

    @property
    def from_initiator(self) -> bool:
        return self.header.is_initiator

    @property
    def first_fragment(self) -> bool:
        """True unless this is a non-first SKF fragment (retransmits answer on the first only)."""
        skf = pl.find(self.message.payloads, pl.SkfPayload)
        return skf is None or skf.fragment_number == 1

    # ---------------------------------------------------------------- payload readers

    def notifies(self, notify_type: NotifyType) -> list[pl.NotifyPayload]:
        return [
            p
            for p in self.payloads
            if isinstance(p, pl.NotifyPayload) and p.notify_type == notify_type
        ]

    def notify(self, notify_type: NotifyType) -> pl.NotifyPayload | None:
        found = self.notifies(notify_type)
        return found[0] if found else None

    def error_notify(self) -> NotifyType | None:
        for p in self.payloads:
            if isinstance(p, pl.NotifyPayload) and p.is_error:
                try:
                    return NotifyType(p.notify_type)
                except ValueError:
                    return NotifyType.INVALID_SYNTAX
        return None

    def sa(self) -> list[Offered] | None:
        sa = pl.find(self.payloads, pl.SaPayload)
        if sa is None:
            return None
        return [o for o in (_offered(p) for p in sa.proposals) if o is not None]

    def ke(self) -> tuple[int, bytes] | None:
        ke = pl.find(self.payloads, pl.KePayload)
        return None if ke is None else (ke.group, ke.data)

    def nonce(self) -> bytes | None:
        n = pl.find(self.payloads, pl.NoncePayload)
        return None if n is None else n.data

    def identity(self, *, initiator: bool) -> Identity | None:
        cls: type[pl.IdPayload] = pl.IdiPayload if initiator else pl.IdrPayload
        p = pl.find(self.payloads, cls)
        if p is None:
            return None
        try:
            kind = IdType(p.id_type)
        except ValueError:
            return Identity(IdType.KEY_ID, b"\xff" + p.data)  # never matches a configured id
        return Identity(kind, p.data)

    def auth(self) -> tuple[int, bytes] | None:
        a = pl.find(self.payloads, pl.AuthPayload)
        return None if a is None else (a.method, a.data)

    def ts(self, *, initiator: bool) -> list[TrafficSelector] | None:
        cls: type[pl.TsPayload] = pl.TsiPayload if initiator else pl.TsrPayload
        p = pl.find(self.payloads, cls)
        if p is None:
            return None
        out: list[TrafficSelector] = []
        for s in p.selectors:
            try:
                out.append(
                    TrafficSelector(
                        s.start_addr, s.end_addr, s.ip_protocol, s.start_port, s.end_port
                    )
                )
            except TrafficSelectorError:
                continue  # a reversed range selects nothing
        return out

    def deletes(self) -> list[tuple[ProtocolId, tuple[bytes, ...]]]:
        return [
            (ProtocolId(p.protocol), p.spis)
            for p in self.payloads
            if isinstance(p, pl.DeletePayload)
        ]

    def certs(self) -> list[bytes]:
        return [
            p.data
            for p in self.payloads
            if isinstance(p, pl.CertPayload) and p.encoding == CertEncoding.X509_SIGNATURE
        ]


def _offered(p: pl.SaProposal) -> Offered | None:
    """A received proposal in registry terms; transforms we do not know are left out."""
    try:
        protocol = ProtocolId(p.protocol)
    except ValueError:
        return None
    known: list[Transform] = []
    for t in p.transforms:
        if t.type in (TransformType.INTEG, TransformType.DH) and t.id == 0:
            continue  # "none": the same as not listing the type
        try:
            known.append(by_ike_id(t.type, t.id, t.key_length))
        except (UnknownTransform, ValueError):
            continue
    return Offered(p.number, make_proposal(protocol, known), p.spi)


# ---------------------------------------------------------------------- builders


def sa_payload(proposals: Sequence[tuple[int, Proposal, bytes]]) -> pl.SaPayload:
    out = []
    for number, prop, spi in proposals:
        transforms = tuple(
            pl.SaTransform.make(t.type, t.ike_id, t.key_bits) for t in prop.transforms()
        )
        out.append(pl.SaProposal(number, prop.protocol, spi, transforms))
    return pl.SaPayload(tuple(out))


def ke(group: int, data: bytes) -> pl.KePayload:
    return pl.KePayload(group, data)


def nonce(data: bytes) -> pl.NoncePayload:
    return pl.NoncePayload(data)


def notify(
    notify_type: NotifyType, data: bytes = b"", *, protocol: int = 0, spi: bytes = b""
) -> pl.NotifyPayload:
    return pl.NotifyPayload(notify_type, data, protocol, spi)


def id_payload(*, initiator: bool, identity: Identity) -> pl.IdPayload:
    kind = identity.id_type if identity.id_type is not None else IdType.NULL
    if initiator:
        return pl.IdiPayload(kind, identity.data)
    return pl.IdrPayload(kind, identity.data)


def id_body(identity: Identity) -> bytes:
    """ID payload body without the generic header (the ID' of RFC 7296 2.15)."""
    return id_payload(initiator=True, identity=identity).encode_body()


def auth(method: int, data: bytes) -> pl.AuthPayload:
    return pl.AuthPayload(method, data)


def ts_payload(*, initiator: bool, selectors: Sequence[TrafficSelector]) -> pl.TsPayload:
    wire_ts = tuple(
        pl.TrafficSelector(s.start, s.end, s.protocol, s.start_port, s.end_port) for s in selectors
    )
    return pl.TsiPayload(wire_ts) if initiator else pl.TsrPayload(wire_ts)


def delete(protocol: ProtocolId, spis: Sequence[bytes]) -> pl.DeletePayload:
    return pl.DeletePayload(protocol, tuple(spis))


def encode_plain(header: Header, payloads: Sequence[Payload]) -> bytes:
    return build_message(header.to_ike(), payloads)


# ---------------------------------------------------------------------- SK


Reassembler = fragments.Reassembler


def new_reassembler(settings: EngineSettings) -> Reassembler:
    return fragments.Reassembler(
        max_fragments=settings.max_fragments,
        max_message_size=settings.max_reassembly_bytes,
        timeout=settings.half_open_timeout,
    )


IP_UDP_OVERHEAD = 48  # IPv6 + UDP headers: fragments must fit the configured datagram size


def encode_protected(
    header: Header,
    payloads: Sequence[Payload],
    keys: sk.SkKeys,
    rng: Rng,
    fragment_size: int | None,
) -> tuple[bytes, ...]:
    """SK-protect a message; split it into SKF fragments (RFC 7383) when it would not fit."""
    ike = header.to_ike()
    whole = sk.protect(ike, payloads, keys, rng)
    limit = None if fragment_size is None else fragment_size - IP_UDP_OVERHEAD
    if limit is None or len(whole) <= limit:
        return (whole,)
    return tuple(fragments.fragment_message(ike, payloads, keys, rng, limit))


def decode_protected(
    msg: Inbound, keys: sk.SkKeys, reassembler: Reassembler, now: float
) -> Inbound | None:
    """Verify and decrypt; None while fragments of the message are still missing."""
    last = msg.message.payloads[-1] if msg.message.payloads else None
    if isinstance(last, pl.SkfPayload):
        frag = sk.unprotect_fragment(msg.raw, keys, msg.message)
        whole = reassembler.add(frag, now)
        if whole is None:
            return None
        return msg.with_payloads(whole.payloads)
    plain = sk.unprotect(msg.raw, keys, msg.message)
    return msg.with_payloads(plain.payloads)
