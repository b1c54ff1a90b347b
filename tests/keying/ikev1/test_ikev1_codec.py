"""ISAKMP codec: exact bytes, strict lengths, round trips and fuzz (only ParseError escapes)."""

import contextlib
import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xfrmctl.keying.errors import ParseError
from xfrmctl.keying.ikev1 import ids
from xfrmctl.keying.ikev1.constants import Exchange, IdType, PayloadType, Protocol
from xfrmctl.keying.ikev1.wire import (
    DeleteBody,
    IdBody,
    Message,
    NatOaBody,
    NotifyBody,
    Payload,
    ProposalBody,
    SaBody,
    TransformBody,
    decode_attributes,
    decode_chain,
    encode_attributes,
    encode_chain,
    encode_message,
)
from xfrmctl.keying.ikev2.ts import TrafficSelector

CKY_I = bytes.fromhex("0102030405060708")
CKY_R = bytes.fromhex("1112131415161718")


def test_attributes_use_tv_for_16_bit_values_and_tlv_beyond():
    assert encode_attributes([(1, 5), (12, 28800)]) == bytes.fromhex("80010005800c7080")
    assert encode_attributes([(12, 86400 * 2)]) == bytes.fromhex("000c000302a300")
    assert decode_attributes(bytes.fromhex("000c000302a300800b0001")) == [(12, 172800), (11, 1)]


def test_header_and_chain_exact_bytes():
    data = encode_message(CKY_I, CKY_R, Exchange.MAIN, 0, 0,
                          body=encode_chain([Payload(PayloadType.VENDOR_ID, b"\xaa" * 4)]),
                          first=PayloadType.VENDOR_ID)  # fmt: skip
    assert data.hex() == (CKY_I + CKY_R).hex() + "0d100200" + "00000000" + "00000024" + (
        "00000008aaaaaaaa")  # fmt: skip
    msg = Message.decode(data)
    assert msg.header.exchange == Exchange.MAIN and msg.payloads[0].body == b"\xaa" * 4


def test_sa_payload_round_trip_and_exact_bytes():
    sa = SaBody((ProposalBody(1, Protocol.ESP, bytes.fromhex("c0ffee01"), (
        TransformBody(1, 3, ((1, 1), (2, 3600), (4, 1), (5, 2))),)),))  # fmt: skip
    raw = sa.encode()
    assert raw.hex() == (
        "00000001" "00000001"  # DOI, situation
        "0000" "0024" "01" "03" "04" "01" "c0ffee01"  # proposal header
        "0000" "0018" "01" "03" "0000" "80010001" "80020e10" "80040001" "80050002"
    )  # fmt: skip
    assert SaBody.decode(raw) == sa


@pytest.mark.parametrize(
    "raw",
    [
        "0000000100000001",  # no proposals
        "00000002000000010000000801030000",  # wrong DOI
        "00000001000000010000002001030401c0ffee01",  # proposal longer than the data
        "00000001000000010000000c0103040100",  # SPI overruns
        "000000010000000100000010010300020000000801030000",  # says 2 transforms, has 1
    ],
)
def test_malformed_sa_payloads_raise_parse_error(raw):
    with pytest.raises(ParseError):
        SaBody.decode(bytes.fromhex(raw.replace(" ", "")))


def test_header_length_must_match_datagram():
    data = encode_message(CKY_I, CKY_R, Exchange.MAIN, 0, 0, body=b"", first=0)
    Message.decode(data)
    with pytest.raises(ParseError):
        Message.decode(data + b"\x00")
    with pytest.raises(ParseError):
        Message.decode(data[:-1])


def test_ikev2_header_is_refused():
    data = bytearray(encode_message(CKY_I, CKY_R, 34, 8, 0, body=b"", first=0))
    data[17] = 0x20
    with pytest.raises(ParseError):
        Message.decode(bytes(data))


def test_encrypted_chain_tolerates_padding_only_when_asked():
    chain = encode_chain([Payload(PayloadType.HASH, b"h" * 20)])
    assert len(decode_chain(PayloadType.HASH, chain + bytes(4), allow_trailing=True)) == 1
    with pytest.raises(ParseError):
        decode_chain(PayloadType.HASH, chain + bytes(4), allow_trailing=False)


def test_notify_delete_nat_oa_round_trip():
    n = NotifyBody(Protocol.ISAKMP, 36136, CKY_I + CKY_R, (7).to_bytes(4, "big"))
    assert n.encode().hex() == "0000000101108d28" + (CKY_I + CKY_R).hex() + "00000007"
    assert NotifyBody.decode(n.encode()) == n
    d = DeleteBody(Protocol.ESP, (b"\x00\x00\x01\x00", b"\x00\x00\x02\x00"))
    assert d.encode().hex() == "00000001030400020000010000000200"
    assert DeleteBody.decode(d.encode()) == d
    with pytest.raises(ParseError):
        DeleteBody.decode(d.encode()[:-1])
    oa = NatOaBody(ipaddress.ip_address("192.0.2.7"))
    assert oa.encode().hex() == "01000000c0000207"
    assert NatOaBody.decode(oa.encode()) == oa


def test_proxy_ids_for_subnets_hosts_ranges_and_route_based_any():
    any4 = TrafficSelector.any(4)
    assert ids.selector_body(any4).encode().hex() == "040000000000000000000000"
    net = TrafficSelector.from_network("10.1.0.0/16")
    assert ids.selector_body(net).encode().hex() == "040000000a010000ffff0000"
    host = TrafficSelector.from_network("10.1.2.3", protocol=6, port=443)
    assert ids.selector_body(host).encode().hex() == "010601bb0a010203"
    rng = TrafficSelector(ipaddress.ip_address("10.0.0.1"), ipaddress.ip_address("10.0.0.6"))
    assert ids.selector_body(rng).id_type == IdType.IPV4_ADDR_RANGE
    v6 = TrafficSelector.from_network("2001:db8::/64")
    for ts in (any4, net, host, rng, v6):
        assert ids.body_selector(IdBody.decode(ids.selector_body(ts).encode())) == ts


def test_non_contiguous_mask_is_a_parse_error():
    with pytest.raises(ParseError):
        IdBody.decode(bytes.fromhex("040000000a000000ff00ff00")).selector_range()


attrs = st.lists(st.tuples(st.integers(1, 0x7FFF), st.integers(0, 2**63)), max_size=8)


@settings(max_examples=200, deadline=None)
@given(attrs)
def test_attribute_round_trip(values):
    assert decode_attributes(encode_attributes(values)) == values


transforms = st.builds(TransformBody, st.integers(0, 255), st.integers(0, 255),
                       attrs.map(tuple))  # fmt: skip
proposal_bodies = st.builds(ProposalBody, st.integers(0, 255), st.integers(0, 255),
                            st.binary(max_size=16),
                            st.lists(transforms, min_size=0, max_size=4).map(tuple))  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(proposal_bodies, min_size=1, max_size=4))
def test_sa_round_trip(props):
    sa = SaBody(tuple(props))
    assert SaBody.decode(sa.encode()) == sa


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_datagrams_raise_only_parse_error(data):
    try:
        msg = Message.decode(data)
    except ParseError:
        return
    for p in msg.payloads:
        for decoder in (SaBody.decode, IdBody.decode, NotifyBody.decode, DeleteBody.decode,
                        NatOaBody.decode):  # fmt: skip
            with contextlib.suppress(ParseError):
                decoder(p.body)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_random_payload_bodies_raise_only_parse_error(body):
    for decoder in (SaBody.decode, IdBody.decode, NotifyBody.decode, DeleteBody.decode,
                    NatOaBody.decode, decode_attributes):  # fmt: skip
        with contextlib.suppress(ParseError):
            decoder(body)
    with contextlib.suppress(ParseError):
        IdBody.decode(body).selector_range()
