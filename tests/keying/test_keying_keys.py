"""Key derivation checked against the RFC 7296 formulas computed here with hmac directly."""

import hmac

from xfrmctl.keying import transforms as tr
from xfrmctl.keying.keys import derive_child_keys, derive_ike_keys, derive_rekeyed_ike_keys


def ref_prf_plus(hash_name: str, key: bytes, seed: bytes, length: int) -> bytes:
    out, t, n = b"", b"", 1
    while len(out) < length:
        t = hmac.new(key, t + seed + bytes([n]), hash_name).digest()
        out += t
        n += 1
    return out[:length]


NI = bytes(range(32))
NR = bytes(range(100, 132))
GIR = bytes(range(200, 256)) * 4
SPI_I = bytes.fromhex("0011223344556677")
SPI_R = bytes.fromhex("8899aabbccddeeff")


def test_ike_keys_aes_cbc_sha256():
    keys = derive_ike_keys(tr.PRF_HMAC_SHA2_256, tr.AES256_CBC, tr.HMAC_SHA2_256_128, NI, NR, GIR,
                           SPI_I, SPI_R)  # fmt: skip
    skeyseed = hmac.new(NI + NR, GIR, "sha256").digest()
    km = ref_prf_plus("sha256", skeyseed, NI + NR + SPI_I + SPI_R, 32 * 3 + 32 * 2 + 32 * 2)
    assert keys.sk_d == km[0:32]
    assert keys.sk_ai == km[32:64] and keys.sk_ar == km[64:96]
    assert keys.sk_ei == km[96:128] and keys.sk_er == km[128:160]
    assert keys.sk_pi == km[160:192] and keys.sk_pr == km[192:224]
    assert km[0:8].hex() not in repr(keys)


def test_ike_keys_gcm_include_salt_and_no_integrity():
    keys = derive_ike_keys(tr.PRF_HMAC_SHA2_384, tr.AES128_GCM_16, None, NI, NR, GIR, SPI_I, SPI_R)
    skeyseed = hmac.new(NI + NR, GIR, "sha384").digest()
    km = ref_prf_plus("sha384", skeyseed, NI + NR + SPI_I + SPI_R, 48 + 20 + 20 + 48 + 48)
    assert keys.sk_d == km[:48]
    assert keys.sk_ai == b"" == keys.sk_ar
    assert keys.sk_ei == km[48:68] and len(keys.sk_ei) == 20
    assert keys.sk_er == km[68:88]
    assert keys.sk_pi == km[88:136] and keys.sk_pr == km[136:184]


def test_rekeyed_ike_keys_use_old_prf_for_skeyseed():
    old_sk_d = b"D" * 20
    keys = derive_rekeyed_ike_keys(
        tr.PRF_HMAC_SHA1, old_sk_d, tr.PRF_HMAC_SHA2_256, tr.CHACHA20_POLY1305, None,
        NI, NR, GIR, SPI_I, SPI_R,
    )  # fmt: skip
    skeyseed = hmac.new(old_sk_d, GIR + NI + NR, "sha1").digest()
    km = ref_prf_plus("sha256", skeyseed, NI + NR + SPI_I + SPI_R, 32 + 36 + 36 + 32 + 32)
    assert keys.sk_d == km[:32]
    assert keys.sk_ei == km[32:68] and keys.sk_er == km[68:104]
    assert keys.sk_pr == km[136:168]
    assert keys.prf is tr.PRF_HMAC_SHA2_256


def test_child_keys_without_and_with_pfs():
    sk_d = b"S" * 32
    ck = derive_child_keys(tr.PRF_HMAC_SHA2_256, sk_d, tr.AES128_CBC, tr.HMAC_SHA1_96, NI, NR)
    km = ref_prf_plus("sha256", sk_d, NI + NR, 2 * (16 + 20))
    assert (ck.encr_i, ck.integ_i, ck.encr_r, ck.integ_r) == (
        km[:16], km[16:36], km[36:52], km[52:72])  # fmt: skip
    ck = derive_child_keys(tr.PRF_HMAC_SHA2_256, sk_d, tr.AES256_GCM_16, None, NI, NR, GIR)
    km = ref_prf_plus("sha256", sk_d, GIR + NI + NR, 2 * 36)
    assert ck.encr_i == km[:36] and ck.encr_r == km[36:72]
    assert ck.integ_i == b"" == ck.integ_r
    assert "encr_i" not in repr(ck)


def test_child_keys_3des_md5():
    sk_d = b"x" * 16
    ck = derive_child_keys(tr.PRF_HMAC_MD5, sk_d, tr.TRIPLE_DES, tr.HMAC_MD5_96, NI, NR)
    km = ref_prf_plus("md5", sk_d, NI + NR, 2 * (24 + 16))
    assert ck.encr_i + ck.integ_i + ck.encr_r + ck.integ_r == km
