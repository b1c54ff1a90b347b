"""An IKE_SA_INIT flood into the responder: COOKIEs above the half-open threshold (RFC 7296
§2.6), the half-open limit, and the rate of new responder SAs (`init_rate`), each exact."""

from typing import Any

from xfrmctl.keying.ikev2.actions import Send
from xfrmctl.keying.ikev2.engine import Ikev2Engine
from xfrmctl.keying.ikev2.settings import EngineSettings
from xfrmctl.keying.message import parse_message

from .test_ikev2_fuzz import A, B, corpus

COOKIE = 16390


def responder(h: Any, settings: EngineSettings) -> Ikev2Engine:
    peer = h.psk_peer("to-a", B[0], None, local_ts="10.2.0.0/16", remote_ts="10.1.0.0/16")
    eng = Ikev2Engine([peer], h.Rng("flood"), settings=settings)
    eng.raise_internal_errors = True
    return eng


def init_from(h: Any, n: int) -> bytes:
    """The captured IKE_SA_INIT request under another initiator SPI."""
    from_a, _ = corpus(h)
    return n.to_bytes(8, "big") + from_a[0][8:]


def answers(actions: list[Any]) -> list[str]:
    """What each reply is: a COOKIE demand or an IKE_SA_INIT response."""
    out = []
    for act in actions:
        assert isinstance(act, Send)
        msg = parse_message(act.data)
        assert msg.notify(14) is None  # never NO_PROPOSAL_CHOSEN: the peer matches
        out.append("cookie" if msg.notify(COOKIE) is not None else "init")
    return out


def test_cookies_engage_above_the_threshold_and_state_stays_bounded(h):
    eng = responder(h, EngineSettings(cookie_threshold=3, half_open_limit=5))
    seen = []
    for n in range(1, 11):  # ten sources, none returning the cookie (spoofed)
        seen += answers(eng.receive(init_from(h, n), B, (f"198.51.100.{n}", 500), 0.0))
    assert seen == ["init"] * 3 + ["cookie"] * 7
    assert eng.half_open == 3 and len(eng.sessions) == 3
    assert eng.counters["COOKIE demanded"] == 7
    # half-open SAs that never authenticate are dropped after the timeout: room again
    eng.on_timer(30.0)
    assert eng.half_open == 0 and eng.sessions == {}
    assert eng.counters["half-open SA timed out"] == 3
    assert answers(eng.receive(init_from(h, 11), B, A, 30.0)) == ["init"]


def test_init_rate_sheds_the_excess_and_refills(h):
    eng = responder(h, EngineSettings(cookie_threshold=1000, half_open_limit=1000, init_rate=2))
    seen = [answers(eng.receive(init_from(h, n), B, (f"198.51.100.{n}", 500), 10.0))
            for n in range(1, 6)]  # fmt: skip
    assert seen == [["init"], ["init"], [], [], []]
    assert eng.counters["IKE_SA_INIT rate limit"] == 3
    # half a second refills one token, two seconds at most two (a burst of one second's worth)
    assert answers(eng.receive(init_from(h, 6), B, A, 10.5)) == ["init"]
    assert answers(eng.receive(init_from(h, 7), B, A, 10.6)) == []
    for n in (8, 9, 10):
        eng.receive(init_from(h, n), B, (f"198.51.100.{n}", 500), 20.0)
    assert eng.half_open == 5
    assert eng.counters["IKE_SA_INIT rate limit"] == 5


def test_a_retransmitted_init_is_not_charged_twice(h):
    eng = responder(h, EngineSettings(init_rate=1))
    first = answers(eng.receive(init_from(h, 1), B, A, 0.0))
    again = answers(eng.receive(init_from(h, 1), B, A, 0.0))
    assert first == again == ["init"]  # the same half-open SA answers its retransmission
    assert eng.counters["IKE_SA_INIT rate limit"] == 0
