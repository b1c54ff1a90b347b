"""xfrmctl's key derivation and SK decryption against keys a real strongSwan logged.

Two charon peers negotiate over a captured link; charon logs the DH secret and every derived key
at level 4. The IKE_SA_INIT messages are taken from the capture and parsed by xfrmctl's codec,
xfrmctl derives SK_* and the first child SA's keys, and they must equal charon's byte for byte;
the captured IKE_AUTH messages must then decrypt with xfrmctl's keys. Each run also writes the
vector to the results folder (`vectors/`), the source of tests/keying/data's stored vectors.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from integration.lab.charonlog import binary_values, latest
from integration.lab.netns import Netns
from integration.lab.pcap import udp_datagrams
from integration.lab.strongswan import psk_secrets, route_based_connection
from integration.lab.topology import Lab
from tests.keying.strongswan_vectors import check_vector

PROPOSALS = [
    ("aes256gcm16-prfsha256-x25519", "aes256gcm16"),
    ("aes128-sha256-modp2048", "aes128-sha256"),
    ("aes256-sha384-ecp384", "aes256-sha384"),
]


def _captured_ike(lab: Lab, ns: Netns, dev: str, want: int, timeout: float = 20.0) -> list[bytes]:
    """IKE messages on the link: 500, and 4500 behind the 4-byte non-ESP marker (charon floats
    there for IKE_AUTH). tcpdump may still be writing the last ones under emulation: wait."""
    deadline = time.monotonic() + timeout
    while True:
        msgs = [
            d.payload if 500 in (d.sport, d.dport) else d.payload[4:]
            for pcap in lab.captured(ns, dev)
            for d in udp_datagrams(pcap)
            if 500 in (d.sport, d.dport)
            or (4500 in (d.sport, d.dport) and d.payload[:4] == b"\0" * 4)
        ]
        if len(msgs) >= want or time.monotonic() > deadline:
            return msgs
        time.sleep(0.5)


@pytest.mark.parametrize(("ike", "esp"), PROPOSALS, ids=[p[0] for p in PROPOSALS])
def test_keys_match_strongswan(lab: Lab, ike: str, esp: str) -> None:
    a, b = lab.netns("a"), lab.netns("b")
    dev_a, _ = lab.link(a, b, "192.0.2.1/24", "192.0.2.2/24")
    conn_a = route_based_connection(
        "192.0.2.1", "192.0.2.2", start=False, proposals=ike, esp_proposals=esp
    )
    conn_b = route_based_connection(
        "192.0.2.2", "192.0.2.1", start=False, proposals=ike, esp_proposals=esp
    )
    peer_b = lab.strongswan(b, conn_b, psk_secrets())
    peer_b.load()
    peer_a = lab.strongswan(a, conn_a, psk_secrets(), log_levels={"ike": 4, "chd": 4})
    peer_a.load()
    peer_a.initiate("net")
    peer_a.wait_established("vpn", "net")

    ike_msgs = _captured_ike(lab, a, dev_a, want=4)
    assert len(ike_msgs) >= 4, f"captured {len(ike_msgs)} IKE messages"
    logged = binary_values(peer_a.log)
    vector = {
        "source": "strongSwan 5.9 charon (initiator), captured in the lab VM",
        "ike_proposal": ike,
        "esp_proposal": esp,
        "messages": [m.hex() for m in ike_msgs[:4]],
        "shared_secret": latest(logged, "shared Diffie Hellman secret").hex(),
        "charon_logged": {
            label: value.hex()
            for label, value in logged
            if label.startswith(("Sk_", "encryption ", "integrity "))
        },
    }
    results = os.environ.get("XFRMCTL_RESULTS")
    if results:
        out = Path(results) / "vectors"
        out.mkdir(exist_ok=True)
        (out / f"strongswan-{ike}.json").write_text(json.dumps(vector, indent=2) + "\n")
    check_vector(vector)
