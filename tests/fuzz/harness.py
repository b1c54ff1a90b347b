"""What every IKE fuzzer shares: mutations, fresh responders of both IKE versions, the decoders,
and the invariants one hostile datagram must keep.

Used by the Hypothesis tests (`tests/keying/ikev2/test_ikev2_fuzz.py`, `tests/fuzz/`), the
corpus replay and the long coverage-guided run (`bench/fuzz_ike.py`). A mutation draws its
choices from a `Chooser`, so Hypothesis, a seeded `random.Random` and atheris' data provider drive
the same code.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from hypothesis import strategies as st

from tests.keying.ikev2 import conftest as v2net
from tests.keying.netsim import Rng
from xfrmctl.keying import sk
from xfrmctl.keying.constants import IKE_HEADER_SIZE, PayloadType, ProtocolId
from xfrmctl.keying.errors import ParseError
from xfrmctl.keying.ikev1 import wire as v1wire
from xfrmctl.keying.ikev1.constants import PayloadType as V1Payload
from xfrmctl.keying.ikev1.engine import HALF_OPEN_LIMIT as V1_HALF_OPEN_LIMIT
from xfrmctl.keying.ikev1.engine import Ikev1Engine
from xfrmctl.keying.ikev1.settings import ExchangeMode, Ikev1PeerConfig, Phase1Proposal
from xfrmctl.keying.ikev2 import wire as v2wire
from xfrmctl.keying.ikev2.actions import Action, IkeEstablished, InstallChild, Send
from xfrmctl.keying.ikev2.engine import Ikev2Engine
from xfrmctl.keying.ikev2.settings import ChildConfig, EngineSettings, PeerConfig, PskAuth
from xfrmctl.keying.ikev2.ts import TrafficSelector
from xfrmctl.keying.message import IkeHeader, parse_message
from xfrmctl.keying.transforms import parse_proposal

CORPUS = Path(__file__).resolve().parent / "corpus"
A = ("192.0.2.1", 500)  # the hostile initiator
B = ("198.51.100.2", 500)  # the responder under test
V2_HALF_OPEN_LIMIT = 4
V2_COOKIE_THRESHOLD = 2
PSK = b"fuzzing shared secret"


class Chooser(Protocol):
    def integer(self, lo: int, hi: int) -> int: ...
    def blob(self, lo: int, hi: int) -> bytes: ...


class RandomChooser:
    """Choices from a seeded `random.Random` (reproducible corpus mutations)."""

    def __init__(self, seed: int | str) -> None:
        self.rnd = random.Random(seed)

    def integer(self, lo: int, hi: int) -> int:
        return self.rnd.randint(lo, hi)

    def blob(self, lo: int, hi: int) -> bytes:
        return self.rnd.randbytes(self.rnd.randint(lo, hi))


class DrawChooser:
    """Choices from Hypothesis' `data.draw`, so failures shrink."""

    def __init__(self, draw: Callable[[Any], Any]) -> None:
        self.draw = draw
        self.st = st

    def integer(self, lo: int, hi: int) -> int:
        return int(self.draw(self.st.integers(lo, hi)))

    def blob(self, lo: int, hi: int) -> bytes:
        return bytes(self.draw(self.st.binary(min_size=lo, max_size=hi)))


MUTATIONS = ("flip", "truncate", "extend", "splice", "header", "length", "payload-type", "copy")


def mutate(data: bytes, choose: Chooser) -> bytes:
    """One structured mutation of a datagram: byte flips, cuts, insertions, header fields, the
    generic payload header's type and length (where parsers are most likely to go wrong)."""
    buf = bytearray(data)
    if not buf:
        return choose.blob(1, 64)
    kind = MUTATIONS[choose.integer(0, len(MUTATIONS) - 1)]
    if kind == "flip":
        for _ in range(choose.integer(1, 8)):
            i = choose.integer(0, len(buf) - 1)
            buf[i] ^= choose.integer(1, 255)
    elif kind == "truncate":
        buf = buf[: choose.integer(0, len(buf) - 1)]
    elif kind == "extend":
        buf += choose.blob(1, 64)
    elif kind == "splice":
        i = choose.integer(0, len(buf))
        buf[i:i] = choose.blob(1, 16)
    elif kind == "header" and len(buf) >= 28:
        i = choose.integer(16, 27)  # next payload, version, exchange, flags, message ID, length
        buf[i] = choose.integer(0, 255)
    elif kind == "length":
        i = choose.integer(0, max(0, len(buf) - 2))
        buf[i : i + 2] = choose.integer(0, 0xFFFF).to_bytes(2, "big")
    elif kind == "payload-type":
        i = choose.integer(0, len(buf) - 1)
        buf[i] = choose.integer(0, 60)
    elif len(buf) >= 2:  # copy: a repeated region (nested or duplicated payloads)
        i = choose.integer(0, len(buf) - 1)
        j = choose.integer(i + 1, len(buf))
        k = choose.integer(0, len(buf))
        buf[k:k] = buf[i:j]
    return bytes(buf)


def ike_version(data: bytes) -> int:
    """Major version from the ISAKMP/IKE header (1 or 2; 0 when there is no header)."""
    return data[17] >> 4 if len(data) >= 28 else 0


# ---------------------------------------------------------------------------------- decoders


def decode_v2(data: bytes) -> bool:
    """Full IKEv2 decode; True when it parsed. Only ParseError may come out."""
    try:
        parse_message(data)
        v2wire.Inbound.parse(data)
    except ParseError:
        return False
    return True


_V1_BODIES: dict[int, Callable[[bytes], object]] = {
    V1Payload.SA: v1wire.SaBody.decode,
    V1Payload.ID: v1wire.IdBody.decode,
    V1Payload.NOTIFY: v1wire.NotifyBody.decode,
    V1Payload.DELETE: v1wire.DeleteBody.decode,
    V1Payload.NAT_OA: v1wire.NatOaBody.decode,
    V1Payload.NAT_OA_DRAFT: v1wire.NatOaBody.decode,
    V1Payload.CERT: v1wire.split_cert,
}


def decode_v1(data: bytes) -> bool:
    """ISAKMP decode, every payload body included; True when it parsed. Only ParseError."""
    try:
        msg = v1wire.Message.decode(data)
        for p in msg.payloads:
            body = _V1_BODIES.get(p.type)
            if body is not None:
                body(p.body)
            if p.type == V1Payload.ID:
                v1wire.IdBody.decode(p.body).selector_range()
    except ParseError:
        return False
    return True


# ---------------------------------------------------------------------------------- responders


def _child(name: str, esp: str) -> ChildConfig:
    return ChildConfig(
        name=name,
        local_ts=(TrafficSelector.from_network("10.2.0.0/16"),),
        remote_ts=(TrafficSelector.from_network("10.1.0.0/16"),),
        proposals=(parse_proposal(esp, ProtocolId.ESP),),
        if_id=7,
    )


def responder_v2(peer: PeerConfig | None = None) -> Ikev2Engine:
    """A responder for any initiator address, small half-open limit and cookie threshold."""
    peer = peer or PeerConfig(
        name="any",
        local_address=B[0],
        remote_address=None,
        auth=PskAuth(PSK),
        proposals=(
            parse_proposal("aes256gcm16-prfsha256-x25519"),
            parse_proposal("aes128-sha256-modp2048"),
            parse_proposal("aes256-sha384-ecp384"),
        ),
        children=(_child("net", "aes256gcm16"),),
    )
    settings = EngineSettings(half_open_limit=V2_HALF_OPEN_LIMIT,
                              cookie_threshold=V2_COOKIE_THRESHOLD)  # fmt: skip
    eng = Ikev2Engine([peer], Rng("fuzz-v2"), settings=settings)
    eng.raise_internal_errors = True  # a bug must fail, not hide in a counter
    return eng


def responder_v1() -> Ikev1Engine:
    """Main-mode and aggressive-mode PSK responders for any initiator address."""
    peers = [
        Ikev1PeerConfig(
            name=f"any-{mode.value}",
            local_address=B[0],
            remote_address=None,
            auth=PskAuth(PSK),
            proposals=(
                Phase1Proposal.parse("aes128-sha1-modp1024", 28800),
                Phase1Proposal.parse("3des-sha1-modp1024", 28800),
            ),
            mode=mode,
            children=(_child("vpn", "3des-sha1"),),
        )
        for mode in (ExchangeMode.MAIN, ExchangeMode.AGGRESSIVE)
    ]
    eng = Ikev1Engine(peers, Rng("fuzz-v1"))
    eng.raise_internal_errors = True
    return eng


def v1_state(eng: Ikev1Engine) -> int:
    """How many ISAKMP SAs the engine holds (half-open ones included)."""
    return len({id(s) for s in (*eng.sas.values(), *eng._half_open.values())})


def feed(eng: Ikev1Engine | Ikev2Engine, data: bytes, now: float = 0.0) -> list[Action]:
    """Give one unauthenticated datagram to a responder and check what may come out of it:
    nothing but drops, counters and well-formed answers; never a tunnel, never unbounded state.
    Any exception other than the engine's own handling propagates (raise_internal_errors)."""
    actions = eng.receive(data, B, A, now)
    for act in actions:
        assert not isinstance(act, IkeEstablished | InstallChild), act
        if isinstance(act, Send):
            ok = decode_v2(act.data) if isinstance(eng, Ikev2Engine) else decode_v1(act.data)
            assert ok, f"malformed answer {act.data.hex()}"
    if isinstance(eng, Ikev2Engine):
        assert eng.half_open <= V2_HALF_OPEN_LIMIT
        assert len(eng.sessions) <= V2_HALF_OPEN_LIMIT
    else:
        assert v1_state(eng) <= V1_HALF_OPEN_LIMIT
        assert not any(s.established for s in eng.sas.values())
    return actions


def responder_for(data: bytes) -> Ikev1Engine | Ikev2Engine:
    return responder_v1() if ike_version(data) == 1 else responder_v2()


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.bin"))


# ---------------------------------------------------------------------------------- authenticated


class EstablishedV2:
    """An IKE SA between two engines; `request` hands engine b a request that a protected with
    the SA's real keys but whose plaintext payload chain is arbitrary bytes: the fuzzer reaches
    the responder's exchange handlers, not just the integrity check."""

    def __init__(self) -> None:
        self.net = v2net.pair(seed="fuzz-inner")
        self.net.feed(self.net.a, self.net.a.engine.initiate("to-b", "net", 0.0))
        self.net.run()
        self.b: Ikev2Engine = self.net.b.engine
        (self.sa,) = self.net.a.engine.sessions.values()
        self.b.raise_internal_errors = True

    @property
    def usable(self) -> bool:
        mine = [s for s in self.b.sessions.values() if s.ref == self.sa.ref]
        return self.sa.established and len(mine) == 1 and mine[0].established

    def request(self, exchange: int, first: int, inner: bytes, now: float = 1.0) -> list[Action]:
        s = self.sa
        assert s.crypto is not None
        keys = sk.sk_keys(s.crypto.keys, sender_is_initiator=True)
        mid = s.window.allocate()
        s.window.response_done()
        sk_len = 4 + keys.overhead(len(inner)) + len(inner)
        hdr = IkeHeader(s.spi_i.to_bytes(8, "big"), s.spi_r.to_bytes(8, "big"), PayloadType.SK,
                        exchange, 0x08, mid)  # fmt: skip
        hdr = replace(hdr, length=IKE_HEADER_SIZE + sk_len)
        prefix = hdr.encode() + bytes([first, 0]) + sk_len.to_bytes(2, "big")
        data = sk._seal(keys, self.net.a.engine.rng, prefix, inner)
        actions = self.b.receive(data, s.remote, s.local, now)
        for act in actions:
            if isinstance(act, Send):
                assert decode_v2(act.data), f"malformed answer {act.data.hex()}"
        return actions
