"""Hostile input to the engine: mutated and truncated copies of a real exchange never raise."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xfrmctl.keying.ikev2.actions import InstallChild


def _recorded(v1):
    net = v1.pair(seed="fuzz")
    net.feed(net.a, net.a.engine.initiate("to-b", "vpn", net.now))
    net.run()
    return net


@settings(max_examples=150, deadline=None,  # a whole exchange per example: no wall-clock limit
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_datagrams_are_dropped_not_raised(v1, data):
    net = _recorded(v1)
    pkt = data.draw(st.sampled_from(net.sent))
    raw = bytearray(pkt.data)
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    target = net.b if pkt.src == "a" else net.a
    target.engine.raise_internal_errors = False
    for blob in (bytes(raw), bytes(raw[:cut])):
        target.engine.receive(blob, pkt.dest, pkt.source, net.now)
    # the established SAs still work: a phase-2 rekey completes
    (c,) = net.a.of(InstallChild)
    net.feed(net.a, net.a.engine.child_expired(c.spi_in, False, net.now))
    net.run()
    assert len(net.a.installed()) == 1
    assert not [k for k in target.engine.counters if "dropped: " in k and "Error" in k
                and "ParseError" not in k]  # fmt: skip
