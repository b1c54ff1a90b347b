"""Random interleavings of rekeys, liveness checks, loss, duplication, reordering and time,
engine against engine; afterwards both ends must agree on one IKE SA and mirrored children."""

import os
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from xfrmctl.keying.ikev2.actions import IkeEstablished, PeerDead
from xfrmctl.keying.ikev2.session import Phase

STEPS: Counter[str] = Counter()
EXPLORE = int(os.environ.get("XFRMCTL_EXPLORE", "0"))  # random examples instead of fixed ones


class EnginePair(RuleBasedStateMachine):
    def __init__(self, h: Any) -> None:
        super().__init__()
        self.h = h

    @initialize(seed=st.integers(0, 10_000), pfs=st.sampled_from([None, "x25519"]))
    def setup(self, seed: int, pfs: str | None) -> None:
        self.net: Any = self.h.pair(seed=str(seed), a_kw={"pfs": pfs}, b_kw={"pfs": pfs})
        self.net.feed(self.net.a, self.net.a.engine.initiate("to-b", "net", 0.0))
        self.net.run()
        assert len(self.net.a.of(IkeEstablished)) == 1

    def _side(self, who: str) -> Any:
        return self.net.side(who)

    def _live(self, who: str) -> list[Any]:
        """Established IKE SAs the daemon knows of (not a collision's redundant one)."""
        return [
            s
            for s in self._side(who).engine.sessions.values()
            if s.phase is Phase.ESTABLISHED and not s.redundant
        ]

    @rule(who=st.sampled_from("ab"))
    def rekey_child(self, who: str) -> None:
        STEPS["rekey_child"] += 1
        side = self._side(who)
        for uid in list(side.installed()):
            acts = side.engine.rekey_child(uid, self.net.now)
            STEPS["child rekeys sent"] += bool(acts)
            self.net.feed(side, acts)
            return

    @rule(who=st.sampled_from("ab"))
    def rekey_ike(self, who: str) -> None:
        STEPS["rekey_ike"] += 1
        side = self._side(who)
        for s in self._live(who):
            acts = side.engine.rekey_ike(s.ref, self.net.now)
            STEPS["IKE rekeys sent"] += bool(acts)
            self.net.feed(side, acts)
            return

    @rule(who=st.sampled_from("ab"))
    def delete_child(self, who: str) -> None:
        STEPS["delete_child"] += 1
        side = self._side(who)
        for uid in list(side.installed()):
            if any(uid in s.children for s in self._live(who)):
                self.net.feed(side, side.engine.delete_child(uid, self.net.now))
                return

    @rule(who=st.sampled_from("ab"))
    def liveness(self, who: str) -> None:
        STEPS["liveness"] += 1
        side = self._side(who)
        for s in self._live(who):
            self.net.feed(side, side.engine.liveness_check(s.ref, self.net.now))
            return

    @rule(k=st.integers(0, 4))
    def deliver_some(self, k: int) -> None:
        STEPS["deliver_some"] += 1
        batch, rest = self.net.queue[:k], self.net.queue[k:]
        self.net.queue = rest
        for pkt in batch:
            self.net._deliver_one(pkt)

    @rule(i=st.integers(0, 7))
    def drop_one(self, i: int) -> None:
        STEPS["drop_one"] += 1
        if self.net.queue:
            self.net.queue.pop(i % len(self.net.queue))

    @rule(i=st.integers(0, 7))
    def duplicate_one(self, i: int) -> None:
        STEPS["duplicate_one"] += 1
        if self.net.queue:
            self.net.queue.append(self.net.queue[i % len(self.net.queue)])

    @rule()
    def reorder(self) -> None:
        STEPS["reorder"] += 1
        self.net.queue.reverse()

    @rule(dt=st.floats(0.5, 30.0))
    def wait(self, dt: float) -> None:
        STEPS["wait"] += 1
        self.net.advance(self.net.now + dt)

    @invariant()
    def never_two_installs_with_one_spi(self) -> None:
        for who in "ab":
            spis = [c.spi_in for c in self._side(who).installed().values()]
            assert len(spis) == len(set(spis))

    def teardown(self) -> None:
        net = getattr(self, "net", None)
        if net is None:
            return
        net.run(max_rounds=400)
        net.advance(net.now + 400.0)
        net.run(max_rounds=400)
        assert net.a.of(PeerDead) == [] and net.b.of(PeerDead) == []
        if not net.a.installed() and not net.b.installed():
            # every child was deleted: bring one up again over the surviving IKE SA
            net.feed(net.a, net.a.engine.initiate("to-b", "net", net.now))
            net.run(max_rounds=400)
        live_a = {s.ref for s in self._live("a")}
        live_b = {s.ref for s in self._live("b")}
        assert live_a == live_b and len(live_a) == 1
        assert len(net.a.engine.sessions) == 1 and len(net.b.engine.sessions) == 1
        ca = list(net.a.installed().values())
        cb = list(net.b.installed().values())
        assert len(ca) == len(cb) == 1, (ca, cb)
        assert self.h.mirrored(ca[0], cb[0])


def test_random_interleavings_settle(h):
    class Bound(EnginePair):
        def __init__(self) -> None:
            super().__init__(h)

    run_state_machine_as_test(
        Bound,
        settings=settings(
            max_examples=EXPLORE or 150,
            stateful_step_count=30,
            deadline=None,
            # Fixed examples in CI so that an unrelated change never meets a new random failure;
            # explore with XFRMCTL_EXPLORE=<examples> (and --hypothesis-seed) to look for more.
            derandomize=not EXPLORE,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    # the machine really exercised the protocol, not just set up pairs
    assert STEPS["child rekeys sent"] > 20 and STEPS["IKE rekeys sent"] > 20
    assert STEPS["drop_one"] > 50 and STEPS["delete_child"] > 50


def test_regression_peer_rekeyed_child_is_not_rekeyed_again(h):
    m = EnginePair(h)
    m.setup(seed=0, pfs=None)
    m.rekey_child(who="b")
    m.deliver_some(k=1)
    m.rekey_child(who="a")  # a's child was already replaced by b's rekey: nothing to do
    m.reorder()
    m.teardown()


def test_regression_child_delete_outstanding_on_rekeyed_ike_sa(h):
    m = EnginePair(h)
    m.setup(seed=0, pfs=None)
    m.rekey_child(who="b")
    m.deliver_some(k=1)
    m.rekey_ike(who="a")
    m.deliver_some(k=2)
    m.reorder()
    m.teardown()


def test_regression_ike_rekey_collision_then_liveness(h):
    m = EnginePair(h)
    m.setup(seed=0, pfs=None)
    m.rekey_ike(who="a")
    m.rekey_ike(who="b")
    m.reorder()
    m.deliver_some(k=1)
    m.deliver_some(k=2)
    m.reorder()
    m.liveness(who="b")
    m.teardown()


def test_regression_child_delete_then_crossed_ike_rekeys_with_losses(h):
    """a's child delete, outstanding on the old IKE SA when b's delete of that SA arrives, is
    carried over to the newest successor (a second rekey already replaced the first one)."""
    m = EnginePair(h)
    m.setup(seed=0, pfs=None)
    m.delete_child(who="a")
    m.rekey_ike(who="b")
    m.reorder()
    m.deliver_some(k=1)
    m.deliver_some(k=2)
    m.drop_one(i=0)
    m.drop_one(i=0)
    m.rekey_ike(who="a")
    m.teardown()
