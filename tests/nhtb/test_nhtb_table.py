"""NHTB table: Static beats Auto, Auto vanishes with its VPN, show records in spec order."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from xfrmctl.config.loader import load_config
from xfrmctl.netlink.constants import AF_INET, AF_INET6
from xfrmctl.nhtb.errors import NhtbError
from xfrmctl.nhtb.table import (
    LearnOutcome,
    NhtbKey,
    NhtbTable,
    StaticBinding,
    show_entries,
    static_bindings,
)
from xfrmctl.state.model import NhtbEntry


def _rows(table: NhtbTable, unit: str | None = None) -> list[tuple[str, str, str, str]]:
    return [(str(b.next_hop), b.unit, b.vpn, b.flag) for b in table.entries(unit)]


def test_static_in_config_order_then_auto_in_learn_order() -> None:
    t = NhtbTable()
    t.set_static(
        [
            StaticBinding("st0.0", "10.11.11.13", "vpn-c"),
            StaticBinding("st0.0", "10.11.11.11", "vpn-a"),
        ]
    )
    assert t.learn("st0.0", "vpn-e", "10.11.11.15") is LearnOutcome.LEARNED
    assert t.learn("st0.0", "vpn-d", "10.11.11.14") is LearnOutcome.LEARNED
    assert _rows(t) == [
        ("10.11.11.13", "st0.0", "vpn-c", "Static"),
        ("10.11.11.11", "st0.0", "vpn-a", "Static"),
        ("10.11.11.15", "st0.0", "vpn-e", "Auto"),
        ("10.11.11.14", "st0.0", "vpn-d", "Auto"),
    ]
    assert len(t) == 4


def test_static_beats_auto_and_auto_reappears_when_static_removed() -> None:
    t = NhtbTable()
    t.set_static([StaticBinding("st0.0", "10.11.11.11", "vpn-a")])
    assert t.learn("st0.0", "vpn-b", "10.11.11.11") is LearnOutcome.SHADOWED
    b = t.lookup("st0.0", "10.11.11.11")
    assert b is not None and (b.vpn, b.flag) == ("vpn-a", "Static")
    assert _rows(t) == [("10.11.11.11", "st0.0", "vpn-a", "Static")]
    t.set_static([])
    b = t.lookup("st0.0", "10.11.11.11")
    assert b is not None and (b.vpn, b.flag) == ("vpn-b", "Auto")


def test_auto_vanishes_with_vpn_static_stays() -> None:
    t = NhtbTable()
    t.set_static([StaticBinding("st0.0", "10.11.11.11", "vpn-a")])
    t.learn("st0.0", "vpn-a", "10.11.11.21")
    t.learn("st0.0", "vpn-b", "10.11.11.12")
    gone = t.forget_vpn("vpn-a")
    assert [(str(b.next_hop), b.flag) for b in gone] == [("10.11.11.21", "Auto")]
    assert _rows(t) == [
        ("10.11.11.11", "st0.0", "vpn-a", "Static"),
        ("10.11.11.12", "st0.0", "vpn-b", "Auto"),
    ]
    assert t.forget_vpn("vpn-a") == ()


def test_relearn_same_is_unchanged_new_address_replaces_same_family_only() -> None:
    t = NhtbTable()
    assert t.learn("st0.0", "vpn-b", "10.11.11.12") is LearnOutcome.LEARNED
    assert t.learn("st0.0", "vpn-b", "10.11.11.12") is LearnOutcome.UNCHANGED
    assert t.learn("st0.0", "vpn-b", "2001:db8:ff::12") is LearnOutcome.LEARNED
    assert t.learn("st0.0", "vpn-b", "10.11.11.42") is LearnOutcome.LEARNED
    assert _rows(t) == [
        ("2001:db8:ff::12", "st0.0", "vpn-b", "Auto"),
        ("10.11.11.42", "st0.0", "vpn-b", "Auto"),
    ]
    assert t.lookup("st0.0", "10.11.11.12") is None


def test_conflicting_auto_keeps_first() -> None:
    t = NhtbTable()
    t.learn("st0.0", "vpn-b", "10.11.11.12")
    assert t.learn("st0.0", "vpn-c", "10.11.11.12") is LearnOutcome.CONFLICT
    b = t.lookup("st0.0", "10.11.11.12")
    assert b is not None and b.vpn == "vpn-b"


def test_key_is_unit_family_next_hop() -> None:
    t = NhtbTable()
    t.set_static(
        [
            StaticBinding("st0.0", "10.11.11.11", "vpn-a"),
            StaticBinding("st0.1", "10.11.11.11", "vpn-x"),
            StaticBinding("st0.0", "2001:db8:ff::11", "vpn-a6"),
        ]
    )
    a, x, a6 = (t.lookup(u, n) for u, n in [
        ("st0.0", "10.11.11.11"), ("st0.1", "10.11.11.11"), ("st0.0", "2001:db8:ff:0::11"),
    ])  # fmt: skip
    assert (a and a.vpn, x and x.vpn, a6 and a6.vpn) == ("vpn-a", "vpn-x", "vpn-a6")
    assert NhtbKey.of("st0.0", "2001:db8:ff::11") == NhtbKey(
        "st0.0", AF_INET6, ipaddress.ip_address("2001:db8:ff::11")
    )
    assert NhtbKey.of("st0.0", "10.11.11.11").family == AF_INET
    assert _rows(t, "st0.1") == [("10.11.11.11", "st0.1", "vpn-x", "Static")]


def test_duplicate_static_is_an_error() -> None:
    t = NhtbTable()
    with pytest.raises(NhtbError, match="bound twice"):
        t.set_static(
            [
                StaticBinding("st0.0", "10.11.11.11", "vpn-a"),
                StaticBinding("st0.0", "10.11.11.11", "vpn-b"),
            ]
        )


@pytest.mark.parametrize("bad", ["10.11.11", "0.0.0.0", "ff02::1", ""])
def test_bad_next_hop_is_typed_error(bad: str) -> None:
    t = NhtbTable()
    with pytest.raises(NhtbError):
        t.learn("st0.0", "vpn-a", bad)
    with pytest.raises(NhtbError):
        t.set_static([StaticBinding("st0.0", bad, "vpn-a")])


def test_show_entries_records() -> None:
    t = NhtbTable()
    t.set_static([StaticBinding("st0.0", "10.11.11.11", "vpn-sunnyvale")])
    t.learn("st0.0", "vpn-westford", "10.11.11.12")
    t.learn("st0.1", "vpn-other", "10.12.12.12")
    ids = {"vpn-sunnyvale": 131073, "vpn-westford": 131074}
    assert show_entries(t, tunnel_ids=ids) == (
        NhtbEntry(
            next_hop="10.11.11.11",
            interface="st0.0",
            vpn_name="vpn-sunnyvale",
            flag="Static",
            tunnel_id=131073,
        ),
        NhtbEntry(
            next_hop="10.11.11.12",
            interface="st0.0",
            vpn_name="vpn-westford",
            flag="Auto",
            tunnel_id=131074,
        ),
        NhtbEntry(next_hop="10.12.12.12", interface="st0.1", vpn_name="vpn-other", flag="Auto"),
    )
    assert [e.next_hop for e in show_entries(t, tunnel_ids=ids, interface="st0.1")] == [
        "10.12.12.12"
    ]


EXAMPLE_HUB = Path(__file__).resolve().parents[2] / "examples" / "hub.yaml"


def test_static_bindings_from_config() -> None:
    config = load_config(EXAMPLE_HUB)
    assert static_bindings(config.st0_units.values()) == [
        StaticBinding("st0.0", ipaddress.ip_address("10.11.11.11"), "vpn-spoke1"),
        StaticBinding("st0.0", ipaddress.ip_address("10.11.11.12"), "vpn-spoke2"),
    ]
