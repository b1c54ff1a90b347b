"""What the kernel's ``net/xfrm/xfrm_algo.c`` accepts, as the in-memory fake kernel enforces it.

This models the kernel, not IKE: IKE's own mapping of transform IDs to kernel names lives in
``xfrmctl.keying.transforms``. Aliases are the kernel's ``compat`` names; the kernel stores and
reports the canonical name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KernelAlgo:
    name: str
    key_bits: frozenset[int] | None  # None: any length (HMAC keys)
    icv_bits: frozenset[int] = frozenset()  # AEAD ICV sizes
    full_bits: int = 0  # auth: full ICV; trunc_len may not exceed it
    default_trunc_bits: int = 0  # auth given without XFRMA_ALG_AUTH_TRUNC
    aliases: tuple[str, ...] = ()


_GCM_KEYS = frozenset({128 + 32, 192 + 32, 256 + 32})
_CCM_KEYS = frozenset({128 + 24, 192 + 24, 256 + 24})

AEAD = (
    KernelAlgo("rfc4106(gcm(aes))", _GCM_KEYS, frozenset({64, 96, 128})),
    KernelAlgo("rfc4309(ccm(aes))", _CCM_KEYS, frozenset({64, 96, 128})),
    KernelAlgo("rfc4543(gcm(aes))", _GCM_KEYS, frozenset({128})),
    KernelAlgo("rfc7539esp(chacha20,poly1305)", frozenset({256 + 32}), frozenset({128})),
)
AUTH = (
    KernelAlgo("digest_null", frozenset({0}), full_bits=0, aliases=("digest_null",)),
    KernelAlgo("hmac(md5)", None, full_bits=128, default_trunc_bits=96, aliases=("md5",)),
    KernelAlgo("hmac(sha1)", None, full_bits=160, default_trunc_bits=96, aliases=("sha1",)),
    KernelAlgo("hmac(sha256)", None, full_bits=256, default_trunc_bits=96, aliases=("sha256",)),
    KernelAlgo("hmac(sha384)", None, full_bits=384, default_trunc_bits=192, aliases=("sha384",)),
    KernelAlgo("hmac(sha512)", None, full_bits=512, default_trunc_bits=256, aliases=("sha512",)),
    KernelAlgo("xcbc(aes)", frozenset({128}), full_bits=128, default_trunc_bits=96),
    KernelAlgo("cmac(aes)", frozenset({128}), full_bits=128, default_trunc_bits=96),
)
CRYPT = (
    KernelAlgo("ecb(cipher_null)", frozenset({0}), aliases=("cipher_null",)),
    KernelAlgo("cbc(des)", frozenset({64}), aliases=("des",)),
    KernelAlgo("cbc(des3_ede)", frozenset({192}), aliases=("des3_ede",)),
    KernelAlgo("cbc(aes)", frozenset({128, 192, 256}), aliases=("aes",)),
    KernelAlgo("cbc(camellia)", frozenset({128, 192, 256}), aliases=("camellia",)),
    KernelAlgo("cbc(twofish)", frozenset({128, 192, 256}), aliases=("twofish",)),
    KernelAlgo("cbc(serpent)", frozenset({128, 192, 256}), aliases=("serpent",)),
    KernelAlgo("rfc3686(ctr(aes))", frozenset({160, 224, 288})),
)


def _index(table: tuple[KernelAlgo, ...]) -> dict[str, KernelAlgo]:
    out: dict[str, KernelAlgo] = {}
    for a in table:
        out[a.name] = a
        for alias in a.aliases:
            out[alias] = a
    return out


AEAD_BY_NAME = _index(AEAD)
AUTH_BY_NAME = _index(AUTH)
CRYPT_BY_NAME = _index(CRYPT)
