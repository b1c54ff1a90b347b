"""IKEv1 settings: Junos predefined proposals, strongSwan strings, configuration errors."""

import pytest

from xfrmctl.keying.ikev1 import algorithms
from xfrmctl.keying.ikev1.settings import ConfigError, Ikev1PeerConfig, Phase1Proposal
from xfrmctl.keying.ikev2.settings import PskAuth
from xfrmctl.keying.transforms import (
    AES128_CBC,
    AES256_CBC,
    JUNOS_IKE_PREDEFINED,
    MODP1024,
    MODP2048,
    PRF_HMAC_SHA1,
    PRF_HMAC_SHA2_256,
    TRIPLE_DES,
    TransformType,
)


def test_seed_000_suite_from_the_junos_predefined_proposal():
    p = Phase1Proposal.from_junos(JUNOS_IKE_PREDEFINED["pre-g2-3des-sha"])
    assert (p.encryption, p.hash, p.dh, p.lifetime_seconds) == (
        TRIPLE_DES, PRF_HMAC_SHA1, MODP1024, 28800)  # fmt: skip


def test_strongswan_strings():
    p = Phase1Proposal.parse("aes256-sha256-modp2048", 1800)
    assert (p.encryption, p.hash, p.dh, p.lifetime_seconds) == (
        AES256_CBC, PRF_HMAC_SHA2_256, MODP2048, 1800)  # fmt: skip
    with pytest.raises(ConfigError):
        Phase1Proposal.parse("aes256gcm16-sha256-modp2048")  # no GCM in IKEv1 phase 1
    with pytest.raises(ConfigError):
        Phase1Proposal.parse("aes256-sha256")


def test_registry_lookups_by_ikev1_numbers():
    assert algorithms.phase1(TransformType.ENCR, 7, 128) is AES128_CBC
    assert algorithms.phase1(TransformType.ENCR, 5) is TRIPLE_DES
    assert algorithms.phase1(TransformType.PRF, 4) is PRF_HMAC_SHA2_256
    assert algorithms.esp_cipher(3, None) is TRIPLE_DES
    assert algorithms.esp_auth(2).name == "sha1"


def test_peer_limits():
    suites = tuple(Phase1Proposal.parse(s) for s in ("3des-sha1-modp1024", "aes128-sha1-modp2048"))
    with pytest.raises(ConfigError, match="same DH group"):
        Ikev1PeerConfig("gw", "192.0.2.1", "192.0.2.2", PskAuth(b"k"), suites)
    with pytest.raises(ConfigError, match="one to four"):
        Ikev1PeerConfig("gw", "192.0.2.1", "192.0.2.2", PskAuth(b"k"), suites[:1] * 5)
    assert "k'" not in repr(PskAuth(b"k"))
