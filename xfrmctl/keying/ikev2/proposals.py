"""Choosing one transform set from a peer's proposals (RFC 7296 2.7, 3.3.6).

Our configured order wins, as in strongSwan's default: for each of our proposals in order, the first
of the peer's proposals that offers something for every transform type we need is taken, with our
most preferred transform of each type. Transforms the registry does not know were already dropped
when the payload was decoded, so an unknown algorithm can never be chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xfrmctl.keying.constants import ProtocolId
from xfrmctl.keying.transforms import NO_ESN, Proposal, Transform, TransformType


@dataclass(frozen=True)
class Offered:
    """One proposal as the peer sent it: its number, protocol, SPI and known transforms."""

    number: int
    proposal: Proposal
    spi: bytes = b""


@dataclass(frozen=True)
class Chosen:
    """Exactly one transform per type: what both ends will use."""

    protocol: ProtocolId
    encr: Transform | None
    integ: Transform | None
    prf: Transform | None
    dh: Transform | None
    esn: Transform | None
    number: int = 1
    spi: bytes = b""

    def as_proposal(self) -> Proposal:
        def one(t: Transform | None) -> tuple[Transform, ...]:
            return () if t is None else (t,)

        return Proposal(
            self.protocol,
            one(self.encr),
            one(self.integ),
            one(self.prf),
            one(self.dh),
            one(self.esn),
        )

    @property
    def esn_enabled(self) -> bool:
        return self.esn is not None and self.esn.ike_id == 1


def _pick(ours: Sequence[Transform], theirs: Sequence[Transform]) -> Transform | None:
    for t in ours:
        if t in theirs:
            return t
    return None


def match(ours: Proposal, theirs: Proposal, *, with_dh: bool) -> Chosen | None:
    """One transform per type from both, or None. `with_dh=False` ignores DH (IKE_AUTH children)."""
    if ours.protocol != theirs.protocol:
        return None
    encr = _pick(ours.encryption, theirs.encryption)
    if ours.encryption and encr is None:
        return None
    aead = encr is not None and encr.aead
    integ = None
    if not aead:
        integ = _pick(ours.integrity, theirs.integrity)
        if ours.integrity and integ is None:
            return None
    elif theirs.integrity and not all(t.ike_id == 0 for t in theirs.integrity):
        # an AEAD proposal may only carry INTEG "none"; anything else is inconsistent
        return None
    prf = _pick(ours.prf, theirs.prf)
    if ours.prf and prf is None:
        return None
    dh = None
    if with_dh:
        if ours.dh:
            dh = _pick(ours.dh, theirs.dh)
            if dh is None:
                return None
        elif theirs.dh and not any(t.ike_id == 0 for t in theirs.dh):
            return None  # the peer insists on PFS we do not do
    esn = None
    if ours.protocol != ProtocolId.IKE:
        esn = _pick(ours.esn or (NO_ESN,), theirs.esn or (NO_ESN,))
        if esn is None:
            return None
    return Chosen(ours.protocol, encr, integ, prf, dh, esn)


def select(
    ours: Sequence[Proposal], offered: Sequence[Offered], *, with_dh: bool = True
) -> Chosen | None:
    """The responder's choice among the initiator's proposals, by our preference."""
    for mine in ours:
        for off in offered:
            got = match(mine, off.proposal, with_dh=with_dh)
            if got is not None:
                return Chosen(
                    got.protocol, got.encr, got.integ, got.prf, got.dh, got.esn, off.number, off.spi
                )
    return None


def accept_answer(
    ours: Sequence[Proposal], answer: Offered, *, with_dh: bool = True
) -> Chosen | None:
    """Check the responder's single proposal against what we offered (RFC 7296 2.7)."""
    p = answer.proposal
    for t in TransformType:
        if len(p.of_type(t)) > 1:
            return None
    for mine in ours:
        got = match(mine, p, with_dh=with_dh)
        if got is not None and got.as_proposal() == _canonical(p, with_dh):
            return Chosen(
                got.protocol,
                got.encr,
                got.integ,
                got.prf,
                got.dh,
                got.esn,
                answer.number,
                answer.spi,
            )
    return None


def _canonical(p: Proposal, with_dh: bool) -> Proposal:
    """The answer with the types a choice never carries removed (INTEG none, DH when ignored)."""
    integ = tuple(t for t in p.integrity if t.ike_id != 0)
    dh = tuple(t for t in p.dh if t.ike_id != 0) if with_dh else ()
    esn = p.esn or ((NO_ESN,) if p.protocol != ProtocolId.IKE else ())
    return Proposal(p.protocol, p.encryption, integ, p.prf, dh, esn)


def strip_dh(proposals: Sequence[Proposal]) -> tuple[Proposal, ...]:
    """Child proposals for IKE_AUTH, where the IKE SA's DH is used (RFC 7296 1.2)."""
    return tuple(
        Proposal(p.protocol, p.encryption, p.integrity, p.prf, (), p.esn) for p in proposals
    )


def with_pfs(proposals: Sequence[Proposal], group: Transform | None) -> tuple[Proposal, ...]:
    """Child proposals for CREATE_CHILD_SA: our PFS group first, then any other groups the
    proposal lists (so a peer preferring one of those can ask for it with INVALID_KE_PAYLOAD)."""
    if group is None:
        return strip_dh(proposals)
    return tuple(
        Proposal(
            p.protocol,
            p.encryption,
            p.integrity,
            p.prf,
            (group, *[g for g in p.dh if g != group]),
            p.esn,
        )
        for p in proposals
    )
