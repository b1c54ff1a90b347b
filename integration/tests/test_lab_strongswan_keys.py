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
from pathlib import Path

import pytest

from integration.lab.charonlog import binary_values, latest
from integration.lab.pcap import udp_datagrams
from integration.lab.strongswan import psk_secrets, route_based_connection
from integration.lab.topology import Lab
from xfrmctl.keying.constants import ExchangeType
from xfrmctl.keying.keys import derive_child_keys, derive_ike_keys
from xfrmctl.keying.message import parse_message
from xfrmctl.keying.payloads import NoncePayload, SaPayload
from xfrmctl.keying.sk import sk_keys, unprotect
from xfrmctl.keying.transforms import Transform, TransformType, by_ike_id

PROPOSALS = [
    ("aes256gcm16-prfsha256-x25519", "aes256gcm16"),
    ("aes128-sha256-modp2048", "aes128-sha256"),
    ("aes256-sha384-ecp384", "aes256-sha384"),
]


def _chosen(sa: SaPayload, ttype: TransformType) -> Transform | None:
    """The transform of one type in a responder's single chosen proposal."""
    (proposal,) = sa.proposals
    for t in proposal.transforms:
        if t.type == ttype:
            return by_ike_id(ttype, t.id, t.key_length)
    return None


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

    # IKE on 500, and on 4500 behind the 4-byte non-ESP marker (charon floats there for IKE_AUTH)
    ike_msgs = [
        d.payload if d.dport == 500 or d.sport == 500 else d.payload[4:]
        for pcap in lab.captured(a, dev_a)
        for d in udp_datagrams(pcap)
        if 500 in (d.sport, d.dport) or (4500 in (d.sport, d.dport) and d.payload[:4] == b"\0" * 4)
    ]
    init_req, init_resp = (parse_message(m) for m in ike_msgs[:2])
    assert (
        init_req.header.exchange_type == ExchangeType.IKE_SA_INIT
        and not init_req.header.is_response
    )
    assert (
        init_resp.header.exchange_type == ExchangeType.IKE_SA_INIT and init_resp.header.is_response
    )
    sa = init_resp.get(SaPayload)
    assert sa is not None
    prf_t, encr, integ = (
        _chosen(sa, t) for t in (TransformType.PRF, TransformType.ENCR, TransformType.INTEG)
    )
    ni_p, nr_p = init_req.get(NoncePayload), init_resp.get(NoncePayload)
    assert ni_p and nr_p
    ni, nr = ni_p.data, nr_p.data
    spi_i, spi_r = init_resp.header.spi_i, init_resp.header.spi_r

    assert prf_t is not None and encr is not None
    logged = binary_values(peer_a.log)
    shared = latest(logged, "shared Diffie Hellman secret")
    keys = derive_ike_keys(prf_t, encr, integ, ni, nr, shared, spi_i, spi_r)
    for label, ours in (
        ("Sk_d secret", keys.sk_d),
        ("Sk_ai secret", keys.sk_ai),
        ("Sk_ar secret", keys.sk_ar),
        ("Sk_ei secret", keys.sk_ei),
        ("Sk_er secret", keys.sk_er),
        ("Sk_pi secret", keys.sk_pi),
        ("Sk_pr secret", keys.sk_pr),
    ):
        if integ is None and label in ("Sk_ai secret", "Sk_ar secret"):
            continue
        assert ours == latest(logged, label), label

    # the captured IKE_AUTH exchange decrypts with xfrmctl's keys
    auth_req, auth_resp = ike_msgs[2], ike_msgs[3]
    inner_req = unprotect(auth_req, sk_keys(keys, sender_is_initiator=True))
    inner_resp = unprotect(auth_resp, sk_keys(keys, sender_is_initiator=False))
    assert inner_req.header.exchange_type == ExchangeType.IKE_AUTH
    assert len(inner_req.payloads) >= 4 and len(inner_resp.payloads) >= 4

    # the first child SA's keys (from the IKE_SA_INIT nonces, no PFS)
    child_sa = inner_resp.get(SaPayload)
    assert child_sa is not None
    c_encr, c_integ = _chosen(child_sa, TransformType.ENCR), _chosen(child_sa, TransformType.INTEG)
    assert c_encr is not None
    child = derive_child_keys(prf_t, keys.sk_d, c_encr, c_integ, ni, nr)
    assert child.encr_i == latest(logged, "encryption initiator key")
    assert child.encr_r == latest(logged, "encryption responder key")
    if c_integ is not None:
        assert child.integ_i == latest(logged, "integrity initiator key")
        assert child.integ_r == latest(logged, "integrity responder key")

    results = os.environ.get("XFRMCTL_RESULTS")
    if results:
        out = Path(results) / "vectors"
        out.mkdir(exist_ok=True)
        vector = {
            "source": "strongSwan 5.9 charon (initiator), captured in the lab VM",
            "ike_proposal": ike,
            "esp_proposal": esp,
            "messages": [m.hex() for m in ike_msgs[:4]],
            "shared_secret": shared.hex(),
            "charon_logged": {
                label: value.hex()
                for label, value in logged
                if label.startswith(("Sk_", "encryption ", "integrity "))
            },
        }
        (out / f"{ike}.json").write_text(json.dumps(vector, indent=2) + "\n")
