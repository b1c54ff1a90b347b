"""SK payload protection: RFC 7634's IKEv2 example byte for byte, every cipher, tamper and fuzz."""

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xfrmctl.keying import transforms as tr
from xfrmctl.keying.cipher import CbcCipher
from xfrmctl.keying.constants import ExchangeType, HeaderFlag, NotifyType, PayloadType
from xfrmctl.keying.errors import CryptoError, ParseError
from xfrmctl.keying.keys import derive_ike_keys
from xfrmctl.keying.message import IkeHeader, parse_message
from xfrmctl.keying.payloads import DeletePayload, NotifyPayload, SkPayload, VendorIdPayload
from xfrmctl.keying.sk import SkKeys, protect, sk_keys, unprotect

h = bytes.fromhex


def fixed_rng(data: bytes) -> Callable[[int], bytes]:
    buf = bytearray(data)

    def rng(n: int) -> bytes:
        out = bytes(buf[:n])
        del buf[:n]
        assert len(out) == n
        return out

    return rng


def counter_rng() -> Callable[[int], bytes]:
    state = [0]

    def rng(n: int) -> bytes:
        state[0] += 1
        return (state[0].to_bytes(4, "big") * n)[:n]

    return rng


RFC7634_KEY = h("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3")
RFC7634_MSG = h(
    "c0c1c2c3c4c5c6c7d0d1d2d3d4d5d6d72e202500000000090000004529000029"
    "1011121314151617610394701f8d017f7c12924889"
    "6b71bfe25236efd7cdc67066906315b2"
)
RFC7634_HEADER = IkeHeader(h("c0c1c2c3c4c5c6c7"), h("d0d1d2d3d4d5d6d7"), 0,
                           ExchangeType.INFORMATIONAL, 0, 9)  # fmt: skip


def test_rfc7634_ikev2_example_exact_bytes():
    keys = SkKeys(tr.CHACHA20_POLY1305, None, RFC7634_KEY, b"")
    notify = NotifyPayload(NotifyType.SET_WINDOW_SIZE, h("0000000a"))
    wire = protect(RFC7634_HEADER, [notify], keys, fixed_rng(h("1011121314151617")))
    assert wire == RFC7634_MSG
    msg = unprotect(RFC7634_MSG, keys)
    assert msg.protected and msg.payloads == (notify,)
    assert msg.header.message_id == 9 and msg.header.exchange_type == ExchangeType.INFORMATIONAL


def test_rfc7634_tampering_detected():
    keys = SkKeys(tr.CHACHA20_POLY1305, None, RFC7634_KEY, b"")
    for pos in (0, 20, 27, 31, 35, 45, len(RFC7634_MSG) - 1):
        bad = bytearray(RFC7634_MSG)
        bad[pos] ^= 0x01
        with pytest.raises((CryptoError, ParseError)):
            unprotect(bytes(bad), keys)


ALL_SUITES = [
    (tr.AES128_CBC, tr.HMAC_SHA1_96),
    (tr.AES192_CBC, tr.HMAC_SHA2_384_192),
    (tr.AES256_CBC, tr.HMAC_SHA2_256_128),
    (tr.AES256_CBC, tr.HMAC_SHA2_512_256),
    (tr.TRIPLE_DES, tr.HMAC_MD5_96),
    (tr.DES, tr.HMAC_SHA1_96),
    (tr.AES128_GCM_8, None),
    (tr.AES192_GCM_12, None),
    (tr.AES256_GCM_16, None),
    (tr.CHACHA20_POLY1305, None),
]


def make_keys(encr: tr.Transform, integ: tr.Transform | None) -> tuple[SkKeys, SkKeys]:
    ike = derive_ike_keys(tr.PRF_HMAC_SHA2_256, encr, integ, b"n" * 32, b"m" * 32, b"g" * 256,
                          b"i" * 8, b"r" * 8)  # fmt: skip
    return sk_keys(ike, sender_is_initiator=True), sk_keys(ike, sender_is_initiator=False)


HEADER = IkeHeader(b"i" * 8, b"r" * 8, 0, ExchangeType.INFORMATIONAL, HeaderFlag.INITIATOR, 2)


@pytest.mark.parametrize(("encr", "integ"), ALL_SUITES, ids=lambda t: getattr(t, "name", "-"))
@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 100])
def test_round_trip_every_suite(encr, integ, size):
    out_i, out_r = make_keys(encr, integ)
    payloads = [VendorIdPayload(b"v" * size)] if size else []
    wire = protect(HEADER, payloads, out_i, counter_rng())
    assert parse_message(wire).header.length == len(wire)
    sk = parse_message(wire).payloads[-1]
    assert isinstance(sk, SkPayload)
    assert sk.first_payload == (PayloadType.VENDOR_ID if size else PayloadType.NONE)
    if not encr.aead:
        assert (len(sk.data) - encr.iv_size - integ.icv_size) % encr.block_size == 0
    assert unprotect(wire, out_i).payloads == tuple(payloads)
    with pytest.raises(CryptoError):
        unprotect(wire, out_r)  # the other direction's keys


def test_cbc_padding_and_layout():
    out_i, _ = make_keys(tr.AES128_CBC, tr.HMAC_SHA2_256_128)
    payload = DeletePayload(1)  # 8 bytes encoded: + 7 pad + 1 pad length = one block
    wire = protect(HEADER, [payload], out_i, fixed_rng(b"\x42" * 16))
    assert len(wire) == 28 + 4 + 16 + 16 + 16
    assert wire[28:32] == bytes([PayloadType.DELETE, 0, 0, 52])
    assert wire[32:48] == b"\x42" * 16


def test_bad_pad_length_and_misaligned():
    out_i, _ = make_keys(tr.AES128_CBC, tr.HMAC_SHA1_96)
    # encrypt a plaintext whose pad length byte is 0xff by crafting with the cipher directly
    iv = b"\x00" * 16
    cipher = out_i.cipher
    assert isinstance(cipher, CbcCipher)
    ct = cipher.encrypt(iv, b"\x00" * 15 + b"\xff")
    head = HEADER.__class__(**{**HEADER.__dict__, "next_payload": PayloadType.SK,
                               "length": 28 + 4 + 16 + 16 + 12}).encode()  # fmt: skip
    body = head + bytes([0, 0, 0, 48]) + iv + ct
    integ = out_i.integrity
    assert integ is not None
    with pytest.raises(ParseError, match="pad length 255"):
        unprotect(body + integ.compute(body), out_i)
    # one byte short of a block: rejected after the ICV check passes
    head = HEADER.__class__(**{**HEADER.__dict__, "next_payload": PayloadType.SK,
                               "length": 28 + 4 + 16 + 15 + 12}).encode()  # fmt: skip
    body = head + bytes([0, 0, 0, 47]) + iv + ct[:15]
    with pytest.raises(ParseError, match="whole number of cipher blocks"):
        unprotect(body + integ.compute(body), out_i)


def test_no_sk_payload():
    out_i, _ = make_keys(tr.AES128_GCM_16, None)
    plain = HEADER.__class__(**{**HEADER.__dict__}).encode()
    wire = plain[:24] + (28).to_bytes(4, "big")
    with pytest.raises(ParseError, match="no Encrypted payload"):
        unprotect(wire, out_i)


def test_sk_keys_validation_and_repr():
    with pytest.raises(ValueError):
        SkKeys(tr.AES128_GCM_16, tr.HMAC_SHA1_96, b"k" * 20, b"a" * 20)
    with pytest.raises(ValueError):
        SkKeys(tr.AES128_CBC, None, b"k" * 16, b"")
    assert "kkkk" not in repr(SkKeys(tr.AES128_CBC, tr.HMAC_SHA1_96, b"k" * 16, b"a" * 20))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ALL_SUITES), st.binary(max_size=200),
       st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), max_size=4))  # fmt: skip
def test_fuzz_unprotect_only_typed_errors(suite, tail, flips):
    out_i, _ = make_keys(*suite)
    wire = bytearray(protect(HEADER, [VendorIdPayload(b"x" * 20)], out_i, counter_rng()))
    for pos, bit in flips:
        wire[pos % len(wire)] ^= bit
    for candidate in (bytes(wire), bytes(wire[:28]) + tail, bytes(wire) + tail):
        with contextlib.suppress(ParseError, CryptoError):
            unprotect(candidate, out_i)
