"""Scenario (b): the lab kernel offers every data-plane feature xfrmctl relies on.

Each algorithm is proved by traffic, not by a successful `ip xfrm state add`: two gateways with
manual SAs, a ping from LAN to LAN, and the kernel's own SA counters showing it went through ESP.
"""

from __future__ import annotations

import pytest

from integration.lab.manual_sa import (
    ALGORITHMS,
    EspAlgorithm,
    encap_sockets,
    gateway_pair,
    route_based,
    sa_packets,
    vti_based,
)
from integration.lab.topology import Lab


@pytest.mark.parametrize("alg", ALGORITHMS, ids=lambda a: a.label)
def test_esp_over_xfrm_interface(lab: Lab, alg: EspAlgorithm) -> None:
    pair = gateway_pair(lab)
    route_based(pair, alg)
    result = pair.a.ping(pair.lan_b, source=pair.lan_a)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 received" in result.stdout
    # a->b SA carried the echo requests in a, the replies came back on b->a
    assert sa_packets(pair.a, 0x1001) == 3
    assert sa_packets(pair.a, 0x2002) == 3
    assert sa_packets(pair.b, 0x1001) == 3


def test_esp_in_udp_encapsulation(lab: Lab) -> None:
    pair = gateway_pair(lab)
    encap_sockets(lab, pair, lab.procs)
    route_based(pair, ALGORITHMS[1], encap=True)
    result = pair.a.ping(pair.lan_b, source=pair.lan_a)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sa_packets(pair.b, 0x1001) == 3
    state = pair.a.ip("xfrm", "state").stdout
    assert "encap type espinudp sport 4500 dport 4500" in state


def test_vti_tunnel(lab: Lab) -> None:
    pair = gateway_pair(lab)
    vti_based(pair, ALGORITHMS[4])
    result = pair.b.ping(pair.lan_a, source=pair.lan_b)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sa_packets(pair.b, 0x2002) == 3
    link = pair.a.ip("-d", "link", "show", "vti5").stdout
    assert "vti remote 192.0.2.2 local 192.0.2.1" in link
