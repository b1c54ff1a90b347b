"""Hypothesis on the IKEv1 (ISAKMP) decoder and responder: random and mutated datagrams give a
ParseError or a protocol answer, never another exception, and never state beyond the half-open
limit; plus authenticated garbage inside a real IKEv2 SA (the exchange handlers themselves)."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz import harness as fz
from xfrmctl.keying.ikev1.engine import HALF_OPEN_LIMIT

FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
V1_FILES = [f for f in fz.corpus_files() if f.name.startswith("ikev1-")]
V1_REQUESTS = [f for f in V1_FILES if f.stem.endswith("-a")]


@FUZZ
@given(data=st.binary(max_size=600))
def test_random_bytes_into_decoder_and_responder(data):
    fz.decode_v1(data)
    fz.feed(fz.responder_v1(), data)


@FUZZ
@given(header=st.binary(min_size=28, max_size=28), body=st.binary(max_size=300))
def test_isakmp_version_header_with_random_body(header, body):
    # a version-1.0 header of the right length, so the payload chain is what gets parsed
    raw = bytearray(header + body)
    raw[17] = 0x10
    raw[24:28] = len(raw).to_bytes(4, "big")
    fz.decode_v1(bytes(raw))
    fz.feed(fz.responder_v1(), bytes(raw))


@FUZZ
@given(data=st.data())
def test_mutated_exchange_into_fresh_responder(data):
    eng = fz.responder_v1()
    choose = fz.DrawChooser(data.draw)
    for _ in range(data.draw(st.integers(1, 4))):
        original = data.draw(st.sampled_from(V1_REQUESTS)).read_bytes()
        fz.feed(eng, fz.mutate(original, choose))
        fz.feed(eng, original)


def test_main_mode_flood_is_bounded_by_the_half_open_limit():
    first = next(f for f in V1_FILES if f.name == "ikev1-main-00-a.bin").read_bytes()
    eng = fz.responder_v1()
    for i in range(HALF_OPEN_LIMIT + 50):
        spoofed = (i + 1).to_bytes(8, "big") + first[8:]  # a new initiator cookie each time
        fz.feed(eng, spoofed, now=float(i) * 0.001)
    assert fz.v1_state(eng) == HALF_OPEN_LIMIT
    assert eng.counters["half-open limit reached"] == 50


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(exchange=st.sampled_from([34, 35, 36, 37]), first=st.integers(0, 60),
       inner=st.binary(max_size=200))  # fmt: skip
def test_authenticated_garbage_into_ikev2_exchange_handlers(exchange, first, inner):
    sa = fz.EstablishedV2()
    sa.request(exchange, first, inner)
    assert len(sa.b.sessions) <= 2
