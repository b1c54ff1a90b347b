import pytest
from cryptography import x509

from xfrmctl.keying.constants import IdType
from xfrmctl.keying.ikev2.identity import Identity, IdentityError, decode_dn


def test_parse_kinds():
    assert Identity.parse("192.0.2.1") == Identity(IdType.IPV4_ADDR, bytes([192, 0, 2, 1]))
    v6 = Identity.parse("2001:db8::1")
    assert v6.id_type is IdType.IPV6_ADDR and len(v6.data) == 16 and str(v6) == "2001:db8::1"
    assert Identity.parse("vpn.example.com") == Identity(IdType.FQDN, b"vpn.example.com")
    assert Identity.parse("@192.0.2.1") == Identity(IdType.FQDN, b"192.0.2.1")
    assert Identity.parse("a@example.com") == Identity(IdType.RFC822_ADDR, b"a@example.com")
    assert Identity.parse("%any").is_any and str(Identity.any()) == "%any"
    assert Identity.parse("vpn.example.com").kind == "fqdn"
    assert Identity.any().kind == "any"


def test_dn_encoding_is_der_in_written_order():
    ident = Identity.parse("C=CH, O=strongSwan, CN=moon.strongswan.org")
    assert ident.id_type is IdType.DER_ASN1_DN
    name = x509.Name.from_rfc4514_string("CN=moon.strongswan.org,O=strongSwan,C=CH")
    assert ident.data == name.public_bytes()
    assert str(ident) == "C=CH, O=strongSwan, CN=moon.strongswan.org"
    assert decode_dn(ident.data) == [
        ("C", "CH"),
        ("O", "strongSwan"),
        ("CN", "moon.strongswan.org"),
    ]


@pytest.mark.parametrize("bad", ["", "@", "C=CH, XX=1", "C=, O=x", "C=CHE"])
def test_bad_identities(bad):
    with pytest.raises(IdentityError):
        Identity.parse(bad)


@pytest.mark.parametrize(
    ("conf", "recv", "ok"),
    [
        ("%any", "192.0.2.1", True),
        ("192.0.2.1", "192.0.2.1", True),
        ("192.0.2.1", "192.0.2.2", False),
        ("192.0.2.1", "@192.0.2.1", False),
        ("vpn.example.com", "VPN.example.com.", True),
        ("*.example.com", "gw.example.com", True),
        ("*.example.com", "example.com", False),
        ("*@example.com", "bob@Example.com", True),
        ("alice@example.com", "bob@example.com", False),
        ("C=CH, O=sw, CN=*", "C=CH, O=sw, CN=moon", True),
        ("C=CH, O=sw, CN=*", "C=CH, O=other, CN=moon", False),
        ("C=CH, O=sw, CN=moon", "C=CH, O=sw, CN=moon", True),
        ("C=CH, O=sw, CN=moon", "C=CH, CN=moon", False),
    ],
)
def test_matching(conf, recv, ok):
    assert Identity.parse(conf).matches(Identity.parse(recv)) is ok


def test_garbage_dn_does_not_match_or_crash():
    conf = Identity.parse("C=CH, CN=*")
    junk = Identity(IdType.DER_ASN1_DN, b"\x30\x05\x31\x03\x30\x81")
    assert not conf.matches(junk)
    assert str(junk) == junk.data.hex()
    with pytest.raises(IdentityError):
        decode_dn(b"\x31\x00")
    assert str(Identity(IdType.KEY_ID, b"\x01\x02")) == "0102"
