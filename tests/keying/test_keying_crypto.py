"""Known-answer tests for DH, PRF and the SK ciphers (RFC 4231, 2202, 5903, 7748, 7539/7634)."""

import hashlib
import hmac
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from xfrmctl.keying import dh as dhmod
from xfrmctl.keying import transforms as tr
from xfrmctl.keying.cipher import AeadCipher, CbcCipher, Integrity, make_cipher
from xfrmctl.keying.dh import dh_group, modp_prime
from xfrmctl.keying.errors import CryptoError, UnknownTransform
from xfrmctl.keying.prf import prf, prf_plus


def det_rng(seed: bytes = b"seed") -> Callable[[int], bytes]:
    counter = 0

    def rng(n: int) -> bytes:
        nonlocal counter
        out = b""
        while len(out) < n:
            out += hashlib.sha256(seed + counter.to_bytes(8, "big")).digest()
            counter += 1
        return out[:n]

    return rng


def fixed_rng(data: bytes) -> Callable[[int], bytes]:
    buf = bytearray(data)

    def rng(n: int) -> bytes:
        assert len(buf) >= n
        out = bytes(buf[:n])
        del buf[:n]
        return out

    return rng


h = bytes.fromhex

# ----------------------------------------------------------------------------- PRF


@pytest.mark.parametrize(
    ("t", "key", "data", "expected"),
    [
        # RFC 4231 test case 1
        (tr.PRF_HMAC_SHA2_256, b"\x0b" * 20, b"Hi There",
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (tr.PRF_HMAC_SHA2_384, b"\x0b" * 20, b"Hi There",
         "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
         "faea9ea9076ede7f4af152e8b2fa9cb6"),
        (tr.PRF_HMAC_SHA2_512, b"\x0b" * 20, b"Hi There",
         "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
         "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"),
        # RFC 4231 test case 2
        (tr.PRF_HMAC_SHA2_256, b"Jefe", b"what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        # RFC 2202 test case 2 (HMAC-SHA1, HMAC-MD5)
        (tr.PRF_HMAC_SHA1, b"Jefe", b"what do ya want for nothing?",
         "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
        (tr.PRF_HMAC_MD5, b"Jefe", b"what do ya want for nothing?",
         "750c783e6ab0b503eaa86e310a5db738"),
        # RFC 2202 test case 1
        (tr.PRF_HMAC_SHA1, b"\x0b" * 20, b"Hi There", "b617318655057264e28bc0b6fb378c8ef146be00"),
        (tr.PRF_HMAC_MD5, b"\x0b" * 16, b"Hi There", "9294727a3638bb1c13f48ef8158bfc9d"),
    ],
)  # fmt: skip
def test_prf_known_answers(t, key, data, expected):
    assert prf(t, key, data).hex() == expected


def test_integrity_truncation_rfc4231_and_2202():
    # RFC 4231 test case 2 truncated to 128 bits; RFC 2202 HMAC-SHA1-96 / HMAC-MD5-96
    sha256 = Integrity(tr.HMAC_SHA2_256_128, b"Jefe".ljust(32, b"\x00"))
    assert sha256.compute(b"what do ya want for nothing?").hex() == (
        "5bdcc146bf60754e6a042426089575c7"
    )
    sha1 = Integrity(tr.HMAC_SHA1_96, b"\x0c" * 20)
    # RFC 2202 test case 5: HMAC-SHA-1-96 = 4c1a03424b55e07fe7f27be1
    assert sha1.compute(b"Test With Truncation").hex() == "4c1a03424b55e07fe7f27be1"
    md5 = Integrity(tr.HMAC_MD5_96, b"\x0c" * 16)
    assert md5.compute(b"Test With Truncation").hex() == "56461ef2342edc00f9bab995"
    md5.verify(b"Test With Truncation", h("56461ef2342edc00f9bab995"))
    with pytest.raises(CryptoError, match="integrity check failed"):
        md5.verify(b"Test With Truncation", h("56461ef2342edc00f9bab996"))
    with pytest.raises(ValueError, match="16-byte key"):
        Integrity(tr.HMAC_MD5_96, b"short")


def _prf_plus_reference(hash_name: str, key: bytes, seed: bytes, length: int) -> bytes:
    out, t, n = b"", b"", 1
    while len(out) < length:
        t = hmac.new(key, t + seed + bytes([n]), hash_name).digest()
        out += t
        n += 1
    return out[:length]


@pytest.mark.parametrize("t", [tr.PRF_HMAC_SHA1, tr.PRF_HMAC_SHA2_256, tr.PRF_HMAC_SHA2_512])
@pytest.mark.parametrize("length", [0, 1, 20, 32, 33, 100, 250])
def test_prf_plus_matches_rfc_formula(t, length):
    key, seed = b"K" * 17, b"seed-bytes"
    assert prf_plus(t, key, seed, length) == _prf_plus_reference(t.hash, key, seed, length)


def test_prf_plus_limit():
    prf_plus(tr.PRF_HMAC_SHA1, b"k", b"s", 255 * 20)
    with pytest.raises(ValueError, match="cannot produce"):
        prf_plus(tr.PRF_HMAC_SHA1, b"k", b"s", 255 * 20 + 1)
    with pytest.raises(ValueError, match="not a PRF"):
        prf(tr.HMAC_SHA1_96, b"k", b"s")


# ----------------------------------------------------------------------------- DH


def _pi_times_2_pow(bits: int) -> int:
    """floor(pi * 2^bits) by Machin's formula with integer arithmetic (independent of the code)."""
    g = bits + 64
    one = 1 << g

    def arctan_inv(x: int) -> int:
        total = term = one // x
        n, sign = 1, -1
        while term:
            term //= x * x
            n += 2
            total += sign * (term // n)
            sign = -sign
        return total

    return (4 * (4 * arctan_inv(5) - arctan_inv(239))) >> 64


MODP_OFFSETS = {1: (768, 149686), 2: (1024, 129093), 5: (1536, 741804), 14: (2048, 124476),
                15: (3072, 1690314), 16: (4096, 240904), 17: (6144, 929484),
                18: (8192, 4743158)}  # fmt: skip


def _probable_prime(n: int, bases: tuple[int, ...] = (2,)) -> bool:
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for a in bases:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


@pytest.mark.parametrize("group", sorted(MODP_OFFSETS))
def test_modp_primes_follow_rfc_formula(group):
    bits, offset = MODP_OFFSETS[group]
    p = modp_prime(group)
    assert p.bit_length() == bits
    # p = 2^N - 2^(N-64) - 1 + 2^64 * ( [2^(N-130) pi] + offset )  (RFC 2409 6.2, RFC 3526)
    assert p == 2**bits - 2 ** (bits - 64) - 1 + 2**64 * (_pi_times_2_pow(bits - 130) + offset)
    assert dh_group(group).public_size * 8 == bits
    assert dhmod.MODP_GENERATOR == 2


@pytest.mark.parametrize("group", [1, 2, 5, 14])
def test_modp_primes_are_safe_primes(group):
    p = modp_prime(group)
    q = (p - 1) // 2
    assert _probable_prime(p, (2, 3, 5)) and _probable_prime(q, (2, 3, 5))
    # the generator 2 generates the prime-order subgroup (p = 7 mod 8 makes 2 a residue)
    assert p % 8 == 7 and pow(dhmod.MODP_GENERATOR, q, p) == 1


@settings(max_examples=25, deadline=None)
@given(st.sampled_from([2, 14, 19, 20, 31, 32]), st.binary(min_size=1, max_size=8),
       st.binary(min_size=1, max_size=8))  # fmt: skip
def test_dh_agreement_property(group, seed_a, seed_b):
    g = dh_group(group)
    a, b = g.generate(det_rng(seed_a)), g.generate(det_rng(b"b" + seed_b))
    assert a.shared_secret(b.public) == b.shared_secret(a.public)


@pytest.mark.parametrize("group", [1, 2, 5, 14, 15])
def test_modp_exchange_agrees(group):
    g = dh_group(group)
    a, b = g.generate(det_rng(b"a")), g.generate(det_rng(b"b"))
    assert len(a.public) == g.public_size
    s = a.shared_secret(b.public)
    assert s == b.shared_secret(a.public) and len(s) == g.public_size
    assert "_x" not in repr(a) and "public=" in repr(a)


def test_modp_shared_secret_is_padded():
    g = dh_group(2)
    pair = g.generate(det_rng())
    # y = 2 is valid; g^(x) mod p padded to 128 bytes whatever its magnitude
    two = (2).to_bytes(128, "big")
    assert len(pair.shared_secret(two)) == 128


@pytest.mark.parametrize(
    "bad",
    [b"\x00" * 256, (1).to_bytes(256, "big"), (modp_prime(14) - 1).to_bytes(256, "big"),
     modp_prime(14).to_bytes(256, "big"), b"\xff" * 256, b"\x02" * 255],
)  # fmt: skip
def test_modp_rejects_invalid_public_values(bad):
    pair = dh_group(14).generate(det_rng())
    with pytest.raises(CryptoError):
        pair.shared_secret(bad)


def _ecp_vector_check(group_id: int, seed_hex: str, pub_i: str, pub_r: str, shared: str) -> None:
    """Private scalars i || r from the seed, public values x || y, shared x coordinate."""
    seed = h(seed_hex)
    g = dh_group(group_id)
    half = len(seed) // 2
    a = g.generate(fixed_rng(seed[:half]))
    b = g.generate(fixed_rng(seed[half:]))
    assert a.public == h(pub_i) and b.public == h(pub_r)
    assert a.shared_secret(b.public) == h(shared) == b.shared_secret(a.public)


def test_ecp256_known_answer():
    # RFC 5114 appendix A.6 data for the 256-bit ECP group (same curve as RFC 5903 group 19)
    _ecp_vector_check(
        19,
        "814264145f2f56f2e96a8e337a1284993faf432a5abce59e867b7291d507a3af"
        "2ce1788ec197e096db95a200cc0ab26a19ce6bccad562b8eee1b593761cf7f41",
        "2af502f3be8952f2c9b5a8d4160d09e97165be50bc42ae4a5e8d3b4ba83aeb15"
        "eb0faf4ca986c4d38681a0f9872d79d56795bd4bff6e6de3c0f5015ece5efd85",
        "b120de4aa36492795346e8de6c2c8646ae06aaea279fa775b3ab0715f6ce51b0"
        "9f1b7eece20d7b5ed8ec685fa3f071d83727027092a8411385c34dde5708b2b6",
        "dd0f5396219d1ea393310412d19a08f1f5811e9dc8ec8eea7f80d21c820c2788",
    )


def test_ecp384_known_answer():
    # RFC 5114 appendix A.7 data for the 384-bit ECP group (RFC 5903 group 20)
    _ecp_vector_check(
        20,
        "d27335ea71664af244dd14e9fd1260715dfd8a7965571c48d709ee7a7962a156"
        "d706a90cbcb5df2986f05feadb9376f1"
        "52d1791fdb4b70f89c0f00d456c2f7023b6125262c36a7df1f80231121cce3d3"
        "9be52e00c194a4132c4a6c768bcd94d2",
        "793148f1787634d5da4c6d9074417d05e057ab62f82054d10ee6b0403d627954"
        "7e6a8ea9d1fd77427d016fe27a8b8c66c6c41294331d23e6f480f4fb4cd40504"
        "c947392e94f4c3f06b8f398bb29e42368f7a685923de3b67baced214a1a1d128",
        "5cd42ab9c41b5347f74b8d4efb708b3d5b36db65915359b44abc17647b6b9999"
        "789d72a84865ae2f223f12b5a1abc120e171458feaa939aaa3a8bfac46b404bd"
        "8f6d5b348c0fa4d80ceca16356ca933240bde8723415a8ece035b0edf36755de",
        "5ea1fc4af7256d2055981b110575e0a8cae53160137d904c59d926eb1b8456e4"
        "27aa8a4540884c37de159a58028abc0e",
    )


def test_ecp_rejects_off_curve_and_wrong_length():
    pair = dh_group(19).generate(det_rng())
    with pytest.raises(CryptoError, match="invalid public point"):
        pair.shared_secret(b"\x01" * 64)
    with pytest.raises(CryptoError, match="expected 64"):
        pair.shared_secret(b"\x01" * 65)


@pytest.mark.parametrize("group", [19, 20, 21])
def test_ecp_curve_orders(group):
    # (n-1)*G = -G: same x, y = p - y. Checks the order constant used for rejection sampling.
    g = dh_group(group)
    assert isinstance(g, dhmod.EcpGroup)
    order = dhmod._CURVE_ORDERS[group]

    def point(d: int) -> ec.EllipticCurvePublicNumbers:
        return ec.derive_private_key(d, g.curve).public_key().public_numbers()

    one, minus_one = point(1), point(order - 1)
    assert one.x == minus_one.x and one.y != minus_one.y
    with pytest.raises(ValueError):
        ec.derive_private_key(order, g.curve).public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    a, b = g.generate(det_rng(b"a")), g.generate(det_rng(b"b"))
    assert a.shared_secret(b.public) == b.shared_secret(a.public)
    assert len(a.public) == g.public_size


def test_x25519_rfc7748_vectors():
    g = dh_group(31)
    alice = g.generate(
        fixed_rng(h("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))
    )
    bob = g.generate(
        fixed_rng(h("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"))
    )
    assert alice.public.hex() == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    assert bob.public.hex() == "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
    shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
    assert alice.shared_secret(bob.public).hex() == shared
    assert bob.shared_secret(alice.public).hex() == shared
    # RFC 7748 section 5.2 scalar multiplication vector
    k = g.generate(fixed_rng(h("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4")))
    u = h("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")
    assert k.shared_secret(u).hex() == (
        "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"
    )


def test_x448_rfc7748_vector():
    g = dh_group(32)
    scalar = h(
        "3d262fddf9ec8e88495266fea19a34d28882acef045104d0d1aae121700a779c"
        "984c24f8cdd78fbff44943eba368f54b29259a4f1c600ad3"
    )
    u = h(
        "06fce640fa3487bfda5f6cf2d5263f8aad88334cbd07437f020f08f9814dc031"
        "ddbdc38c19c6da2583fa5429db94ada18aa7a7fb4ef8a086"
    )
    assert g.generate(fixed_rng(scalar)).shared_secret(u).hex() == (
        "ce3e4ff95a60dc6697da1db1d85e6afbdf79b50a2412d7546d5f239fe14fbaad"
        "eb445fc66a01b0779d98223961111e21766282f73dd96b6f"
    )


@pytest.mark.parametrize("group", [31, 32])
def test_montgomery_rejects_zero_result(group):
    g = dh_group(group)
    pair = g.generate(det_rng())
    with pytest.raises(CryptoError):
        pair.shared_secret(b"\x00" * g.public_size)  # point of small order -> all-zero output
    with pytest.raises(CryptoError):
        pair.shared_secret(b"\x09")


def test_unknown_group():
    with pytest.raises(UnknownTransform):
        dh_group(24)


# ----------------------------------------------------------------------------- ciphers


def test_des_known_answers_via_3des_fallback():
    # FIPS 46 worked example (key 133457799BBCDFF1) and NESSIE set 8 vector 0
    des = CbcCipher(tr.DES, h("133457799bbcdff1"))
    assert des.encrypt(b"\x00" * 8, h("0123456789abcdef")).hex() == "85e813540f0ab405"
    des = CbcCipher(tr.DES, h("0001020304050607"))
    assert des.encrypt(b"\x00" * 8, h("41ad0685488 09d02".replace(" ", ""))).hex() == (
        "0011223344556677"
    )
    assert des.decrypt(b"\x00" * 8, h("0011223344556677")).hex() == "41ad068548809d02"


def test_3des_cbc_roundtrip_and_alignment():
    c = CbcCipher(tr.TRIPLE_DES, bytes(range(24)))
    ct = c.encrypt(b"\x01" * 8, b"A" * 16)
    assert c.decrypt(b"\x01" * 8, ct) == b"A" * 16
    with pytest.raises(CryptoError, match="not block aligned"):
        c.decrypt(b"\x01" * 8, ct[:-1])


def test_aes_cbc_known_answer_rfc3602_case1():
    c = CbcCipher(tr.AES128_CBC, h("06a9214036b8a15b512e03d534120006"))
    ct = c.encrypt(h("3dafba429d9eb430b422da802c9fac41"), b"Single block msg")
    assert ct.hex() == "e353779c1079aeb82708942dbe77181a"


GCM_TC4 = dict(
    key="feffe9928665731c6d6a8f9467308308",
    iv="cafebabefacedbaddecaf888",
    pt="d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
    aad="feedfacedeadbeeffeedfacedeadbeefabaddad2",
    ct="42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
    "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
    tag="5bc94fbc3221a5db94fae95ae7121a47",
)


@pytest.mark.parametrize("t", [tr.AES128_GCM_16, tr.AES128_GCM_12, tr.AES128_GCM_8])
def test_aes_gcm_nist_test_case_4(t):
    # GCM spec test case 4; RFC 4106 nonce = salt (last 4 key bytes) || 8-byte IV
    v = GCM_TC4
    c = AeadCipher(t, h(v["key"]) + h(v["iv"])[:4])
    sealed = c.seal(h(v["iv"])[4:], h(v["pt"]), h(v["aad"]))
    assert sealed.hex() == v["ct"] + v["tag"][: 2 * t.icv_size]
    assert c.open(h(v["iv"])[4:], sealed, h(v["aad"])) == h(v["pt"])
    for bad in (sealed[:-1] + bytes([sealed[-1] ^ 1]), sealed[:5], b""):
        with pytest.raises(CryptoError):
            c.open(h(v["iv"])[4:], bad, h(v["aad"]))
    with pytest.raises(CryptoError):
        c.open(h(v["iv"])[4:], sealed, h(v["aad"]) + b"x")


def test_chacha20_poly1305_rfc7634_ike_example():
    # RFC 7634 appendix B: the IKEv2 INFORMATIONAL example
    key = h("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3")
    c = make_cipher(tr.CHACHA20_POLY1305, key)
    assert isinstance(c, AeadCipher)
    aad = h("c0c1c2c3c4c5c6c7d0d1d2d3d4d5d6d72e202500000000090000004529000029")
    sealed = c.seal(h("1011121314151617"), h("0000000c000040010000000a00"), aad)
    assert sealed.hex() == "610394701f8d017f7c12924889" + "6b71bfe25236efd7cdc67066906315b2"
    assert c.open(h("1011121314151617"), sealed, aad) == h("0000000c000040010000000a00")
    with pytest.raises(CryptoError):
        c.open(h("1011121314151617"), sealed, aad[:-1] + b"\x00")


def test_cipher_key_size_checked():
    with pytest.raises(ValueError, match="20-byte key"):
        AeadCipher(tr.AES128_GCM_16, b"k" * 16)
    with pytest.raises(ValueError, match="not an AEAD"):
        AeadCipher(tr.AES128_CBC, b"k" * 16)
    with pytest.raises(ValueError, match="not a CBC"):
        CbcCipher(tr.AES128_GCM_16, b"k" * 20)
    assert "k" * 16 not in repr(CbcCipher(tr.AES128_CBC, b"k" * 16))


@pytest.mark.parametrize("group_id", [1, 2, 5, 14, 15, 16, 17, 18])
def test_modp_in_openssl_equals_the_arithmetic(group_id: int) -> None:
    """g^x and y^x computed by OpenSSL are exactly Python's pow, and so is the fallback."""
    import hashlib  # noqa: PLC0415

    from xfrmctl.keying.dh import ModpGroup, dh_group  # noqa: PLC0415

    def rng(n: int, _c: list[int] = [0]) -> bytes:  # noqa: B006 - a deterministic stream
        _c[0] += 1
        return hashlib.sha512(_c[0].to_bytes(4, "big")).digest()[:n]

    group = dh_group(group_id)
    assert isinstance(group, ModpGroup)
    assert (group.numbers is not None) is (group_id not in (1, 2))  # 1, 2: pow is faster
    a, b = group.generate(rng), group.generate(rng)
    xa = a._x  # type: ignore[attr-defined]
    assert a.public == pow(2, xa, group.prime).to_bytes(group.public_size, "big")
    expect = pow(int.from_bytes(b.public, "big"), xa, group.prime)
    assert a.shared_secret(b.public) == expect.to_bytes(group.public_size, "big")
    assert b.shared_secret(a.public) == a.shared_secret(b.public)
    plain = ModpGroup(group.transform)
    plain.numbers = plain.generator_key = None  # where OpenSSL's FFDH is unavailable
    c = plain.generate(rng)
    assert c.shared_secret(a.public) == a.shared_secret(c.public)
