"""RFC 7383 fragmentation: sizes, reassembly in any order, duplicates, totals, limits, fuzzing."""

import contextlib
import random
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xfrmctl.keying import transforms as tr
from xfrmctl.keying.constants import ExchangeType, HeaderFlag, PayloadType
from xfrmctl.keying.errors import CryptoError, ParseError
from xfrmctl.keying.fragments import Reassembler, fragment_message, fragment_payload_capacity
from xfrmctl.keying.keys import derive_ike_keys
from xfrmctl.keying.message import IkeHeader, parse_message
from xfrmctl.keying.payloads import CertPayload, IdiPayload, NotifyPayload, SkfPayload
from xfrmctl.keying.sk import DecryptedFragment, SkKeys, sk_keys, unprotect_fragment


def counter_rng() -> Callable[[int], bytes]:
    state = [0]

    def rng(n: int) -> bytes:
        state[0] += 1
        return (state[0].to_bytes(4, "big") * n)[:n]

    return rng


def keys_for(encr: tr.Transform, integ: tr.Transform | None) -> SkKeys:
    ike = derive_ike_keys(tr.PRF_HMAC_SHA2_256, encr, integ, b"n" * 32, b"m" * 32, b"g" * 32,
                          b"i" * 8, b"r" * 8)  # fmt: skip
    return sk_keys(ike, sender_is_initiator=True)


HEADER = IkeHeader(b"i" * 8, b"r" * 8, 0, ExchangeType.IKE_AUTH, HeaderFlag.INITIATOR, 1)
PAYLOADS = [
    IdiPayload(2, b"hub.example.net"),
    CertPayload(4, bytes(range(256)) * 12),
    NotifyPayload(16384),
]
SUITES = [(tr.AES256_CBC, tr.HMAC_SHA2_256_128), (tr.TRIPLE_DES, tr.HMAC_SHA1_96),
          (tr.AES128_GCM_16, None), (tr.CHACHA20_POLY1305, None)]  # fmt: skip


def decrypt_all(datagrams: list[bytes], keys: SkKeys) -> list[DecryptedFragment]:
    return [unprotect_fragment(d, keys) for d in datagrams]


@pytest.mark.parametrize(("encr", "integ"), SUITES, ids=lambda t: getattr(t, "name", "-"))
@pytest.mark.parametrize("max_size", [576, 1280, 1500])
def test_fragments_fit_and_reassemble(encr, integ, max_size):
    keys = keys_for(encr, integ)
    datagrams = fragment_message(HEADER, PAYLOADS, keys, counter_rng(), max_size)
    assert len(datagrams) > 1
    assert all(len(d) <= max_size for d in datagrams)
    assert max(len(d) for d in datagrams) > max_size - max(encr.block_size, 1) - 1
    first = parse_message(datagrams[0])
    skf = first.payloads[-1]
    assert isinstance(skf, SkfPayload) and skf.first_payload == PayloadType.IDI
    assert skf.fragment_number == 1 and skf.total_fragments == len(datagrams)
    later = parse_message(datagrams[1]).payloads[-1]
    assert isinstance(later, SkfPayload) and later.first_payload == 0
    frags = decrypt_all(datagrams, keys)
    random.Random(7).shuffle(frags)
    r = Reassembler()
    results = [r.add(f, 0.0) for f in frags + frags[:2]]
    done = [m for m in results if m is not None]
    assert len(done) == 1 and done[0].protected
    assert list(done[0].payloads) == PAYLOADS
    assert done[0].header.message_id == 1
    # late duplicates look like a retransmission of the whole message: reassembled again so the
    # engine can answer it from its response cache
    assert r.pending == 1 and r.dropped == 0


def test_duplicates_and_late_duplicates():
    keys = keys_for(tr.AES128_GCM_16, None)
    frags = decrypt_all(fragment_message(HEADER, PAYLOADS, keys, counter_rng(), 1280), keys)
    r = Reassembler()
    assert r.add(frags[0], 0.0) is None
    assert r.add(frags[0], 0.1) is None
    assert r.dropped == 1
    for f in frags[1:-1]:
        assert r.add(f, 0.2) is None
    assert r.add(frags[-1], 0.3) is not None


def test_more_fragments_restart_fewer_are_dropped():
    keys = keys_for(tr.AES128_GCM_16, None)
    coarse = decrypt_all(fragment_message(HEADER, PAYLOADS, keys, counter_rng(), 1500), keys)
    fine = decrypt_all(fragment_message(HEADER, PAYLOADS, keys, counter_rng(), 576), keys)
    assert len(fine) > len(coarse)
    r = Reassembler()
    r.add(coarse[0], 0.0)
    r.add(fine[0], 0.1)  # more fragments: start anew
    assert r.add(coarse[1], 0.2) is None and r.dropped == 1  # fewer: dropped
    results = [r.add(f, 0.3) for f in fine[1:]]
    assert results[-1] is not None and list(results[-1].payloads) == PAYLOADS


def test_limits():
    keys = keys_for(tr.AES128_GCM_16, None)
    frags = decrypt_all(fragment_message(HEADER, PAYLOADS, keys, counter_rng(), 576), keys)
    with pytest.raises(ParseError, match="exceeds the limit"):
        Reassembler(max_fragments=len(frags) - 1).add(frags[0], 0.0)
    r = Reassembler(max_message_size=1000)
    r.add(frags[0], 0.0)
    with pytest.raises(ParseError, match="exceeds 1000 bytes"):
        r.add(frags[1], 0.0)
    assert r.pending == 0
    # concurrent reassemblies are bounded
    r = Reassembler(max_pending=1)
    r.add(frags[0], 0.0)
    other = DecryptedFragment(HEADER.__class__(b"i" * 8, b"r" * 8, 0, 35, 8, 2), 35, 1, 2, b"x")
    assert r.add(other, 0.0) is None and r.dropped == 1 and r.pending == 1


def test_timeout_and_deadline():
    keys = keys_for(tr.AES128_GCM_16, None)
    frags = decrypt_all(fragment_message(HEADER, PAYLOADS, keys, counter_rng(), 1280), keys)
    r = Reassembler(timeout=10.0)
    assert r.next_deadline() is None
    r.add(frags[0], 100.0)
    assert r.next_deadline() == 110.0
    assert r.expire(109.9) == 0
    r.add(frags[1], 110.0)  # expires the old state first, starts a new one
    assert r.pending == 1 and r.next_deadline() == 120.0
    assert all(r.add(f, 111.0) is None for f in frags[2:])


def test_wrong_keys_rejected_before_reassembly():
    keys = keys_for(tr.AES256_CBC, tr.HMAC_SHA2_256_128)
    other = keys_for(tr.AES256_CBC, tr.HMAC_SHA2_384_192)
    datagrams = fragment_message(HEADER, PAYLOADS, keys, counter_rng(), 1280)
    with pytest.raises((CryptoError, ValueError)):
        unprotect_fragment(datagrams[0], other)


def test_capacity_too_small():
    keys = keys_for(tr.AES256_CBC, tr.HMAC_SHA2_512_256)
    assert fragment_payload_capacity(keys, 100) == 15  # 100-28-8-16-32 = 16, minus pad length
    assert fragment_payload_capacity(keys, 84) < 1
    with pytest.raises(ValueError, match="no room"):
        fragment_message(HEADER, PAYLOADS, keys, counter_rng(), 84)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 6), st.integers(1, 6),
                          st.integers(0, 60), st.binary(max_size=30)), max_size=20))  # fmt: skip
def test_fuzz_reassembler_only_parse_errors(ops):
    r = Reassembler(max_fragments=5, max_message_size=100, max_pending=2, timeout=30.0)
    for msgid, number, total, now, data in ops:
        hdr = IkeHeader(b"i" * 8, b"r" * 8, 0, 35, 8, msgid)
        frag = DecryptedFragment(hdr, PayloadType.NOTIFY if number == 1 else 0, number, total, data)
        with contextlib.suppress(ParseError):
            r.add(frag, float(now))
        assert r.pending <= 2
