"""Configuration model -> engine peers, VPN plans and kernel objects (exact values)."""

from __future__ import annotations

from pathlib import Path

import pytest

from xfrmctl.config import load_file, load_text
from xfrmctl.daemon.mapping import build_plan, soft_window
from xfrmctl.keying import transforms as t
from xfrmctl.keying.constants import ProtocolId
from xfrmctl.keying.ikev2.settings import PskAuth
from xfrmctl.keying.ikev2.ts import TrafficSelector

DATA = Path(__file__).parent.parent / "config" / "data"


def test_base_configuration_maps_to_one_peer_one_child() -> None:
    config = load_file(DATA / "base.yaml").require()
    plan = build_plan(config, {"eth0": ("198.51.100.1/24", "fe80::1/64")})
    [peer] = plan.peers
    assert (peer.name, peer.local_address, peer.remote_address) == (
        "GW", "198.51.100.1", "198.51.100.2"
    )  # fmt: skip
    assert isinstance(peer.auth, PskAuth) and peer.auth.psk == b"s3cret-psk"
    assert peer.proposals == (
        t.Proposal(ProtocolId.IKE, (t.AES256_CBC,), (t.HMAC_SHA2_256_128,),
                   (t.PRF_HMAC_SHA2_256,), (t.MODP2048,)),
    )  # fmt: skip
    assert peer.lifetime_seconds == 28800
    [child] = peer.children
    assert child.name == "VPN1"
    assert child.proposals == (
        t.Proposal(ProtocolId.ESP, (t.AES256_CBC,), (t.HMAC_SHA2_256_128,), (), (t.MODP2048,),
                   (t.NO_ESN,)),
    )  # fmt: skip
    assert child.pfs_group == t.MODP2048
    assert child.local_ts == child.remote_ts == (TrafficSelector.any(4),)
    assert (child.if_id, child.lifetime_seconds, child.replay_window) == (1, 3600, 64)
    vpn = plan.vpns["VPN1"]
    assert (vpn.gateway, vpn.bind_interface, vpn.if_id, vpn.establish_tunnels, vpn.df_bit) == (
        "GW", "st0.0", 1, "immediately", "clear"
    )  # fmt: skip
    [itf] = plan.interfaces
    assert (itf.name, itf.if_id, itf.underlying, itf.addresses) == (
        "st0.0", 1, "eth0", ("10.0.0.1/30",)
    )  # fmt: skip
    [route] = plan.routes
    assert (route.dst, route.dev, route.via) == ("192.168.2.0/24", "st0.0", None)
    assert plan.unusable == {}


def test_soft_window_follows_the_spec() -> None:
    # 3600 s: soft between 3600-630 and 3600-570
    margin, jitter = soft_window(3600)
    assert 3600 * (1 - margin) == pytest.approx(3030)
    assert 3600 * (1 - margin - jitter) == pytest.approx(2970)
    # short lifetimes: at most half of it
    margin, jitter = soft_window(600)
    assert margin + jitter == pytest.approx(0.5)


def test_unusable_vpns_carry_their_reason() -> None:
    text = (DATA / "base.set").read_text().replace("version v2-only", "version v1-only")
    config = load_text(text, "v1.set").require()
    plan = build_plan(config, {"eth0": ("198.51.100.1/24",)})
    assert plan.peers == ()
    assert plan.vpns == {}
    assert plan.unusable == {
        "VPN1": "gateway GW: IKEv1 is not supported yet (set version v2-only)"
    }


def test_missing_interface_address_is_reported() -> None:
    config = load_file(DATA / "base.yaml").require()
    plan = build_plan(config, {"eth0": ()})
    assert plan.unusable == {"VPN1": "gateway GW: no usable address on eth0"}


def test_curve25519_and_gcm_from_junos_keywords() -> None:
    text = (DATA / "base.set").read_text()
    text = text.replace("dh-group group14", "dh-group group31")
    text = text.replace("proposal P1 encryption-algorithm aes-256-cbc",
                        "proposal P1 encryption-algorithm aes-256-gcm")  # fmt: skip
    text = text.replace("proposal P2 encryption-algorithm aes-256-cbc",
                        "proposal P2 encryption-algorithm aes-256-gcm")  # fmt: skip
    text = text.replace("set security ipsec proposal P2 authentication-algorithm "
                        "hmac-sha-256-128\n", "")  # fmt: skip
    text = text.replace("keys group14", "keys group31")
    config = load_text(text, "gcm.set").require()
    plan = build_plan(config, {"eth0": ("198.51.100.1/24",)})
    [peer] = plan.peers
    assert peer.proposals[0].to_string() == "aes256gcm16-prfsha256-x25519"
    assert peer.children[0].proposals[0].to_string() == "aes256gcm16-x25519-noesn"
