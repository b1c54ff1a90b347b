import pytest

from xfrmctl.keying import transforms as T  # noqa: N812
from xfrmctl.keying.constants import ProtocolId
from xfrmctl.keying.errors import ProposalSyntaxError, UnknownTransform
from xfrmctl.keying.transforms import TransformType as TT  # noqa: N817


def test_lookup_by_ike_id_with_key_length():
    assert T.by_ike_id(TT.ENCR, 12, 256) is T.AES256_CBC
    assert T.by_ike_id(TT.ENCR, 20, 128) is T.AES128_GCM_16
    assert T.by_ike_id(TT.ENCR, 18, 192) is T.AES192_GCM_8
    assert T.by_ike_id(TT.ENCR, 28) is T.CHACHA20_POLY1305
    assert T.by_ike_id(TT.DH, 31) is T.X25519
    assert T.by_ike_id(5, 1) is T.ESN
    with pytest.raises(UnknownTransform, match="id 12 key length 100"):
        T.by_ike_id(TT.ENCR, 12, 100)
    with pytest.raises(UnknownTransform):
        T.by_ike_id(TT.ENCR, 12)  # AES without Key Length attribute
    with pytest.raises(UnknownTransform):
        T.by_ike_id(9, 1)


def test_every_entry_unique_and_consistent():
    keys = [(t.type, t.ike_id, t.key_bits) for t in T.ALL_TRANSFORMS]
    assert len(keys) == len(set(keys))
    for t in T.ALL_TRANSFORMS:
        if t.type == TT.ENCR:
            assert t.kernel_name and t.key_size > 0
            assert (t.key_bits is None) == (t.ike_id not in T.VARIABLE_KEY_ENCR_IDS)
            if t.key_bits:
                assert t.cipher_key_size * 8 == t.key_bits
        if t.type == TT.INTEG:
            assert t.kernel_name == f"hmac({t.hash})"
            assert t.kernel_icv_bits == t.icv_size * 8
        if t.type in (TT.ENCR, TT.INTEG):
            assert T.by_kernel(t.kernel_name or "", t.kernel_key_bits, t.kernel_icv_bits) is t


def test_kernel_parameters():
    assert T.AES128_GCM_16.kernel_name == "rfc4106(gcm(aes))"
    assert T.AES128_GCM_16.kernel_key_bits == 160
    assert T.AES256_GCM_8.kernel_icv_bits == 64
    assert T.CHACHA20_POLY1305.kernel_name == "rfc7539esp(chacha20,poly1305)"
    assert T.CHACHA20_POLY1305.key_size == 36
    assert T.TRIPLE_DES.kernel_name == "cbc(des3_ede)"
    assert T.HMAC_SHA2_256_128.kernel_name == "hmac(sha256)"
    assert T.HMAC_SHA2_256_128.kernel_icv_bits == 128
    assert T.HMAC_SHA2_512_256.kernel_icv_bits == 256
    assert T.by_kernel("cbc(aes)", 192) is T.AES192_CBC


def test_names_and_aliases():
    assert T.by_name("aes256gcm16") is T.AES256_GCM_16
    assert T.by_name("aes256gcm128") is T.AES256_GCM_16
    assert T.by_name("aes128gcm") is T.AES128_GCM_16
    assert T.by_name("AES128GCM64") is T.AES128_GCM_8
    assert T.by_name("curve25519") is T.X25519
    assert T.by_name("prfsha256") is T.PRF_HMAC_SHA2_256
    assert T.by_name("sha") is T.HMAC_SHA1_96 and T.by_name("sha1_96") is T.HMAC_SHA1_96
    assert T.by_name("sha2_256") is T.HMAC_SHA2_256_128
    assert T.by_name("sha256_128") is T.HMAC_SHA2_256_128
    assert T.by_name("sha384_192") is T.HMAC_SHA2_384_192 and T.by_name("md5_96") is T.HMAC_MD5_96
    with pytest.raises(UnknownTransform, match="unknown algorithm 'blowfish'"):
        T.by_name("blowfish")


@pytest.mark.parametrize(
    ("ttype", "keyword", "expected"),
    [
        (TT.ENCR, "aes-128-cbc", T.AES128_CBC),
        (TT.ENCR, "aes-192-cbc", T.AES192_CBC),
        (TT.ENCR, "aes-256-cbc", T.AES256_CBC),
        (TT.ENCR, "3des-cbc", T.TRIPLE_DES),
        (TT.ENCR, "des-cbc", T.DES),
        (TT.ENCR, "aes-128-gcm", T.AES128_GCM_16),
        (TT.ENCR, "aes-256-gcm", T.AES256_GCM_16),
        (TT.PRF, "sha1", T.PRF_HMAC_SHA1),
        (TT.PRF, "md5", T.PRF_HMAC_MD5),
        (TT.PRF, "sha-256", T.PRF_HMAC_SHA2_256),
        (TT.INTEG, "sha1", T.HMAC_SHA1_96),
        (TT.INTEG, "md5", T.HMAC_MD5_96),
        (TT.INTEG, "sha-256", T.HMAC_SHA2_256_128),
        (TT.DH, "group1", T.MODP768),
        (TT.DH, "group2", T.MODP1024),
        (TT.DH, "group5", T.MODP1536),
        (TT.DH, "group14", T.MODP2048),
        (TT.DH, "group19", T.ECP256),
    ],
)
def test_junos_ike_keywords(ttype, keyword, expected):
    assert T.by_junos_ike(ttype, keyword) is expected


@pytest.mark.parametrize(
    ("ttype", "keyword", "expected"),
    [
        (TT.ENCR, "aes-128-cbc", T.AES128_CBC),
        (TT.ENCR, "3des-cbc", T.TRIPLE_DES),
        (TT.ENCR, "des-cbc", T.DES),
        (TT.ENCR, "aes-192-gcm", T.AES192_GCM_16),
        (TT.INTEG, "hmac-md5-96", T.HMAC_MD5_96),
        (TT.INTEG, "hmac-sha1-96", T.HMAC_SHA1_96),
        (TT.INTEG, "hmac-sha-256-128", T.HMAC_SHA2_256_128),
        (TT.DH, "group14", T.MODP2048),
    ],
)
def test_junos_ipsec_keywords(ttype, keyword, expected):
    assert T.by_junos_ipsec(ttype, keyword) is expected


def test_junos_keyword_lists_cover_the_spec_grammar():
    assert set(T.junos_ike_keywords(TT.ENCR)) >= {
        "3des-cbc",
        "aes-128-cbc",
        "aes-192-cbc",
        "aes-256-cbc",
        "des-cbc",
    }
    assert set(T.junos_ike_keywords(TT.INTEG)) >= {"md5", "sha-256", "sha1"}
    assert set(T.junos_ike_keywords(TT.DH)) >= {"group1", "group14", "group2", "group5"}
    assert set(T.junos_ipsec_keywords(TT.INTEG)) >= {
        "hmac-md5-96",
        "hmac-sha-256-128",
        "hmac-sha1-96",
    }
    with pytest.raises(UnknownTransform, match="unknown IPsec authentication-algorithm 'sha1'"):
        T.by_junos_ipsec(TT.INTEG, "sha1")


def test_show_tokens():
    assert T.AES128_CBC.junos_show == "aes-cbc (128 bits)"
    assert T.PRF_HMAC_SHA1.junos_show == "hmac-sha1"
    assert T.HMAC_SHA2_256_128.junos_show == "hmac-sha256-128"
    assert T.MODP1024.junos_show == "DH-group-2"
    assert T.junos_esp_brief(T.TRIPLE_DES, T.HMAC_SHA1_96) == "ESP:3des/sha1"
    assert T.junos_esp_brief(T.AES128_CBC, T.HMAC_MD5_96) == "ESP:aes-128/md5"


def test_parse_proposal_ike_with_implied_prf():
    p = T.parse_proposal("aes128-sha256-modp2048")
    assert p.encryption == (T.AES128_CBC,)
    assert p.integrity == (T.HMAC_SHA2_256_128,)
    assert p.prf == (T.PRF_HMAC_SHA2_256,)
    assert p.dh == (T.MODP2048,)
    assert p.to_string() == "aes128-sha256-prfsha256-modp2048"
    assert T.parse_proposal(p.to_string()) == p


def test_parse_proposal_aead():
    p = T.parse_proposal("aes256gcm16-prfsha256-x25519")
    assert p.aead and p.to_string() == "aes256gcm16-prfsha256-x25519"
    p = T.parse_proposal("aes256-sha384-ecp384")
    assert p.prf == (T.PRF_HMAC_SHA2_384,) and p.dh == (T.ECP384,)
    esp = T.parse_proposal("aes128gcm16-ecp256", ProtocolId.ESP)
    assert esp.dh == (T.ECP256,) and esp.esn == (T.NO_ESN,)
    assert esp.to_string() == "aes128gcm16-ecp256-noesn"
    assert T.parse_proposal("aes128-sha1-esn", ProtocolId.ESP).esn == (T.ESN,)


@pytest.mark.parametrize(
    ("text", "proto", "message"),
    [
        ("aes256gcm16-x25519", ProtocolId.IKE, "needs a PRF"),
        ("aes128-modp2048", ProtocolId.IKE, "no integrity"),
        ("aes128-sha1", ProtocolId.IKE, "no DH group"),
        ("aes128-aes128gcm16-sha1-modp2048", ProtocolId.IKE, "mixes AEAD"),
        ("aes128--sha1", ProtocolId.IKE, "empty algorithm"),
        ("aes128-sha1-frob", ProtocolId.IKE, "unknown algorithm 'frob'"),
        ("aes128-sha1-prfsha1", ProtocolId.ESP, "cannot have a PRF"),
        ("aes128gcm16-sha1", ProtocolId.ESP, "cannot have integrity"),
        ("sha1-modp2048", ProtocolId.IKE, "no encryption"),
        ("aes128-sha1-modp2048-esn", ProtocolId.IKE, "cannot have ESN"),
    ],
)
def test_parse_proposal_errors(text, proto, message):
    with pytest.raises(ProposalSyntaxError, match=message):
        T.parse_proposal(text, proto)


def test_defaults_have_no_legacy():
    for p in (*T.DEFAULT_IKE_PROPOSALS, *T.DEFAULT_ESP_PROPOSALS):
        assert not p.legacy


def test_junos_predefined_sets():
    std = T.JUNOS_IKE_PROPOSAL_SETS["standard"]
    assert [p.name for p in std] == ["pre-g2-aes128-sha", "pre-g2-3des-sha"]
    assert std[0].to_proposal().to_string() == "aes128-sha1-prfsha1-modp1024"
    assert [p.name for p in T.JUNOS_IKE_PROPOSAL_SETS["basic"]] == [
        "pre-g1-des-sha",
        "pre-g1-des-md5",
    ]
    assert [p.name for p in T.JUNOS_IKE_PROPOSAL_SETS["compatible"]] == [
        "pre-g2-3des-sha",
        "pre-g2-3des-md5",
        "pre-g2-des-sha",
        "pre-g2-des-md5",
    ]
    ipsec = T.JUNOS_IPSEC_PROPOSAL_SETS["standard"]
    assert [p.name for p in ipsec] == ["g2-esp-3des-sha", "g2-esp-aes128-sha"]
    assert ipsec[0].to_proposal().to_string() == "3des-sha1-modp1024-noesn"
    assert [p.name for p in T.JUNOS_IPSEC_PROPOSAL_SETS["compatible"]] == [
        "nopfs-esp-3des-sha",
        "nopfs-esp-3des-md5",
        "nopfs-esp-des-sha",
        "nopfs-esp-des-md5",
    ]
    assert T.JUNOS_IPSEC_PROPOSAL_SETS["basic"][1].to_proposal().to_string() == "des-md5-noesn"
    sb = T.JUNOS_IKE_PROPOSAL_SETS["suiteb-gcm-256"][0].to_proposal()
    assert sb.to_string() == "aes256gcm16-prfsha384-ecp384"
    assert all(p.lifetime_seconds == 28800 for p in T.JUNOS_IKE_PREDEFINED.values())


def test_ikev1_ids():
    assert T.TRIPLE_DES.ikev1_phase1 == 5 and T.TRIPLE_DES.ikev1_esp == 3
    assert T.DES.ikev1_phase1 == 1 and T.AES256_CBC.ikev1_phase1 == 7
    assert T.PRF_HMAC_SHA1.ikev1_phase1 == 2 and T.PRF_HMAC_SHA2_256.ikev1_phase1 == 4
    assert T.HMAC_SHA1_96.ikev1_esp == 2 and T.HMAC_SHA1_96.ikev1_ah == 3
    assert T.MODP2048.ikev1_phase1 == 14


def test_more_lookup_errors_and_helpers():
    with pytest.raises(UnknownTransform, match="unknown IKE encryption-algorithm 'aes-512-cbc'"):
        T.by_junos_ike(TT.ENCR, "aes-512-cbc")
    with pytest.raises(UnknownTransform, match="unknown kernel algorithm"):
        T.by_kernel("cbc(serpent)", 128)
    assert str(UnknownTransform("x")) == "x"
    p = T.parse_proposal("aes128-sha1-modp2048")
    assert p.of_type(TT.DH) == (T.MODP2048,) and str(p) == p.to_string()
    assert str(T.AES128_CBC) == "aes128"
    ah = T.parse_proposal("sha256-modp2048", ProtocolId.AH)
    assert ah.integrity == (T.HMAC_SHA2_256_128,) and ah.esn == (T.NO_ESN,)
    assert T.prf_for_integ(T.HMAC_MD5_96) is T.PRF_HMAC_MD5


@pytest.mark.parametrize(
    ("text", "proto", "message"),
    [
        ("aes128gcm16-sha256-prfsha256-x25519", ProtocolId.IKE, "cannot have integrity"),
        ("sha256", ProtocolId.ESP, "no encryption algorithm"),
        ("aes128", ProtocolId.ESP, "no integrity algorithm"),
        ("aes128-sha256", ProtocolId.AH, "must have only integrity"),
        ("aes128-sha256", ProtocolId.NONE, "no proposal for protocol"),
        ("", ProtocolId.IKE, "empty algorithm"),
    ],
)
def test_more_proposal_errors(text, proto, message):
    with pytest.raises(ProposalSyntaxError, match=message):
        T.parse_proposal(text, proto)
