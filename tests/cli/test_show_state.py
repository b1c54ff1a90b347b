"""Snapshot records: the field-name table covers them, JSON round-trips, filters select."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from show_samples import (  # type: ignore[import-not-found, unused-ignore]
    GCM_TUNNEL,
    HUB_IKE_6,
    NATT_IKE,
    SNAPSHOT,
)

from xfrmctl.state import model, query
from xfrmctl.state.codec import StateDecodeError, from_json, to_json
from xfrmctl.state.fields import OUTPUT_FIELDS
from xfrmctl.state.model import IkeSa, IpsecSa, IpsecStatistics, Snapshot, Tunnel
from xfrmctl.state.query import (
    ClearIkeSa,
    ClearIpsecSa,
    IkeSaView,
    InactiveTunnelsView,
    IpsecSaView,
    IpsecStatisticsView,
    NextHopTunnelsView,
    ShowIpsecSa,
    select_ike_sas,
    select_tunnels,
)

RECORDS = [
    model.IkeSa,
    model.Phase2Negotiation,
    model.Tunnel,
    model.IpsecSa,
    model.IpsecStatistics,
    model.InactiveTunnel,
    model.NhtbEntry,
    query.IkeSaView,
    query.IpsecSaView,
    query.IpsecStatisticsView,
    query.InactiveTunnelsView,
    query.NextHopTunnelsView,
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.__name__)
def test_field_table_lists_exactly_the_record_fields_in_order(record):
    assert list(OUTPUT_FIELDS[record.__name__]) == [f.name for f in dataclasses.fields(record)]


def test_field_table_has_no_stray_records():
    assert set(OUTPUT_FIELDS) == {r.__name__ for r in RECORDS}


def test_snapshot_round_trips_through_json():
    data = to_json(SNAPSHOT)
    assert from_json(Snapshot, data) == SNAPSHOT


@pytest.mark.parametrize(
    "view",
    [
        IkeSaView(ike_security_associations=(HUB_IKE_6, NATT_IKE)),
        IpsecSaView(total_active_tunnels=1, tunnels=(GCM_TUNNEL,)),
        IpsecStatisticsView(virtual_system="Root", statistics=IpsecStatistics(replay_errors=2)),
        InactiveTunnelsView(
            total_inactive_tunnels=2,
            total_inactive_tunnels_immediately=1,
            tunnels=SNAPSHOT.inactive_tunnels,
        ),
        NextHopTunnelsView(next_hop_tunnels=SNAPSHOT.next_hop_tunnels),
    ],
)
def test_views_round_trip(view):
    assert from_json(type(view), to_json(view)) == view


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("index"), "index: missing"),
        (lambda d: d.update(index="6"), "index: expected an integer"),
        (lambda d: d.update(index=True), "index: expected an integer"),
        (lambda d: d.update(state="GONE"), "state: expected one of 'UP', 'DOWN'"),
        (lambda d: d.update(flags="x"), "flags: expected a list"),
        (lambda d: d.update(extra=1), "<root>: unknown field 'extra' in IkeSa"),
        (lambda d: d.update(initiator_cookie="XYZ"), "<root>: initiator_cookie must be 16"),
        (lambda d: d["negotiations"][0].update(role="x"), "negotiations[0].role: expected one of"),
        (lambda d: d.update(remote_port=70000), "<root>: remote_port 70000 is not a UDP port"),
    ],
)
def test_decoding_is_strict(mutate, message):
    data = to_json(HUB_IKE_6)
    assert isinstance(data, dict)
    mutate(data)
    with pytest.raises(StateDecodeError) as info:
        from_json(IkeSa, data)
    assert str(info.value).startswith(message)


def test_statistics_reject_negative_counters_and_add_up():
    with pytest.raises(ValueError, match="replay_errors must not be negative"):
        IpsecStatistics(replay_errors=-1)
    total = IpsecStatistics(encrypted_bytes=1, bad_headers=2) + IpsecStatistics(encrypted_bytes=5)
    assert total == IpsecStatistics(encrypted_bytes=6, bad_headers=2)


def test_ipsec_sa_rejects_a_spi_beyond_32_bits():
    with pytest.raises(ValueError, match="out of range"):
        IpsecSa(
            direction="inbound",
            spi=1 << 32,
            algorithm="ESP:3des/sha1",
            hard_lifetime_remaining=1,
            soft_lifetime_remaining=1,
            authentication="hmac-sha1-96",
            encryption="3des-cbc",
        )


def test_clear_selection_by_peer_port_index_family():
    def indexes(q: ClearIkeSa) -> list[int]:
        return [sa.index for sa in select_ike_sas(SNAPSHOT, q)]

    assert indexes(ClearIkeSa()) == [5, 6, 7, 5802591, 5957443]
    assert indexes(ClearIkeSa(peer="1.0.0.1")) == [5802591]
    assert indexes(ClearIkeSa(peer="1.0.0.1", port=500)) == []
    assert indexes(ClearIkeSa(peer="1.0.0.1", port=4500)) == [5802591]
    assert indexes(ClearIkeSa(index=7)) == [7]
    assert indexes(ClearIkeSa(family="inet6")) == [5]

    def ids(q: ClearIpsecSa) -> list[int]:
        return [t.tunnel_id for t in select_tunnels(SNAPSHOT, q)]

    assert ids(ClearIpsecSa()) == [16384, 131073, 131074, 131075]
    assert ids(ClearIpsecSa(family="inet6")) == [131074]
    assert ids(ClearIpsecSa(index=131075)) == [131075]


def test_selection_lists_inbound_sas_first():
    (tunnel,) = select_tunnels(SNAPSHOT, ShowIpsecSa(index=131075))
    assert [sa.direction for sa in tunnel.sas] == ["inbound", "outbound"]
    assert [sa.direction for sa in GCM_TUNNEL.sas] == ["outbound", "inbound"]


_counters = st.integers(min_value=0, max_value=2**64)


@settings(max_examples=100, deadline=None)
@given(
    st.builds(
        IpsecStatistics,
        encrypted_bytes=_counters,
        decrypted_bytes=_counters,
        replay_errors=_counters,
        bad_trailers=_counters,
    ),
    st.integers(min_value=1, max_value=0xFFFFFFFF),
    st.sampled_from(["-", "UP", "DOWN"]),
)
def test_tunnels_round_trip(statistics, tunnel_id, monitoring):
    tunnel = dataclasses.replace(
        GCM_TUNNEL, tunnel_id=tunnel_id, statistics=statistics, vpn_monitoring=monitoring
    )
    assert from_json(Tunnel, to_json(tunnel)) == tunnel
