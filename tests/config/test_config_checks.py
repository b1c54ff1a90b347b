"""Commit checks (spec §2.21) and cross references, each with its exact message."""

from __future__ import annotations

import pytest

from xfrmctl.config import load_text

UNREALISED = "not realised yet"


def diags(
    base: str, extra: str = "", replace: tuple[str, str] | None = None, unrealised: bool = False
) -> list[str]:
    """Diagnostics as printed; "not realised yet" warnings only when asked, since that list
    shrinks as the daemon grows (test_unrealised_statements_are_named covers them)."""
    text = base if replace is None else base.replace(*replace)
    lines = [str(d) for d in load_text(text + extra, "c.set").diagnostics]
    return [line for line in lines if unrealised or UNREALISED not in line]


def line_of(base: str) -> int:
    return base.count("\n") + 1


def test_gateway_needs_policy_interface_and_address(base_set: str) -> None:
    text = base_set + "set security ike gateway G2 version v2-only\n"
    n = line_of(base_set)
    assert diags(text) == [
        f"c.set:{n}: error: security ike gateway G2: ike-policy is required",
        f"c.set:{n}: error: security ike gateway G2: external-interface is required",
        f"c.set:{n}: error: security ike gateway G2: address or dynamic is required",
    ]


def test_vpn_gateway_must_exist(base_set: str) -> None:
    assert diags(base_set, replace=("ike gateway GW\n", "ike gateway NOGW\n")) == [
        "c.set:18: error: security ipsec vpn VPN1 ike gateway: IKE gateway 'NOGW' is not defined"
    ]


def test_bind_interface_must_be_configured(base_set: str) -> None:
    text = base_set.replace("bind-interface st0.0", "bind-interface st0.5")
    assert diags(text) == [
        "c.set:17: error: security ipsec vpn VPN1 bind-interface: interface st0.5 is not "
        "configured (interfaces st0 unit 5)"
    ]


def test_proposals_must_exist_and_predefined_are_known(base_set: str) -> None:
    text = base_set + "set security ike policy IKEPOL proposals [ pre-g2-aes128-sha MISSING ]\n"
    result = diags(text)
    assert (
        "c.set:6: error: security ike policy IKEPOL proposals: IKE proposal 'MISSING' is not "
        "defined" in result
    )
    assert not any("pre-g2-aes128-sha" in line and "not defined" in line for line in result)


def test_same_dh_group_warning(base_set: str) -> None:
    text = base_set + (
        "set security ike proposal P9 authentication-method pre-shared-keys\n"
        "set security ike proposal P9 dh-group group19\n"
        "set security ike proposal P9 authentication-algorithm sha-256\n"
        "set security ike proposal P9 encryption-algorithm aes-128-cbc\n"
        "set security ike policy IKEPOL proposals P9\n"
    )
    assert diags(text) == [
        "c.set:6: warning: security ike policy IKEPOL proposals: proposals use different DH "
        "groups (group14, group19); use the same group in all proposals"
    ]


def test_proposals_and_proposal_set_exclusive(base_set: str) -> None:
    text = base_set + "set security ipsec policy IPSECPOL proposal-set suiteb-gcm-256\n"
    assert diags(text) == [
        "c.set:15: error: security ipsec policy IPSECPOL: proposals and proposal-set are "
        "mutually exclusive"
    ]


def test_legacy_algorithms_warned(base_set: str) -> None:
    text = base_set.replace("dh-group group14", "dh-group group2").replace(
        "authentication-algorithm hmac-sha-256-128", "authentication-algorithm hmac-md5-96"
    )
    assert diags(text) == [
        "c.set:2: warning: security ike proposal P1 dh-group: group2 is a legacy algorithm "
        "(weak); accepted for interoperability only",
        "c.set:13: warning: security ipsec proposal P2 authentication-algorithm: hmac-md5-96 is "
        "a legacy algorithm (weak); accepted for interoperability only",
    ]


def test_legacy_proposal_set_warned(base_set: str) -> None:
    text = base_set.replace(
        "set security ike policy IKEPOL proposals P1\n",
        "set security ike policy IKEPOL proposal-set compatible\n",
    )
    assert diags(text) == [
        "c.set:6: warning: security ike policy IKEPOL proposal-set: proposal-set compatible "
        "contains legacy algorithms (DES/3DES/MD5, DH group 1/2/5); accepted for "
        "interoperability only"
    ]


def test_pre_shared_key_required(base_set: str) -> None:
    text = base_set.replace(
        'set security ike policy IKEPOL pre-shared-key ascii-text "s3cret-psk"\n', ""
    )
    assert diags(text) == [
        "c.set:5: error: security ike policy IKEPOL: pre-shared-key is required by the proposals"
    ]


def test_point_to_point_unit_bound_twice(base_set: str) -> None:
    text = base_set + (
        "set security ipsec vpn VPN2 bind-interface st0.0\n"
        "set security ipsec vpn VPN2 ike gateway GW\n"
        "set security ipsec vpn VPN2 ike ipsec-policy IPSECPOL\n"
    )
    assert diags(text) == [
        "c.set:21: error: interfaces st0 unit 0: bound by several VPNs (VPN1, VPN2); a "
        "point-to-point unit takes one VPN, configure 'multipoint'"
    ]


def test_multipoint_without_nhtb_warns_and_nhtb_must_match(base_set: str) -> None:
    text = base_set + (
        "set interfaces st0 unit 0 multipoint\n"
        "set security ipsec vpn VPN2 bind-interface st0.1\n"
        "set security ipsec vpn VPN2 ike gateway GW\n"
        "set security ipsec vpn VPN2 ike ipsec-policy IPSECPOL\n"
        "set interfaces st0 unit 1 family inet address 10.0.1.1/30\n"
        "set interfaces st0 unit 0 family inet next-hop-tunnel 10.0.0.2 ipsec-vpn VPN2\n"
        "set interfaces st0 unit 0 family inet next-hop-tunnel 10.9.0.3 ipsec-vpn NOVPN\n"
        "set interfaces st0 unit 1 family inet next-hop-tunnel 10.0.1.2 ipsec-vpn VPN2\n"
    )
    assert diags(text) == [
        "c.set:17: warning: security ipsec vpn VPN1 bind-interface: no next-hop-tunnel entry on "
        "multipoint st0.0: the binding is learned automatically only from an xfrmctl (or SRX) "
        "peer; for other peers configure 'next-hop-tunnel ADDRESS ipsec-vpn VPN1'",
        "c.set:22: warning: routing-options static route 192.168.2.0/24 next-hop st0.0: "
        "ambiguous on a multipoint unit: use the peer's tunnel address as next hop so next-hop "
        "tunnel binding can choose the VPN",
        "c.set:28: error: interfaces st0 unit 0 family inet next-hop-tunnel 10.0.0.2 ipsec-vpn: "
        "VPN 'VPN2' is not bound to st0.0",
        "c.set:29: error: interfaces st0 unit 0 family inet next-hop-tunnel 10.9.0.3 ipsec-vpn: "
        "VPN 'NOVPN' is not defined",
        "c.set:29: warning: interfaces st0 unit 0 family inet next-hop-tunnel 10.9.0.3: next "
        "hop is outside the unit's subnets",
        "c.set:30: error: interfaces st0 unit 1 family inet next-hop-tunnel 10.0.1.2: needs a "
        "multipoint unit",
    ]


def test_route_via_multipoint_unit_is_ambiguous(base_set: str) -> None:
    text = base_set + "set interfaces st0 unit 0 multipoint\n"
    text += "set interfaces st0 unit 0 family inet next-hop-tunnel 10.0.0.2 ipsec-vpn VPN1\n"
    assert diags(text) == [
        "c.set:22: warning: routing-options static route 192.168.2.0/24 next-hop st0.0: "
        "ambiguous on a multipoint unit: use the peer's tunnel address as next hop so next-hop "
        "tunnel binding can choose the VPN"
    ]


def test_duplicate_gateway(base_set: str) -> None:
    text = base_set + (
        "set security ike gateway GW2 ike-policy IKEPOL\n"
        "set security ike gateway GW2 address 198.51.100.2\n"
        "set security ike gateway GW2 external-interface eth0\n"
        "set security ike gateway GW2 version v2-only\n"
    )
    assert diags(text) == [
        "c.set:24: error: security ike gateway GW2 address: gateway 'GW' already uses peer "
        "198.51.100.2 from the same local interface and address"
    ]


def test_vpn_monitor_with_dpd(base_set: str) -> None:
    text = base_set + (
        "set security ike gateway GW dead-peer-detection always-send\n"
        "set security ipsec vpn VPN1 vpn-monitor optimized\n"
    )
    assert diags(text) == [
        "c.set:24: error: security ipsec vpn VPN1 vpn-monitor: cannot be configured together "
        "with dead-peer-detection on gateway 'GW'"
    ]


def test_df_bit_set_is_refused(base_set: str) -> None:
    text = base_set + "set security ipsec vpn VPN1 df-bit set\n"
    assert diags(text) == [
        "c.set:23: error: security ipsec vpn VPN1 df-bit set: the Linux kernel cannot force DF "
        "on the outer header (it clears or copies it); use clear or copy",
    ]


def test_ah_with_encryption_and_aead_with_auth(base_set: str) -> None:
    text = base_set + (
        "set security ipsec proposal AH protocol ah\n"
        "set security ipsec proposal AH encryption-algorithm aes-128-cbc\n"
        "set security ipsec proposal GCM encryption-algorithm aes-256-gcm\n"
        "set security ipsec proposal GCM authentication-algorithm hmac-sha1-96\n"
    )
    assert diags(text) == [
        "c.set:23: error: security ipsec proposal AH: authentication-algorithm is required for AH",
        "c.set:24: error: security ipsec proposal AH encryption-algorithm: AH does not "
        "encrypt; remove encryption-algorithm or use protocol esp",
        "c.set:26: error: security ipsec proposal GCM authentication-algorithm: aes-256-gcm "
        "authenticates itself; remove authentication-algorithm",
    ]


def test_policy_based_vpn_references(base_set: str) -> None:
    text = base_set + (
        "set security ipsec vpn PB ike gateway GW\n"
        "set security ipsec vpn PB ike ipsec-policy IPSECPOL\n"
        "set security address-book global address lan 10.10.0.0/16\n"
        "set security policies from-zone trust to-zone untrust policy P1 match source-address lan\n"
        "set security policies from-zone trust to-zone untrust policy P1 match "
        "destination-address far\n"
        "set security policies from-zone trust to-zone untrust policy P1 match application any\n"
        "set security policies from-zone trust to-zone untrust policy P1 then permit tunnel "
        "ipsec-vpn VPN1\n"
        "set security policies from-zone trust to-zone untrust policy P1 then permit tunnel "
        "pair-policy P2\n"
    )
    assert diags(text) == [
        "c.set:23: warning: security ipsec vpn PB: no bind-interface and no security policy "
        "tunnels to it: the VPN carries no traffic",
        "c.set:26: error: security policies from-zone trust to-zone untrust policy P1 match "
        "destination-address: address 'far' is not in an address book of zone untrust or the "
        "global book",
        "c.set:29: error: security policies from-zone trust to-zone untrust policy P1 then "
        "permit tunnel ipsec-vpn: VPN 'VPN1' is route-based (bind-interface st0.0); a tunnel "
        "policy needs a policy-based VPN",
        "c.set:29: error: security policies from-zone trust to-zone untrust policy P1 then "
        "permit tunnel pair-policy: policy 'P2' is not defined",
    ]


def test_traceoptions_files_need_size(base_set: str) -> None:
    text = base_set + "set security ike traceoptions file ike.log files 5\n"
    assert diags(text) == [
        "c.set:23: error: security ike traceoptions file: size is required when files is set",
    ]


def test_ikev1_default_is_realised(base_set: str) -> None:
    text = base_set.replace("set security ike gateway GW version v2-only\n", "")
    assert diags(text, unrealised=True) == []


def test_unmapped_junos_interface(base_set: str) -> None:
    text = base_set.replace("external-interface eth0", "external-interface ge-0/0/3.0")
    assert diags(text) == [
        "c.set:10: error: security ike gateway GW external-interface ge-0/0/3.0: 'ge-0/0/3.0' is "
        "a Junos interface name with no Linux equivalent; map it with --map-interface "
        "ge-0/0/3.0=eth0 or 'set xfrmctl interface-map ge-0/0/3.0 eth0'"
    ]
    mapped = text + "set xfrmctl interface-map ge-0/0/3.0 eth3\n"
    config = load_text(mapped, "c.set").require()
    assert config.gateways["GW"].external_interface == "eth3"
    assert config.interface_map == {"ge-0/0/3.0": "eth3"}
    # a mapping given by the caller (the command line) wins over the file's
    cli = load_text(mapped, "c.set", interface_map={"ge-0/0/3.0": "wan0"}).require()
    assert cli.gateways["GW"].external_interface == "wan0"


def test_srx_only_statements_are_warned_once_per_hierarchy(base_set: str) -> None:
    text = base_set + (
        "set security zones security-zone untrust interfaces ge-0/0/3.0\n"
        "set security zones security-zone untrust host-inbound-traffic system-services ike\n"
        "set security zones security-zone untrust host-inbound-traffic system-services ping\n"
        "set security nat source rule-set rs1 from zone trust\n"
    )
    assert diags(text) == [
        "c.set:24: warning: security zones security-zone untrust host-inbound-traffic: SRX-only "
        "statement, accepted and ignored: filtering on Linux is configured in nftables",
        "c.set:26: warning: security nat: SRX-only statement, accepted and ignored: NAT on "
        "Linux is configured in nftables",
    ]


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        (
            "set security ike gateway GW no-nat-traversal",
            "c.set:23: warning: security ike gateway GW no-nat-traversal: not realised yet: "
            "NAT traversal cannot be disabled yet",
        ),
        (
            "set security ike respond-bad-spi 3",
            "c.set:23: warning: security ike respond-bad-spi: not realised yet: bad-SPI "
            "responses are not sent: the kernel drops ESP with an unknown SPI without telling "
            "the daemon (counted as XfrmInNoStates in /proc/net/xfrm_stat)",
        ),
        (
            "set security policies from-zone trust to-zone untrust policy p1 then deny",
            "c.set:23: warning: security policies from-zone trust to-zone untrust policy p1 then "
            "deny: not realised yet: xfrmctl does no packet filtering: traffic is not dropped "
            "by this policy; filter with nftables",
        ),
        (
            "set routing-instances VR1 interface st0.0",
            "c.set:23: warning: routing-instances: not realised yet: routing instances (VRFs) "
            "are not created yet",
        ),
    ],
)
def test_unrealised_statements_are_named(base_set: str, statement: str, message: str) -> None:
    assert diags(base_set + statement + "\n", unrealised=True) == [message]


def test_tcp_mss_is_applied(base_set: str) -> None:
    text = base_set + "set security flow tcp-mss ipsec-vpn mss 1350\n"
    assert diags(text, unrealised=True) == []
    assert load_text(text, "c.set").require().tcp_mss_ipsec_vpn == 1350


CERT_POLICY = """\
set security ike proposal RSA authentication-method rsa-signatures
set security ike proposal RSA dh-group group19
set security ike proposal RSA authentication-algorithm sha-256
set security ike proposal RSA encryption-algorithm aes-256-cbc
set security ike policy CERTPOL proposals RSA
"""


def test_signature_policy_needs_certificate_files(base_set: str) -> None:
    n = line_of(base_set) + 4
    assert diags(base_set, CERT_POLICY) == [
        f"c.set:{n}: error: security ike policy CERTPOL certificate: signature authentication "
        "needs 'certificate local-certificate ID' (with 'xfrmctl certificate ID file PATH key "
        "PATH')",
        f"c.set:{n}: error: security ike policy CERTPOL certificate: no trusted CA: configure "
        "'xfrmctl ca-profile NAME file PATH'",
    ]
    named = CERT_POLICY + (
        "set security ike policy CERTPOL certificate local-certificate host-cert\n"
        "set security ike policy CERTPOL certificate trusted-ca lab-ca\n"
    )
    assert diags(base_set, named) == [
        f"c.set:{n + 1}: error: security ike policy CERTPOL certificate local-certificate: "
        "certificate 'host-cert' has no files: configure 'xfrmctl certificate host-cert file "
        "PATH key PATH'",
        f"c.set:{n + 2}: error: security ike policy CERTPOL certificate trusted-ca: CA profile "
        "'lab-ca' is not defined: configure 'xfrmctl ca-profile lab-ca file PATH'",
    ]
    files = named + (
        "set xfrmctl certificate host-cert file /etc/xfrmctl/host.pem\n"
        "set xfrmctl certificate host-cert key /etc/xfrmctl/host.key\n"
        "set xfrmctl ca-profile lab-ca file /etc/xfrmctl/ca.pem\n"
    )
    assert diags(base_set, files) == []
    config = load_text(base_set + files, "c.set").require()
    cert = config.certificates["host-cert"]
    assert (cert.certificate_file, cert.key_file) == (
        "/etc/xfrmctl/host.pem",
        "/etc/xfrmctl/host.key",
    )
    assert config.ca_profiles["lab-ca"].file == "/etc/xfrmctl/ca.pem"


def test_certificate_paths_are_absolute_and_complete(base_set: str) -> None:
    n = line_of(base_set)
    assert diags(base_set, "set xfrmctl certificate c1 file certs/c1.pem\n") == [
        f"c.set:{n}: error: xfrmctl certificate c1 file certs/c1.pem: expected an absolute file "
        "path",
        f"c.set:{n}: error: xfrmctl certificate c1: key is required",
    ]
    assert diags(base_set, "set xfrmctl certificate c1 file /c1.pem\n") == [
        f"c.set:{n}: error: xfrmctl certificate c1: key is required",
    ]


def test_routes_outside_tunnels_and_multipath_are_named(base_set: str) -> None:
    extra = (
        "set routing-options static route 0.0.0.0/0 next-hop 192.0.2.254\n"
        "set routing-options static route 10.8.0.0/16 next-hop [ 10.0.0.2 10.0.0.3 ]\n"
    )
    assert diags(base_set, extra, unrealised=True) == [
        "c.set:23: warning: routing-options static route 0.0.0.0/0 next-hop 192.0.2.254: not "
        "through a tunnel interface: xfrmctl installs only routes via st0 units; leave this "
        "route to the host's network configuration",
        "c.set:24: warning: routing-options static route 10.8.0.0/16 next-hop: not realised "
        "yet: only the first next hop is installed (no multipath)",
    ]


def test_traceoptions_file_size_range(base_set: str) -> None:
    assert diags(base_set, "set security ike traceoptions file ike.log size 2g files 3\n") == [
        "c.set:23: error: security ike traceoptions file size 2g: out of range 10k..1g"
    ]
    assert diags(base_set, "set security ike traceoptions file ike.log size 1m files 3\n") == []


def test_traceoptions_size_needs_a_file_name(base_set: str) -> None:
    assert diags(base_set, "set security ike traceoptions file size 1m\n") == [
        "c.set:23: error: security ike traceoptions file: a file name is required with files "
        "and size"
    ]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "set routing-instances VR1 interface st0.0\n"
            "set routing-instances VR2 interface st0.0\n",
            [
                "c.set:24: error: routing-instances VR2 interface st0.0: already in routing "
                "instance 'VR1'"
            ],
        ),
        (
            "set routing-instances VR1 interface st0.7\n",
            [
                "c.set:23: error: routing-instances VR1 interface st0.7: interface st0.7 is not "
                "configured"
            ],
        ),
        (
            "set routing-options static route 10.7.0.0/16 next-hop st0.7\n",
            [
                "c.set:23: error: routing-options static route 10.7.0.0/16 next-hop st0.7: "
                "interface st0.7 is not configured"
            ],
        ),
        (
            "set routing-options static route 2001:db8::/32 next-hop 10.0.0.2\n",
            [
                "c.set:23: error: routing-options static route 2001:db8::/32 next-hop 10.0.0.2: "
                "next hop address family differs from the prefix"
            ],
        ),
        (
            "set security ipsec vpn VPN1 ike proxy-identity local 10.0.0.0/8\n"
            "set security ipsec vpn VPN1 ike proxy-identity remote 2001:db8::/32\n",
            [
                "c.set:23: error: security ipsec vpn VPN1 ike proxy-identity: local and remote "
                "must be of the same address family"
            ],
        ),
        (
            "set security ipsec vpn VPN1 traffic-selector ts1 local-ip 10.0.0.0/8\n",
            [
                "c.set:23: error: security ipsec vpn VPN1 traffic-selector ts1: local-ip and "
                "remote-ip are required"
            ],
        ),
        (
            "set security ipsec vpn VPN1 traffic-selector ts1 local-ip 10.0.0.0/8 remote-ip "
            "10.1.0.0/16\nset security ipsec vpn VPN1 ike proxy-identity local 10.0.0.0/8\n",
            [
                "c.set:23: error: security ipsec vpn VPN1 traffic-selector: traffic-selector and "
                "proxy-identity are mutually exclusive"
            ],
        ),
        (
            "set security ike gateway GW local-address 2001:db8::1\n",
            [
                "c.set:23: error: security ike gateway GW local-address: address family differs "
                "from the peer address 198.51.100.2"
            ],
        ),
        (
            "set interfaces st0 unit 1 if-id 1\n",
            ["c.set:23: error: interfaces st0 unit 1 if-id: if_id 1 is already used by st0.0"],
        ),
        (
            "set security ike policy IKEPOL mode aggressive\n",
            [
                "c.set:23: warning: security ike policy IKEPOL mode: aggressive mode does not "
                "exist in IKEv2 (gateway GW is v2-only); ignored"
            ],
        ),
        (
            "set security ike gateway GW dynamic hostname peer.example.net\n",
            ["c.set:8: error: security ike gateway GW: address and dynamic are mutually exclusive"],
        ),
        (
            "set security ike gateway GW external-interface st0.0\n",
            [
                "c.set:23: error: security ike gateway GW external-interface: a tunnel interface "
                "cannot carry IKE; name the physical interface"
            ],
        ),
        (
            "set security ipsec vpn VPN1 manual gateway 198.51.100.2\n",
            [
                "c.set:17: error: security ipsec vpn VPN1: ike and manual are mutually exclusive",
                "c.set:23: error: security ipsec vpn VPN1 manual: spi is required",
                "c.set:23: error: security ipsec vpn VPN1 manual: external-interface is required",
                "c.set:23: error: security ipsec vpn VPN1 manual: encryption is required for ESP",
                "c.set:23: error: security ipsec vpn VPN1 manual: authentication is required",
            ],
        ),
    ],
)
def test_more_commit_checks(base_set: str, extra: str, expected: list[str]) -> None:
    assert diags(base_set, extra) == expected


def test_multipoint_subnets_must_not_overlap(base_set: str) -> None:
    extra = (
        "set interfaces st0 unit 0 multipoint\n"
        "set interfaces st0 unit 0 family inet next-hop-tunnel 10.0.0.2 ipsec-vpn VPN1\n"
        "set interfaces st0 unit 5 multipoint\n"
        "set interfaces st0 unit 5 family inet address 10.0.0.5/24\n"
    )
    assert diags(base_set.replace("next-hop st0.0", "next-hop 10.0.0.2"), extra) == [
        "c.set:26: error: interfaces st0 unit 5 family: 10.0.0.5/24 overlaps st0.0 "
        "(10.0.0.0/30); multipoint units need distinct subnets"
    ]
