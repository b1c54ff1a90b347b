"""The operator examples under examples/ load cleanly and fit together."""

from __future__ import annotations

from pathlib import Path

import pytest

from xfrmctl.config import load_file
from xfrmctl.config.values import St0Unit

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(
    "name", ["p2p-site-a.yaml", "p2p-site-b.set", "hub.yaml", "spoke1.set", "route-based-vpn.yaml"]
)
def test_example_has_no_errors_or_surprises(name: str) -> None:
    """Only statements the daemon does not run yet are warned about."""
    result = load_file(EXAMPLES / name)
    assert result.errors == []
    assert [d.message for d in result.warnings if "not realised yet" not in d.message] == []


def test_point_to_point_sites_mirror_each_other() -> None:
    a = load_file(EXAMPLES / "p2p-site-a.yaml").require()
    b = load_file(EXAMPLES / "p2p-site-b.set").require()
    assert a.ike_proposals == b.ike_proposals
    assert list(a.ipsec_proposals.values()) == list(b.ipsec_proposals.values())
    psk_a = a.ike_policies["ike-policy-b"].pre_shared_key
    psk_b = b.ike_policies["ike-policy-a"].pre_shared_key
    assert psk_a is not None and psk_b is not None and psk_a.value == psk_b.value
    unit_a, unit_b = a.st0_units[0].inet[0], b.st0_units[0].inet[0]
    assert unit_a.network == unit_b.network and unit_a != unit_b


def test_hub_and_spoke_fit() -> None:
    hub = load_file(EXAMPLES / "hub.yaml").require()
    spoke = load_file(EXAMPLES / "spoke1.set").require()
    unit = hub.st0_units[0]
    assert unit.multipoint
    entries = {str(n.address): n.vpn for n in unit.next_hop_tunnels}
    spoke_address = str(spoke.st0_units[0].inet[0].ip)
    assert entries[spoke_address] == "vpn-spoke1"
    assert str(hub.gateways["gw-spoke1"].addresses[0]) == "192.0.2.11"
    assert spoke.vpns["vpn-hub"].bind_interface == St0Unit(0)
    assert not spoke.st0_units[0].multipoint
