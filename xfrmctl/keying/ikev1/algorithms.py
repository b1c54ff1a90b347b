"""IKEv1 lookups into the one algorithm registry (`transforms.ALL_TRANSFORMS`).

The registry carries the RFC 2409 Appendix A and RFC 2407 numbers; this module only searches it.
"""

from __future__ import annotations

from xfrmctl.keying.errors import UnknownTransform
from xfrmctl.keying.transforms import ALL_TRANSFORMS, Transform, TransformType

# RFC 2407 4.4.4: IPsec DOI ESP transform ids where they differ from the registry's field name.


def phase1(ttype: TransformType, v1_id: int, key_bits: int | None = None) -> Transform:
    """Phase-1 encryption (ENCR), hash (PRF) or group (DH) for an RFC 2409 attribute value."""
    for t in ALL_TRANSFORMS:
        if t.type == ttype and t.ikev1_phase1 == v1_id and (
            ttype != TransformType.ENCR or t.key_bits == key_bits or (
                t.key_bits is None and key_bits is None)
        ):  # fmt: skip
            return t
    kl = "" if key_bits is None else f" key length {key_bits}"
    raise UnknownTransform(f"unsupported IKEv1 phase-1 {ttype.name} {v1_id}{kl}")


def esp_cipher(transform_id: int, key_bits: int | None) -> Transform:
    """An ESP transform id (RFC 2407 4.4.4) with its Key Length attribute."""
    for t in ALL_TRANSFORMS:
        if t.type == TransformType.ENCR and t.ikev1_esp == transform_id and t.key_bits == key_bits:
            return t
    kl = "" if key_bits is None else f" key length {key_bits}"
    raise UnknownTransform(f"unsupported ESP transform {transform_id}{kl}")


def esp_auth(auth_alg: int) -> Transform:
    """An IPsec DOI Authentication Algorithm attribute value (RFC 2407 4.5)."""
    for t in ALL_TRANSFORMS:
        if t.type == TransformType.INTEG and t.ikev1_esp == auth_alg:
            return t
    raise UnknownTransform(f"unsupported ESP authentication algorithm {auth_alg}")


def phase1_id(t: Transform) -> int:
    if t.ikev1_phase1 is None:
        raise UnknownTransform(f"{t.name} has no IKEv1 phase-1 number")
    return t.ikev1_phase1


def esp_id(t: Transform) -> int:
    if t.ikev1_esp is None:
        raise UnknownTransform(f"{t.name} has no IPsec DOI number")
    return t.ikev1_esp
