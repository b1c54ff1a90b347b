"""AUTH payload: PSK formula, signed octets, RFC 7427 AlgorithmIdentifiers, signatures."""

import hmac

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from xfrmctl.keying import asn1, auth
from xfrmctl.keying import transforms as tr
from xfrmctl.keying.constants import AuthMethod, HashAlgorithm, IdType
from xfrmctl.keying.errors import CryptoError, ParseError
from xfrmctl.keying.payloads import IdiPayload

h = bytes.fromhex

RSA_KEY = rsa.generate_private_key(65537, 2048)
P256 = ec.generate_private_key(ec.SECP256R1())
P384 = ec.generate_private_key(ec.SECP384R1())
P521 = ec.generate_private_key(ec.SECP521R1())
ED = ed25519.Ed25519PrivateKey.generate()
OCTETS = b"IKE_SA_INIT bytes" + b"N" * 32 + b"prf-of-id" * 4


def test_psk_auth_matches_rfc_formula():
    psk, octets = b"secret", b"octets to sign"
    inner = hmac.new(psk, b"Key Pad for IKEv2", "sha256").digest()
    expected = hmac.new(inner, octets, "sha256").digest()
    assert auth.psk_auth_data(tr.PRF_HMAC_SHA2_256, psk, octets) == expected
    auth.verify_psk(tr.PRF_HMAC_SHA2_256, psk, octets, expected)
    with pytest.raises(CryptoError, match="does not verify"):
        auth.verify_psk(tr.PRF_HMAC_SHA2_256, b"wrong", octets, expected)
    with pytest.raises(CryptoError):
        auth.verify_psk(tr.PRF_HMAC_SHA2_256, psk, octets, expected[:-1])


def test_signed_octets():
    idp = IdiPayload(IdType.FQDN, b"spoke1.example.net")
    sk_pi = b"P" * 32
    octets = auth.signed_octets(b"MSG", b"NONCE", tr.PRF_HMAC_SHA2_256, sk_pi, idp)
    rest_of_id = bytes([IdType.FQDN, 0, 0, 0]) + b"spoke1.example.net"
    assert octets == b"MSG" + b"NONCE" + hmac.new(sk_pi, rest_of_id, "sha256").digest()


@pytest.mark.parametrize(
    ("scheme", "der"),
    [
        # RFC 7427 appendix A
        (auth.SignatureScheme("rsa", HashAlgorithm.SHA1), "300d06092a864886f70d0101050500"),
        (auth.SignatureScheme("rsa", HashAlgorithm.SHA2_256), "300d06092a864886f70d01010b0500"),
        (auth.SignatureScheme("rsa", HashAlgorithm.SHA2_384), "300d06092a864886f70d01010c0500"),
        (auth.SignatureScheme("rsa", HashAlgorithm.SHA2_512), "300d06092a864886f70d01010d0500"),
        (auth.SignatureScheme("ecdsa", HashAlgorithm.SHA2_256), "300a06082a8648ce3d040302"),
        (auth.SignatureScheme("ecdsa", HashAlgorithm.SHA2_384), "300a06082a8648ce3d040303"),
        (auth.SignatureScheme("ecdsa", HashAlgorithm.SHA2_512), "300a06082a8648ce3d040304"),
        (auth.SignatureScheme("ed25519", HashAlgorithm.IDENTITY), "300506032b6570"),
        (auth.SignatureScheme("rsa-pss", HashAlgorithm.SHA2_256, HashAlgorithm.SHA2_256, 32),
         "3041" "06092a864886f70d01010a" "3034"
         "a00f" "300d06096086480165030402010500"
         "a11c" "301a06092a864886f70d010108" "300d06096086480165030402010500"
         "a203" "020120"),
    ],
)  # fmt: skip
def test_algorithm_identifiers(scheme, der):
    assert scheme.algorithm_identifier().hex() == der
    assert auth.parse_algorithm_identifier(h(der)) == scheme


def test_pss_defaults_and_hash_without_null():
    defaults = auth.SignatureScheme("rsa-pss", HashAlgorithm.SHA1, HashAlgorithm.SHA1, 20)
    # RSASSA-PSS-params all DEFAULT: SHA-1, MGF1-SHA-1, salt 20 -> empty SEQUENCE
    assert defaults.algorithm_identifier() == h("300d06092a864886f70d01010a3000")
    assert auth.parse_algorithm_identifier(h("300d06092a864886f70d01010a3000")) == defaults
    assert auth.parse_algorithm_identifier(h("300b06092a864886f70d01010a")) == defaults
    # hash AlgorithmIdentifier without the NULL parameter, default MGF1-SHA-1, salt 32, trailer 1
    params = (
        "a00d300b0609608648016503040201"
        "a203020120"
        "a303020101"
    )  # fmt: skip
    body = "06092a864886f70d01010a" + "30" + format(len(h(params)), "02x") + params
    parsed = auth.parse_algorithm_identifier(h("30" + format(len(h(body)), "02x") + body))
    assert parsed == auth.SignatureScheme("rsa-pss", HashAlgorithm.SHA2_256, HashAlgorithm.SHA1, 32)


@pytest.mark.parametrize(
    "der",
    ["", "30", "3003060100", "300506032b6571", "0405060300000000", "300d06092a864886f70d0101",
     "3082000306010a", "3011" "06092a864886f70d01010a" "3004a3020102"],
)  # fmt: skip
def test_bad_algorithm_identifiers(der):
    with pytest.raises(ParseError):
        auth.parse_algorithm_identifier(h(der))


@pytest.mark.parametrize(
    ("method", "key"),
    [(AuthMethod.RSA_SIG, RSA_KEY), (AuthMethod.ECDSA_SHA256_P256, P256),
     (AuthMethod.ECDSA_SHA384_P384, P384), (AuthMethod.ECDSA_SHA512_P521, P521),
     (AuthMethod.DIGITAL_SIGNATURE, RSA_KEY), (AuthMethod.DIGITAL_SIGNATURE, P256),
     (AuthMethod.DIGITAL_SIGNATURE, P384), (AuthMethod.DIGITAL_SIGNATURE, ED)],
)  # fmt: skip
def test_sign_verify_round_trip(method, key):
    data = auth.sign(method, key, OCTETS)
    scheme = auth.verify_signature(method, key.public_key(), OCTETS, data)
    with pytest.raises(CryptoError):
        auth.verify_signature(method, key.public_key(), OCTETS + b"x", data)
    with pytest.raises(CryptoError):
        auth.verify_signature(method, P256.public_key() if key is not P256 else P384.public_key(),
                              OCTETS, data)  # fmt: skip
    if method == AuthMethod.ECDSA_SHA256_P256:
        assert len(data) == 64  # r || s
    if method == AuthMethod.DIGITAL_SIGNATURE:
        assert data[1 : 1 + data[0]] == scheme.algorithm_identifier()


def test_rsa_pkcs1_sha1_is_method_1():
    data = auth.sign(AuthMethod.RSA_SIG, RSA_KEY, OCTETS)
    RSA_KEY.public_key().verify(data, OCTETS, padding.PKCS1v15(), hashes.SHA1())


def test_rfc7427_rsa_pss_and_hash_policy():
    data = auth.sign(AuthMethod.DIGITAL_SIGNATURE, RSA_KEY, OCTETS, pss=True,
                     hash_alg=HashAlgorithm.SHA2_384)  # fmt: skip
    scheme = auth.verify_signature(AuthMethod.DIGITAL_SIGNATURE, RSA_KEY.public_key(), OCTETS, data)
    assert scheme == auth.SignatureScheme("rsa-pss", HashAlgorithm.SHA2_384,
                                          HashAlgorithm.SHA2_384, 48)  # fmt: skip
    assert scheme.name == "rsa-pss-sha384"
    with pytest.raises(CryptoError, match="not acceptable"):
        auth.verify_signature(AuthMethod.DIGITAL_SIGNATURE, RSA_KEY.public_key(), OCTETS, data,
                              allowed_hashes=[HashAlgorithm.SHA2_256])  # fmt: skip
    ecdsa = auth.sign(AuthMethod.DIGITAL_SIGNATURE, P256, OCTETS)
    assert ecdsa[1 : 1 + ecdsa[0]] == h("300a06082a8648ce3d040302")
    assert ecdsa[1 + ecdsa[0]] == 0x30  # DER Ecdsa-Sig-Value


def test_method_key_mismatch():
    with pytest.raises(ValueError, match="needs a secp256r1 key"):
        auth.sign(AuthMethod.ECDSA_SHA256_P256, P384, OCTETS)
    with pytest.raises(ValueError):
        auth.sign(AuthMethod.SHARED_KEY_MIC, P256, OCTETS)
    data = auth.sign(AuthMethod.ECDSA_SHA256_P256, P256, OCTETS)
    with pytest.raises(CryptoError, match="needs a secp256r1 peer key"):
        auth.verify_signature(AuthMethod.ECDSA_SHA256_P256, RSA_KEY.public_key(), OCTETS, data)
    with pytest.raises(CryptoError, match="not a signature method"):
        auth.verify_signature(AuthMethod.SHARED_KEY_MIC, P256.public_key(), OCTETS, data)
    with pytest.raises(CryptoError, match="expected 64"):
        auth.verify_signature(AuthMethod.ECDSA_SHA256_P256, P256.public_key(), OCTETS, data[:-1])


def test_hash_algorithms_notify():
    assert auth.encode_hash_algorithms() == h("0002000300040005")
    assert auth.parse_hash_algorithms(h("00020003ffff")) == (
        HashAlgorithm.SHA2_256, HashAlgorithm.SHA2_384, 0xFFFF)  # fmt: skip
    with pytest.raises(ParseError):
        auth.parse_hash_algorithms(b"\x00")


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([1, 9, 10, 11, 14, 2]), st.binary(max_size=300))
def test_fuzz_verify_only_crypto_error(method, data):
    for key in (RSA_KEY.public_key(), P256.public_key(), ED.public_key()):
        with pytest.raises(CryptoError):
            auth.verify_signature(method, key, OCTETS, data)


def test_ecdsa_is_deterministic_rfc6979_vector():
    # RFC 6979 A.2.5: P-256, SHA-256, message "sample"
    key = ec.derive_private_key(
        0xC9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721, ec.SECP256R1()
    )
    data = auth.sign(AuthMethod.ECDSA_SHA256_P256, key, b"sample")
    assert data.hex() == (
        "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"
        "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8"
    )
    assert auth.sign(AuthMethod.DIGITAL_SIGNATURE, key, b"x") == auth.sign(
        AuthMethod.DIGITAL_SIGNATURE, key, b"x"
    )


def test_der_helpers_long_form_and_errors():
    value = bytes(200)
    tlv = asn1.encode_tlv(0x04, value)
    assert tlv[:3] == h("0481c8")
    assert asn1.decode_tlv(tlv) == (0x04, value, len(tlv))
    assert asn1.decode_oid(asn1.encode_oid("1.2.840.113549.1.1.11")[2:]) == "1.2.840.113549.1.1.11"
    assert asn1.decode_integer(asn1.encode_integer(300)[2:]) == 300
    for bad in (h("0481"), h("048100"), h("0485"), h("048200c8")):
        with pytest.raises(ParseError):
            asn1.decode_tlv(bad)
    with pytest.raises(ParseError, match="OBJECT IDENTIFIER"):
        asn1.decode_oid(h("2a86"))
    with pytest.raises(ParseError, match="empty INTEGER"):
        asn1.decode_integer(b"")


PSS = "06092a864886f70d01010a"


def _pss(params: str) -> bytes:
    body = h(PSS) + bytes([0x30, len(h(params))]) + h(params)
    return bytes([0x30, len(body)]) + body


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("a0023000", "without OID"),
        ("a0020500", "not a SEQUENCE"),
        ("a00d300b0609608648016503040209", "unsupported hash"),
        ("a10d300b06092a864886f70d010107", "not MGF1"),
        ("a2030401ff", "salt length"),
        ("a203020102", None),
        ("a303020102", "trailer"),
        ("a4020500", "unknown RSASSA-PSS parameter"),
    ],
)  # fmt: skip
def test_pss_parameter_errors(params, message):
    if message is None:
        assert auth.parse_algorithm_identifier(_pss(params)).salt_length == 2
        return
    with pytest.raises(ParseError, match=message):
        auth.parse_algorithm_identifier(_pss(params))


def test_pss_params_not_a_sequence_and_no_oid():
    body = h(PSS) + h("0500")
    with pytest.raises(ParseError, match="parameters are not a SEQUENCE"):
        auth.parse_algorithm_identifier(bytes([0x30, len(body)]) + body)
    with pytest.raises(ParseError, match="without OID"):
        auth.parse_algorithm_identifier(h("30020500"))


def test_scheme_key_mismatch_and_wrong_peer_key_type():
    with pytest.raises(ValueError, match="Ed25519"):
        auth._sign_raw(P256, auth.SignatureScheme("ed25519", HashAlgorithm.IDENTITY), b"x",
                       der=True)  # fmt: skip
    with pytest.raises(ValueError, match="EC key"):
        auth._sign_raw(RSA_KEY, auth.SignatureScheme("ecdsa", HashAlgorithm.SHA2_256), b"x",
                       der=True)  # fmt: skip
    with pytest.raises(ValueError, match="RSA key"):
        auth._sign_raw(P256, auth.SignatureScheme("rsa", HashAlgorithm.SHA2_256), b"x", der=True)
    ed = auth.sign(AuthMethod.DIGITAL_SIGNATURE, ED, OCTETS)
    ec_sig = auth.sign(AuthMethod.DIGITAL_SIGNATURE, P256, OCTETS)
    rsa_sig = auth.sign(AuthMethod.DIGITAL_SIGNATURE, RSA_KEY, OCTETS)
    for data, wrong in ((ed, P256), (ec_sig, RSA_KEY), (rsa_sig, ED)):
        with pytest.raises(CryptoError, match="peer key is not"):
            auth.verify_signature(AuthMethod.DIGITAL_SIGNATURE, wrong.public_key(), OCTETS, data)
    with pytest.raises(CryptoError, match="truncated"):
        auth.verify_signature(AuthMethod.DIGITAL_SIGNATURE, P256.public_key(), OCTETS, b"\x20ab")
