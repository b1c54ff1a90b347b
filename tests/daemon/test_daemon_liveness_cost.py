"""What liveness costs: every DPD/monitor tick makes one batched counter dump and no other kernel
call, and a tick looks at the SAs of its due timers only, however many tunnels there are."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import (  # type: ignore[import-not-found, unused-ignore]
    A,
    B,
    Wire,
    config,
    make_daemon,
    seed,
    until,
)

from xfrmctl.daemon.runtime import Daemon
from xfrmctl.dpd import DpdMode, DpdSettings, LivenessManager, ProbePeer
from xfrmctl.netlink.fake import CountingKernel, FakeKernel

VPNS_A = {f"vpn{i}": {"unit": i, "address": f"198.18.255.{4 * i + 1}/30",
                      "route": f"198.18.{10 + i}.0/24",
                      "proxy": (f"198.18.{i}.0/24", f"198.18.{10 + i}.0/24")}
          for i in range(3)}  # fmt: skip
VPNS_B = {f"vpn{i}": {"unit": i, "address": f"198.18.255.{4 * i + 2}/30",
                      "route": f"198.18.{i}.0/24",
                      "proxy": (f"198.18.{10 + i}.0/24", f"198.18.{i}.0/24")}
          for i in range(3)}  # fmt: skip


def test_each_liveness_tick_is_one_counter_dump(tmp_path: Path) -> None:
    async def main() -> None:
        wire = Wire()
        data = json.loads(config(local=A, remote=B, vpns=VPNS_A))
        data["security"]["ike"]["gateway"]["GW"]["dead-peer-detection"] = {
            "probe-idle-tunnel": None, "interval": 10,
        }  # fmt: skip
        a = make_daemon(tmp_path, "a", A, json.dumps(data), wire)
        b = make_daemon(tmp_path, "b", B, config(local=B, remote=A, vpns=VPNS_B,
                                                 establish="on-traffic"), wire)  # fmt: skip
        await seed(a, A)
        await seed(b, B)
        await b.start()
        await a.start()
        await until(lambda: all(v.children for v in a.store.vpns.values()))
        await a.wait_idle()
        [ref] = list(a._dpd_peers)
        assert len(a.dpd.ledger.of_ike(ref)) == 6  # three child SA pairs feed one IKE SA
        counting = CountingKernel(a.kernel)
        a.kernel = counting
        base = a.now()
        exchanges: list[int] = []
        for step in (1, 2, 3):
            a.now = lambda step=step: base + 10 * step + 1
            sent, alive = wire.sent, a.dpd.peers[ref].alive_at
            await a._dpd_tick()  # the peer was idle for an interval: a probe
            await until(lambda alive=alive: a.dpd.peers[ref].alive_at > alive)  # answered
            await a.wait_idle()
            exchanges.append(wire.sent - sent)
        del a.now
        # three ticks: three dumps of all SAs, not one query per SA or per tunnel
        assert counting.calls == Counter({"sa_counters": 3})
        assert exchanges == [2, 2, 2]  # each tick: one INFORMATIONAL request and its response
        for d in (a, b):
            await d.shutdown()

    asyncio.run(main())


class CountingDump(dict[Hashable, tuple[int, int]]):
    """A counter dump that counts the lookups made in it."""

    lookups = 0

    def get(self, key: Hashable, default: Any = None) -> Any:
        self.lookups += 1
        return super().get(key, default)

    def __getitem__(self, key: Hashable) -> tuple[int, int]:
        self.lookups += 1
        return super().__getitem__(key)


def test_tick_cost_follows_due_timers_not_tunnels() -> None:
    mgr = LivenessManager()
    settings = DpdSettings(DpdMode.PROBE_IDLE_TUNNEL, 10.0, 3)
    dump = CountingDump()
    tunnels = 1000
    for i in range(tunnels):
        start = i / 100  # staggered: tunnel i's decisions fall at i/100 + 10k
        ike = ("ike", i)
        mgr.add_peer(ike, settings, start)
        for n, direction in ((2 * i, "in"), (2 * i + 1, "out")):
            key = ("198.18.0.1", n, 50)
            mgr.sa_installed(key, direction, start, ike=ike)
            dump[key] = (0, 0)
    # at 10.005 exactly one decision is due (tunnel 0's, at 10.0): its two SAs are looked up
    actions = mgr.on_timer(10.005, dump)
    assert actions == [ProbePeer(("ike", 0), 1, 10.005)]
    assert dump.lookups == 2
    # the next 100 due decisions (tunnels 1..100, at 10.01 .. 11.0): 200 lookups, 100 probes
    dump.lookups = 0
    actions = mgr.on_timer(11.0, dump)
    assert [a.ike for a in actions if isinstance(a, ProbePeer)] == [("ike", i) for i in
                                                                     range(1, 101)]  # fmt: skip
    assert dump.lookups == 200
    # nothing due: nothing looked at
    dump.lookups = 0
    assert mgr.on_timer(11.0, dump) == [] and dump.lookups == 0
    assert mgr.next_deadline() == 11.01


def test_liveness_ticks_are_a_quantum_apart_that_grows_with_the_dump(tmp_path: Path) -> None:
    """Tunnels whose deadlines drifted apart share ticks: a tick runs no sooner than
    SAs x 0.5 ms (at most 1 s) after the previous one, since each tick dumps every SA."""
    daemon = Daemon(str(tmp_path / "none.yaml"), FakeKernel(), socket_path=str(tmp_path / "s"))
    assert daemon._liveness_due() is None
    daemon.dpd.add_peer("ike", DpdSettings(DpdMode.ALWAYS_SEND, 10.0, 5), 0.0)
    assert daemon._liveness_due() == 10.0  # no tick yet: the deadline itself
    daemon._dpd_last = 9.5
    for sas, due in ((0, 10.0), (20, 10.0), (1200, 10.1), (2000, 10.5), (50000, 10.5)):
        daemon._counters = dict.fromkeys(range(sas))  # type: ignore[assignment]
        assert daemon._liveness_due() == pytest.approx(due), sas
