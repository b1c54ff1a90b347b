"""Hostile input into the engine: only drops, counters or error notifies, never an exception,
and no state beyond the half-open limit for unauthenticated packets."""

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz import harness as fz
from xfrmctl.keying.ikev2.actions import IkeEstablished, Send
from xfrmctl.keying.ikev2.engine import Ikev2Engine
from xfrmctl.keying.ikev2.settings import EngineSettings
from xfrmctl.keying.message import parse_message

A = ("192.0.2.1", 500)
B = ("198.51.100.2", 500)
FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def capture(h: Any) -> tuple[list[bytes], list[bytes]]:
    """The datagrams of a full negotiation plus a child rekey, liveness and delete."""
    net = h.pair()
    net.feed(net.a, net.a.engine.initiate("to-b", "net", net.now))
    net.run()
    (s,) = net.a.engine.sessions.values()
    uid = next(iter(s.children))
    net.feed(net.a, net.a.engine.rekey_child(uid, net.now))
    net.run()
    net.feed(net.a, net.a.engine.liveness_check(s.ref, net.now))
    net.run()
    from_a = [p.data for p in net.sent if p.src == "a"]
    from_b = [p.data for p in net.sent if p.src == "b"]
    return from_a, from_b


_CACHE: dict[str, tuple[list[bytes], list[bytes]]] = {}


def corpus(h: Any) -> tuple[list[bytes], list[bytes]]:
    if "x" not in _CACHE:
        _CACHE["x"] = capture(h)
    return _CACHE["x"]


def responder(h: Any, limit: int = 4) -> Ikev2Engine:
    peer = h.psk_peer("to-a", B[0], None, local_ts="10.2.0.0/16", remote_ts="10.1.0.0/16")
    eng = Ikev2Engine(
        [peer], h.Rng("fuzz"), settings=EngineSettings(half_open_limit=limit, cookie_threshold=2)
    )
    eng.raise_internal_errors = True  # a bug must fail the test, not hide in a counter
    return eng


def check_sends(actions: list[Any]) -> None:
    for act in actions:
        if isinstance(act, Send):
            parse_message(act.data)  # whatever we answer is well-formed


@FUZZ
@given(data=st.binary(max_size=600))
def test_random_datagrams(h, data):
    eng = responder(h)
    actions = eng.receive(data, B, A, 0.0)
    check_sends(actions)
    assert eng.half_open <= 1
    assert not any(isinstance(a, IkeEstablished) for a in actions)


@FUZZ
@given(st.data())
def test_mutated_handshake_into_fresh_responder(h, data):
    from_a, _ = corpus(h)
    eng = responder(h)
    for original in from_a[:2]:
        pkt = fz.mutate(original, fz.DrawChooser(data.draw))
        check_sends(eng.receive(pkt, B, A, 0.0))
        check_sends(eng.receive(original, B, A, 0.0))
    assert eng.half_open <= 4


@FUZZ
@given(st.data())
def test_mutated_traffic_into_established_peers(h, data):
    net = h.pair()
    net.feed(net.a, net.a.engine.initiate("to-b", "net", net.now))
    net.run()
    from_a, from_b = corpus(h)
    which = data.draw(st.sampled_from(["a", "b"]))
    pool = from_b if which == "a" else from_a
    pkt = fz.mutate(data.draw(st.sampled_from(pool)), fz.DrawChooser(data.draw))
    side = net.side(which)
    here, there = (A, B) if which == "a" else (B, A)
    check_sends(side.engine.receive(pkt, here, there, 1.0))
    # the SA keeps working after whatever was thrown at it
    (s,) = net.a.engine.sessions.values()
    net.feed(net.a, net.a.engine.liveness_check(s.ref, 2.0))
    net.run()
    assert len(net.a.installed()) == 1 and len(net.b.installed()) == 1


def test_half_open_flood_is_bounded_and_cookies_kick_in(h):
    eng = responder(h, limit=4)
    sent = 0
    for i in range(40):
        init = h.pair(seed=f"flood{i}")
        acts = init.a.engine.initiate("to-b", "net", 0.0)
        req = next(a for a in acts if isinstance(a, Send))
        out = eng.receive(req.data, B, A, float(i) * 0.01)
        sent += len(out)
        assert eng.half_open <= 4
    assert eng.half_open == 2  # the cookie threshold: no more state without a valid COOKIE
    assert eng.counters["COOKIE demanded"] == 38
    assert sent == 40
