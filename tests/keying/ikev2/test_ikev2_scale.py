"""One responder engine serving many peers: dispatch by SPI and the single timer heap."""

from typing import Any

from xfrmctl.keying.ikev2.actions import DeleteChild, IkeEstablished, InstallChild, Send
from xfrmctl.keying.ikev2.engine import Ikev2Engine

HUB = ("198.51.100.2", 500)
SPOKES = 40


def test_hub_with_many_spokes(h: Any) -> None:
    hub_peer = h.psk_peer("spokes", HUB[0], None, local_ts="10.2.0.0/16", remote_ts="10.0.0.0/8")
    hub = Ikev2Engine([hub_peer], h.Rng("hub"))
    hub.raise_internal_errors = True
    spokes = []
    for i in range(SPOKES):
        addr = f"192.0.2.{i + 10}"
        peer = h.psk_peer("hub", addr, HUB[0], local_ts=f"10.1.{i}.0/24", remote_ts="10.2.0.0/16")
        eng = Ikev2Engine([peer], h.Rng(f"spoke{i}"))
        eng.raise_internal_errors = True
        spokes.append((addr, eng))
    hub_events: list[Any] = []
    spoke_events: dict[str, list[Any]] = {addr: [] for addr, _ in spokes}
    by_addr = dict(spokes)

    def pump(queue: list[tuple[str, Any]], now: float) -> None:
        while queue:
            who, act = queue.pop(0)
            if not isinstance(act, Send):
                (hub_events if who == "hub" else spoke_events[who]).append(act)
                continue
            if who == "hub":
                out = by_addr[act.remote[0]].receive(act.data, act.remote, act.local, now)
                queue += [(act.remote[0], a) for a in out]
            else:
                out = hub.receive(act.data, act.remote, act.local, now)
                queue += [("hub", a) for a in out]

    queue: list[tuple[str, Any]] = []
    for addr, eng in spokes:
        queue += [(addr, a) for a in eng.initiate("hub", "net", 0.0)]
    pump(queue, 0.0)
    assert len(hub.sessions) == SPOKES and hub.half_open == 0
    assert len([e for e in hub_events if isinstance(e, IkeEstablished)]) == SPOKES
    assert len({e.remote_ts[0] for e in hub_events if isinstance(e, InstallChild)}) == SPOKES
    # two hours on: every child was rekeyed by whichever side's timer fired first
    now = 0.0
    while now < 7200.0:
        deadlines = [d for d in [hub.next_deadline(), *[e.next_deadline() for _, e in spokes]] if d]
        now = min(deadlines)
        queue = [("hub", a) for a in hub.on_timer(now)]
        for addr, eng in spokes:
            queue += [(addr, a) for a in eng.on_timer(now)]
        pump(queue, now)
    live = {e.unique_id for e in hub_events if isinstance(e, InstallChild)} - {
        e.unique_id for e in hub_events if isinstance(e, DeleteChild)
    }
    assert len(live) == SPOKES
    assert len([e for e in hub_events if isinstance(e, DeleteChild)]) >= 2 * SPOKES
    assert len(hub.sessions) == SPOKES
    assert hub.counters["retransmission"] == 0
