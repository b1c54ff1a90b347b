"""How the engines find the gateways a datagram may belong to: by remote and local address,
whatever their spelling, in configured order, dynamic gateways last."""

from __future__ import annotations

from dataclasses import dataclass

from xfrmctl.keying.dispatch import PeerTable, canonical, local_matches, same_address


@dataclass(frozen=True)
class Gw:
    name: str
    remote_address: str | None
    local_address: str = ""


def table(*gws: Gw) -> PeerTable[Gw]:
    return PeerTable({g.name: g for g in gws})


def names(found: list[Gw]) -> list[str]:
    return [g.name for g in found]


def test_spellings_of_one_address_are_one_key() -> None:
    assert canonical("2001:0db8:0000::0001") == "2001:db8::1"
    assert same_address("2001:db8::1", "2001:DB8:0:0::1")
    assert not same_address("192.0.2.1", "::ffff:192.0.2.1")
    assert same_address("vpn.example", "vpn.example")  # names compare as text
    assert local_matches("", "192.0.2.9") and local_matches("%any", "192.0.2.9")
    assert local_matches("0.0.0.0", "192.0.2.9") and local_matches("::", "2001:db8::9")
    assert not local_matches("192.0.2.1", "192.0.2.9")


def test_candidates_in_configured_order_dynamic_last() -> None:
    peers = table(
        Gw("dyn-any", None),
        Gw("a-on-1", "198.51.100.7", "192.0.2.1"),
        Gw("a-any", "198.51.100.7"),
        Gw("other", "198.51.100.8"),
        Gw("a-on-2", "198.51.100.7", "192.0.2.2"),
        Gw("dyn-on-1", None, "192.0.2.1"),
    )
    assert names(peers.candidates("198.51.100.7", "192.0.2.1")) == [
        "a-on-1", "a-any", "dyn-any", "dyn-on-1"]  # fmt: skip
    assert names(peers.candidates("198.51.100.7", "192.0.2.2")) == ["a-any", "a-on-2", "dyn-any"]
    assert names(peers.candidates("203.0.113.5", "192.0.2.3")) == ["dyn-any"]


def test_ipv6_remote_found_whatever_its_spelling() -> None:
    peers = table(Gw("v6", "2001:db8:0:0::10", "2001:db8::1"))
    assert names(peers.candidates("2001:db8::10", "2001:0db8::0001")) == ["v6"]
    assert peers.configured("2001:DB8::10")
    assert not peers.configured("2001:db8::11")


def test_configured_and_admits() -> None:
    fixed = table(Gw("a", "198.51.100.7"))
    assert fixed.configured("198.51.100.7") and fixed.admits("198.51.100.7")
    assert not fixed.admits("198.51.100.8")
    with_dynamic = table(Gw("a", "198.51.100.7"), Gw("d", None))
    assert with_dynamic.admits("198.51.100.8") and not with_dynamic.configured("198.51.100.8")
    assert not table() and fixed


def test_a_changed_gateway_is_found_at_its_new_address() -> None:
    peers = table(Gw("a", "198.51.100.7"), Gw("b", "198.51.100.8"))
    assert names(peers.candidates("198.51.100.7", "192.0.2.1")) == ["a"]
    peers["a"] = Gw("a", "198.51.100.9")
    assert peers.candidates("198.51.100.7", "192.0.2.1") == []
    assert names(peers.candidates("198.51.100.9", "192.0.2.1")) == ["a"]
    del peers["b"]
    assert peers.candidates("198.51.100.8", "192.0.2.1") == []
    assert list(peers) == ["a"] and len(peers) == 1
