"""IKE SA and Child SA key derivation (RFC 7296 sections 2.13, 2.14, 2.17, 2.18).

Encryption key lengths include the 4-byte salt of AES-GCM / ChaCha20-Poly1305 (RFC 5282,
RFC 7634), which is exactly the key layout the kernel expects for ``rfc4106(gcm(aes))`` and
``rfc7539esp(chacha20,poly1305)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xfrmctl.keying.prf import prf, prf_plus
from xfrmctl.keying.transforms import Transform


@dataclass(frozen=True)
class IkeKeys:
    """The seven IKE SA keys plus the transforms they belong to."""

    prf: Transform
    encr: Transform
    integ: Transform | None
    sk_d: bytes = field(repr=False)
    sk_ai: bytes = field(repr=False)
    sk_ar: bytes = field(repr=False)
    sk_ei: bytes = field(repr=False)
    sk_er: bytes = field(repr=False)
    sk_pi: bytes = field(repr=False)
    sk_pr: bytes = field(repr=False)


@dataclass(frozen=True)
class ChildKeys:
    """Child SA keys: ``*_i`` protect initiator-to-responder traffic, ``*_r`` the reverse."""

    encr: Transform
    integ: Transform | None
    encr_i: bytes = field(repr=False)
    integ_i: bytes = field(repr=False)
    encr_r: bytes = field(repr=False)
    integ_r: bytes = field(repr=False)


def _split_ike_keys(
    prf_t: Transform, encr: Transform, integ: Transform | None, skeyseed: bytes, seed: bytes
) -> IkeKeys:
    p, e, a = prf_t.key_size, encr.key_size, integ.key_size if integ else 0
    km = prf_plus(prf_t, skeyseed, seed, p + 2 * a + 2 * e + 2 * p)
    parts = []
    offset = 0
    for size in (p, a, a, e, e, p, p):
        parts.append(km[offset : offset + size])
        offset += size
    return IkeKeys(prf_t, encr, integ, *parts)


def derive_ike_keys(  # noqa: PLR0917 - the RFC formula's inputs, in its order
    prf_t: Transform,
    encr: Transform,
    integ: Transform | None,
    ni: bytes,
    nr: bytes,
    shared_secret: bytes,
    spi_i: bytes,
    spi_r: bytes,
) -> IkeKeys:
    """SKEYSEED = prf(Ni | Nr, g^ir); {SK_d, SK_ai, ...} = prf+(SKEYSEED, Ni|Nr|SPIi|SPIr)."""
    skeyseed = prf(prf_t, ni + nr, shared_secret)
    return _split_ike_keys(prf_t, encr, integ, skeyseed, ni + nr + spi_i + spi_r)


def derive_rekeyed_ike_keys(  # noqa: PLR0917
    old_prf: Transform,
    old_sk_d: bytes,
    new_prf: Transform,
    encr: Transform,
    integ: Transform | None,
    ni: bytes,
    nr: bytes,
    shared_secret: bytes,
    spi_i: bytes,
    spi_r: bytes,
) -> IkeKeys:
    """RFC 7296 2.18: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) with the old PRF.

    ``spi_i``/``spi_r`` are the new IKE SA's SPIs; ``ni``/``nr`` the CREATE_CHILD_SA nonces.
    """
    skeyseed = prf(old_prf, old_sk_d, shared_secret + ni + nr)
    return _split_ike_keys(new_prf, encr, integ, skeyseed, ni + nr + spi_i + spi_r)


def derive_child_keys(  # noqa: PLR0917
    prf_t: Transform,
    sk_d: bytes,
    encr: Transform,
    integ: Transform | None,
    ni: bytes,
    nr: bytes,
    shared_secret: bytes | None = None,
) -> ChildKeys:
    """KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr), taken as encr_i, integ_i, encr_r, integ_r."""
    e, a = encr.key_size, integ.key_size if integ else 0
    seed = (shared_secret or b"") + ni + nr
    km = prf_plus(prf_t, sk_d, seed, 2 * (e + a))
    return ChildKeys(
        encr,
        integ,
        km[:e],
        km[e : e + a],
        km[e + a : 2 * e + a],
        km[2 * e + a : 2 * (e + a)],
    )
