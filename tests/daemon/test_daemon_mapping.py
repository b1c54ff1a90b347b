"""Configuration model -> engine peers, VPN plans and kernel objects (exact values)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from xfrmctl.config import load_file, load_text
from xfrmctl.daemon.mapping import build_plan, multipoint_units, multipoint_vpns, soft_window
from xfrmctl.keying import transforms as t
from xfrmctl.keying.constants import ProtocolId
from xfrmctl.keying.ikev1.settings import ExchangeMode, Phase1Proposal
from xfrmctl.keying.ikev2.identity import Identity
from xfrmctl.keying.ikev2.settings import CertAuth, PskAuth
from xfrmctl.keying.ikev2.ts import TrafficSelector
from xfrmctl.nhtb.planner import MultipointUnit

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


def test_ikev1_gateway_maps_to_an_ikev1_peer() -> None:
    """`version v1-only` (the Junos default): an IKEv1 peer with whole phase-1 suites, the IKE
    policy's exchange mode and the gateway's NAT-T switch; the VPN is an ordinary child."""
    text = (DATA / "base.set").read_text().replace("version v2-only", "version v1-only")
    text = text.replace("policy IKEPOL mode main", "policy IKEPOL mode aggressive")
    text += "set security ike proposal P1 lifetime-seconds 1800\n"
    text += "set security ike gateway GW no-nat-traversal\n"
    config = load_text(text, "v1.set").require()
    plan = build_plan(config, {"eth0": ("198.51.100.1/24",)})
    assert plan.peers == ()
    [peer] = plan.ikev1_peers
    assert (peer.name, peer.local_address, peer.remote_address) == (
        "GW", "198.51.100.1", "198.51.100.2"
    )  # fmt: skip
    assert peer.mode is ExchangeMode.AGGRESSIVE and peer.nat_traversal is False
    assert peer.proposals == (
        Phase1Proposal(t.AES256_CBC, t.PRF_HMAC_SHA2_256, t.MODP2048, 1800),
    )
    assert isinstance(peer.auth, PskAuth) and peer.auth.psk == b"s3cret-psk"
    # 1800 s: the soft/hard gap of 570..630 s
    assert 1800 * (1 - peer.rekey_margin) == pytest.approx(1230)
    [child] = peer.children
    assert child.name == "VPN1" and child.pfs_group == t.MODP2048
    assert plan.vpns["VPN1"].gateway == "GW"
    assert plan.unusable == {}


def test_ikev1_without_a_phase1_cipher_is_unusable() -> None:
    text = (DATA / "base.set").read_text().replace("version v2-only", "version v1-only")
    text = text.replace("encryption-algorithm aes-256-cbc\nset security ike policy",
                        "encryption-algorithm aes-256-gcm\nset security ike policy")  # fmt: skip
    config = load_text(text, "v1.set").require()
    plan = build_plan(config, {"eth0": ("198.51.100.1/24",)})
    assert plan.peers == () and plan.ikev1_peers == ()
    assert plan.unusable == {
        "VPN1": "ike proposal P1: aes256gcm16 is not an IKEv1 phase-1 cipher"
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


def _ec_certificates(tmp: Path) -> tuple[Path, Path, Path, x509.Certificate]:
    """A lab CA and a host certificate signed by it (ECDSA P-256), as PEM files."""
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    host_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Lab CA")])
    host_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Lab"),
                           x509.NameAttribute(NameOID.COMMON_NAME, "gw1")])  # fmt: skip

    def sign(subject: x509.Name, key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
        return (
            x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
            .sign(ca_key, hashes.SHA256())
        )  # fmt: skip

    ca, host = sign(ca_name, ca_key), sign(host_name, host_key)
    paths = tmp / "ca.pem", tmp / "host.pem", tmp / "host.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(host.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(host_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))  # fmt: skip
    return *paths, host


def test_certificate_authentication_from_files(tmp_path: Path) -> None:
    ca, host, key, cert = _ec_certificates(tmp_path)
    text = (DATA / "base.set").read_text()
    text = text.replace("authentication-method pre-shared-keys",
                        "authentication-method ecdsa-signatures-256")  # fmt: skip
    text = "\n".join(ln for ln in text.splitlines() if "pre-shared-key" not in ln) + "\n"
    text += (
        "set security ike policy IKEPOL certificate local-certificate gw1\n"
        "set security ike policy IKEPOL certificate trusted-ca lab\n"
        "set security ike gateway GW local-identity distinguished-name\n"
        f"set xfrmctl certificate gw1 file {host}\n"
        f"set xfrmctl certificate gw1 key {key}\n"
        f"set xfrmctl ca-profile lab file {ca}\n"
    )
    config = load_text(text, "cert.set").require()
    plan = build_plan(config, {"eth0": ("198.51.100.1/24",)}, lambda p: Path(p).read_bytes())
    [peer] = plan.peers
    assert isinstance(peer.auth, CertAuth)
    assert peer.auth.certificate == host.read_bytes()
    assert peer.auth.private_key == key.read_bytes()
    assert peer.auth.ca_certificates == (ca.read_bytes(),)
    assert peer.local_id is not None and str(peer.local_id) == "O=Lab, CN=gw1"
    assert peer.local_id.data == cert.subject.public_bytes()
    # a missing file makes the VPN unusable with the reason, not a crash
    host.unlink()
    plan = build_plan(config, {"eth0": ("198.51.100.1/24",)}, lambda p: Path(p).read_bytes())
    assert plan.unusable == {
        "VPN1": f"ike policy IKEPOL: {host}: No such file or directory"
    }


def test_multipoint_unit_maps_to_nhtb_inputs() -> None:
    base = (DATA / "base.set").read_text()
    text = base + (
        "set interfaces st0 unit 0 multipoint\n"
        "set interfaces st0 unit 0 family inet6 address 2001:db8::1/64\n"
        "set interfaces st0 unit 0 family inet next-hop-tunnel 10.0.0.2 ipsec-vpn VPN1\n"
        "set interfaces st0 unit 1 family inet address 10.0.1.1/30\n"
        "set routing-options static route 192.168.9.0/24 next-hop 10.0.0.2\n"
    )
    config = load_text(text, "c.set").require()
    plan = build_plan(config, {"eth0": ("198.51.100.1/24",)})
    vpn = plan.vpns["VPN1"]
    assert (vpn.multipoint, vpn.if_id, vpn.bind_interface) == (True, 1, "st0.0")
    # the unit's first address per family is announced to the peer
    assert [str(a) for a in vpn.child.local_tunnel_addresses] == ["10.0.0.1", "2001:db8::1"]
    assert multipoint_units(config) == (MultipointUnit("st0.0", 1),)
    assert multipoint_vpns(plan) == {"VPN1": "st0.0"}
    assert [(r.dst, r.dev, r.via) for r in plan.routes] == [
        ("192.168.2.0/24", "st0.0", None),
        ("192.168.9.0/24", "st0.0", "10.0.0.2"),
    ]
    assert plan.unusable == {}


def test_trusted_ca_use_all_trusts_every_ca_profile(tmp_path: Path) -> None:
    ca, host, key, _ = _ec_certificates(tmp_path)
    other = tmp_path / "other-ca.pem"
    other.write_bytes(host.read_bytes())  # any second CA file
    text = (DATA / "base.set").read_text()
    text = text.replace("authentication-method pre-shared-keys",
                        "authentication-method ecdsa-signatures-256")  # fmt: skip
    text = "\n".join(ln for ln in text.splitlines() if "pre-shared-key" not in ln) + "\n"
    text += (
        "set security ike policy IKEPOL certificate local-certificate gw1\n"
        "set security ike policy IKEPOL certificate trusted-ca use-all\n"
        f"set xfrmctl certificate gw1 file {host}\n"
        f"set xfrmctl certificate gw1 key {key}\n"
        f"set xfrmctl ca-profile lab file {ca}\n"
        f"set xfrmctl ca-profile other file {other}\n"
    )
    config = load_text(text, "cert.set").require()
    plan = build_plan(config, {"eth0": ("198.51.100.1/24",)}, lambda p: Path(p).read_bytes())
    assert plan.unusable == {}
    [peer] = plan.peers
    assert isinstance(peer.auth, CertAuth)
    assert peer.auth.ca_certificates == (ca.read_bytes(), other.read_bytes())


def test_general_ikeid_accepts_any_peer_identity() -> None:
    text = (DATA / "base.set").read_text()
    extra = (
        "set security ike gateway GW remote-identity hostname peer.example\n"
        "set security ike gateway GW general-ikeid\n"
    )
    plain = build_plan(load_text(text, "a.set").require(), {"eth0": ("198.51.100.1/24",)})
    assert plain.peers[0].remote_id is None  # the peer's address is expected
    result = load_text(text + extra, "b.set")
    assert [d.message for d in result.warnings] == []
    plan = build_plan(result.require(), {"eth0": ("198.51.100.1/24",)})
    [peer] = plan.peers
    assert peer.remote_id == Identity.any()
    assert peer.expected_remote_id.matches(Identity.parse("anything.example"))


def test_policy_based_vpn_takes_its_selectors_from_the_tunnel_policies() -> None:
    from xfrmctl.daemon.kernel_ops import child_policies  # noqa: PLC0415
    from xfrmctl.netlink.codec import Selector  # noqa: PLC0415
    from xfrmctl.netlink.constants import XfrmDir  # noqa: PLC0415

    text = (DATA / "policy-based-chicago.set").read_text() + (
        "set security ike gateway gw-chicago version v2-only\n"
    )
    interfaces = {"ge-0/0/0.0": "eth0", "ge-0/0/3.0": "eth3", "ge-0/0/1.0": "eth1"}
    config = load_text(text, "pb.set", interface_map=interfaces).require()
    plan = build_plan(config, {"eth3": ("198.51.100.1/24",)})
    assert plan.unusable == {}
    vpn = plan.vpns["ike-vpn-chicago"]
    assert (vpn.bind_interface, vpn.if_id) == (None, None)
    assert vpn.child.local_ts == (TrafficSelector.from_network("10.10.10.0/24"),)
    assert vpn.child.remote_ts == (TrafficSelector.from_network("192.168.168.0/24"),)
    policies = child_policies(local=vpn.local_address, remote="198.51.100.2", reqid=7,
                              if_id=vpn.if_id, local_ts=vpn.child.local_ts,
                              remote_ts=vpn.child.remote_ts)  # fmt: skip
    assert [(p.dir, p.sel, p.if_id) for p in policies] == [
        (XfrmDir.XFRM_POLICY_OUT, Selector.between("10.10.10.0/24", "192.168.168.0/24"), None),
        (XfrmDir.XFRM_POLICY_IN, Selector.between("192.168.168.0/24", "10.10.10.0/24"), None),
        (XfrmDir.XFRM_POLICY_FWD, Selector.between("192.168.168.0/24", "10.10.10.0/24"), None),
    ]
    # without its tunnel policies the VPN installs nothing (never a 0/0 policy)
    alone = "\n".join(ln for ln in text.splitlines() if "policy vpn-" not in ln) + "\n"
    plan = build_plan(load_text(alone, "pb.set", interface_map=interfaces).require(),
                      {"eth3": ("198.51.100.1/24",)})  # fmt: skip
    assert plan.vpns == {}
    assert plan.unusable == {
        "ike-vpn-chicago": "policy-based VPN with no tunnel policy (then permit tunnel "
        "ipsec-vpn ike-vpn-chicago) and no bind-interface"
    }


def _dynamic(*lines: str) -> str:
    text = (DATA / "base.set").read_text()
    text = text.replace("set security ike gateway GW address 198.51.100.2\n", "")
    return text + "".join(f"set security ike gateway GW dynamic {line}\n" for line in lines)


@pytest.mark.parametrize(
    ("lines", "expected", "unique"),
    [
        (["hostname example.net", "ike-user-type group-ike-id"], "*.example.net", True),
        (["hostname vpn.example.net"], "vpn.example.net", True),
        (["hostname users.example.net", "ike-user-type shared-ike-id"], "users.example.net",
         False),
        (["user-at-hostname example.net", "ike-user-type group-ike-id"], "*@example.net", True),
        (["user-at-hostname bob@example.net", "ike-user-type group-ike-id"], "*@example.net",
         True),
        (["user-at-hostname all@example.net", "ike-user-type shared-ike-id"],
         "all@example.net", False),
        (["inet 192.0.2.7"], "192.0.2.7", True),
    ],
)
def test_dynamic_gateway_maps_to_a_responder_peer(
    lines: list[str], expected: str, unique: bool
) -> None:
    config = load_text(_dynamic(*lines), "dyn.set").require()
    plan = build_plan(config, {"eth0": ("198.51.100.1/24",)})
    [peer] = plan.peers
    assert peer.remote_address is None
    assert str(peer.expected_remote_id) == expected
    assert peer.unique_ids is unique
    vpn = plan.vpns["VPN1"]
    assert (vpn.remote_address, vpn.local_address) == (None, "198.51.100.1")


def test_dynamic_group_id_matches_members_only() -> None:
    config = load_text(_dynamic("hostname example.net", "ike-user-type group-ike-id"),
                       "dyn.set").require()  # fmt: skip
    [peer] = build_plan(config, {"eth0": ("198.51.100.1/24",)}).peers
    expect = peer.expected_remote_id
    assert expect.matches(Identity.parse("c1-r1.example.net"))
    assert not expect.matches(Identity.parse("example.net"))
    assert not expect.matches(Identity.parse("c1.example.org"))


def test_dynamic_user_type_needs_a_name_identity() -> None:
    config = load_text(_dynamic("inet 192.0.2.7", "ike-user-type group-ike-id"),
                       "dyn.set").require()  # fmt: skip
    plan = build_plan(config, {"eth0": ("198.51.100.1/24",)})
    assert plan.unusable == {
        "VPN1": "gateway GW dynamic: ike-user-type needs a hostname or user-at-hostname identity"
    }


def test_dynamic_is_realised_but_connections_limit_is_not() -> None:
    result = load_text(
        _dynamic("hostname example.net", "ike-user-type group-ike-id", "connections-limit 10"),
        "dyn.set",
    )
    assert [str(w) for w in result.warnings] == [
        "dyn.set:24: warning: security ike gateway GW dynamic connections-limit: not realised "
        "yet: the number of dynamic peers is not limited yet"
    ]


def _any(*versions: int) -> tuple[TrafficSelector, ...]:
    return tuple(TrafficSelector.any(v) for v in versions)


@pytest.mark.parametrize(
    ("outer", "extra", "version", "selectors"),
    [
        ("198.51.100.2", "", "v2-only", _any(4)),
        # IPv6 inner on an inet6 unit over IPv4, the outer family first when both are there
        ("198.51.100.2", "set interfaces st0 unit 0 family inet6 address 2001:db8:ffff::1/64\n",
         "v2-only", _any(4, 6)),
        ("2001:db8::2", "set interfaces st0 unit 0 family inet6 address 2001:db8:ffff::1/64\n",
         "v2-only", _any(6, 4)),
        ("2001:db8::2", "", "v2-only", _any(4)),  # IPv4-in-IPv6
        # IKEv1's quick mode negotiates one proxy-ID pair: the outer family's
        ("2001:db8::2", "set interfaces st0 unit 0 family inet6 address 2001:db8:ffff::1/64\n",
         "v1-only", _any(6)),
    ],
)  # fmt: skip
def test_route_based_selectors_follow_the_unit_families(
    outer: str, extra: str, version: str, selectors: tuple[TrafficSelector, ...]
) -> None:
    text = (DATA / "base.set").read_text().replace("198.51.100.2", outer) + extra
    text = text.replace("version v2-only", f"version {version}")
    config = load_text(text, "c.set").require()
    plan = build_plan(config, {"eth0": ("198.51.100.1/24", "2001:db8::1/64")})
    child = plan.vpns["VPN1"].child
    assert child.local_ts == child.remote_ts == selectors
