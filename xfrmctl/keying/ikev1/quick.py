"""Quick mode (RFC 2409 5.5): one phase-2 negotiation, its hashes and its KEYMAT.

A `QuickMode` lives in the ISAKMP SA under its message ID until the third message; the phase-2
SA it creates then lives on its own (spec §3.5: phase 2 does not depend on phase 1 once up).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xfrmctl.keying.dh import DhKeyPair
from xfrmctl.keying.ikev1 import crypto
from xfrmctl.keying.ikev1.constants import Protocol
from xfrmctl.keying.ikev1.proposals import EspSuite
from xfrmctl.keying.ikev1.wire import SaBody
from xfrmctl.keying.ikev2.retransmit import Retransmitter
from xfrmctl.keying.ikev2.settings import ChildConfig
from xfrmctl.keying.ikev2.ts import TrafficSelector
from xfrmctl.keying.transforms import Transform


@dataclass(frozen=True)
class ChildKeys:
    encr_in: bytes = field(repr=False)
    integ_in: bytes = field(repr=False)
    encr_out: bytes = field(repr=False)
    integ_out: bytes = field(repr=False)


def child_keys(  # noqa: PLR0917
    hash_t: Transform, skeyid_d: bytes, suite: EspSuite, spi_in: int, spi_out: int, ni: bytes,
    nr: bytes, gqm: bytes = b"",
) -> ChildKeys:  # fmt: skip
    """Both directions' keys: KEYMAT is computed per SA with the SPI its receiver chose."""
    esize = suite.encryption.key_size
    isize = suite.integrity.key_size if suite.integrity else 0
    kin = crypto.keymat(hash_t, skeyid_d, Protocol.ESP, spi_in, ni, nr, esize + isize, gqm)
    kout = crypto.keymat(hash_t, skeyid_d, Protocol.ESP, spi_out, ni, nr, esize + isize, gqm)
    return ChildKeys(kin[:esize], kin[esize:], kout[:esize], kout[esize:])


@dataclass
class QuickMode:
    message_id: int
    initiator: bool
    child: ChildConfig
    spi_in: int
    local_ts: TrafficSelector
    remote_ts: TrafficSelector
    retrans: Retransmitter
    ni: bytes = field(repr=False, default=b"")
    nr: bytes = field(repr=False, default=b"")
    dh: DhKeyPair | None = field(repr=False, default=None)
    offer: SaBody | None = None
    rekey_of: int | None = None
    # responder: what the third message completes
    suite: EspSuite | None = None
    spi_out: int = 0
    keys: ChildKeys | None = None
    lifetime_seconds: int = 0
    lifetime_kilobytes: int = 0
    last_in: bytes = field(repr=False, default=b"")
    last_out: bytes = field(repr=False, default=b"")
    started: float = 0.0
