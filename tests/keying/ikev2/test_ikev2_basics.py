from collections.abc import Callable
from ipaddress import ip_address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xfrmctl.keying.ikev2.cookies import CookieJar
from xfrmctl.keying.ikev2.msgid import MessageIdWindow, RequestVerdict
from xfrmctl.keying.ikev2.retransmit import RetransmitPolicy, Retransmitter, TimerVerdict
from xfrmctl.keying.ikev2.ts import (
    TrafficSelector,
    TrafficSelectorError,
    acceptable_answer,
    narrow,
)


def counter_rng() -> Callable[[int], bytes]:
    state = [0]

    def rng(n: int) -> bytes:
        state[0] += 1
        return bytes([state[0] & 0xFF]) * n

    return rng


def test_retransmit_schedule_matches_strongswan_defaults():
    r = Retransmitter(RetransmitPolicy())
    r.start((b"req",), 0.0)
    times = [r.deadline]
    verdicts = []
    while r.active:
        assert r.deadline is not None
        now = r.deadline
        assert r.on_timer(now - 0.001) is TimerVerdict.NOTHING
        verdicts.append(r.on_timer(now))
        times.append(r.deadline)
    assert verdicts == [TimerVerdict.RESEND] * 5 + [TimerVerdict.GIVE_UP]
    assert [round(t or 0.0, 3) for t in times[:-1]] == [4.0, 11.2, 24.16, 47.488, 89.478, 165.061]
    assert round(RetransmitPolicy().give_up_after(), 3) == 165.061


def test_retransmit_limit_and_validation():
    p = RetransmitPolicy(base=1.0, factor=2.0, tries=3, limit=3.0)
    assert [p.timeout(n) for n in range(4)] == [1.0, 2.0, 3.0, 3.0]
    with pytest.raises(ValueError):
        RetransmitPolicy(base=0)


def test_msgid_window():
    w = MessageIdWindow()
    assert w.allocate() == 0
    with pytest.raises(RuntimeError):
        w.allocate()
    assert not w.response_matches(1)
    assert w.response_matches(0)
    w.response_done()
    assert w.allocate() == 1
    assert w.classify_request(0) is RequestVerdict.NEW
    assert w.classify_request(1) is RequestVerdict.OUT_OF_WINDOW
    w.request_answered(0, (b"resp",))
    assert w.classify_request(0) is RequestVerdict.RETRANSMIT
    assert w.classify_request(1) is RequestVerdict.NEW
    assert w.classify_request(5) is RequestVerdict.OUT_OF_WINDOW


def test_cookie_rotation():
    jar = CookieJar(rng=counter_rng(), rotate_every=10.0)
    c = jar.make(b"n" * 16, "192.0.2.1", 7, 0.0)
    assert len(c) == 36 and c[:4] == b"\0\0\0\0"
    assert jar.verify(c, b"n" * 16, "192.0.2.1", 7, 1.0)
    assert not jar.verify(c, b"m" * 16, "192.0.2.1", 7, 1.0)
    assert not jar.verify(c, b"n" * 16, "192.0.2.2", 7, 1.0)
    assert not jar.verify(c, b"n" * 16, "192.0.2.1", 8, 1.0)
    assert not jar.verify(c[:-1], b"n" * 16, "192.0.2.1", 7, 1.0)
    # after one rotation the old cookie still works, after two it does not
    assert jar.verify(c, b"n" * 16, "192.0.2.1", 7, 10.0)
    c2 = jar.make(b"n" * 16, "192.0.2.1", 7, 10.0)
    assert c2[:4] == b"\0\0\0\x01" and c2 != c
    assert not jar.verify(c, b"n" * 16, "192.0.2.1", 7, 20.0)
    assert jar.verify(c2, b"n" * 16, "192.0.2.1", 7, 20.0)


def ts(net: str, proto: int = 0, port: int | tuple[int, int] | None = None) -> TrafficSelector:
    return TrafficSelector.from_network(net, proto, port)


def test_ts_intersection_and_str():
    a = ts("10.0.0.0/8")
    b = ts("10.1.0.0/16", 6, (80, 443))
    assert a.intersect(b) == b
    assert str(b) == "10.1.0.0/16[6/80-443]"
    assert str(a) == "10.0.0.0/8"
    assert str(ts("10.0.0.1", 17, 53)) == "10.0.0.1/32[17/53]"
    assert ts("10.0.0.0/8").intersect(ts("11.0.0.0/8")) is None
    assert ts("10.0.0.0/8", 6).intersect(ts("10.0.0.0/8", 17)) is None
    assert ts("10.0.0.0/8").intersect(ts("::/0")) is None
    assert ts("10.0.0.0/8", 6, 80).intersect(ts("10.0.0.0/8", 6, 81)) is None
    r = TrafficSelector(ip_address("10.0.0.5"), ip_address("10.0.0.9"))
    assert str(r) == "10.0.0.5-10.0.0.9"
    assert r.to_networks()[0].prefixlen == 32
    v6 = ts("2001:db8::/32").intersect(ts("2001:db8:1::/48"))
    assert v6 == ts("2001:db8:1::/48")
    assert TrafficSelector.any(6) == ts("::/0")


def test_ts_opaque_ports():
    opaque = TrafficSelector(ip_address("10.0.0.0"), ip_address("10.0.0.255"), 50, 65535, 0)
    assert opaque.is_opaque_ports
    assert opaque.intersect(ts("0.0.0.0/0")) == opaque
    assert opaque.intersect(ts("0.0.0.0/0", 0, 80)) is None
    assert opaque.intersect(opaque) == opaque


def test_ts_errors():
    with pytest.raises(TrafficSelectorError):
        TrafficSelector(ip_address("10.0.0.9"), ip_address("10.0.0.1"))
    with pytest.raises(TrafficSelectorError):
        TrafficSelector(ip_address("10.0.0.1"), ip_address("::1"))
    with pytest.raises(TrafficSelectorError):
        ts("10.0.0.0/33")
    with pytest.raises(TrafficSelectorError):
        ts("10.0.0.0/8", 256)
    with pytest.raises(TrafficSelectorError):
        ts("10.0.0.0/8", 6, 70000)


def test_narrowing_rfc7296_2_9():
    proposed = [ts("10.0.0.7", 6, 1234), ts("10.0.0.0/16")]
    allowed = [ts("10.0.1.0/24"), ts("10.0.0.0/28")]

    got = narrow(proposed, allowed)
    # the specific packet selector is inside 10.0.0.0/28, which comes later and replaces it
    assert got == [ts("10.0.1.0/24"), ts("10.0.0.0/28")]
    assert narrow([ts("0.0.0.0/0")], [ts("192.0.2.0/24")]) == [ts("192.0.2.0/24")]
    assert narrow([ts("10.0.0.0/8")], [ts("192.0.2.0/24")]) == []
    assert acceptable_answer([ts("10.1.0.0/16")], [ts("10.0.0.0/8")])
    assert not acceptable_answer([ts("11.0.0.0/16")], [ts("10.0.0.0/8")])
    assert not acceptable_answer([], [ts("10.0.0.0/8")])


addr4 = st.integers(0, 2**32 - 1).map(ip_address)


@st.composite
def selectors(draw):
    a, b = sorted([draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, 2**32 - 1))])
    p1, p2 = sorted([draw(st.integers(0, 65535)), draw(st.integers(0, 65535))])
    proto = draw(st.sampled_from([0, 6, 17]))
    return TrafficSelector(ip_address(a), ip_address(b), proto, p1, p2)


@settings(max_examples=200, deadline=None)
@given(selectors(), selectors())
def test_intersection_is_commutative_subset(x, y):
    c = x.intersect(y)
    assert c == y.intersect(x)
    if c is not None:
        assert c.is_subset_of(x) and c.is_subset_of(y)
        for ans in narrow([x], [y]):
            assert acceptable_answer([ans], [x])
