"""Check xfrmctl's IKEv2 key derivation and SK decryption against one strongSwan exchange.

A vector holds the four captured IKE_SA_INIT / IKE_AUTH datagrams, the DH shared secret and the
keys charon logged (level 4). Used by the unit test on the stored vectors in `data/` and by the lab
scenario that captures fresh ones (integration/tests/test_lab_strongswan_keys.py).
"""

from __future__ import annotations

from typing import Any

from xfrmctl.keying.constants import ExchangeType
from xfrmctl.keying.keys import derive_child_keys, derive_ike_keys
from xfrmctl.keying.message import parse_message
from xfrmctl.keying.payloads import NoncePayload, SaPayload
from xfrmctl.keying.sk import sk_keys, unprotect
from xfrmctl.keying.transforms import Transform, TransformType, by_ike_id

IKE_KEYS = ("Sk_d", "Sk_ai", "Sk_ar", "Sk_ei", "Sk_er", "Sk_pi", "Sk_pr")


def chosen(sa: SaPayload, ttype: TransformType) -> Transform | None:
    """The transform of one type in a responder's single chosen proposal."""
    (proposal,) = sa.proposals
    for t in proposal.transforms:
        if t.type == ttype:
            return by_ike_id(ttype, t.id, t.key_length)
    return None


def check_vector(vector: dict[str, Any]) -> None:
    """Raise AssertionError naming the first key or message xfrmctl gets different."""
    raw = [bytes.fromhex(m) for m in vector["messages"]]
    logged = {k: bytes.fromhex(v) for k, v in vector["charon_logged"].items()}
    init_req, init_resp = parse_message(raw[0]), parse_message(raw[1])
    assert init_req.header.exchange_type == ExchangeType.IKE_SA_INIT
    assert init_resp.header.exchange_type == ExchangeType.IKE_SA_INIT
    assert init_resp.header.is_response and not init_req.header.is_response
    sa = init_resp.get(SaPayload)
    ni, nr = init_req.get(NoncePayload), init_resp.get(NoncePayload)
    assert sa is not None and ni is not None and nr is not None
    prf_t, encr = chosen(sa, TransformType.PRF), chosen(sa, TransformType.ENCR)
    integ = chosen(sa, TransformType.INTEG)
    assert prf_t is not None and encr is not None

    keys = derive_ike_keys(prf_t, encr, integ, ni.data, nr.data,
                           bytes.fromhex(vector["shared_secret"]),
                           init_resp.header.spi_i, init_resp.header.spi_r)  # fmt: skip
    for name in IKE_KEYS:
        if integ is None and name in ("Sk_ai", "Sk_ar"):
            continue
        assert getattr(keys, name.lower()) == logged[f"{name} secret"], name

    inner_req = unprotect(raw[2], sk_keys(keys, sender_is_initiator=True))
    inner_resp = unprotect(raw[3], sk_keys(keys, sender_is_initiator=False))
    assert inner_req.header.exchange_type == ExchangeType.IKE_AUTH
    assert inner_resp.header.is_response
    child_sa = inner_resp.get(SaPayload)
    assert child_sa is not None
    c_encr, c_integ = chosen(child_sa, TransformType.ENCR), chosen(child_sa, TransformType.INTEG)
    assert c_encr is not None
    child = derive_child_keys(prf_t, keys.sk_d, c_encr, c_integ, ni.data, nr.data)
    assert child.encr_i == logged["encryption initiator key"], "child encryption initiator key"
    assert child.encr_r == logged["encryption responder key"], "child encryption responder key"
    if c_integ is not None:
        assert child.integ_i == logged["integrity initiator key"], "child integrity initiator key"
        assert child.integ_r == logged["integrity responder key"], "child integrity responder key"
