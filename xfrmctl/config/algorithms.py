"""The configuration's view of the algorithm registry (`xfrmctl.keying.transforms`).

Algorithm keywords are never re-tabled here: every check asks the registry, so a keyword the
keying code cannot negotiate is also one ``config check`` refuses.
"""

from __future__ import annotations

from collections.abc import Callable

from xfrmctl.keying import transforms as t
from xfrmctl.keying.errors import UnknownTransform

_LOOKUP: dict[str, tuple[Callable[[str], t.Transform], Callable[[], tuple[str, ...]]]] = {
    "ike-encryption": (
        lambda k: t.by_junos_ike(t.TransformType.ENCR, k),
        lambda: t.junos_ike_keywords(t.TransformType.ENCR),
    ),
    "ike-authentication": (
        lambda k: t.by_junos_ike(t.TransformType.PRF, k),
        lambda: t.junos_ike_keywords(t.TransformType.PRF),
    ),
    "dh-group": (
        lambda k: t.by_junos_ike(t.TransformType.DH, k),
        lambda: t.junos_ike_keywords(t.TransformType.DH),
    ),
    "ipsec-encryption": (
        lambda k: t.by_junos_ipsec(t.TransformType.ENCR, k),
        lambda: t.junos_ipsec_keywords(t.TransformType.ENCR),
    ),
    "ipsec-authentication": (
        lambda k: t.by_junos_ipsec(t.TransformType.INTEG, k),
        lambda: t.junos_ipsec_keywords(t.TransformType.INTEG),
    ),
    "pfs-group": (
        lambda k: t.by_junos_ipsec(t.TransformType.DH, k),
        lambda: t.junos_ipsec_keywords(t.TransformType.DH),
    ),
}
_SETS: dict[str, dict[str, object]] = {
    "ike-proposal-set": dict(t.JUNOS_IKE_PROPOSAL_SETS),
    "ipsec-proposal-set": dict(t.JUNOS_IPSEC_PROPOSAL_SETS),
}
KINDS = (*_LOOKUP, *_SETS)


def keywords(kind: str) -> tuple[str, ...]:
    if kind in _SETS:
        return tuple(_SETS[kind])
    return tuple(dict.fromkeys(_LOOKUP[kind][1]()))


def describe(kind: str) -> str:
    return " | ".join(keywords(kind))


def check(kind: str, keyword: str) -> str | None:
    """None if `keyword` is valid for `kind`, else the message listing what is allowed."""
    if kind in _SETS:
        return None if keyword in _SETS[kind] else f"must be one of: {', '.join(keywords(kind))}"
    try:
        _LOOKUP[kind][0](keyword)
    except UnknownTransform:
        return f"must be one of: {', '.join(keywords(kind))}"
    return None


def transform(kind: str, keyword: str) -> t.Transform:
    return _LOOKUP[kind][0](keyword)


def is_legacy(kind: str, keyword: str) -> bool:
    return transform(kind, keyword).legacy


def is_aead(keyword: str) -> bool:
    return transform("ipsec-encryption", keyword).aead


def key_bytes(kind: str, keyword: str) -> int:
    """Key material (bytes) a manual SA needs for this algorithm."""
    return transform(kind, keyword).key_size


def predefined_ike_proposals() -> dict[str, t.JunosIkeProposal]:
    return dict(t.JUNOS_IKE_PREDEFINED)


def predefined_ipsec_proposals() -> dict[str, t.JunosIpsecProposal]:
    return dict(t.JUNOS_IPSEC_PREDEFINED)


def ike_set_methods(name: str) -> set[str]:
    """Authentication methods of a Phase-1 proposal set (``standard`` -> pre-shared-keys)."""
    return {p.authentication_method for p in t.JUNOS_IKE_PROPOSAL_SETS.get(name, ())}


def proposal_set_is_legacy(kind: str, name: str) -> bool:
    """Whether a predefined set (`kind` ike-proposal-set or ipsec-proposal-set) offers a
    legacy algorithm."""
    if kind == "ike-proposal-set":
        return any(
            p.dh_group.legacy
            or p.encryption.legacy
            or t.by_junos_ike(t.TransformType.PRF, p.authentication).legacy
            for p in t.JUNOS_IKE_PROPOSAL_SETS.get(name, ())
        )
    return any(
        any(x is not None and x.legacy for x in (p.encryption, p.authentication, p.pfs))
        for p in t.JUNOS_IPSEC_PROPOSAL_SETS.get(name, ())
    )
