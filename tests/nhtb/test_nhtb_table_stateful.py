"""Random sequences of config loads, learns and VPN deletions against a plain model of the rules."""

from __future__ import annotations

import ipaddress

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from xfrmctl.nhtb.table import LearnOutcome, NhtbTable, StaticBinding

UNITS = ["st0.0", "st0.1"]
VPNS = ["vpn-a", "vpn-b", "vpn-c"]
HOPS = ["10.11.11.1", "10.11.11.2", "10.11.11.3", "2001:db8:ff::1", "2001:db8:ff::2"]


class TableMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.t = NhtbTable()
        self.static: dict[tuple[str, str], str] = {}
        self.auto: dict[tuple[str, str], str] = {}  # model: (unit, hop) -> vpn

    @rule(
        entries=st.dictionaries(
            st.tuples(st.sampled_from(UNITS), st.sampled_from(HOPS)),
            st.sampled_from(VPNS),
            max_size=4,
        )
    )
    def load_config(self, entries: dict[tuple[str, str], str]) -> None:
        self.t.set_static([StaticBinding(u, h, v) for (u, h), v in entries.items()])
        self.static = dict(entries)

    @rule(unit=st.sampled_from(UNITS), vpn=st.sampled_from(VPNS), hop=st.sampled_from(HOPS))
    def learn(self, unit: str, vpn: str, hop: str) -> None:
        got = self.t.learn(unit, vpn, hop)
        holder = self.auto.get((unit, hop))
        if holder is not None and holder != vpn:
            assert got is LearnOutcome.CONFLICT
            return
        if holder is None:
            version = ipaddress.ip_address(hop).version
            for k, v in list(self.auto.items()):
                if v == vpn and k[0] == unit and ipaddress.ip_address(k[1]).version == version:
                    del self.auto[k]
            self.auto[(unit, hop)] = vpn
        if (unit, hop) in self.static:
            assert got is LearnOutcome.SHADOWED
        else:
            assert got is (LearnOutcome.UNCHANGED if holder == vpn else LearnOutcome.LEARNED)

    @rule(vpn=st.sampled_from(VPNS))
    def vpn_deleted(self, vpn: str) -> None:
        gone = self.t.forget_vpn(vpn)
        want = {k for k, v in self.auto.items() if v == vpn}
        assert {(b.unit, str(b.next_hop)) for b in gone} == want
        for k in want:
            del self.auto[k]

    @invariant()
    def effective_entries_follow_the_rules(self) -> None:
        expected = dict(self.auto)
        expected.update(self.static)  # Static beats Auto
        got = {(b.unit, str(b.next_hop)): b.vpn for b in self.t.entries()}
        assert got == expected
        for (unit, hop), vpn in expected.items():
            b = self.t.lookup(unit, hop)
            assert b is not None and b.vpn == vpn
            assert b.flag == ("Static" if (unit, hop) in self.static else "Auto")
        flags = [b.flag for b in self.t.entries()]
        assert flags == sorted(flags, key=lambda f: f != "Static")  # Static listed first


TableMachine.TestCase.settings = settings(max_examples=50, stateful_step_count=25, deadline=None)
test_table_rules = TableMachine.TestCase
