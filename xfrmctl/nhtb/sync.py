"""``NhtbSync``: the daemon's one object for NHTB — events in, batched ``KernelPort`` ops out.

Keeps the table, the routes of the multipoint units, the VPN states and the last plan; every
event only marks the state dirty. ``due(now)`` says when a batch should run (``batch_delay``
after the first unsynced change, so a burst of route events becomes one batch well within a
second), and ``sync(installed)`` plans and diffs against the policies the kernel reports. Pure:
the caller passes ``now`` and the dump, and applies the ops.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from xfrmctl.netlink.codec import XfrmPolicy
from xfrmctl.netlink.port import KernelOp, RouteEvent, RouteInfo
from xfrmctl.nhtb.planner import (
    MultipointUnit,
    Plan,
    RouteChange,
    VpnState,
    diff,
    plan,
    route_changes,
)
from xfrmctl.nhtb.table import LearnOutcome, NextHop, NhtbTable, StaticBinding

RouteKey = tuple[int, str, int, str | None, str | None]

EMPTY_PLAN = Plan(policies=(), routes=(), hosts=(), if_ids=frozenset())


def _route_key(r: RouteInfo) -> RouteKey:
    return (r.table, r.dst, r.metric, r.dev, r.via)


class NhtbSync:
    """NHTB state of one daemon (one network namespace)."""

    def __init__(self, *, batch_delay: float = 0.2) -> None:
        self.table = NhtbTable()
        self.batch_delay = batch_delay
        self._units: dict[str, MultipointUnit] = {}
        self._retired: set[int] = set()
        self._routes: dict[RouteKey, RouteInfo] = {}
        self._vpns: dict[str, VpnState] = {}
        self._dirty_since: float | None = None
        self.last_plan: Plan = EMPTY_PLAN
        self.last_change = RouteChange(lost=(), gained=())

    # ------------------------------------------------------------------ events in

    def _touch(self, now: float) -> None:
        if self._dirty_since is None:
            self._dirty_since = now

    def configure(
        self,
        units: Iterable[MultipointUnit],
        statics: Iterable[StaticBinding],
        vpn_units: Mapping[str, str],
        *,
        now: float,
    ) -> None:
        """A configuration load: the multipoint units, Static entries, and which unit each VPN
        bound to a multipoint unit uses (VPNs no longer listed are dropped)."""
        new = {u.name: u for u in units}
        # Units that went away keep their if_id in the diff's scope, so their policies go.
        self._retired |= {u.if_id for u in self._units.values()} - {u.if_id for u in new.values()}
        self._retired -= {u.if_id for u in new.values()}
        self._units = new
        self.table.set_static(statics)
        self._routes = {k: r for k, r in self._routes.items() if r.dev in new}
        old = self._vpns
        self._vpns = {}
        for name, unit in vpn_units.items():
            prev = old.get(name)
            if prev is not None and prev.unit != unit:
                self.table.forget_vpn(name)  # learned on the unit it was bound to before
            self._vpns[name] = (
                VpnState(name, unit, prev.up, prev.local, prev.remote, prev.reqid, prev.proto)
                if prev is not None
                else VpnState(name, unit, False)
            )
        for name in set(old) - set(self._vpns):
            self.table.forget_vpn(name)
        self._touch(now)

    def set_routes(self, routes: Iterable[RouteInfo], *, now: float) -> None:
        """A full route dump (start, after a netlink overrun, after ``configure`` adds units)."""
        self._routes = {_route_key(r): r for r in routes if r.dev in self._units}
        self._touch(now)

    def route_event(self, event: RouteEvent, *, now: float) -> None:
        r = event.route
        if r.dev not in self._units:
            return
        if event.added:
            self._routes[_route_key(r)] = r
        else:
            self._routes.pop(_route_key(r), None)
        self._touch(now)

    def vpn_up(
        self,
        vpn: str,
        *,
        local: str,
        remote: str,
        reqid: int,
        learned: Sequence[NextHop] = (),
        now: float,
    ) -> list[tuple[NextHop, LearnOutcome]]:
        """A child SA pair of ``vpn`` is installed; ``learned`` = the peer's tunnel addresses."""
        state = self._vpns.get(vpn)
        if state is None:
            return []  # not bound to a multipoint unit
        self._vpns[vpn] = VpnState(vpn, state.unit, True, local, remote, reqid, state.proto)
        outcomes = [(addr, self.table.learn(state.unit, vpn, addr)) for addr in learned]
        self._touch(now)
        return outcomes

    def vpn_down(self, vpn: str, *, sas_gone: bool, now: float) -> None:
        """The VPN stops carrying traffic (VPN monitor, DPD); ``sas_gone`` when its last SA was
        deleted, which also drops its Auto entries."""
        state = self._vpns.get(vpn)
        if state is None:
            return
        self._vpns[vpn] = VpnState(vpn, state.unit, False, proto=state.proto)
        if sas_gone:
            self.table.forget_vpn(vpn)
        self._touch(now)

    # ------------------------------------------------------------------ ops out

    def due(self, now: float) -> bool:
        return self._dirty_since is not None and now >= self._dirty_since + self.batch_delay

    def next_due(self) -> float | None:
        """When the pending batch should run, or None when nothing is pending."""
        return None if self._dirty_since is None else self._dirty_since + self.batch_delay

    def plan(self) -> Plan:
        return plan(
            units=self._units.values(),
            routes=self._routes.values(),
            table=self.table,
            vpns=self._vpns.values(),
        )

    def sync(self, installed: Iterable[XfrmPolicy]) -> tuple[KernelOp, ...]:
        """Ops taking ``installed`` (a policy dump) to the current plan; clears the batch.

        If applying any op fails (EEXIST/ENOENT: the dump was stale), call ``invalidate`` and
        sync again with a fresh dump.
        """
        current = self.plan()
        ops = diff(current, installed, retired_if_ids=self._retired)
        self.last_change = route_changes(self.last_plan, current)
        self.last_plan = current
        self._dirty_since = None
        return ops

    def invalidate(self, now: float) -> None:
        self._touch(now)
