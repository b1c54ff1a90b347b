"""The keys of one IKE SA and what the exchanges do with them: SK protection, AUTH, child keys.

A thin layer over the codec's `keys`, `sk`, `fragments` and `auth` modules that knows which of
SK_ai/SK_ar (etc.) is ours: the original initiator sends with the `i` keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from xfrmctl.keying import auth as ikeauth
from xfrmctl.keying import keys as kdf
from xfrmctl.keying import sk
from xfrmctl.keying.ikev2 import certauth, wire
from xfrmctl.keying.ikev2.identity import Identity
from xfrmctl.keying.ikev2.proposals import Chosen
from xfrmctl.keying.ikev2.settings import Auth, Rng


@dataclass(frozen=True)
class IkeCrypto:
    keys: kdf.IkeKeys
    initiator: bool  # original initiator of the IKE SA
    rng: Rng = field(repr=False)

    @classmethod
    def derive(
        cls,
        chosen: Chosen,
        ni: bytes,
        nr: bytes,
        shared: bytes,
        *,
        spi_i: int,
        spi_r: int,
        initiator: bool,
        rng: Rng,
    ) -> IkeCrypto:
        assert chosen.prf is not None and chosen.encr is not None
        keys = kdf.derive_ike_keys(
            chosen.prf,
            chosen.encr,
            chosen.integ,
            ni,
            nr,
            shared,
            spi_i.to_bytes(8, "big"),
            spi_r.to_bytes(8, "big"),
        )
        return cls(keys, initiator, rng)

    def rekeyed(
        self,
        chosen: Chosen,
        ni: bytes,
        nr: bytes,
        shared: bytes,
        *,
        spi_i: int,
        spi_r: int,
        initiator: bool,
    ) -> IkeCrypto:
        """Keys of the IKE SA that replaces this one (RFC 7296 2.18)."""
        assert chosen.prf is not None and chosen.encr is not None
        keys = kdf.derive_rekeyed_ike_keys(
            self.keys.prf,
            self.keys.sk_d,
            chosen.prf,
            chosen.encr,
            chosen.integ,
            ni,
            nr,
            shared,
            spi_i.to_bytes(8, "big"),
            spi_r.to_bytes(8, "big"),
        )
        return IkeCrypto(keys, initiator, self.rng)

    def child_keys(
        self, chosen: Chosen, ni: bytes, nr: bytes, shared: bytes | None
    ) -> kdf.ChildKeys:
        assert chosen.encr is not None
        return kdf.derive_child_keys(
            self.keys.prf, self.keys.sk_d, chosen.encr, chosen.integ, ni, nr, shared
        )

    # ------------------------------------------------------------------ SK payload

    def protect(
        self, header: wire.Header, payloads: Sequence[wire.Payload], *, fragment_size: int | None
    ) -> tuple[bytes, ...]:
        keys = sk.sk_keys(self.keys, sender_is_initiator=self.initiator)
        return wire.encode_protected(header, payloads, keys, self.rng, fragment_size)

    def unprotect(
        self, msg: wire.Inbound, reassembler: wire.Reassembler, now: float
    ) -> wire.Inbound | None:
        keys = sk.sk_keys(self.keys, sender_is_initiator=not self.initiator)
        return wire.decode_protected(msg, keys, reassembler, now)

    # ------------------------------------------------------------------ AUTH

    def signed_octets(
        self, real_message: bytes, peer_nonce: bytes, identity: Identity, *, initiator: bool
    ) -> bytes:
        """RFC 7296 2.15: RealMessage | Nonce | prf(SK_p, ID'), SK_pi for the initiator's ID."""
        sk_p = self.keys.sk_pi if initiator else self.keys.sk_pr
        id_payload = wire.id_payload(initiator=initiator, identity=identity)
        return ikeauth.signed_octets(real_message, peer_nonce, self.keys.prf, sk_p, id_payload)

    def make_auth(
        self, auth: Auth, octets: bytes, peer_hashes: tuple[int, ...]
    ) -> tuple[int, bytes]:
        return certauth.make_auth(self.keys.prf, auth, octets, peer_hashes)

    def verify_auth(
        self,
        auth: Auth,
        received: tuple[int, bytes],
        octets: bytes,
        *,
        identity: Identity,
        peer_certs: list[bytes],
        now: datetime,
    ) -> str | None:
        """None when the peer's AUTH is good, else the reason it is not."""
        return certauth.verify_auth(self.keys.prf, auth, received, octets, identity=identity,
                                    peer_certs=peer_certs, now=now)  # fmt: skip
