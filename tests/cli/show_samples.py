"""Snapshots filled with the values of the seeds' sample outputs (spec section 4)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from xfrmctl.state.model import (
    IkeSa,
    InactiveTunnel,
    IpsecSa,
    IpsecStatistics,
    NhtbEntry,
    Phase2Negotiation,
    Snapshot,
    Tunnel,
)

GOLDEN = Path(__file__).parent / "golden"

ANY4 = "ipv4_subnet(any:0,[0..7]=0.0.0.0/0)"


def golden(name: str) -> str:
    return (GOLDEN / name).read_text()


# ---- IKE -------------------------------------------------------------------------------

SEED000_IKE = IkeSa(
    index=5957443,
    gateway_name="gw-hub",
    remote_address="212.45.64.2",
    remote_port=500,
    local_address="192.168.179.2",
    local_port=500,
    state="UP",
    role="Responder",
    initiator_cookie="4ede589f52cef9c9",
    responder_cookie="8c9d70cb3a4ce3f2",
    exchange_type="Main",
    authentication_method="Pre-shared-keys",
    lifetime_remaining=560,
    peer_ike_id="212.45.64.2",
    xauth_assigned_ip="0.0.0.0",
    authentication_algorithm="hmac-sha1-96",
    encryption_algorithm="3des-cbc",
    prf_algorithm="hmac-sha1",
    dh_group="DH-group-2",
    input_bytes=6460,
    output_bytes=6400,
    input_packets=73,
    output_packets=74,
    flags=("IKE SA is created",),
    ipsec_sas_created=0,
    ipsec_sas_deleted=0,
    phase2_negotiations_in_progress=0,
    negotiations=(
        Phase2Negotiation(
            negotiation_type="Quick mode",
            role="Responder",
            message_id=0,
            local_address="192.168.179.2",
            local_port=500,
            remote_address="212.45.64.2",
            remote_port=500,
            local_identity="192.168.179.2",
            remote_identity="212.45.64.2",
            flags=("IKE SA is created",),
        ),
    ),
    established_at=1795000000.0,
)


def _guide_ike(**kw: object) -> IkeSa:
    """An IKE SA of the guide's older layout: no gateway name, ike-id, XAuth or DH lines."""
    base: dict[str, object] = {
        "gateway_name": None,
        "remote_port": 500,
        "local_port": 500,
        "state": "UP",
        "authentication_method": "Pre-shared-keys",
        "peer_ike_id": None,
        "xauth_assigned_ip": None,
        "authentication_algorithm": "sha1",
        "encryption_algorithm": "aes-cbc (128 bits)",
        "prf_algorithm": "hmac-sha1",
        "dh_group": None,
        "flags": ("Caller notification sent",),
    }
    base.update(kw)
    return IkeSa(**base)  # type: ignore[arg-type]


def _quick(role: str, msg: int, local: str, remote: str, port: int = 500, **kw: object):
    base: dict[str, object] = {
        "negotiation_type": "Quick mode",
        "role": role,
        "message_id": msg,
        "local_address": local,
        "local_port": port,
        "remote_address": remote,
        "remote_port": port,
        "local_identity": ANY4,
        "remote_identity": ANY4,
        "flags": ("Caller notification sent", "Waiting for done"),
    }
    base.update(kw)
    return Phase2Negotiation(**base)  # type: ignore[arg-type]


HUB_IKE_6 = _guide_ike(
    index=6,
    remote_address="3.3.3.2",
    local_address="1.1.1.2",
    role="Responder",
    initiator_cookie="94906ae2263bbd8e",
    responder_cookie="1c35e4c3fc54d6d3",
    exchange_type="Main",
    lifetime_remaining=3571,
    input_bytes=1128,
    output_bytes=988,
    input_packets=6,
    output_packets=5,
    ipsec_sas_created=1,
    phase2_negotiations_in_progress=1,
    negotiations=(_quick("Responder", 1350777248, "1.1.1.2", "3.3.3.2"),),
)
HUB_IKE_7 = replace(
    HUB_IKE_6,
    index=7,
    remote_address="2.2.2.2",
    initiator_cookie="7e7a1c0367dfe73c",
    responder_cookie="f284221c656a5fbc",
)
IKEV2_IKE = _guide_ike(
    index=1,
    remote_address="2.2.2.2",
    local_address="1.1.1.2",
    role="Responder",
    initiator_cookie="744a594d957dd513",
    responder_cookie="1e1307db82f58387",
    exchange_type="IKEv2",
    lifetime_remaining=28570,
    input_bytes=852,
    output_bytes=940,
    input_packets=5,
    output_packets=5,
    ipsec_sas_created=1,
    phase2_negotiations_in_progress=None,
)
IPV6_IKE = _guide_ike(
    index=5,
    remote_address="1111::1112",
    local_address="1111::1111",
    role="Initiator",
    initiator_cookie="e48efd6a444853cf",
    responder_cookie="0d09c59aafb720be",
    exchange_type="Aggressive",
    lifetime_remaining=19518,
    peer_ike_id="not valid",
    xauth_assigned_ip="0.0.0.0",
    encryption_algorithm="aes-128-cbc",
    input_bytes=1568,
    output_bytes=2748,
    input_packets=6,
    output_packets=23,
    ipsec_sas_created=5,
    phase2_negotiations_in_progress=1,
    negotiations=(_quick("Initiator", 2900338624, "1111::1111", "1111::1112"),),
)
NATT_IKE = _guide_ike(
    index=5802591,
    remote_address="1.0.0.1",
    remote_port=4500,
    local_address="71.1.1.1",
    local_port=4500,
    role="Responder",
    initiator_cookie="d31d6833108fd69f",
    responder_cookie="9ddfe2ce133086aa",
    exchange_type="Main",
    lifetime_remaining=25704,
    peer_ike_id="branch_natt1@juniper.net",
    xauth_assigned_ip="0.0.0.0",
    authentication_algorithm="hmac-sha1-96",
    encryption_algorithm="3des-cbc",
    flags=("IKE SA is created",),
    ipsec_sas_created=8,
    ipsec_sas_deleted=2,
    phase2_negotiations_in_progress=0,
    negotiations=(
        _quick(
            "Responder",
            0,
            "71.1.1.1",
            "1.0.0.1",
            port=4500,
            local_identity="responder_natt1@juniper.net",
            remote_identity="branch_natt1@juniper.net",
            flags=("IKE SA is created",),
        ),
    ),
    local_behind_nat=True,
    remote_behind_nat=True,
)
CLUSTER_IKE = _guide_ike(
    index=1400579286,
    remote_address="1.1.100.22",
    remote_port=4500,
    local_address="13.168.11.100",
    local_port=4500,
    role="Initiator",
    initiator_cookie="487cfb570908425c",
    responder_cookie="7710c8487f9ff20c",
    exchange_type="Main",
    lifetime_remaining=28622,
    peer_ike_id="44.44.44.44",
    xauth_user_name="not available",
    xauth_assigned_ip="0.0.0.0",
    authentication_algorithm="hmac-md5-96",
    encryption_algorithm="3des-cbc",
    prf_algorithm="hmac-md5",
    flags=(),
)


# ---- IPsec -----------------------------------------------------------------------------


def sa_pair(
    inbound: int,
    outbound: int,
    hard: int | None,
    soft: int | None,
    algorithm: str = "ESP:3des/sha1",
    **kw: object,
) -> tuple[IpsecSa, IpsecSa]:
    base: dict[str, object] = {
        "algorithm": algorithm,
        "hard_lifetime_remaining": hard,
        "soft_lifetime_remaining": soft,
        "authentication": "hmac-sha1-96",
        "encryption": "3des-cbc",
    }
    base.update(kw)
    return (
        IpsecSa(direction="inbound", spi=inbound, **base),  # type: ignore[arg-type]
        IpsecSa(direction="outbound", spi=outbound, **base),  # type: ignore[arg-type]
    )


SEED000_TUNNEL = Tunnel(
    tunnel_id=131073,
    virtual_system="root",
    vpn_name="vpn-hub",
    local_gateway="192.168.179.2",
    remote_gateway="212.45.64.2",
    local_identity="ipv4(any:0,[0..3]=11.11.11.2)",
    remote_identity="ipv4(any:0,[0..3]=11.11.11.1)",
    version="IKEv1",
    df_bit="clear",
    bind_interface="st0.0",
    port=500,
    nego_count=2,
    fail_count=0,
    def_del_count=0,
    flag=0x600A29,
    tunnel_down_reason="Delete payload received",
    vpn_monitoring="-",
    sas=sa_pair(0x6BE505E0, 0xA352CF0F, 1718, 1125),
    statistics=IpsecStatistics(
        encrypted_bytes=920, decrypted_bytes=6208, encrypted_packets=5, decrypted_packets=87
    ),
)

NATT_TUNNEL = Tunnel(
    tunnel_id=131073,
    vpn_name="vpn-natt",
    local_gateway="71.1.1.1",
    remote_gateway="1.0.0.1",
    local_identity=ANY4,
    remote_identity=ANY4,
    version="IKEv1",
    bind_interface="st0.0",
    port=4500,
    sas=sa_pair(0xA5224CD9, 0x82A86A07, 3571, 2971),
)

MONITOR_DOWN_TUNNEL = Tunnel(
    tunnel_id=16384,
    vpn_name="vpn-monitored",
    local_gateway="1.1.1.2",
    remote_gateway="1.1.1.1",
    local_identity=ANY4,
    remote_identity=ANY4,
    version="IKEv1",
    bind_interface="st0.0",
    port=500,
    vpn_monitoring="DOWN",
    sas=sa_pair(0xAF88BAA, 0xF4E3E5F4, 28795, 0, replay_window_size=32),
    statistics=IpsecStatistics(
        encrypted_bytes=536408,
        decrypted_bytes=696696,
        encrypted_packets=1246,
        decrypted_packets=888,
        replay_errors=3,
        esp_authentication_failures=1,
        bad_trailers=2,
    ),
)

IPV6_TUNNEL = Tunnel(
    tunnel_id=131074,
    vpn_name="vpn-v6",
    local_gateway="1212::1111",
    remote_gateway="1212::1112",
    local_identity="ipv6_subnet(any:0,[0..15]=::/0)",
    remote_identity="ipv6_subnet(any:0,[0..15]=::/0)",
    version="IKEv2",
    bind_interface="st0.1",
    port=500,
    sas=sa_pair(0x14CAF1D9, 0x9A4DB486, 3597, 2970),
)

GCM_TUNNEL = Tunnel(
    tunnel_id=131075,
    vpn_name="vpn-gcm",
    local_gateway="192.0.2.1",
    remote_gateway="198.51.100.7",
    local_identity=ANY4,
    remote_identity=ANY4,
    version="IKEv2",
    bind_interface="st0.2",
    port=4500,
    vpn_monitoring="UP",
    sas=(
        # Outbound listed first on purpose: the query puts inbound first.
        sa_pair(
            0xC0FFEE01,
            0xC0FFEE02,
            3000,
            2400,
            algorithm="ESP:aes-gcm-256/None",
            lifesize_remaining=1048000,
            authentication="None",
            encryption="aes-gcm (256 bits)",
        )[::-1]
    ),
)

# Rekey overlap (the guide's `index 5` sample) for a policy-based VPN, in the canonical layout.
REKEY_TUNNEL = Tunnel(
    tunnel_id=131076,
    vpn_name="my-vpn",
    local_gateway="1.1.1.1",
    remote_gateway="1.1.1.2",
    local_identity=ANY4,
    remote_identity=ANY4,
    version="IKEv1",
    policy_name="my-policy",
    port=500,
    nego_count=3,
    sas=(
        IpsecSa(
            direction="inbound",
            spi=494001027,
            algorithm="ESP:3des/sha1",
            hard_lifetime_remaining=130,
            soft_lifetime_remaining=0,
            authentication="hmac-sha1-96",
            encryption="3des-cbc",
        ),
        *sa_pair(1498711950, 4038397695, 175, 40),
    ),
)

MANUAL_TUNNEL = Tunnel(
    tunnel_id=131077,
    vpn_name="vpn-manual",
    local_gateway="10.0.0.1",
    remote_gateway="10.0.0.2",
    local_identity=ANY4,
    remote_identity=ANY4,
    version="IKEv1",
    bind_interface="st0.3",
    port=500,
    sas=sa_pair(
        0x1000,
        0x1001,
        None,
        None,
        algorithm="ESP:aes-128/sha256",
        type="manual",
        anti_replay=False,
        replay_window_size=0,
        authentication="hmac-sha256-128",
        encryption="aes-cbc (128 bits)",
    ),
)

INACTIVE = (
    InactiveTunnel(
        tunnel_id=131078,
        vpn_name="vpn-westford",
        local_gateway="1.1.1.2",
        remote_gateway="203.0.113.9",
        version="IKEv2",
        bind_interface="st0.0",
        nego_count=4,
        fail_count=4,
        flag=0x40608A29,
        establish_immediately=True,
        tunnel_down_reason="Peer is not responding",
        last_attempt=1795427400.0,
    ),
    InactiveTunnel(
        tunnel_id=131079,
        vpn_name="vpn-spare",
        local_gateway="1.1.1.2",
        remote_gateway="2001:db8:ffff::1",
        version="IKEv2",
        tunnel_down_reason="SA not initiated",
    ),
)

NHTB = (  # the table's order: Static entries in configuration order, then Auto in learn order
    NhtbEntry(next_hop="11.1.1.2", interface="st0.1", vpn_name="autokey", flag="Static"),
    NhtbEntry(
        next_hop="10.11.11.11",
        interface="st0.0",
        vpn_name="sunnyvale-vpn",
        flag="Static",
        tunnel_id=131073,
    ),
    NhtbEntry(next_hop="10.11.11.12", interface="st0.0", vpn_name="westford-vpn", flag="Auto"),
    NhtbEntry(next_hop="11.1.1.3", interface="st0.1", vpn_name="pbd-4-6", flag="Auto"),
)

SNAPSHOT = Snapshot(
    ike_security_associations=(SEED000_IKE, HUB_IKE_7, HUB_IKE_6, IPV6_IKE, NATT_IKE),
    tunnels=(SEED000_TUNNEL, MONITOR_DOWN_TUNNEL, IPV6_TUNNEL, GCM_TUNNEL),
    inactive_tunnels=INACTIVE,
    next_hop_tunnels=NHTB,
)
