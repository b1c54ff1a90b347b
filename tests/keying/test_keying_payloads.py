"""Payload and message codec: exact bytes, strictness, round trips and fuzzing."""

import contextlib
import ipaddress
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xfrmctl.keying.constants import (
    AuthMethod,
    CertEncoding,
    CfgType,
    ExchangeType,
    HeaderFlag,
    IdType,
    NotifyType,
    PayloadType,
    ProtocolId,
)
from xfrmctl.keying.errors import ParseError
from xfrmctl.keying.message import IkeHeader, Message, parse_header, parse_message
from xfrmctl.keying.payloads import (
    AuthPayload,
    CertPayload,
    CertReqPayload,
    CfgAttribute,
    CpPayload,
    DeletePayload,
    EapPayload,
    IdiPayload,
    IdrPayload,
    KePayload,
    NoncePayload,
    NotifyPayload,
    SaPayload,
    SaProposal,
    SaTransform,
    SkfPayload,
    SkPayload,
    TrafficSelector,
    TransformAttribute,
    TsiPayload,
    TsrPayload,
    UnknownPayload,
    VendorIdPayload,
    encode_payloads,
    parse_payloads,
)

h = bytes.fromhex
PAYLOAD_TYPES = [int(t) for t in PayloadType if t not in (PayloadType.NONE,)]

SA_INIT = h(
    # IKE header: SPIi, SPIr, next=SA(33), version 2.0, IKE_SA_INIT(34), flags I, msgid 0, len 180
    "0102030405060708" "0000000000000000" "21" "20" "22" "08" "00000000" "000000b4"
    # SA payload: next=KE, len 48; proposal 1 IKE, 4 transforms
    "22000030" "0000002c" "01010004"
    "0300000c" "0100000c" "800e0100"  # ENCR_AES_CBC, key length 256
    "03000008" "02000005"  # PRF_HMAC_SHA2_256
    "03000008" "0300000c"  # AUTH_HMAC_SHA2_256_128
    "00000008" "0400001f"  # DH 31 (Curve25519)
    # KE payload: next=Nonce, len 40, group 31
    "28000028" "001f0000" + "11" * 32 +
    # Nonce payload: next=Notify, len 36
    "29000024" + "22" * 32 +
    # Notify NAT_DETECTION_SOURCE_IP, next=none, len 28
    "0000001c" "00004004" + "33" * 20
)  # fmt: skip


def sa_init_message() -> Message:
    header = IkeHeader(h("0102030405060708"), bytes(8), 0, ExchangeType.IKE_SA_INIT,
                       HeaderFlag.INITIATOR, 0)  # fmt: skip
    sa = SaPayload((SaProposal(1, ProtocolId.IKE, b"", (
        SaTransform.make(1, 12, 256), SaTransform.make(2, 5), SaTransform.make(3, 12),
        SaTransform.make(4, 31))),))  # fmt: skip
    return Message(header, (
        sa, KePayload(31, b"\x11" * 32), NoncePayload(b"\x22" * 32),
        NotifyPayload(NotifyType.NAT_DETECTION_SOURCE_IP, b"\x33" * 20)))  # fmt: skip


def test_ike_sa_init_exact_bytes():
    assert sa_init_message().encode() == SA_INIT


def test_ike_sa_init_parse():
    msg = parse_message(SA_INIT)
    assert msg.header.exchange_type is ExchangeType.IKE_SA_INIT
    assert msg.header.is_initiator and not msg.header.is_response
    assert msg.header.length == 180 and msg.header.next_payload is PayloadType.SA
    assert msg.payloads == sa_init_message().payloads
    sa = msg.get(SaPayload)
    assert sa is not None and sa.proposals[0].transforms[0].key_length == 256
    assert sa.proposals[0].transforms[1].key_length is None
    n = msg.notify(NotifyType.NAT_DETECTION_SOURCE_IP)
    assert n is not None and n.data == b"\x33" * 20 and not n.is_error
    assert msg.notify(NotifyType.COOKIE) is None


def test_parse_header_only():
    hdr = parse_header(SA_INIT[:28])
    assert hdr.spi_i == h("0102030405060708") and hdr.message_id == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (SA_INIT[:27], "shorter than its header"),
        (SA_INIT[:-1], "header length 180 but datagram has 179"),
        (SA_INIT + b"\x00", "header length 180 but datagram has 181"),
        (SA_INIT[:28 - 4] + struct.pack("!I", 20) , "too small"),
    ],
)  # fmt: skip
def test_message_length_errors(data, message):
    with pytest.raises(ParseError, match=message):
        parse_message(data)


def test_major_version_rejected_with_notify():
    bad = SA_INIT[:17] + b"\x30" + SA_INIT[18:]
    with pytest.raises(ParseError) as info:
        parse_message(bad)
    assert info.value.notify == NotifyType.INVALID_MAJOR_VERSION
    # minor version is ignored
    assert parse_message(SA_INIT[:17] + b"\x21" + SA_INIT[18:]).header.minor_version == 1


def _with_payload_after_nonce(ptype: int, flags: int, body: bytes) -> bytes:
    """SA_INIT with an extra payload between Nonce and Notify."""
    msg = bytearray(SA_INIT)
    nonce_off = 28 + 48 + 40
    msg[nonce_off] = ptype  # Nonce's next payload -> the extra one
    extra = struct.pack("!BBH", PayloadType.NOTIFY, flags, 4 + len(body)) + body
    out = bytes(msg[: nonce_off + 36]) + extra + bytes(msg[nonce_off + 36 :])
    return out[:24] + struct.pack("!I", len(out)) + out[28:]


def test_unknown_critical_payload_rejected():
    with pytest.raises(ParseError) as info:
        parse_message(_with_payload_after_nonce(200, 0x80, b"xyz"))
    assert info.value.notify == NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD
    assert info.value.data == bytes([200])


def test_unknown_noncritical_payload_kept_and_skipped():
    msg = parse_message(_with_payload_after_nonce(200, 0x00, b"xyz"))
    assert msg.payloads[3] == UnknownPayload(200, False, b"xyz")
    assert isinstance(msg.payloads[4], NotifyPayload)
    assert msg.encode() == _with_payload_after_nonce(200, 0x00, b"xyz")


def test_known_payload_critical_bit_ignored():
    data = bytearray(SA_INIT)
    data[28 + 1] = 0x80  # critical bit on the SA payload
    assert parse_message(bytes(data)).payloads == sa_init_message().payloads


@pytest.mark.parametrize(
    ("chain", "first", "message"),
    [
        (b"\x00\x00\x00\x03", PayloadType.VENDOR_ID, "length 3 exceeds"),
        (b"\x00\x00\x00\x09abcd", PayloadType.VENDOR_ID, "length 9 exceeds"),
        (b"\x00\x00", PayloadType.VENDOR_ID, "truncated generic header"),
        (b"\x00\x00\x00\x04\x00", PayloadType.VENDOR_ID, "1 bytes after the last payload"),
        (b"\x00\x00\x00\x0c" + b"n" * 8, PayloadType.NONCE, "nonce of 8 bytes"),
        (b"\x00\x00\x01\x08" + b"n" * 260, PayloadType.NONCE, "nonce of 260 bytes"),
        (b"\x00\x00\x00\x06\x00\x1f", PayloadType.KE, "KE payload too short"),
        (b"\x00\x00\x00\x09\x01\x00\x00\x00\x01", PayloadType.IDI, "1 address bytes"),
        (b"\x00\x00\x00\x08\x02\x00\x00\x00", PayloadType.IDR, "empty identification"),
        (b"\x00\x00\x00\x08\x02\x00\x00\x00", PayloadType.AUTH, "without authentication data"),
        (b"\x00\x00\x00\x08\x03\x04\x00\x02", PayloadType.DELETE, "does not match its SPI count"),
        (b"\x00\x00\x00\x10\x01\x08\x00\x01" + b"s" * 8, PayloadType.DELETE, "must not carry SPIs"),
        (b"\x00\x00\x00\x0c\x03\x08\x00\x01" + b"s" * 4, PayloadType.DELETE,
         "does not match"),
        (b"\x00\x00\x00\x08\x03\x00\x40\x01", PayloadType.NOTIFY, None),
        (b"\x00\x00\x00\x07\x03\x05\x40", PayloadType.NOTIFY, "Notify payload too short"),
        (b"\x00\x00\x00\x08\x03\x05\x40\x01", PayloadType.NOTIFY, "Notify payload SPI"),
        (b"\x00\x00\x00\x08\x01\x00\x00\x00", PayloadType.TSI, "traffic selector too short"),
        (b"\x00\x00\x00\x18\x01\x00\x00\x00" + h("0700000f0000ffff0a0000010a0000"),
         PayloadType.TSR, "exceeds"),
        (b"\x00\x00\x00\x18\x01\x00\x00\x00" + h("0700001100000000ffff0a0000010a000001"),
         PayloadType.TSR, "selector length 17 for type 7"),
        (b"\x00\x00\x00\x18\x01\x00\x00\x00" + h("0900001000000000ffff0a0000010a000001"),
         PayloadType.TSR, "unsupported traffic selector type 9"),
        (b"\x00\x00\x00\x0c\x01\x00\x00\x00\x00\x01\x00\x08", PayloadType.CP, "exceeds CP"),
        (b"\x00\x00\x00\x09\x01\x01\x00\x06\x01", PayloadType.EAP, "EAP length"),
        (b"\x00\x00\x00\x08\x01\x01\x00\x04", PayloadType.EAP, "without a type"),
        (b"\x00\x00\x00\x08\x09\x01\x00\x04", PayloadType.EAP, "unknown EAP code"),
        (b"\x00\x00\x00\x08\x00\x00\x00\x01", PayloadType.SKF, "invalid fragment number 0"),
        (b"\x00\x00\x00\x08\x00\x03\x00\x02", PayloadType.SKF, "invalid fragment number 3"),
        (b"\x00\x00\x00\x04", PayloadType.SA, "without a complete last proposal"),
    ],
)  # fmt: skip
def test_strict_payload_lengths(chain, first, message):
    if message is None:
        parse_payloads(first, chain)  # a valid notify for contrast
        return
    with pytest.raises(ParseError, match=message):
        parse_payloads(first, chain)


def _sa_body(proposal: bytes) -> bytes:
    return struct.pack("!BBH", 0, 0, 4 + len(proposal)) + proposal


@pytest.mark.parametrize(
    ("proposal", "message"),
    [
        (h("0000000c01010001") + h("00000008"), "transform too short"),
        (h("0000001001010002") + h("0000000801000003"), "announces 2 transforms, carries 1"),
        (h("0000001001010001") + h("0300000801000003"), "announces 1 transforms, carries 1"),
        (h("0000001001010001") + h("0000000901000003"), "inconsistent with proposal"),
        (h("0000001001010001") + h("0100000801000003"), "last-substructure value 1"),
        (h("0000001001010001") + h("000000080100000300"), "data after the last proposal"),
        (h("0200001001010001") + h("0000000801000003"), "without a complete last"),
        (h("0000000801010001"), "announces 1 transforms, carries 0"),
        (h("0000000801010000"), "proposal without transforms"),
        (h("0000000801030401"), "inconsistent with SA payload"),
        (h("0000001401010001") + h("0000000c0100000c") + h("000e0010"),
         "attribute length exceeds"),
        (h("0000001001010001") + h("0000000801000003") + h("00"), "data after the last proposal"),
        (h("0000001001010001") + h("0000000801000003") + h("0000001001010001"
                                                             "0000000801000003"),
         "data after the last proposal"),
        (h("0500001001010001") + h("0000000801000003"), "last-substructure value 5"),
        (h("0000000701010001"), "inconsistent with SA payload"),
        (h("0000"), "proposal too short"),
    ],
)  # fmt: skip
def test_sa_nesting_errors(proposal, message):
    with pytest.raises(ParseError, match=message):
        parse_payloads(PayloadType.SA, _sa_body(proposal))


def test_transform_data_after_last():
    prop = h("0000001801010001") + h("0000000801000003") + h("0000000801000003")
    with pytest.raises(ParseError, match="data after the last transform"):
        parse_payloads(PayloadType.SA, _sa_body(prop))


def test_sa_with_esp_spi_and_tlv_attribute():
    sa = SaPayload((SaProposal(1, ProtocolId.ESP, b"\xaa\xbb\xcc\xdd", (
        SaTransform(1, 20, (TransformAttribute(14, 128), TransformAttribute(99, b"xyz"))),
        SaTransform.make(5, 0))),
        SaProposal(2, ProtocolId.ESP, b"\xaa\xbb\xcc\xdd", (SaTransform.make(1, 3),))))  # fmt: skip
    first, data = encode_payloads([sa])
    assert parse_payloads(first, data) == (sa,)
    assert data[4:8] == h("02000027")  # first proposal: more follows, length 39


def test_encrypted_payload_must_be_last_and_not_nested():
    sk = b"\x29\x00\x00\x08abcd"
    assert parse_payloads(PayloadType.SK, sk) == (SkPayload(0x29, b"abcd"),)
    with pytest.raises(ParseError, match="not the last payload"):
        parse_payloads(PayloadType.SK, sk + b"\x00")
    with pytest.raises(ParseError, match="inside an encrypted"):
        parse_payloads(PayloadType.SK, sk, inner=True)
    skf = b"\x29\x00\x00\x0c\x00\x01\x00\x02abcd"
    assert parse_payloads(PayloadType.SKF, skf) == (SkfPayload(0x29, 1, 2, b"abcd"),)


def test_certreq_hashes():
    p = CertReqPayload(CertEncoding.X509_SIGNATURE, b"a" * 20 + b"b" * 20)
    assert p.ca_key_hashes == (b"a" * 20, b"b" * 20)
    with pytest.raises(ParseError):
        _ = CertReqPayload(CertEncoding.X509_SIGNATURE, b"a" * 21).ca_key_hashes


def test_auth_data_not_in_repr():
    assert "secret" not in repr(AuthPayload(AuthMethod.SHARED_KEY_MIC, b"secret"))


def test_ts_payload_exact_bytes():
    ts = TsiPayload((TrafficSelector(ipaddress.ip_address("10.0.0.0"),
                                     ipaddress.ip_address("10.0.0.255"), 6, 80, 80),))  # fmt: skip
    first, data = encode_payloads([ts])
    assert first == PayloadType.TSI
    assert data == h("000000180100000007060010005000500a0000000a0000ff")
    with pytest.raises(ValueError, match="mixes IPv4 and IPv6"):
        TrafficSelector(ipaddress.ip_address("10.0.0.0"), ipaddress.ip_address("::1")).encode()


# ------------------------------------------------------------------------- hypothesis round trips

b8 = st.integers(0, 255)
b16 = st.integers(0, 0xFFFF)
blob = st.binary(max_size=64)


def _v4() -> st.SearchStrategy[ipaddress.IPv4Address]:
    return st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)


def _v6() -> st.SearchStrategy[ipaddress.IPv6Address]:
    return st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address)


selectors = st.one_of(
    st.builds(TrafficSelector, _v4(), _v4(), b8, b16, b16),
    st.builds(TrafficSelector, _v6(), _v6(), b8, b16, b16),
)
attributes = st.one_of(
    st.builds(TransformAttribute, st.integers(0, 0x7FFF), b16),
    st.builds(TransformAttribute, st.integers(0, 0x7FFF), st.binary(max_size=8)),
)
sa_transforms = st.builds(
    SaTransform, b8, b16, st.tuples() | st.lists(attributes, max_size=3).map(tuple)
)
proposals = st.builds(SaProposal, b8, b8, st.sampled_from([b"", b"\x01" * 4, b"\x02" * 8]),
                      st.lists(sa_transforms, min_size=1, max_size=5).map(tuple))  # fmt: skip
id_payloads = st.one_of(
    st.builds(IdiPayload, st.just(IdType.IPV4_ADDR), st.binary(min_size=4, max_size=4)),
    st.builds(IdrPayload, st.just(IdType.IPV6_ADDR), st.binary(min_size=16, max_size=16)),
    st.builds(IdiPayload, st.sampled_from([IdType.FQDN, IdType.RFC822_ADDR, IdType.DER_ASN1_DN,
                                           IdType.KEY_ID]), st.binary(min_size=1, max_size=40)),
    st.builds(IdrPayload, st.just(IdType.NULL), st.just(b"")),
)  # fmt: skip
eap = st.one_of(
    st.builds(lambda i, t, d: EapPayload(bytes([1, i]) + struct.pack("!H", 5 + len(d)) +
                                         bytes([t]) + d), b8, b8, blob),
    st.builds(lambda i: EapPayload(bytes([3, i, 0, 4])), b8),
)  # fmt: skip
payloads = st.one_of(
    st.builds(SaPayload, st.lists(proposals, min_size=1, max_size=3).map(tuple)),
    st.builds(KePayload, b16, blob),
    id_payloads,
    st.builds(CertPayload, b8, blob),
    st.builds(CertReqPayload, b8, blob),
    st.builds(AuthPayload, b8, st.binary(min_size=1, max_size=64)),
    st.builds(NoncePayload, st.binary(min_size=16, max_size=256)),
    st.builds(NotifyPayload, b16, blob, b8, st.sampled_from([b"", b"\x01" * 4, b"\x02" * 8])),
    st.builds(DeletePayload, st.just(ProtocolId.IKE), st.just(())),
    st.builds(DeletePayload, st.sampled_from([ProtocolId.ESP, ProtocolId.AH]),
              st.lists(st.binary(min_size=4, max_size=4), max_size=4).map(tuple)),
    st.builds(VendorIdPayload, blob),
    st.builds(TsiPayload, st.lists(selectors, max_size=4).map(tuple)),
    st.builds(TsrPayload, st.lists(selectors, max_size=4).map(tuple)),
    st.builds(CpPayload, st.sampled_from(list(CfgType)),
              st.lists(st.builds(CfgAttribute, st.integers(0, 0x7FFF), st.binary(max_size=16)),
                       max_size=4).map(tuple)),
    eap,
    st.builds(UnknownPayload, st.integers(1, 32), st.just(False), blob),
)  # fmt: skip
spis = st.binary(min_size=8, max_size=8)
headers = st.builds(IkeHeader, spis, spis, st.just(0), st.sampled_from(list(ExchangeType)),
                    st.sampled_from([0, 8, 32, 40]), st.integers(0, 2**32 - 1))  # fmt: skip


encrypted_tail = st.one_of(
    st.just(None),
    st.builds(SkPayload, st.sampled_from([0, *PAYLOAD_TYPES]), blob),
    st.integers(1, 50).flatmap(
        lambda total: st.builds(SkfPayload, st.sampled_from([0, *PAYLOAD_TYPES]),
                                st.integers(1, total), st.just(total), blob)),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(payloads, max_size=6), encrypted_tail)
def test_payload_chain_round_trip(chain, tail):
    if tail is not None:
        chain = [*chain, tail]
    first, data = encode_payloads(chain)
    assert parse_payloads(first, data) == tuple(chain)
    # and re-encoding is byte-identical
    assert encode_payloads(parse_payloads(first, data)) == (first, data)


@settings(max_examples=200, deadline=None)
@given(headers, st.lists(payloads, max_size=5), encrypted_tail)
def test_message_round_trip(header, chain, tail):
    if tail is not None:
        chain = [*chain, tail]
    wire = Message(header, tuple(chain)).encode()
    msg = parse_message(wire)
    assert msg.payloads == tuple(chain)
    assert msg.header.spi_i == header.spi_i and msg.header.message_id == header.message_id
    assert msg.header.exchange_type == header.exchange_type and msg.header.flags == header.flags
    assert msg.encode() == wire


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_fuzz_random_bytes_only_parse_error(data):
    with contextlib.suppress(ParseError):
        parse_message(data)
    for inner in (False, True):
        with contextlib.suppress(ParseError):
            parse_payloads(data[0] if data else 0, data[1:], inner=inner)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(SA_INIT) - 1), b8), min_size=1, max_size=6),
       st.integers(0, len(SA_INIT)))  # fmt: skip
def test_fuzz_mutated_sa_init_only_parse_error(mutations, cut):
    data = bytearray(SA_INIT)
    for pos, val in mutations:
        data[pos] = val
    for candidate in (bytes(data), bytes(data[:cut])):
        with contextlib.suppress(ParseError):
            parse_message(candidate)


@pytest.mark.parametrize(
    ("payload", "wire"),
    [
        # Delete of two ESP SPIs: proto 3, SPI size 4, count 2
        (DeletePayload(ProtocolId.ESP, (h("11223344"), h("55667788"))),
         "00000010" "03040002" "11223344" "55667788"),
        # Delete of the IKE SA: proto 1, SPI size 0, count 0
        (DeletePayload(ProtocolId.IKE), "00000008" "01000000"),
        # REKEY_SA notify for an ESP SPI
        (NotifyPayload(NotifyType.REKEY_SA, b"", ProtocolId.ESP, h("c0ffee00")),
         "0000000c" "03044009" "c0ffee00"),
        # INVALID_KE_PAYLOAD carrying the wanted group (14)
        (NotifyPayload(NotifyType.INVALID_KE_PAYLOAD, h("000e")), "0000000a" "00000011" "000e"),
        # IDi of type IPv4
        (IdiPayload(IdType.IPV4_ADDR, bytes([192, 0, 2, 1])), "0000000c" "01000000" "c0000201"),
        # CP request for an internal IPv4 address (empty value) and DNS
        (CpPayload(CfgType.CFG_REQUEST, (CfgAttribute(1), CfgAttribute(3))),
         "00000010" "01000000" "00010000" "00030000"),
        # AUTH with the shared key method
        (AuthPayload(AuthMethod.SHARED_KEY_MIC, b"\xaa" * 4), "0000000c" "02000000" "aaaaaaaa"),
        # CERTREQ for X.509 signatures with one CA hash
        (CertReqPayload(CertEncoding.X509_SIGNATURE, b"\x01" * 20), "00000019" "04" + "01" * 20),
        # EAP Success
        (EapPayload(h("03070004")), "00000008" "03070004"),
    ],
)  # fmt: skip
def test_exact_payload_bytes(payload, wire):
    first, data = encode_payloads([payload])
    assert first == payload.payload_type
    assert data.hex() == wire
    assert parse_payloads(first, data) == (payload,)
