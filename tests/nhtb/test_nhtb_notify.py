"""The tunnel-address notify: exact bytes, strict decoding, only NhtbNotifyError on bad input."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xfrmctl.keying.constants import NOTIFY_PRIVATE_STATUS_MIN
from xfrmctl.keying.payloads import NotifyPayload
from xfrmctl.nhtb.errors import NhtbNotifyError
from xfrmctl.nhtb.notify import (
    XFRMCTL_TUNNEL_ADDRESS,
    decode_tunnel_address,
    decode_tunnel_addresses,
    encode_tunnel_address,
)


def test_type_is_private_use_status() -> None:
    assert XFRMCTL_TUNNEL_ADDRESS == 47192
    assert NOTIFY_PRIVATE_STATUS_MIN <= XFRMCTL_TUNNEL_ADDRESS <= 65535


def test_ipv4_exact_bytes() -> None:
    assert encode_tunnel_address("10.11.11.11") == bytes.fromhex("01 0a0b0b0b")
    assert decode_tunnel_address(bytes.fromhex("010a0b0b0b")) == ipaddress.ip_address("10.11.11.11")


def test_ipv6_exact_bytes() -> None:
    data = encode_tunnel_address("2001:db8:ff::11")
    assert data == bytes.fromhex("02 20010db800ff00000000000000000011")
    assert decode_tunnel_address(data) == ipaddress.ip_address("2001:db8:ff::11")


def test_link_local_ipv6_allowed() -> None:
    data = encode_tunnel_address("fe80::1")
    assert decode_tunnel_address(data) == ipaddress.ip_address("fe80::1")


def test_in_a_notify_payload() -> None:
    payload = NotifyPayload(XFRMCTL_TUNNEL_ADDRESS, encode_tunnel_address("10.11.11.12"))
    body = payload.encode_body()
    assert body == bytes.fromhex("0000b858010a0b0b0c")
    back = NotifyPayload.decode_body(body)
    assert back.notify_type == XFRMCTL_TUNNEL_ADDRESS
    assert not back.is_error
    assert decode_tunnel_address(back.data) == ipaddress.ip_address("10.11.11.12")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "without data"),
        (bytes.fromhex("03 0a0b0b0b"), "unknown address family 3"),
        (bytes.fromhex("01 0a0b0b"), "3 address octets for family 1, need 4"),
        (bytes.fromhex("01 0a0b0b0b00"), "5 address octets for family 1, need 4"),
        (bytes.fromhex("02 0a0b0b0b"), "4 address octets for family 2, need 16"),
        (bytes.fromhex("01 00000000"), "0.0.0.0 is not a unicast address"),
        (bytes.fromhex("01 e0000001"), "224.0.0.1 is not a unicast address"),
        (bytes.fromhex("01 7f000001"), "127.0.0.1 is not a unicast address"),
        (bytes.fromhex("01 ffffffff"), "255.255.255.255 is not a unicast address"),
        (bytes.fromhex("02" + "00" * 16), ":: is not a unicast address"),
        (bytes.fromhex("02 ff02" + "00" * 13 + "01"), "ff02::1 is not a unicast address"),
    ],
)
def test_malformed(data: bytes, message: str) -> None:
    with pytest.raises(NhtbNotifyError, match=message):
        decode_tunnel_address(data)


@pytest.mark.parametrize("bad", ["0.0.0.0", "ff02::1", "not-an-address", "::1"])
def test_encode_refuses_non_unicast(bad: str) -> None:
    with pytest.raises(NhtbNotifyError):
        encode_tunnel_address(bad)


def test_one_address_per_family_first_wins() -> None:
    got = decode_tunnel_addresses(
        [
            encode_tunnel_address("2001:db8::2"),
            encode_tunnel_address("10.0.0.2"),
            encode_tunnel_address("10.0.0.3"),
        ]
    )
    assert got == (ipaddress.ip_address("10.0.0.2"), ipaddress.ip_address("2001:db8::2"))


@settings(max_examples=200)
@given(st.binary(max_size=40))
def test_random_bytes_raise_only_notify_error(data: bytes) -> None:
    try:
        addr = decode_tunnel_address(data)
    except NhtbNotifyError:
        return
    assert encode_tunnel_address(addr) == data


@settings(max_examples=200)
@given(st.ip_addresses())
def test_round_trip(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    try:
        data = encode_tunnel_address(addr)
    except NhtbNotifyError:
        assert (
            addr.is_unspecified
            or addr.is_multicast
            or addr.is_loopback
            or (addr == ipaddress.ip_address("255.255.255.255"))
        )
        return
    assert decode_tunnel_address(data) == addr
