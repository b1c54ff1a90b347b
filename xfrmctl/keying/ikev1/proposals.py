"""Building and choosing IKEv1 SA payloads for phase 1 (ISAKMP) and quick mode (ESP).

The responder takes the first of the initiator's transforms that its own configuration allows
(Junos and strongSwan behave so) and echoes it back unchanged, as RFC 2409 requires.
"""

from __future__ import annotations

from dataclasses import dataclass

from xfrmctl.keying.errors import UnknownTransform
from xfrmctl.keying.ikev1 import algorithms
from xfrmctl.keying.ikev1.constants import (
    KEY_IKE,
    AuthMethod,
    Encapsulation,
    LifeType,
    P1Attr,
    P2Attr,
    Protocol,
)
from xfrmctl.keying.ikev1.settings import Phase1Proposal
from xfrmctl.keying.ikev1.wire import Attribute, ProposalBody, SaBody, TransformBody
from xfrmctl.keying.ikev2.settings import ChildConfig
from xfrmctl.keying.transforms import VARIABLE_KEY_ENCR_IDS, Transform, TransformType


class NoProposalChosen(ValueError):
    """Nothing offered is acceptable (answered with NO-PROPOSAL-CHOSEN)."""


# ------------------------------------------------------------------ phase 1


def _p1_attrs(p: Phase1Proposal, method: AuthMethod) -> tuple[Attribute, ...]:
    attrs: list[Attribute] = [(P1Attr.ENCRYPTION, algorithms.phase1_id(p.encryption))]
    if p.encryption.key_bits is not None:
        attrs.append((P1Attr.KEY_LENGTH, p.encryption.key_bits))
    attrs += [
        (P1Attr.HASH, algorithms.phase1_id(p.hash)),
        (P1Attr.AUTH_METHOD, method),
        (P1Attr.GROUP, algorithms.phase1_id(p.dh)),
        (P1Attr.LIFE_TYPE, LifeType.SECONDS),
        (P1Attr.LIFE_DURATION, p.lifetime_seconds),
    ]
    return tuple(attrs)


def phase1_offer(proposals: tuple[Phase1Proposal, ...], method: AuthMethod) -> SaBody:
    trans = tuple(
        TransformBody(i + 1, KEY_IKE, _p1_attrs(p, method)) for i, p in enumerate(proposals)
    )
    return SaBody((ProposalBody(1, Protocol.ISAKMP, b"", trans),))


@dataclass(frozen=True)
class Phase1Choice:
    proposal: Phase1Proposal  # the suite, lifetime already the agreed one
    body: SaBody  # what the responder sends back


def _decode_p1(t: TransformBody) -> tuple[Phase1Proposal, int] | None:
    """The suite and auth method a transform names, None when unknown or malformed."""
    seen: set[int] = set()
    for atype, _ in t.attributes:
        if atype in seen and atype not in (P1Attr.LIFE_TYPE, P1Attr.LIFE_DURATION):
            return None
        seen.add(atype)
    enc, hsh, grp = t.get(P1Attr.ENCRYPTION), t.get(P1Attr.HASH), t.get(P1Attr.GROUP)
    method = t.get(P1Attr.AUTH_METHOD)
    if t.transform_id != KEY_IKE or enc is None or hsh is None or grp is None or method is None:
        return None
    life = 28800
    ltype: int | None = None
    for atype, val in t.attributes:
        if atype == P1Attr.LIFE_TYPE:
            ltype = val
        elif atype == P1Attr.LIFE_DURATION and ltype == LifeType.SECONDS:
            life = val
    try:
        encr = algorithms.phase1(TransformType.ENCR, enc, t.get(P1Attr.KEY_LENGTH))
        prf = algorithms.phase1(TransformType.PRF, hsh)
        dh = algorithms.phase1(TransformType.DH, grp)
    except UnknownTransform:
        return None
    return Phase1Proposal(encr, prf, dh, max(180, min(life, 86400))), method


def choose_phase1(
    offer: SaBody, ours: tuple[Phase1Proposal, ...], method: AuthMethod
) -> Phase1Choice:
    if len(offer.proposals) != 1 or offer.proposals[0].protocol != Protocol.ISAKMP:
        raise NoProposalChosen("phase 1 needs exactly one ISAKMP proposal")
    prop = offer.proposals[0]
    for t in prop.transforms:
        decoded = _decode_p1(t)
        if decoded is None:
            continue
        theirs, their_method = decoded
        if their_method != method:
            continue
        for mine in ours:
            if (mine.encryption, mine.hash, mine.dh) == (theirs.encryption, theirs.hash, theirs.dh):
                agreed = Phase1Proposal(
                    theirs.encryption, theirs.hash, theirs.dh,
                    min(mine.lifetime_seconds, theirs.lifetime_seconds),
                )  # fmt: skip
                body = SaBody((ProposalBody(prop.number, prop.protocol, prop.spi, (t,)),))
                return Phase1Choice(agreed, body)
    raise NoProposalChosen("no acceptable phase-1 transform")


def accept_phase1_answer(
    answer: SaBody, offered: tuple[Phase1Proposal, ...], method: AuthMethod
) -> Phase1Proposal:
    """The responder's single transform, which must be one we offered."""
    if len(answer.proposals) != 1 or len(answer.proposals[0].transforms) != 1:
        raise NoProposalChosen("phase-1 answer must carry exactly one transform")
    decoded = _decode_p1(answer.proposals[0].transforms[0])
    if decoded is None or decoded[1] != method:
        raise NoProposalChosen("phase-1 answer names an unusable transform")
    theirs = decoded[0]
    for mine in offered:
        if (mine.encryption, mine.hash, mine.dh) == (theirs.encryption, theirs.hash, theirs.dh):
            life = min(mine.lifetime_seconds, theirs.lifetime_seconds)
            return Phase1Proposal(theirs.encryption, theirs.hash, theirs.dh, life)
    raise NoProposalChosen("phase-1 answer is not one of our transforms")


# ------------------------------------------------------------------ quick mode (ESP)


@dataclass(frozen=True)
class EspSuite:
    encryption: Transform
    integrity: Transform | None
    pfs: Transform | None
    lifetime_seconds: int
    lifetime_kilobytes: int
    encapsulation: int


def _esp_attrs(s: EspSuite) -> tuple[Attribute, ...]:
    attrs: list[Attribute] = [(P2Attr.LIFE_TYPE, LifeType.SECONDS),
                              (P2Attr.LIFE_DURATION, s.lifetime_seconds)]  # fmt: skip
    if s.lifetime_kilobytes:
        attrs += [(P2Attr.LIFE_TYPE, LifeType.KILOBYTES),
                  (P2Attr.LIFE_DURATION, s.lifetime_kilobytes)]  # fmt: skip
    if s.pfs is not None:
        attrs.append((P2Attr.GROUP, algorithms.phase1_id(s.pfs)))
    attrs.append((P2Attr.ENCAPSULATION, s.encapsulation))
    if s.integrity is not None:
        attrs.append((P2Attr.AUTH_ALG, algorithms.esp_id(s.integrity)))
    if s.encryption.key_bits is not None:
        attrs.append((P2Attr.KEY_LENGTH, s.encryption.key_bits))
    return tuple(attrs)


def esp_suites(child: ChildConfig, encapsulation: int) -> list[list[EspSuite]]:
    """Per configured proposal, its suites in preference order."""
    out: list[list[EspSuite]] = []
    for p in child.proposals:
        suites: list[EspSuite] = []
        for e in p.encryption:
            if e.ikev1_esp is None:
                continue
            integs: tuple[Transform | None, ...] = (None,) if e.aead else p.integrity
            for i in integs:
                if i is not None and i.ikev1_esp is None:
                    continue
                suites.append(EspSuite(e, i, child.pfs_group, child.lifetime_seconds,
                                       child.lifetime_kilobytes, encapsulation))  # fmt: skip
        if suites:
            out.append(suites)
    return out


def esp_offer(child: ChildConfig, spi: int, encapsulation: int) -> SaBody:
    props = []
    for n, suites in enumerate(esp_suites(child, encapsulation)):
        trans = tuple(
            TransformBody(i + 1, algorithms.esp_id(s.encryption), _esp_attrs(s))
            for i, s in enumerate(suites)
        )
        props.append(ProposalBody(n + 1, Protocol.ESP, spi.to_bytes(4, "big"), trans))
    if not props:
        raise NoProposalChosen(f"child {child.name}: no proposal usable with IKEv1")
    return SaBody(tuple(props))


def decode_esp(t: TransformBody) -> EspSuite | None:
    life_s, life_kb = 3600, 0
    ltype: int | None = None
    for atype, val in t.attributes:
        if atype == P2Attr.LIFE_TYPE:
            ltype = val
        elif atype == P2Attr.LIFE_DURATION:
            if ltype == LifeType.SECONDS:
                life_s = val
            elif ltype == LifeType.KILOBYTES:
                life_kb = val
    kl = t.get(P2Attr.KEY_LENGTH)
    try:
        if t.transform_id in VARIABLE_KEY_ENCR_IDS and kl is None:
            kl = 128  # RFC 3602: AES without a Key Length attribute means 128 bits
        encr = algorithms.esp_cipher(t.transform_id, kl)
        auth = t.get(P2Attr.AUTH_ALG)
        integ = algorithms.esp_auth(auth) if auth is not None else None
        group = t.get(P2Attr.GROUP)
        pfs = algorithms.phase1(TransformType.DH, group) if group is not None else None
    except UnknownTransform:
        return None
    if (integ is None) != encr.aead:
        return None
    encap = t.get(P2Attr.ENCAPSULATION) or Encapsulation.TUNNEL
    return EspSuite(encr, integ, pfs, life_s, life_kb, encap)


@dataclass(frozen=True)
class EspChoice:
    suite: EspSuite  # the suite as offered
    peer_spi: int
    body: SaBody  # the answer without our SPI filled in (see `answer`)
    proposal: ProposalBody
    transform: TransformBody

    def answer(self, our_spi: int) -> SaBody:
        p = self.proposal
        return SaBody((ProposalBody(p.number, p.protocol, our_spi.to_bytes(4, "big"),
                                    (self.transform,)),))  # fmt: skip


def choose_esp(offer: SaBody, child: ChildConfig) -> EspChoice:
    ours = [s for group in esp_suites(child, Encapsulation.TUNNEL) for s in group]
    for p in offer.proposals:
        if p.protocol != Protocol.ESP or len(p.spi) != 4:
            continue
        if sum(1 for q in offer.proposals if q.number == p.number) != 1:
            continue  # AH+ESP bundles are not supported
        for t in p.transforms:
            s = decode_esp(t)
            if s is None:
                continue
            for m in ours:
                if (m.encryption, m.integrity, m.pfs) == (s.encryption, s.integrity, s.pfs):
                    spi = int.from_bytes(p.spi, "big")
                    return EspChoice(s, spi, offer, p, t)
    raise NoProposalChosen(f"child {child.name}: no acceptable ESP transform")


def accept_esp_answer(answer: SaBody, offer: SaBody) -> tuple[EspSuite, int]:
    if len(answer.proposals) != 1 or len(answer.proposals[0].transforms) != 1:
        raise NoProposalChosen("quick mode answer must carry one proposal with one transform")
    p = answer.proposals[0]
    if p.protocol != Protocol.ESP or len(p.spi) != 4:
        raise NoProposalChosen("quick mode answer is not an ESP proposal with a 4-byte SPI")
    s = decode_esp(p.transforms[0])
    if s is None:
        raise NoProposalChosen("quick mode answer names an unusable transform")
    for op in offer.proposals:
        for ot in op.transforms:
            o = decode_esp(ot)
            if o is not None and (o.encryption, o.integrity, o.pfs) == (
                s.encryption, s.integrity, s.pfs
            ):  # fmt: skip
                return s, int.from_bytes(p.spi, "big")
    raise NoProposalChosen("quick mode answer is not one of our transforms")
