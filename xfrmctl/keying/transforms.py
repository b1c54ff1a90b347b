"""The one algorithm table: IKEv2 ids, strongSwan tokens, Junos keywords, kernel XFRM names.

IKE negotiation, the kernel layer, the configuration validator and the ``show`` renderers all read
this table, so they cannot disagree about what ``aes-128-cbc`` or group 14 means. Legacy entries
(DES, 3DES, MD5, MODP groups 1/2/5) are accepted when configured explicitly and never appear in a
default proposal.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Literal

from xfrmctl.keying.constants import ProtocolId
from xfrmctl.keying.errors import ProposalSyntaxError, UnknownTransform


class TransformType(IntEnum):
    ENCR = 1
    PRF = 2
    INTEG = 3
    DH = 4
    ESN = 5


CipherKind = Literal["aes-cbc", "aes-gcm", "chacha20-poly1305", "3des-cbc", "des-cbc"]
DhKind = Literal["modp", "ecp", "montgomery"]


@dataclass(frozen=True)
class Transform:
    """One negotiable algorithm (one key size / ICV length is one entry)."""

    type: TransformType
    ike_id: int
    key_bits: int | None  # IKEv2 Key Length attribute; None when the algorithm has a fixed key
    name: str  # strongSwan proposal token
    aliases: tuple[str, ...] = ()
    junos_ike: str | None = None  # keyword in [security ike proposal]
    junos_ipsec: str | None = None  # keyword in [security ipsec proposal] / PFS keys
    junos_show: str | None = None  # token in `show ... detail` output
    junos_brief: str | None = None  # token in the `ESP:<cipher>/<auth>` column
    kernel_name: str | None = None  # XFRM algorithm name
    kernel_icv_bits: int | None = None  # AEAD ICV or auth truncation length for XFRM
    key_size: int = 0  # key material bytes (ENCR: incl. salt; INTEG: HMAC key; PRF: preferred)
    salt_size: int = 0
    block_size: int = 0
    iv_size: int = 0
    icv_size: int = 0  # ENCR AEAD tag bytes; INTEG truncated output bytes
    output_size: int = 0  # PRF output bytes
    hash: str | None = None  # hashlib name behind a PRF or INTEG transform
    cipher: CipherKind | None = None
    dh_kind: DhKind | None = None
    dh_bits: int = 0  # MODP modulus bits / curve field bits
    aead: bool = False
    legacy: bool = False
    ikev1_phase1: int | None = None  # RFC 2409 App. A: encryption alg / hash alg / group desc
    ikev1_esp: int | None = None  # RFC 2407: ESP transform id (ENCR) / auth alg attribute (INTEG)
    ikev1_ah: int | None = None  # RFC 2407: AH transform id (INTEG)

    @property
    def kernel_key_bits(self) -> int:
        return self.key_size * 8

    @property
    def cipher_key_size(self) -> int:
        """Key bytes without the salt (what the block cipher itself uses)."""
        return self.key_size - self.salt_size

    def __str__(self) -> str:
        return self.name


def _aes_cbc(bits: int) -> Transform:
    return Transform(
        TransformType.ENCR, 12, bits, f"aes{bits}",
        aliases=("aes",) if bits == 128 else (),
        junos_ike=f"aes-{bits}-cbc", junos_ipsec=f"aes-{bits}-cbc",
        junos_show=f"aes-cbc ({bits} bits)", junos_brief=f"aes-{bits}",
        kernel_name="cbc(aes)", key_size=bits // 8, block_size=16, iv_size=16,
        cipher="aes-cbc", ikev1_phase1=7, ikev1_esp=12,
    )  # fmt: skip


def _aes_gcm(bits: int, icv: int) -> Transform:
    ike_id = {8: 18, 12: 19, 16: 20}[icv]
    aliases = [f"aes{bits}gcm{icv * 8}"]
    if icv == 16:
        aliases.append(f"aes{bits}gcm")
    junos = f"aes-{bits}-gcm" if icv == 16 else None
    return Transform(
        TransformType.ENCR, ike_id, bits, f"aes{bits}gcm{icv}", aliases=tuple(aliases),
        junos_ike=junos if bits != 192 else None, junos_ipsec=junos,
        junos_show=f"aes-gcm ({bits} bits)" if icv == 16 else f"aes-gcm{icv * 8} ({bits} bits)",
        junos_brief=f"aes-gcm-{bits}",
        kernel_name="rfc4106(gcm(aes))", kernel_icv_bits=icv * 8,
        key_size=bits // 8 + 4, salt_size=4, block_size=16, iv_size=8, icv_size=icv,
        cipher="aes-gcm", aead=True, ikev1_esp=ike_id,
    )  # fmt: skip


def _integ(
    ike_id: int, hash_name: str, digest: int, trunc: int, *, name: str, junos_ike: str,
    junos_ipsec: str | None, show: str, brief: str, v1_esp: int, v1_ah: int, legacy: bool = False,
) -> Transform:  # fmt: skip
    # strongSwan also accepts sha/sha2_256/... and the explicit truncation (sha1_96, sha256_128)
    aliases = {"sha1": ("sha", "sha1_96"), "md5": ("md5_96",)}.get(name) or (
        f"sha2_{name[3:]}", f"{name}_{trunc * 8}")  # fmt: skip
    return Transform(
        TransformType.INTEG, ike_id, None, name, aliases=aliases, junos_ike=junos_ike,
        junos_ipsec=junos_ipsec,
        junos_show=show, junos_brief=brief, kernel_name=f"hmac({hash_name})",
        kernel_icv_bits=trunc * 8, key_size=digest, icv_size=trunc, hash=hash_name,
        legacy=legacy, ikev1_esp=v1_esp, ikev1_ah=v1_ah,
    )  # fmt: skip


def _prf(
    ike_id: int, hash_name: str, digest: int, *, name: str, junos_ike: str, show: str,
    v1: int, legacy: bool = False,
) -> Transform:  # fmt: skip
    return Transform(
        TransformType.PRF, ike_id, None, name, junos_ike=junos_ike, junos_show=show,
        key_size=digest, output_size=digest, hash=hash_name, legacy=legacy, ikev1_phase1=v1,
    )  # fmt: skip


def _modp(group: int, bits: int, *, legacy: bool = False) -> Transform:
    return Transform(
        TransformType.DH, group, None, f"modp{bits}", junos_ike=f"group{group}",
        junos_ipsec=f"group{group}", junos_show=f"DH-group-{group}", key_size=bits // 8,
        dh_kind="modp", dh_bits=bits, legacy=legacy, ikev1_phase1=group,
    )  # fmt: skip


def _ecp(group: int, bits: int) -> Transform:
    return Transform(
        TransformType.DH, group, None, f"ecp{bits}", junos_ike=f"group{group}",
        junos_ipsec=f"group{group}", junos_show=f"DH-group-{group}",
        key_size=2 * ((bits + 7) // 8), dh_kind="ecp", dh_bits=bits, ikev1_phase1=group,
    )  # fmt: skip


def _montgomery(group: int, name: str, alias: str, size: int, bits: int) -> Transform:
    return Transform(
        TransformType.DH, group, None, name, aliases=(alias,), junos_ike=f"group{group}",
        junos_ipsec=f"group{group}", junos_show=f"DH-group-{group}",
        key_size=size, dh_kind="montgomery", dh_bits=bits, ikev1_phase1=group,
    )  # fmt: skip


AES128_CBC = _aes_cbc(128)
AES192_CBC = _aes_cbc(192)
AES256_CBC = _aes_cbc(256)
AES128_GCM_8, AES128_GCM_12, AES128_GCM_16 = (_aes_gcm(128, n) for n in (8, 12, 16))
AES192_GCM_8, AES192_GCM_12, AES192_GCM_16 = (_aes_gcm(192, n) for n in (8, 12, 16))
AES256_GCM_8, AES256_GCM_12, AES256_GCM_16 = (_aes_gcm(256, n) for n in (8, 12, 16))
CHACHA20_POLY1305 = Transform(
    TransformType.ENCR, 28, None, "chacha20poly1305", junos_show="chacha20-poly1305",
    junos_brief="chacha20-poly1305", kernel_name="rfc7539esp(chacha20,poly1305)",
    kernel_icv_bits=128, key_size=36, salt_size=4, block_size=1, iv_size=8, icv_size=16,
    cipher="chacha20-poly1305", aead=True, ikev1_esp=28,
)  # fmt: skip
TRIPLE_DES = Transform(
    TransformType.ENCR, 3, None, "3des", junos_ike="3des-cbc", junos_ipsec="3des-cbc",
    junos_show="3des-cbc", junos_brief="3des", kernel_name="cbc(des3_ede)", key_size=24,
    block_size=8, iv_size=8, cipher="3des-cbc", legacy=True, ikev1_phase1=5, ikev1_esp=3,
)  # fmt: skip
DES = Transform(
    TransformType.ENCR, 2, None, "des", junos_ike="des-cbc", junos_ipsec="des-cbc",
    junos_show="des-cbc", junos_brief="des", kernel_name="cbc(des)", key_size=8, block_size=8,
    iv_size=8, cipher="des-cbc", legacy=True, ikev1_phase1=1, ikev1_esp=2,
)  # fmt: skip

PRF_HMAC_MD5 = _prf(1, "md5", 16, name="prfmd5", junos_ike="md5", show="hmac-md5", v1=1,
                    legacy=True)  # fmt: skip
PRF_HMAC_SHA1 = _prf(2, "sha1", 20, name="prfsha1", junos_ike="sha1", show="hmac-sha1", v1=2)
PRF_HMAC_SHA2_256 = _prf(5, "sha256", 32, name="prfsha256", junos_ike="sha-256",
                         show="hmac-sha256", v1=4)  # fmt: skip
PRF_HMAC_SHA2_384 = _prf(6, "sha384", 48, name="prfsha384", junos_ike="sha-384",
                         show="hmac-sha384", v1=5)  # fmt: skip
PRF_HMAC_SHA2_512 = _prf(7, "sha512", 64, name="prfsha512", junos_ike="sha-512",
                         show="hmac-sha512", v1=6)  # fmt: skip

HMAC_MD5_96 = _integ(1, "md5", 16, 12, name="md5", junos_ike="md5", junos_ipsec="hmac-md5-96",
                     show="hmac-md5-96", brief="md5", v1_esp=1, v1_ah=2,
                     legacy=True)  # fmt: skip
HMAC_SHA1_96 = _integ(2, "sha1", 20, 12, name="sha1", junos_ike="sha1",
                      junos_ipsec="hmac-sha1-96", show="hmac-sha1-96", brief="sha1", v1_esp=2,
                      v1_ah=3)  # fmt: skip
HMAC_SHA2_256_128 = _integ(12, "sha256", 32, 16, name="sha256", junos_ike="sha-256",
                           junos_ipsec="hmac-sha-256-128", show="hmac-sha256-128",
                           brief="sha256", v1_esp=5, v1_ah=5)  # fmt: skip
HMAC_SHA2_384_192 = _integ(13, "sha384", 48, 24, name="sha384", junos_ike="sha-384",
                           junos_ipsec="hmac-sha-384", show="hmac-sha384-192", brief="sha384",
                           v1_esp=6, v1_ah=6)  # fmt: skip
HMAC_SHA2_512_256 = _integ(14, "sha512", 64, 32, name="sha512", junos_ike="sha-512",
                           junos_ipsec="hmac-sha-512", show="hmac-sha512-256", brief="sha512",
                           v1_esp=7, v1_ah=7)  # fmt: skip

MODP768 = _modp(1, 768, legacy=True)
MODP1024 = _modp(2, 1024, legacy=True)
MODP1536 = _modp(5, 1536, legacy=True)
MODP2048 = _modp(14, 2048)
MODP3072 = _modp(15, 3072)
MODP4096 = _modp(16, 4096)
MODP6144 = _modp(17, 6144)
MODP8192 = _modp(18, 8192)
ECP256 = _ecp(19, 256)
ECP384 = _ecp(20, 384)
ECP521 = _ecp(21, 521)
X25519 = _montgomery(31, "x25519", "curve25519", 32, 255)
X448 = _montgomery(32, "x448", "curve448", 56, 448)

NO_ESN = Transform(TransformType.ESN, 0, None, "noesn")
ESN = Transform(TransformType.ESN, 1, None, "esn")

ALL_TRANSFORMS: tuple[Transform, ...] = (
    AES128_CBC, AES192_CBC, AES256_CBC,
    AES128_GCM_8, AES128_GCM_12, AES128_GCM_16,
    AES192_GCM_8, AES192_GCM_12, AES192_GCM_16,
    AES256_GCM_8, AES256_GCM_12, AES256_GCM_16,
    CHACHA20_POLY1305, TRIPLE_DES, DES,
    PRF_HMAC_MD5, PRF_HMAC_SHA1, PRF_HMAC_SHA2_256, PRF_HMAC_SHA2_384, PRF_HMAC_SHA2_512,
    HMAC_MD5_96, HMAC_SHA1_96, HMAC_SHA2_256_128, HMAC_SHA2_384_192, HMAC_SHA2_512_256,
    MODP768, MODP1024, MODP1536, MODP2048, MODP3072, MODP4096, MODP6144, MODP8192,
    ECP256, ECP384, ECP521, X25519, X448,
    NO_ESN, ESN,
)  # fmt: skip

# Transform ids whose Key Length attribute is mandatory (RFC 7296 3.3.5, RFC 4106).
VARIABLE_KEY_ENCR_IDS = frozenset({12, 18, 19, 20})

_BY_IKE: dict[tuple[TransformType, int, int | None], Transform] = {
    (t.type, t.ike_id, t.key_bits): t for t in ALL_TRANSFORMS
}
_BY_NAME: dict[str, Transform] = {}
for _t in ALL_TRANSFORMS:
    for _n in (_t.name, *_t.aliases):
        assert _n not in _BY_NAME, _n
        _BY_NAME[_n] = _t
_BY_KERNEL: dict[tuple[str, int, int | None], Transform] = {
    (t.kernel_name, t.kernel_key_bits, t.kernel_icv_bits): t
    for t in ALL_TRANSFORMS
    if t.kernel_name is not None
}


def by_ike_id(ttype: TransformType | int, ike_id: int, key_bits: int | None = None) -> Transform:
    """The transform for an IKEv2 (type, id, Key Length attribute) triple from the wire."""
    try:
        return _BY_IKE[(TransformType(ttype), ike_id, key_bits)]
    except (KeyError, ValueError):
        kl = "" if key_bits is None else f" key length {key_bits}"
        raise UnknownTransform(f"unsupported transform type {ttype} id {ike_id}{kl}") from None


def by_name(name: str) -> Transform:
    """The transform for a strongSwan proposal token (``aes256gcm16``, ``prfsha256``, ...)."""
    try:
        return _BY_NAME[name.strip().lower()]
    except KeyError:
        raise UnknownTransform(f"unknown algorithm {name!r}") from None


def by_junos_ike(ttype: TransformType, keyword: str) -> Transform:
    """The transform a keyword in ``[security ike proposal]`` selects.

    ``authentication-algorithm sha1`` selects both PRF_HMAC_SHA1 and HMAC_SHA1_96 in IKEv2: ask
    once for each type.
    """
    for t in ALL_TRANSFORMS:
        if t.type == ttype and t.junos_ike == keyword:
            return t
    raise UnknownTransform(f"unknown IKE {_JUNOS_STATEMENT[ttype]} {keyword!r}")


def by_junos_ipsec(ttype: TransformType, keyword: str) -> Transform:
    """The transform a keyword in ``[security ipsec proposal]`` (or PFS ``keys``) selects."""
    for t in ALL_TRANSFORMS:
        if t.type == ttype and t.junos_ipsec == keyword:
            return t
    raise UnknownTransform(f"unknown IPsec {_JUNOS_STATEMENT[ttype]} {keyword!r}")


def junos_ike_keywords(ttype: TransformType) -> tuple[str, ...]:
    return tuple(t.junos_ike for t in ALL_TRANSFORMS if t.type == ttype and t.junos_ike)


def junos_ipsec_keywords(ttype: TransformType) -> tuple[str, ...]:
    return tuple(t.junos_ipsec for t in ALL_TRANSFORMS if t.type == ttype and t.junos_ipsec)


def by_kernel(kernel_name: str, key_bits: int, icv_bits: int | None = None) -> Transform:
    """The transform behind an XFRM algorithm as the kernel reports it (key incl. salt)."""
    try:
        return _BY_KERNEL[(kernel_name, key_bits, icv_bits)]
    except KeyError:
        raise UnknownTransform(
            f"unknown kernel algorithm {kernel_name} key {key_bits} icv {icv_bits}"
        ) from None


def prf_for_integ(integ: Transform) -> Transform:
    """The PRF built on the same hash as an integrity transform (strongSwan's implied PRF)."""
    for t in ALL_TRANSFORMS:
        if t.type == TransformType.PRF and t.hash == integ.hash:
            return t
    raise UnknownTransform(f"no PRF for integrity algorithm {integ.name}")


_JUNOS_STATEMENT = {
    TransformType.ENCR: "encryption-algorithm",
    TransformType.PRF: "authentication-algorithm",
    TransformType.INTEG: "authentication-algorithm",
    TransformType.DH: "dh-group",
    TransformType.ESN: "extended-sequence-number",
}


# --------------------------------------------------------------------------------------------
# Proposals


@dataclass(frozen=True)
class Proposal:
    """One proposal: the acceptable transforms per type, in preference order."""

    protocol: ProtocolId = ProtocolId.IKE
    encryption: tuple[Transform, ...] = ()
    integrity: tuple[Transform, ...] = ()
    prf: tuple[Transform, ...] = ()
    dh: tuple[Transform, ...] = ()
    esn: tuple[Transform, ...] = ()

    def transforms(self) -> Iterator[Transform]:
        yield from self.encryption
        yield from self.integrity
        yield from self.prf
        yield from self.dh
        yield from self.esn

    def of_type(self, ttype: TransformType) -> tuple[Transform, ...]:
        return {
            TransformType.ENCR: self.encryption,
            TransformType.INTEG: self.integrity,
            TransformType.PRF: self.prf,
            TransformType.DH: self.dh,
            TransformType.ESN: self.esn,
        }[ttype]

    @property
    def aead(self) -> bool:
        return bool(self.encryption) and all(t.aead for t in self.encryption)

    @property
    def legacy(self) -> bool:
        """True when any transform is legacy (``config check`` warns)."""
        return any(t.legacy for t in self.transforms())

    def to_string(self) -> str:
        """strongSwan token form: ``aes256gcm16-prfsha256-x25519``."""
        return "-".join(t.name for t in self.transforms())

    def __str__(self) -> str:
        return self.to_string()


def make_proposal(protocol: ProtocolId, transforms: Iterable[Transform]) -> Proposal:
    """Group transforms by type, keeping their order."""
    by_type: dict[TransformType, list[Transform]] = {t: [] for t in TransformType}
    for t in transforms:
        if t not in by_type[t.type]:
            by_type[t.type].append(t)
    return Proposal(
        protocol=protocol,
        encryption=tuple(by_type[TransformType.ENCR]),
        integrity=tuple(by_type[TransformType.INTEG]),
        prf=tuple(by_type[TransformType.PRF]),
        dh=tuple(by_type[TransformType.DH]),
        esn=tuple(by_type[TransformType.ESN]),
    )


def parse_proposal(text: str, protocol: ProtocolId = ProtocolId.IKE) -> Proposal:
    """Parse a strongSwan proposal string (``aes128-sha256-modp2048``) into a checked Proposal.

    For IKE a missing PRF is implied from the integrity algorithms, as strongSwan does; an AEAD IKE
    proposal must name its PRF. For ESP/AH, DH groups mean PFS, PRFs are not allowed and ESN
    defaults to ``noesn``.
    """
    tokens = [tok for tok in text.strip().lower().split("-")]
    if not text.strip() or any(not tok for tok in tokens):
        raise ProposalSyntaxError(f"empty algorithm in proposal {text!r}")
    try:
        items = [by_name(tok) for tok in tokens]
    except UnknownTransform as exc:
        raise ProposalSyntaxError(f"{exc} in proposal {text!r}") from None
    p = make_proposal(protocol, items)
    return _complete(p, text)


def _complete(p: Proposal, text: str) -> Proposal:
    if p.encryption and len({t.aead for t in p.encryption}) > 1:
        raise ProposalSyntaxError(f"proposal {text!r} mixes AEAD and non-AEAD encryption")
    if p.protocol == ProtocolId.IKE:
        if not p.encryption:
            raise ProposalSyntaxError(f"IKE proposal {text!r} has no encryption algorithm")
        if not p.dh:
            raise ProposalSyntaxError(f"IKE proposal {text!r} has no DH group")
        if p.esn:
            raise ProposalSyntaxError(f"IKE proposal {text!r} cannot have ESN")
        if p.aead and p.integrity:
            raise ProposalSyntaxError(f"AEAD IKE proposal {text!r} cannot have integrity")
        if not p.aead and not p.integrity:
            raise ProposalSyntaxError(f"IKE proposal {text!r} has no integrity algorithm")
        if not p.prf:
            if p.aead:
                raise ProposalSyntaxError(f"AEAD IKE proposal {text!r} needs a PRF")
            prfs = tuple(dict.fromkeys(prf_for_integ(t) for t in p.integrity))
            p = Proposal(p.protocol, p.encryption, p.integrity, prfs, p.dh, p.esn)
        return p
    if p.prf:
        raise ProposalSyntaxError(f"{p.protocol.name} proposal {text!r} cannot have a PRF")
    if p.protocol == ProtocolId.ESP:
        if not p.encryption:
            raise ProposalSyntaxError(f"ESP proposal {text!r} has no encryption algorithm")
        if p.aead and p.integrity:
            raise ProposalSyntaxError(f"AEAD ESP proposal {text!r} cannot have integrity")
        if not p.aead and not p.integrity:
            raise ProposalSyntaxError(f"ESP proposal {text!r} has no integrity algorithm")
    elif p.protocol == ProtocolId.AH:
        if p.encryption or not p.integrity:
            raise ProposalSyntaxError(f"AH proposal {text!r} must have only integrity")
    else:
        raise ProposalSyntaxError(f"no proposal for protocol {p.protocol!r}")
    if not p.esn:
        p = Proposal(p.protocol, p.encryption, p.integrity, p.prf, p.dh, (NO_ESN,))
    return p


# Defaults xfrmctl offers when nothing is configured: modern, no legacy transform.
DEFAULT_IKE_PROPOSALS: tuple[Proposal, ...] = (
    parse_proposal("aes256gcm16-aes128gcm16-prfsha256-prfsha384-prfsha512-x25519-ecp256-ecp384-"
                   "modp3072-modp2048"),
    parse_proposal("aes256-aes128-sha256-sha384-sha512-prfsha256-prfsha384-prfsha512-x25519-"
                   "ecp256-ecp384-modp3072-modp2048"),
)  # fmt: skip
DEFAULT_ESP_PROPOSALS: tuple[Proposal, ...] = (
    parse_proposal("aes256gcm16-aes128gcm16-chacha20poly1305", ProtocolId.ESP),
    parse_proposal("aes256-aes128-sha256-sha384-sha512", ProtocolId.ESP),
)


# --------------------------------------------------------------------------------------------
# Junos predefined proposals and proposal sets (spec §2.3, §2.7)


@dataclass(frozen=True)
class JunosIkeProposal:
    name: str
    authentication_method: str  # pre-shared-keys | rsa-signatures | dsa-signatures | ecdsa-...
    dh_group: Transform
    encryption: Transform
    authentication: str  # the Junos authentication-algorithm keyword
    lifetime_seconds: int = 28800

    def to_proposal(self) -> Proposal:
        """IKEv2 view: the authentication keyword selects the PRF and (non-AEAD) integrity."""
        prf = by_junos_ike(TransformType.PRF, self.authentication)
        integ = () if self.encryption.aead else (by_junos_ike(TransformType.INTEG,
                                                              self.authentication),)  # fmt: skip
        return Proposal(ProtocolId.IKE, (self.encryption,), integ, (prf,), (self.dh_group,))


@dataclass(frozen=True)
class JunosIpsecProposal:
    name: str
    protocol: ProtocolId
    encryption: Transform | None
    authentication: Transform | None
    pfs: Transform | None = field(default=None)  # PFS group the predefined set implies
    lifetime_seconds: int = 3600

    def to_proposal(self) -> Proposal:
        return Proposal(
            self.protocol,
            (self.encryption,) if self.encryption else (),
            (self.authentication,) if self.authentication else (),
            (),
            (self.pfs,) if self.pfs else (),
            (NO_ESN,),
        )


def _ike(name: str, dh: Transform, encr: Transform, auth: str, method: str = "pre-shared-keys"
         ) -> JunosIkeProposal:  # fmt: skip
    return JunosIkeProposal(name, method, dh, encr, auth)


def _esp(name: str, encr: Transform, auth: Transform | None, pfs: Transform | None
         ) -> JunosIpsecProposal:  # fmt: skip
    return JunosIpsecProposal(name, ProtocolId.ESP, encr, auth, pfs)


JUNOS_IKE_PREDEFINED: dict[str, JunosIkeProposal] = {
    p.name: p
    for p in (
        _ike("pre-g2-aes128-sha", MODP1024, AES128_CBC, "sha1"),
        _ike("pre-g2-3des-sha", MODP1024, TRIPLE_DES, "sha1"),
        _ike("pre-g2-3des-md5", MODP1024, TRIPLE_DES, "md5"),
        _ike("pre-g2-des-sha", MODP1024, DES, "sha1"),
        _ike("pre-g2-des-md5", MODP1024, DES, "md5"),
        _ike("pre-g1-des-sha", MODP768, DES, "sha1"),
        _ike("pre-g1-des-md5", MODP768, DES, "md5"),
        # [X] later Junos Suite-B sets (RFC 6379); not in the seeds
        _ike("suiteb-gcm-128", ECP256, AES128_GCM_16, "sha-256", "ecdsa-signatures-256"),
        _ike("suiteb-gcm-256", ECP384, AES256_GCM_16, "sha-384", "ecdsa-signatures-384"),
    )
}
JUNOS_IPSEC_PREDEFINED: dict[str, JunosIpsecProposal] = {
    p.name: p
    for p in (
        _esp("g2-esp-3des-sha", TRIPLE_DES, HMAC_SHA1_96, MODP1024),
        _esp("g2-esp-aes128-sha", AES128_CBC, HMAC_SHA1_96, MODP1024),
        _esp("nopfs-esp-3des-sha", TRIPLE_DES, HMAC_SHA1_96, None),
        _esp("nopfs-esp-3des-md5", TRIPLE_DES, HMAC_MD5_96, None),
        _esp("nopfs-esp-des-sha", DES, HMAC_SHA1_96, None),
        _esp("nopfs-esp-des-md5", DES, HMAC_MD5_96, None),
        _esp("suiteb-gcm-128", AES128_GCM_16, None, ECP256),
        _esp("suiteb-gcm-256", AES256_GCM_16, None, ECP384),
    )
}
JUNOS_IKE_PROPOSAL_SETS: dict[str, tuple[JunosIkeProposal, ...]] = {
    name: tuple(JUNOS_IKE_PREDEFINED[m] for m in members)
    for name, members in {
        "standard": ("pre-g2-aes128-sha", "pre-g2-3des-sha"),
        "compatible": ("pre-g2-3des-sha", "pre-g2-3des-md5", "pre-g2-des-sha", "pre-g2-des-md5"),
        "basic": ("pre-g1-des-sha", "pre-g1-des-md5"),
        "suiteb-gcm-128": ("suiteb-gcm-128",),
        "suiteb-gcm-256": ("suiteb-gcm-256",),
    }.items()
}
JUNOS_IPSEC_PROPOSAL_SETS: dict[str, tuple[JunosIpsecProposal, ...]] = {
    name: tuple(JUNOS_IPSEC_PREDEFINED[m] for m in members)
    for name, members in {
        "standard": ("g2-esp-3des-sha", "g2-esp-aes128-sha"),
        "compatible": (
            "nopfs-esp-3des-sha", "nopfs-esp-3des-md5", "nopfs-esp-des-sha", "nopfs-esp-des-md5",
        ),
        "basic": ("nopfs-esp-des-sha", "nopfs-esp-des-md5"),
        "suiteb-gcm-128": ("suiteb-gcm-128",),
        "suiteb-gcm-256": ("suiteb-gcm-256",),
    }.items()
}  # fmt: skip


def junos_esp_brief(encryption: Transform | None, integrity: Transform | None) -> str:
    """The ``ESP:3des/sha1`` token of ``show security ipsec security-associations``."""
    cipher = encryption.junos_brief if encryption else "none"
    auth = integrity.junos_brief if integrity else "none"
    return f"ESP:{cipher}/{auth}"
