"""The engine's `IkeEstablished` through the state store to `show` text and `--json`.

The exchange type the engine reports (IKEv2, or IKEv1's Main / Aggressive) is what the `Mode`
column, the detail layout's `Exchange type` and the JSON `exchange_type` carry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_args

import pytest

from xfrmctl.cli.render import render_json, render_text
from xfrmctl.daemon.store import StateStore
from xfrmctl.keying.ikev2.actions import IkeEstablished, IkeSaRef
from xfrmctl.keying.transforms import by_name
from xfrmctl.state.model import ExchangeType
from xfrmctl.state.query import ShowIkeSa, answer

GOLDEN = Path(__file__).parent.parent / "cli" / "golden"


def established(
    exchange: ExchangeType, spi_i: int, spi_r: int, remote: str, *, initiator: bool
) -> IkeEstablished:
    return IkeEstablished(
        ike_sa=IkeSaRef(spi_i, spi_r),
        peer="GW",
        initiator=initiator,
        exchange_type=exchange,
        local=("1.1.1.2", 500),
        remote=(remote, 500),
        local_id="1.1.1.2",
        remote_id=remote,
        local_id_type="ipv4",
        remote_id_type="ipv4",
        auth_method="psk",
        encr=by_name("aes128"),
        integ=by_name("sha1"),
        prf=by_name("prfsha1"),
        dh_group=by_name("modp2048"),
        lifetime_seconds=28800,
        rekey_at=28000.0,
        nat_local=False,
        nat_remote=False,
        fragmentation=False,
        established_at=100.0,
    )


def store_of(*infos: IkeEstablished) -> StateStore:
    store = StateStore()
    for info in infos:
        store.ike_up(info)
    return store


def test_exchange_type_vocabulary_is_the_models() -> None:
    field_type = IkeEstablished.__dataclass_fields__["exchange_type"].type
    assert field_type == "ExchangeType"
    assert get_args(ExchangeType) == ("Main", "Aggressive", "IKEv2")


def test_list_layout_mode_column_from_the_engine() -> None:
    store = store_of(
        established("IKEv2", 0x744A594D957DD513, 0x1E1307DB82F58387, "2.2.2.2", initiator=False),
        established("Aggressive", 0xE48EFD6A444853CF, 0x0D09C59AAFB720BE, "1111::1112",
                    initiator=True),
        established("Main", 0xD31D6833108FD69F, 0x9DDFE2CE133086AA, "1.0.0.1", initiator=True),
    )
    snapshot = store.snapshot(200.0, 0.0, {})
    query = ShowIkeSa()
    text = render_text(query, answer(snapshot, query)).split("\n")
    golden = (GOLDEN / "ike_sa_list_mixed.txt").read_text().split("\n")
    # the seed's rows with the store's indexes (1, 2, 3) in place of the seed's 1, 5, 5802591
    assert text[:2] == golden[:2]
    assert text[2] == golden[2].replace("5       ", "2       ", 1)
    assert text[3] == golden[3].replace("5802591 ", "3       ", 1)
    data = json.loads(render_json(answer(snapshot, query)))
    assert [sa["exchange_type"] for sa in data["ike_security_associations"]] == [
        "IKEv2",
        "Aggressive",
        "Main",
    ]


@pytest.mark.parametrize("exchange", ["IKEv2", "Main", "Aggressive"])
def test_detail_layout_exchange_type_line(exchange: ExchangeType) -> None:
    info = established(exchange, 0x744A594D957DD513, 0x1E1307DB82F58387, "2.2.2.2",
                       initiator=False)  # fmt: skip
    snapshot = store_of(info).snapshot(330.0, 0.0, {})
    query = ShowIkeSa(level="detail")
    text = render_text(query, answer(snapshot, query)).split("\n")
    golden = (GOLDEN / "ike_sa_detail_ikev2.txt").read_text().split("\n")
    # the seed's IKEv2 responder, its values substituted, down to the algorithm lines
    assert text[0] == "IKE peer 2.2.2.2, Index 1, Gateway Name: GW"
    assert text[1:3] == golden[1:3]
    assert text[3] == golden[3].replace("IKEv2", exchange)
    assert text[4:6] == golden[4:6]
    assert text[6:8] == ["  Peer ike-id: 2.2.2.2", "  Xauth assigned IP: 0.0.0.0"]
    # the newer seeds' integrity vocabulary (seed 000: hmac-sha1-96; this older one: sha1)
    assert text[8:13] == [golden[6], "   Authentication        : hmac-sha1-96 ", *golden[8:10],
                          "   Diffie-Hellman group  : DH-group-14"]  # fmt: skip
    data = json.loads(render_json(answer(snapshot, query)))
    [sa] = data["ike_security_associations"]
    assert sa["exchange_type"] == exchange and sa["role"] == "Responder"
