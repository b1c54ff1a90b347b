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


# NIST CAVS IKEv2 KDF sample (SHA-1, 1056-bit DKM), as reproduced by Libreswan's CAVS tool.
CAVS = {
    "gir": "4b2c1f971981a8ad8d0abeafabf38cf75fc8349c148142465ed9c8b516b8be52",
    "gir_new": "863f3c9d06efd39d2b907b97f8699e5dd5251ef64a2a176f36ee40c87d4f9330",
    "ni": "32b50d5f4a3763f3",
    "nr": "9206a04b26564cb1",
    "spi_i": "34c9e7c188868785",
    "spi_r": "3ff77d760d2b2199",
    "skeyseed": "a9a7b222b59f8f48645f28a1db5b5f5d7479cba7",
    "dkm": "a14293677cc80ff8f9cc0eee30d895da9d8f405666e30ef0dfcb63c634a46002a2a63080e514a06276"
    "8b76606f9fa5e992204fc5a670bde3f10d6b027113936a5c55b648a194ae587b0088d52204b702c979fa2808"
    "70d2ed41efa9c549fd11198af1670b143d384bd275c5f594cf266b05ebadca855e4249520a441a81157435a7a"
    "56cc4",
    "dkm_child": "8059e3ee8810e6c3a91bc8bcd2a7a41151b8d0e6ae239c7b38093ad85ef4c5811a8e7b5d1cda"
    "bd9560b2d5e092d1f24e2d4b85eccdf0ad0dc9abd94b51ee71814ca6dbc8bb51b6309f5b9545c7eb35cf5580b1e5"
    "21a8fe20754a2d883ba0c2cf285f524aea6545b33106bc03e614296d319d41d4b50b3f510b1c0a22f3e664994d23"
    "4cb4",
    "dkm_child_dh": "bb43244c1860ad65ee1e211ffe8bb3661750c8f89cb9f547df7f4fa61d37301628190e38c6"
    "6232eab4b3ab14c400a5197dd3730ed4820a8a10394d51e1c0400052f63ebd36b0e7ef53aaed31eba4a5080d7d4b"
    "5666023a8bbb5ffb7857240f9a05884d1b7d2f933708450b7b3288f1fc863ab49fa901227cffc06e27899c7054d5"
    "6fd74c",
    "skeyseed_rekey": "63e81194946ebd05df7df5ebf5d8750056bf1f1d",
}


def cavs(name: str) -> bytes:
    return bytes.fromhex(CAVS[name])


def test_nist_cavs_ike_sa_keys():
    # 3 x 20 (SK_d, SK_pi, SK_pr) + 2 x 20 (HMAC-SHA1) + 2 x 16 (AES-128) = 132 bytes = the DKM
    keys = derive_ike_keys(tr.PRF_HMAC_SHA1, tr.AES128_CBC, tr.HMAC_SHA1_96, cavs("ni"),
                           cavs("nr"), cavs("gir"), cavs("spi_i"), cavs("spi_r"))  # fmt: skip
    got = keys.sk_d + keys.sk_ai + keys.sk_ar + keys.sk_ei + keys.sk_er + keys.sk_pi + keys.sk_pr
    assert got == cavs("dkm")
    assert hmac.new(cavs("ni") + cavs("nr"), cavs("gir"), "sha1").digest() == cavs("skeyseed")


def test_nist_cavs_child_sa_keys():
    sk_d = cavs("dkm")[:20]
    ck = derive_child_keys(tr.PRF_HMAC_SHA1, sk_d, tr.AES128_CBC, tr.HMAC_SHA1_96, cavs("ni"),
                           cavs("nr"))  # fmt: skip
    got = ck.encr_i + ck.integ_i + ck.encr_r + ck.integ_r
    assert got == cavs("dkm_child")[: len(got)]
    ck = derive_child_keys(tr.PRF_HMAC_SHA1, sk_d, tr.TRIPLE_DES, tr.HMAC_SHA1_96, cavs("ni"),
                           cavs("nr"), cavs("gir_new"))  # fmt: skip
    got = ck.encr_i + ck.integ_i + ck.encr_r + ck.integ_r
    assert got == cavs("dkm_child_dh")[: len(got)]


def test_nist_cavs_rekey_skeyseed():
    sk_d = cavs("dkm")[:20]
    keys = derive_rekeyed_ike_keys(
        tr.PRF_HMAC_SHA1, sk_d, tr.PRF_HMAC_SHA1, tr.AES128_CBC, tr.HMAC_SHA1_96,
        cavs("ni"), cavs("nr"), cavs("gir_new"), cavs("spi_i"), cavs("spi_r"),
    )  # fmt: skip
    seed = cavs("ni") + cavs("nr") + cavs("spi_i") + cavs("spi_r")
    expected = ref_prf_plus("sha1", cavs("skeyseed_rekey"), seed, 132)
    got = keys.sk_d + keys.sk_ai + keys.sk_ar + keys.sk_ei + keys.sk_er + keys.sk_pi + keys.sk_pr
    assert got == expected
