"""Diffie-Hellman groups for IKE: MODP (RFC 2409/3526), ECP (RFC 5903), Curve25519/448 (RFC 8031).

MODP uses short private exponents (twice the group's security strength, per RFC 3526 section 8 /
NIST SP 800-56A); the modular exponentiations run in OpenSSL through ``cryptography``'s finite
field DH (our exponent loaded as the private value; g^x is the "shared secret" with the peer value
g), ten times faster than Python's ``pow`` for group 14, which stays as the fallback where that API
refuses a group or is gone. ECP and the Montgomery curves use ``cryptography``. Randomness is
always the injected ``rng``, so tests are deterministic.
Private values never appear in ``repr``.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization as _serialization
from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519

from xfrmctl.keying import transforms
from xfrmctl.keying.errors import CryptoError, UnknownTransform
from xfrmctl.keying.transforms import Transform, TransformType

with warnings.catch_warnings():  # FFDH is deprecated in cryptography: fetched once, quietly
    warnings.simplefilter("ignore")
    try:
        from cryptography.hazmat.primitives.asymmetric.dh import (
            DHParameterNumbers,
            DHPrivateKey,
            DHPrivateNumbers,
            DHPublicKey,
            DHPublicNumbers,
        )
    except ImportError:  # pragma: no cover - a cryptography without FFDH: pow does it all
        DHParameterNumbers = DHPrivateNumbers = DHPublicNumbers = None  # type: ignore[assignment]

Rng = Callable[[int], bytes]
"""Source of random bytes, ``os.urandom``-like; injected so engines stay deterministic in tests."""

# RFC 2409 6.2 / RFC 3526: p = 2^N - 2^(N-64) - 1 + 2^64 * (floor(2^(N-130) * pi) + offset).
# One table of pi's bits, floor(2^8062 * pi) (its first N-128 bits serve every group), and the
# group sizes and offsets; the primes are built from them once, at import.
_PI_BITS = int(
    "C90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22"
    "514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245"
    "E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5"
    "AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A"
    "69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D"
    "670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E8603"
    "9B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE5"
    "15D2261898FA051015728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64"
    "ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7ABF5AE8CDB0933D7"
    "1E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64"
    "521F2B18177B200CBBE117577A615D6C770988C0BAD946E208E24FA074E5AB31"
    "43DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D788719A10BDBA5B26"
    "99C327186AF4E23C1A946834B6150BDA2583E9CA2AD44CE8DBBBC2DB04DE8EF9"
    "2E8EFC141FBECAA6287C59474E6BC05D99B2964FA090C3A2233BA186515BE7ED"
    "1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA993B4EA988D8FDDC1"
    "86FFB7DC90A6C08F4DF435C93402849236C3FAB4D27C7026C1D4DCB2602646DE"
    "C9751E763DBA37BDF8FF9406AD9E530EE5DB382F413001AEB06A53ED9027D831"
    "179727B0865A8918DA3EDBEBCF9B14ED44CE6CBACED4BB1BDB7F1447E6CC254B"
    "332051512BD7AF426FB8F401378CD2BF5983CA01C64B92ECF032EA15D1721D03"
    "F482D7CE6E74FEF6D55E702F46980C82B5A84031900B1C9E59E7C97FBEC7E8F3"
    "23A97A7E36CC88BE0F1D45B7FF585AC54BD407B22B4154AACC8F6D7EBF48E1D8"
    "14CC5ED20F8037E0A79715EEF29BE32806A1D58BB7C5DA76F550AA3D8A1FBFF0"
    "EB19CCB1A313D55CDA56C9EC2EF29632387FE8D76E3C0468043E8F663F4860EE"
    "12BF2D5B0B7474D6E694F91E6DBE115974A3926F12FEE5E438777CB6A932DF8C"
    "D8BEC4D073B931BA3BC832B68D9DD300741FA7BF8AFC47ED2576F6936BA42466"
    "3AAB639C5AE4F5683423B4742BF1C978238F16CBE39D652DE3FDB8BEFC848AD9"
    "22222E04A4037C0713EB57A81A23F0C73473FC646CEA306B4BCBC8862F8385DD"
    "FA9D4B7FA2C087E879683303ED5BDD3A062B3CF5B3A278A66D2A13F83F44F82D"
    "DF310EE074AB6A364597E899A0255DC164F31CC50846851DF9AB48195DED7EA1"
    "B1D510BD7EE74D73FAF36BC31ECFA268359046F4EB879F924009438B481C6CD7"
    "889A002ED5EE382BC9190DA6FC026E479558E4475677E9AA9E3050E2765694DF"
    "C81F56E880B96E7160C980DD98A573EA",
    16,
)
_MODP_SIZES: dict[int, tuple[int, int]] = {
    1: (768, 149686),
    2: (1024, 129093),
    5: (1536, 741804),
    14: (2048, 124476),
    15: (3072, 1690314),
    16: (4096, 240904),
    17: (6144, 929484),
    18: (8192, 4743158),
}


def _rfc_prime(bits: int, offset: int) -> int:
    pi_part = _PI_BITS >> (8192 - bits)
    return (1 << bits) - (1 << (bits - 64)) - 1 + ((pi_part + offset) << 64)


_MODP_PRIMES: dict[int, int] = {g: _rfc_prime(*size) for g, size in _MODP_SIZES.items()}

MODP_GENERATOR = 2

# Private exponent bits: 2 x the estimated strength (RFC 3526 section 8), never below 256.
_MODP_EXPONENT_BITS = {1: 256, 2: 256, 5: 256, 14: 320, 15: 384, 16: 480, 17: 540, 18: 620}


# OpenSSL knows the RFC 3526 groups by name; for the RFC 2409 ones (1, 2) it validates the prime
# again for every key, which takes longer than Python's pow.
_OPENSSL_MODP = frozenset({5, 14, 15, 16, 17, 18})


def modp_prime(group: int) -> int:
    """The RFC 2409 / RFC 3526 prime of a MODP group."""
    return _MODP_PRIMES[group]


class DhKeyPair(ABC):
    """Our ephemeral key pair for one exchange."""

    __slots__ = ("group", "public")

    def __init__(self, group: DhGroup, public: bytes) -> None:
        self.group = group
        self.public = public

    @abstractmethod
    def shared_secret(self, peer_public: bytes) -> bytes:
        """g^ir for the peer's KE data; CryptoError for an invalid peer value."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.group.transform.name} public={self.public.hex()}>"


class DhGroup(ABC):
    """A DH group from the transform table."""

    def __init__(self, transform: Transform) -> None:
        self.transform = transform

    @property
    def ike_id(self) -> int:
        return self.transform.ike_id

    @property
    def public_size(self) -> int:
        """Exact length of the KE payload's key exchange data."""
        return self.transform.key_size

    @abstractmethod
    def generate(self, rng: Rng) -> DhKeyPair: ...

    def _check_length(self, peer_public: bytes) -> None:
        if len(peer_public) != self.public_size:
            raise CryptoError(
                f"{self.transform.name}: public value is {len(peer_public)} bytes, "
                f"expected {self.public_size}"
            )

    def __repr__(self) -> str:
        return f"<DhGroup {self.transform.name} ({self.ike_id})>"


class _ModpKeyPair(DhKeyPair):
    __slots__ = ("_key", "_x")

    def __init__(self, group: ModpGroup, x: int) -> None:
        self._x = x
        self._key = group.openssl_key(x)
        if self._key is not None and group.generator_key is not None:
            y = group.exp(self._key, group.generator_key)
        else:
            y = pow(MODP_GENERATOR, x, group.prime).to_bytes(group.public_size, "big")
        super().__init__(group, y)

    def shared_secret(self, peer_public: bytes) -> bytes:
        group = self.group
        assert isinstance(group, ModpGroup)
        group._check_length(peer_public)
        y = int.from_bytes(peer_public, "big")
        if not 1 < y < group.prime - 1:
            raise CryptoError(f"{group.transform.name}: public value out of range")
        if self._key is not None and group.numbers is not None:
            try:
                peer = DHPublicNumbers(y, group.numbers).public_key()
                return group.exp(self._key, peer)
            except ValueError:
                pass  # a value OpenSSL's own checks refuse: the range check above decides
        return pow(y, self._x, group.prime).to_bytes(group.public_size, "big")


class ModpGroup(DhGroup):
    def __init__(self, transform: Transform) -> None:
        super().__init__(transform)
        self.prime = modp_prime(transform.ike_id)
        self.exponent_bits = _MODP_EXPONENT_BITS[transform.ike_id]
        self.numbers: DHParameterNumbers | None = None
        self.generator_key: DHPublicKey | None = None
        if transform.ike_id not in _OPENSSL_MODP:
            return
        try:
            numbers = DHParameterNumbers(self.prime, MODP_GENERATOR)
            self.generator_key = DHPublicNumbers(MODP_GENERATOR, numbers).public_key()
            self.numbers = numbers
        except (ValueError, UnsupportedAlgorithm, TypeError):
            self.numbers = self.generator_key = None  # Python's pow does it all

    def openssl_key(self, x: int) -> DHPrivateKey | None:
        """Our exponent as an OpenSSL DH private key (its public half is not used)."""
        if self.numbers is None:
            return None
        try:
            public = DHPublicNumbers(MODP_GENERATOR, self.numbers)
            return DHPrivateNumbers(x, public).private_key()
        except (ValueError, UnsupportedAlgorithm):
            return None

    def exp(self, key: DHPrivateKey, base: DHPublicKey) -> bytes:
        """base^x mod p, left-padded to the group size (RFC 7296 3.4)."""
        return key.exchange(base).rjust(self.public_size, b"\0")

    def generate(self, rng: Rng) -> DhKeyPair:
        nbytes = (self.exponent_bits + 7) // 8
        x = int.from_bytes(rng(nbytes), "big") >> (nbytes * 8 - self.exponent_bits)
        x |= 1 << (self.exponent_bits - 1)  # full length exponent, never 0 or 1
        return _ModpKeyPair(self, x)


_CURVES: dict[int, ec.EllipticCurve] = {19: ec.SECP256R1(), 20: ec.SECP384R1(), 21: ec.SECP521R1()}


class _EcpKeyPair(DhKeyPair):
    __slots__ = ("_key",)

    def __init__(self, group: EcpGroup, key: ec.EllipticCurvePrivateKey) -> None:
        self._key = key
        point = key.public_key().public_bytes(
            encoding=_serialization.Encoding.X962,
            format=_serialization.PublicFormat.UncompressedPoint,
        )
        super().__init__(group, point[1:])  # RFC 5903: x || y without the 0x04 prefix

    def shared_secret(self, peer_public: bytes) -> bytes:
        group = self.group
        assert isinstance(group, EcpGroup)
        group._check_length(peer_public)
        try:
            peer = ec.EllipticCurvePublicKey.from_encoded_point(group.curve, b"\x04" + peer_public)
            return self._key.exchange(ec.ECDH(), peer)
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise CryptoError(f"{group.transform.name}: invalid public point") from exc


class EcpGroup(DhGroup):
    def __init__(self, transform: Transform) -> None:
        super().__init__(transform)
        self.curve = _CURVES[transform.ike_id]

    def generate(self, rng: Rng) -> DhKeyPair:
        order = _CURVE_ORDERS[self.transform.ike_id]
        nbits = order.bit_length()
        nbytes = (nbits + 7) // 8
        while True:  # rejection sampling: uniform in [1, n-1]
            d = int.from_bytes(rng(nbytes), "big") >> (nbytes * 8 - nbits)
            if 1 <= d < order:
                return _EcpKeyPair(self, ec.derive_private_key(d, self.curve))


_CURVE_ORDERS = {
    19: int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16),
    20: int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
        "581A0DB248B0A77AECEC196ACCC52973",
        16,
    ),
    21: int(
        "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
        "FA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409",
        16,
    ),
}


class _MontgomeryKeyPair(DhKeyPair):
    __slots__ = ("_key",)

    def __init__(
        self, group: MontgomeryGroup, key: x25519.X25519PrivateKey | x448.X448PrivateKey
    ) -> None:
        self._key = key
        super().__init__(group, key.public_key().public_bytes_raw())

    def shared_secret(self, peer_public: bytes) -> bytes:
        group = self.group
        group._check_length(peer_public)
        try:
            if isinstance(self._key, x25519.X25519PrivateKey):
                secret = self._key.exchange(x25519.X25519PublicKey.from_public_bytes(peer_public))
            else:
                secret = self._key.exchange(x448.X448PublicKey.from_public_bytes(peer_public))
        except ValueError as exc:  # cryptography rejects an all-zero result
            raise CryptoError(f"{group.transform.name}: invalid public value") from exc
        if not any(secret):  # RFC 8031 section 2.3: reject the all-zero output
            raise CryptoError(f"{group.transform.name}: all-zero shared secret")
        return secret


class MontgomeryGroup(DhGroup):
    def generate(self, rng: Rng) -> DhKeyPair:
        raw = rng(self.public_size)
        if self.transform.ike_id == 31:
            return _MontgomeryKeyPair(self, x25519.X25519PrivateKey.from_private_bytes(raw))
        return _MontgomeryKeyPair(self, x448.X448PrivateKey.from_private_bytes(raw))


_GROUPS: dict[int, DhGroup] = {}


def dh_group(ike_id: int) -> DhGroup:
    """The DH group for an IKEv2 transform id (UnknownTransform if unsupported)."""
    group = _GROUPS.get(ike_id)
    if group is None:
        t = transforms.by_ike_id(TransformType.DH, ike_id)
        if t.dh_kind == "modp":
            group = ModpGroup(t)
        elif t.dh_kind == "ecp":
            group = EcpGroup(t)
        elif t.dh_kind == "montgomery":
            group = MontgomeryGroup(t)
        else:  # pragma: no cover - the table only has these kinds
            raise UnknownTransform(f"no implementation for DH group {ike_id}")
        _GROUPS[ike_id] = group
    return group
