"""Renderers against the seeds' sample outputs, line for line (spec section 4)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from show_samples import (  # type: ignore[import-not-found, unused-ignore]
    CLUSTER_IKE,
    GCM_TUNNEL,
    HUB_IKE_6,
    HUB_IKE_7,
    IKEV2_IKE,
    INACTIVE,
    IPV6_IKE,
    IPV6_TUNNEL,
    MANUAL_TUNNEL,
    MONITOR_DOWN_TUNNEL,
    NATT_IKE,
    NATT_TUNNEL,
    NHTB,
    REKEY_TUNNEL,
    SEED000_IKE,
    SEED000_TUNNEL,
    SNAPSHOT,
    golden,
)

from xfrmctl.cli.render import render_text
from xfrmctl.state.codec import to_json
from xfrmctl.state.model import IpsecStatistics, NhtbEntry, Snapshot
from xfrmctl.state.query import (
    ActionResult,
    ClearIkeSa,
    Query,
    ShowIkeSa,
    ShowIpsecInactiveTunnels,
    ShowIpsecNextHopTunnels,
    ShowIpsecSa,
    ShowIpsecStatistics,
    answer,
)


def _show(snapshot: Snapshot, query: Query) -> str:
    return render_text(query, answer(snapshot, query))


def _lines(text: str) -> list[str]:
    return text.split("\n")


@pytest.mark.parametrize(
    ("golden_name", "sas"),
    [
        ("ike_sa_detail_seed000.txt", (SEED000_IKE,)),
        ("ike_sa_detail_hub.txt", (HUB_IKE_6,)),
        ("ike_sa_detail_ikev2.txt", (IKEV2_IKE,)),
        ("ike_sa_detail_ipv6.txt", (IPV6_IKE,)),
        ("ike_sa_detail_natt.txt", (NATT_IKE,)),
        ("ike_sa_detail_cluster.txt", (CLUSTER_IKE,)),
    ],
)
def test_ike_sa_detail_matches_sample(golden_name, sas):
    snapshot = Snapshot(ike_security_associations=sas)
    text = _show(snapshot, ShowIkeSa(level="detail"))
    assert _lines(text) == _lines(golden(golden_name))


def test_ike_sa_detail_separates_sas_by_one_blank_line():
    snapshot = Snapshot(ike_security_associations=(IKEV2_IKE, CLUSTER_IKE))
    text = _show(snapshot, ShowIkeSa(level="detail"))
    expected = golden("ike_sa_detail_ikev2.txt") + "\n" + golden("ike_sa_detail_cluster.txt")
    assert text == expected


def test_ike_sa_list_hub_sample():
    snapshot = Snapshot(ike_security_associations=(HUB_IKE_7, HUB_IKE_6))
    assert _lines(_show(snapshot, ShowIkeSa())) == _lines(golden("ike_sa_list_hub.txt"))


def test_ike_sa_list_long_values_push_columns_right():
    snapshot = Snapshot(ike_security_associations=(CLUSTER_IKE, NATT_IKE, IPV6_IKE, IKEV2_IKE))
    assert _lines(_show(snapshot, ShowIkeSa())) == _lines(golden("ike_sa_list_mixed.txt"))


def test_ike_sa_list_empty_prints_nothing():
    assert _show(Snapshot(), ShowIkeSa()) == ""


def test_ike_sa_brief_is_the_list():
    assert _show(SNAPSHOT, ShowIkeSa(level="brief")) == _show(SNAPSHOT, ShowIkeSa())


def test_ike_sa_peer_and_index_filters():
    assert _show(SNAPSHOT, ShowIkeSa(peer="3.3.3.2")) == (
        "Index   Remote Address  State  Initiator cookie  Responder cookie  Mode\n"
        "6       3.3.3.2         UP     94906ae2263bbd8e  1c35e4c3fc54d6d3  Main\n"
    )
    assert _show(SNAPSHOT, ShowIkeSa(index=5957443, level="detail")) == golden(
        "ike_sa_detail_seed000.txt"
    )
    # IPv6 peers compare as addresses, not as strings.
    assert _show(SNAPSHOT, ShowIkeSa(peer="1111:0:0::1112")).splitlines()[1].startswith("5 ")
    assert _show(SNAPSHOT, ShowIkeSa(peer="9.9.9.9")) == ""


def test_ike_sa_family_filter():
    text = _show(SNAPSHOT, ShowIkeSa(family="inet6"))
    assert text.splitlines()[1:] == [
        "5       1111::1112      UP     e48efd6a444853cf  0d09c59aafb720be  Aggressive"
    ]
    assert len(_show(SNAPSHOT, ShowIkeSa(family="inet")).splitlines()) == 1 + 4


def test_ipsec_sa_detail_seed000():
    snapshot = Snapshot(tunnels=(SEED000_TUNNEL,))
    text = _show(snapshot, ShowIpsecSa(level="detail"))
    assert _lines(text) == _lines(golden("ipsec_sa_detail_seed000.txt"))


def test_ipsec_sa_detail_multipoint_lists_its_next_hop_tunnels():
    """A tunnel on a multipoint unit: after Bind-interface, one line per NHTB entry that sends
    traffic into it; --json carries the same entries under the tunnel."""
    hub = replace(
        SEED000_TUNNEL,
        next_hop_tunnels=(
            NhtbEntry(next_hop="10.11.11.11", interface="st0.0", vpn_name="vpn-hub",
                      flag="Static", tunnel_id=131073),
            NhtbEntry(next_hop="10.11.11.12", interface="st0.0", vpn_name="vpn-hub",
                      flag="Auto", tunnel_id=131073),
        ),
    )  # fmt: skip
    text = _show(Snapshot(tunnels=(hub,)), ShowIpsecSa(level="detail"))
    assert text == golden("ipsec_sa_detail_multipoint.txt")
    data: Any = to_json(answer(Snapshot(tunnels=(hub,)), ShowIpsecSa(level="detail")))
    [tunnel] = data["tunnels"]
    assert tunnel["bind_interface"] == "st0.0"
    assert tunnel["next_hop_tunnels"] == [
        {"next_hop": "10.11.11.11", "interface": "st0.0", "vpn_name": "vpn-hub",
         "flag": "Static", "tunnel_id": 131073},
        {"next_hop": "10.11.11.12", "interface": "st0.0", "vpn_name": "vpn-hub",
         "flag": "Auto", "tunnel_id": 131073},
    ]  # fmt: skip


def test_ipsec_sa_index_alone_prints_detail():
    text = _show(SNAPSHOT, ShowIpsecSa(index=131073))
    assert text == golden("ipsec_sa_detail_seed000.txt")


def test_ipsec_sa_list_natt_sample():
    snapshot = Snapshot(tunnels=(NATT_TUNNEL,))
    assert _lines(_show(snapshot, ShowIpsecSa())) == _lines(golden("ipsec_sa_list_natt.txt"))


def test_ipsec_sa_list_multi_with_monitoring_ipv6_and_kilobytes():
    snapshot = Snapshot(tunnels=(GCM_TUNNEL, IPV6_TUNNEL, MONITOR_DOWN_TUNNEL))
    text = _show(snapshot, ShowIpsecSa(level="brief"))
    assert _lines(text) == _lines(golden("ipsec_sa_list_multi.txt"))


def test_ipsec_sa_list_empty():
    assert _show(Snapshot(), ShowIpsecSa()) == "  Total active tunnels: 0\n"


def test_ipsec_sa_family_and_vpn_filters():
    text = _show(SNAPSHOT, ShowIpsecSa(family="inet6"))
    assert text.splitlines()[0] == "  Total active tunnels: 1"
    assert [line.split()[-1] for line in text.splitlines()[2:]] == ["1212::1112"] * 2
    text = _show(SNAPSHOT, ShowIpsecSa(vpn_name="vpn-hub", level="brief"))
    assert text.splitlines()[2] == (
        "  <131073 ESP:3des/sha1   6be505e0 1718/ unlim  -   root 500   212.45.64.2"
    )


def test_ipsec_sa_detail_rekey_overlap_manual_and_monitoring():
    snapshot = Snapshot(tunnels=(MANUAL_TUNNEL, REKEY_TUNNEL, MONITOR_DOWN_TUNNEL))
    text = _show(snapshot, ShowIpsecSa(level="detail"))
    assert _lines(text) == _lines(golden("ipsec_sa_detail_overlap.txt"))


def test_ipsec_statistics_index_prints_counters_only():
    text = _show(SNAPSHOT, ShowIpsecStatistics(index=131073))
    assert _lines(text) == _lines(golden("ipsec_statistics_index.txt"))


def test_ipsec_statistics_all_sums_tunnels():
    text = _show(SNAPSHOT, ShowIpsecStatistics())
    assert _lines(text) == _lines(golden("ipsec_statistics_all.txt"))


def test_ipsec_statistics_large_counter_keeps_a_blank():
    big = replace(SEED000_TUNNEL, statistics=IpsecStatistics(encrypted_bytes=10**20))
    text = _show(Snapshot(tunnels=(big,)), ShowIpsecStatistics(index=131073))
    assert text.splitlines()[1] == "  Encrypted bytes: 100000000000000000000"


def test_next_hop_tunnels_samples_and_interface_filter():
    snapshot = Snapshot(next_hop_tunnels=NHTB)
    text = _show(snapshot, ShowIpsecNextHopTunnels(interface_name="st0.0"))
    assert _lines(text) == _lines(golden("nhtb_hub.txt"))
    text = _show(snapshot, ShowIpsecNextHopTunnels(interface_name="st0.1"))
    assert _lines(text) == _lines(golden("nhtb_reference.txt"))
    all_lines = _show(snapshot, ShowIpsecNextHopTunnels()).splitlines()
    assert (
        all_lines
        == golden("nhtb_hub.txt").splitlines() + golden("nhtb_reference.txt").splitlines()[1:]
    )
    assert _show(snapshot, ShowIpsecNextHopTunnels(interface_name="st0.9")) == ""


def test_next_hop_tunnels_keep_the_table_order_static_first():
    """Spec §3.1 rule 8: per unit, Static entries first, then Auto ones in learn order --
    whatever their addresses."""
    entries = (
        NhtbEntry(next_hop="198.18.254.13", interface="st0.0", vpn_name="spoke3", flag="Static"),
        NhtbEntry(next_hop="198.18.254.12", interface="st0.0", vpn_name="spoke2", flag="Auto"),
        NhtbEntry(next_hop="198.18.254.11", interface="st0.0", vpn_name="spoke1", flag="Auto"),
    )
    text = _show(Snapshot(next_hop_tunnels=entries), ShowIpsecNextHopTunnels())
    assert text.splitlines() == [
        "Next-hop gateway  interface   IPSec VPN name            Flag",
        "198.18.254.13     st0.0       spoke3                    Static",
        "198.18.254.12     st0.0       spoke2                    Auto",
        "198.18.254.11     st0.0       spoke1                    Auto",
    ]


def test_inactive_tunnels():
    text = _show(Snapshot(inactive_tunnels=INACTIVE), ShowIpsecInactiveTunnels())
    assert _lines(text) == _lines(golden("ipsec_inactive_tunnels.txt"))


def test_inactive_tunnels_vpn_filter_and_empty():
    text = _show(Snapshot(inactive_tunnels=INACTIVE), ShowIpsecInactiveTunnels(vpn_name="x"))
    assert text == (
        "  Total inactive tunnels: 0\n  Total inactive tunnels with establish immediately: 0\n"
    )


def test_clear_prints_nothing_and_request_prints_its_note():
    assert render_text(ClearIkeSa(), ActionResult(affected=2)) == ""
    assert render_text(ClearIkeSa(), ActionResult(message="reloaded")) == "reloaded\n"


def test_inactive_tunnels_detail():
    query = ShowIpsecInactiveTunnels(level="detail")
    text = _show(Snapshot(inactive_tunnels=INACTIVE), query)
    assert _lines(text) == _lines(golden("ipsec_inactive_tunnels_detail.txt"))
