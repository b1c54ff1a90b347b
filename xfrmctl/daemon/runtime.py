"""The asyncio runtime: sockets, one timer, kernel events, action execution, reload, shutdown.

Protocol decisions are the engine's; this module only moves data between the engine, the
kernel (through `KernelPort`) and the network, and keeps the state store current.

* Actions are executed strictly in the order the engine emitted them by one worker task, so an
  inbound SA is in the kernel before the IKE message that lets the peer use it leaves.
* One timer: `loop.call_at` on the earliest of the engine's `next_deadline()` and the daemon's own
  retry deadlines (establish-tunnels immediately, with exponential backoff).
* Kernel ACQUIRE (on-traffic) initiates; soft EXPIRE rekeys; hard EXPIRE removes the child;
  MAPPING (the peer's NAT port moved) updates the SAs' encapsulation.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import errno
import ipaddress
import os
import signal
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Hashable, Iterable
from dataclasses import dataclass, field, replace

from xfrmctl.config import Config, diff, exposed_keys_warning, load_file
from xfrmctl.config.diff import ConfigDiff
from xfrmctl.control import ErrorCode, Request
from xfrmctl.daemon import kernel_ops, tcp_mss
from xfrmctl.daemon.control_server import ControlServer
from xfrmctl.daemon.engines import Engines
from xfrmctl.daemon.icmp import EchoTransport, RawIcmp
from xfrmctl.daemon.logs import get_logger
from xfrmctl.daemon.mapping import (
    ManualPlan,
    Plan,
    RoutePlan,
    VpnPlan,
    build_plan,
    multipoint_units,
    multipoint_vpns,
)
from xfrmctl.daemon.notify import Notifier
from xfrmctl.daemon.sockets import IkeSockets
from xfrmctl.daemon.store import ChildRecord, ManualRecord, StateStore
from xfrmctl.daemon.tallies import Tallies
from xfrmctl.daemon.tcp_mss import MssClamp, NftError, NftPort
from xfrmctl.dpd import Action as DpdAction
from xfrmctl.dpd import (
    DpdMode,
    DpdSettings,
    IdleTimeout,
    LivenessManager,
    MonitorDown,
    MonitorSettings,
    MonitorTarget,
    MonitorUp,
    MonState,
    ProbePeer,
    SendEcho,
)
from xfrmctl.dpd import PeerDead as DpdPeerDead
from xfrmctl.keying.ikev2.actions import (
    Action,
    ChildFailed,
    DeleteChild,
    Endpoint,
    IkeDeleted,
    IkeEstablished,
    IkeFailed,
    IkeRekeyed,
    IkeSaRef,
    InstallChild,
    LivenessResult,
    PeerDead,
    Reason,
    Send,
)
from xfrmctl.keying.ikev2.engine import EngineError
from xfrmctl.netlink.codec import (
    SaCounters,
    XfrmAcquire,
    XfrmExpire,
    XfrmMapping,
    XfrmPolicy,
    XfrmState,
)
from xfrmctl.netlink.constants import AF_INET, AF_INET6, IPPROTO_AH, IPPROTO_ESP, XfrmMsg
from xfrmctl.netlink.errors import NetlinkError
from xfrmctl.netlink.port import (
    KernelEvent,
    KernelPort,
    PolicyFilter,
    RouteEvent,
    XfrmEvent,
    owned_reqid,
)
from xfrmctl.nhtb.sync import NhtbSync
from xfrmctl.nhtb.table import LearnOutcome, show_entries, static_bindings
from xfrmctl.state.codec import JsonValue, to_json
from xfrmctl.state.model import IkeSa, NhtbEntry, Phase2Negotiation, Snapshot
from xfrmctl.state.query import (
    ActionResult,
    ClearIkeSa,
    ClearIpsecSa,
    ClearIpsecStatistics,
    RequestSystemReload,
    ShowIkeSa,
    answer,
    parse_query,
    select_ike_sas,
    select_tunnels,
)

RETRY_FIRST = 2.0
RETRY_MAX = 60.0
# Liveness ticks (one dump of every SA each) are at least SAs x 0.5 ms apart, at most 1 s: the
# dump work stays near 2,000 SAs a second however the timers of many tunnels spread out, and a
# verdict is late by at most that quantum (10 ms with 20 SAs, 1 s from 2,000 SAs on).
LIVENESS_QUANTUM_PER_SA = 0.0005
LIVENESS_QUANTUM_MAX = 1.0
_GONE = (errno.ENOENT, errno.ESRCH, errno.ENODEV, errno.EADDRNOTAVAIL)


class ReloadRefused(Exception):
    """The new configuration has errors; the running one stays."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.code = ErrorCode.INVALID_ARGUMENT
        self.message = message


@dataclass
class _Retry:
    at: float
    delay: float


@dataclass(frozen=True)
class _DeferredOut:
    """A rekey's new outbound SA: installed when the SA it replaces goes, at the latest at `at`
    (`ike install-interval` after its inbound half)."""

    old: int  # the child it replaces
    sa: XfrmState = field(repr=False)
    vpn: str
    at: float


class Daemon:
    def __init__(
        self,
        config_path: str,
        kernel: KernelPort,
        *,
        socket_path: str,
        rng: Callable[[int], bytes] = os.urandom,
        notifier: Notifier | None = None,
        ike_port: int = 500,
        natt_port: int = 4500,
        lifetime_floor: int | None = None,
        nft: NftPort | None = None,
    ) -> None:
        self.config_path = config_path
        # lab and testing only (`--lab-lifetime-floor`): lifetimes below the Junos minimum
        self.lifetime_floor = lifetime_floor
        self.kernel = kernel
        self.nft = nft  # None: no nftables here (fake kernel), tcp-mss is logged as not installed
        self._mss_clamp: MssClamp | None = None  # as installed
        self.socket_path = socket_path
        self.rng = rng
        self.notifier = notifier or Notifier({})
        self.log = get_logger()
        self.store = StateStore()
        self.tallies = Tallies()  # event counts for --metrics
        self.config: Config | None = None
        self.plan: Plan | None = None
        self.engine: Engines | None = None
        self.sockets = IkeSockets(self._datagram, ike_port=ike_port, natt_port=natt_port)
        self.control = ControlServer(socket_path, self._prepare, self.log)
        self._queue: deque[Action] = deque()
        self._wakeup = asyncio.Event()
        self._stop = asyncio.Event()
        self._stopping = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None  # when `_timer` fires
        self._last_status = ""
        self._retry: dict[str, _Retry] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._policies: dict[str, list[XfrmPolicy]] = {}  # per VPN, as installed
        # per VPN: the plan and (local, remote) its installed policies were computed from
        self._policy_ends: dict[str, tuple[VpnPlan, str, str]] = {}
        self._links: list[str] = []
        self._addresses: list[tuple[str, str]] = []
        self._routes: list[tuple[str, str]] = []
        self._counters: dict[int, SaCounters] = {}
        # responder of a rekey: new child -> its outbound SA not yet installed; the old child's
        # deletion or its install-interval installs it
        self._deferred_out: dict[int, _DeferredOut] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.wall_offset = 0.0
        self._idle = asyncio.Event()
        self._idle.set()  # nothing queued yet: a reload before any action must not wait
        self._reload_lock = asyncio.Lock()
        # DPD (gateways with dead-peer-detection): IKE SA -> its gateway, as registered
        self.dpd = LivenessManager()
        self._dpd_peers: dict[IkeSaRef, str] = {}
        self._dpd_busy = False
        self._dpd_last = float("-inf")  # when the last liveness tick started
        # NHTB (multipoint st0 units): events in, batched policy ops out
        self.nhtb = NhtbSync()
        self._nhtb_busy = False
        # VPN monitoring: ICMP echoes through st0 (None until start: a raw socket transport)
        self.echo: EchoTransport | None = None
        self._out_of_service: dict[str, str] = {}  # VPN -> down reason, until MonitorUp
        self._withdrawn: dict[str, list[RoutePlan]] = {}  # VPN -> its routes taken out
        self._nhtb_withdrawn: list[RoutePlan] = []  # our multipoint routes no VPN carries
        self._ready = False
        self._keepalive_sent: dict[IkeSaRef, float] = {}  # NAT keepalives: IKE SA -> last sent

    # ------------------------------------------------------------------ clock

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None
        return self._loop

    def now(self) -> float:
        return self.loop.time()

    def _utc(self, now: float) -> datetime.datetime:
        """Engine time (the loop's monotonic clock) as UTC, for certificate validity."""
        return datetime.datetime.fromtimestamp(now + self.wall_offset, datetime.UTC)

    # ------------------------------------------------------------------ start / stop

    def _load(self) -> Config:
        result = load_file(self.config_path, lifetime_floor=self.lifetime_floor)
        exposed = exposed_keys_warning(self.config_path, result.config)
        if exposed is not None:
            result.diagnostics.insert(0, exposed)
        for d in result.warnings:
            self.log.warning("configuration warning", diagnostic=str(d))
        if result.config is None:
            raise ReloadRefused("\n".join(str(d) for d in result.errors))
        return result.config

    async def _interface_addresses(self, config: Config) -> dict[str, tuple[str, ...]]:
        names = {str(g.external_interface) for g in config.gateways.values()
                 if g.external_interface is not None}  # fmt: skip
        names |= {str(v.manual.external_interface) for v in config.vpns.values()
                  if v.manual is not None and v.manual.external_interface is not None}  # fmt: skip
        out: dict[str, tuple[str, ...]] = {}
        for name in names:
            try:
                out[name] = tuple(await self.kernel.list_addresses(name))
            except NetlinkError:
                out[name] = ()
        return out

    async def start(self) -> None:
        """Everything up to READY; raises on a configuration or kernel failure."""
        self._loop = asyncio.get_running_loop()
        self.wall_offset = time.time() - self.loop.time()
        if self.lifetime_floor is not None:
            self.log.warning("lab setting: lifetime-seconds and idle-time below the Junos "
                             "minimum accepted",
                             lifetime_floor=self.lifetime_floor)  # fmt: skip
        config = self._load()
        await self._remove_stale(config)
        plan = build_plan(config, await self._interface_addresses(config), _read_file)
        self.config, self.plan = config, plan
        self.dpd.monitor_settings = MonitorSettings.from_config(config.vpn_monitor_options)
        if self.echo is None:
            self.echo = RawIcmp(self.loop, self.echo_reply)
        self.engine = Engines(plan.peers, plan.ikev1_peers, self.rng, wall_clock=self._utc,
                              log=self.log)  # fmt: skip
        self.engine.set_protection(config.ike_flood_protection)
        locals_ = [p.local_address for p in plan.peers] + [
            p.local_address for p in plan.ikev1_peers]  # fmt: skip
        families = {AF_INET if ipaddress.ip_address(a).version == 4 else AF_INET6
                    for a in locals_} or {AF_INET}  # fmt: skip
        self.sockets.open(self.loop, tuple(sorted(families)))
        await self._apply_interfaces(plan)
        await self._apply_tcp_mss(config)
        await self._apply_routes(plan)
        self.store.unusable = dict(plan.unusable)
        for name in config.vpns:
            self._register_vpn(name, plan)
        for vpn in plan.vpns.values():
            await self._install_vpn_policies(vpn)
        for manual in plan.manual.values():
            await self._install_manual(manual)
        await self.control.start()
        self._spawn(self._worker())
        # subscribe now, not when the task first runs: no event between here and there is lost
        self._spawn(self._events(self.kernel.events()))
        self._spawn(self._route_events(self.kernel.route_events()))
        await self._nhtb_configure()
        if self.notifier.watchdog_interval:
            self._spawn(self._watchdog())
        self._spawn(self._nat_keepalives())
        for vpn in plan.vpns.values():
            if vpn.establish_tunnels == "immediately":
                self._initiate(vpn.name)
        self._rearm()
        for name, reason in plan.unusable.items():
            self.log.warning("vpn not started", vpn=name, reason=reason)
        self._ready = True
        self.notifier.ready(self._status())
        self.log.info(
            "daemon ready",
            vpns=len(plan.vpns),
            gateways=len(plan.peers) + len(plan.ikev1_peers),
            socket=self.socket_path,
        )

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        # before start: a SIGTERM during a slow start still ends in a clean shutdown
        loop.add_signal_handler(signal.SIGTERM, self._stop.set)
        loop.add_signal_handler(signal.SIGINT, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, self._sighup)
        try:
            await self.start()
        except BaseException:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            if self._loop is not None and self.engine is not None:
                await self.shutdown()  # remove what the failed start installed
            raise
        try:
            await self._stop.wait()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            await self.shutdown()

    def _spawn(self, coro: Coroutine[object, object, None]) -> None:
        """A task the daemon owns (cancelled at shutdown); finished ones are dropped here, so a
        long run of timer ticks does not accumulate them."""
        if not self._stopping:  # shutdown walks the list: leave it alone then
            self._tasks[:] = [t for t in self._tasks if not t.done()]
        self._tasks.append(asyncio.create_task(coro))

    def request_stop(self) -> None:
        self._stop.set()

    def _status(self) -> str:
        up = sum(1 for v in self.store.vpns.values() if v.children)
        return f"{up} of {len(self.store.vpns)} tunnels up, {len(self.store.ike)} IKE SAs"

    async def _remove_stale(self, config: Config) -> None:
        """A start after a crash: our SAs, policies, routes and st0 links go first."""
        sas, pols = await self.kernel.flush_owned()
        names = {f"st0.{u}" for u in config.st0_units}
        stale = [ln.name for ln in await self.kernel.list_links("xfrm") if ln.name in names]
        for name in stale:
            with contextlib.suppress(NetlinkError):
                await self.kernel.delete_link(name)
        if sas or pols or stale:
            self.log.info("removed stale state", sas=sas, policies=pols, links=stale)
        if self.nft is not None:
            try:
                await self.nft.run(tcp_mss.removal_script())
            except NftError as exc:
                self.log.debug("no stale tcp-mss table removed", error=str(exc))

    async def shutdown(self) -> None:
        """IKE deletes first, then every SA, policy, route and interface we installed."""
        if self._stopping:
            return
        self._stopping = True
        self.notifier.stopping()
        self.log.info("shutting down")
        engine = self.engine
        if engine is not None:
            self._enqueue(engine.shutdown(self.now()))
        await self._drain()
        if self._timer is not None:
            self._timer.cancel()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        for vpn in list(self._policies):
            await self._remove_vpn_policies(vpn)
        await self.kernel.flush_owned()
        for dst, dev in reversed(self._routes):
            with contextlib.suppress(NetlinkError):
                await self.kernel.delete_route(dst, dev=dev)
        for name in reversed(self._links):
            with contextlib.suppress(NetlinkError):
                await self.kernel.delete_link(name)
        self._links.clear()
        self._routes.clear()
        self._deferred_out.clear()
        self._addresses.clear()
        if self._mss_clamp is not None and self.nft is not None:
            with contextlib.suppress(NftError):
                await self.nft.run(tcp_mss.removal_script())
            self._mss_clamp = None
        self.sockets.close(self.loop)
        if self.echo is not None:
            self.echo.close()
        await self.control.close()
        self.log.info("stopped")

    # ------------------------------------------------------------------ kernel objects

    async def _apply_interfaces(self, plan: Plan, only: Iterable[str] | None = None) -> None:
        wanted = set(only) if only is not None else None
        for itf in plan.interfaces:
            if wanted is not None and itf.name not in wanted:
                continue
            try:
                await self.kernel.add_xfrm_interface(
                    itf.name, itf.if_id, underlying=itf.underlying, mtu=itf.mtu
                )
            except NetlinkError as exc:
                if exc.code != errno.EEXIST:
                    self.log.error("cannot create interface", interface=itf.name, error=str(exc))
                    continue
                await self.kernel.change_xfrm_interface(
                    itf.name, if_id=itf.if_id, underlying=itf.underlying, mtu=itf.mtu
                )
            if itf.name not in self._links:
                self._links.append(itf.name)
            await self._apply_addresses(itf.name, itf.addresses)
            await self.kernel.change_xfrm_interface(itf.name, up=True)

    async def _apply_addresses(self, dev: str, addresses: tuple[str, ...]) -> None:
        """The unit's addresses become exactly the configured ones: those we gave it before and
        the file no longer has go first (a changed primary would take new secondaries of its
        subnet with it), then the new ones are added."""
        wanted = list(dict.fromkeys(str(ipaddress.ip_interface(a)) for a in addresses))
        for addr in [a for d, a in self._addresses if d == dev and a not in wanted]:
            try:
                await self.kernel.delete_address(dev, addr)
            except NetlinkError as exc:
                if exc.code not in _GONE:
                    self.log.error("cannot remove address", interface=dev, address=addr,
                                   error=str(exc))  # fmt: skip
                    continue
            self._addresses.remove((dev, addr))
            self.log.info("address removed", interface=dev, address=addr)
        for addr in wanted:
            try:
                await self.kernel.add_address(dev, addr)
            except NetlinkError as exc:
                if exc.code != errno.EEXIST:
                    self.log.error("cannot add address", interface=dev, address=addr,
                                   error=str(exc))  # fmt: skip
                    continue
            if (dev, addr) not in self._addresses:
                self._addresses.append((dev, addr))

    async def _apply_tcp_mss(self, config: Config) -> None:
        """Install, replace or remove the MSS clamp so it matches `config`."""
        clamp = tcp_mss.clamp_for(config)
        if clamp == self._mss_clamp:
            return
        if self.nft is None:
            if clamp is not None:
                self.log.warning("tcp-mss not installed: no nftables access", mss=clamp.mss)
            return
        try:
            script = tcp_mss.install_script(clamp) if clamp else tcp_mss.removal_script()
            await self.nft.run(script)
        except NftError as exc:
            self.log.error("cannot install tcp-mss clamping", error=str(exc))
            return
        self._mss_clamp = clamp
        if clamp is not None:
            self.log.info("tcp-mss clamping installed", mss=clamp.mss, devices=list(clamp.devices))
        else:
            self.log.info("tcp-mss clamping removed")

    async def _apply_routes(self, plan: Plan) -> None:
        for route in plan.routes:
            try:
                await self.kernel.add_route(
                    route.dst, dev=route.dev, via=route.via, metric=route.metric,
                    onlink=route.via is not None,
                )  # fmt: skip
            except NetlinkError as exc:
                if exc.code != errno.EEXIST:
                    self.log.error("cannot add route", route=route.dst, dev=route.dev,
                                   error=str(exc))  # fmt: skip
                    continue
            self._routes.append((route.dst, route.dev))

    async def _install_manual(self, m: ManualPlan) -> None:
        """A manual-key VPN: both states and its policies, straight into the kernel."""
        rec = self.store.vpns[m.name]
        reqid = kernel_ops.manual_reqid(rec.tunnel_id)
        inbound, outbound = kernel_ops.manual_states(m, reqid)
        policies = kernel_ops.manual_policies(m, reqid)
        try:
            await self.kernel.add_sa(inbound)
            await self.kernel.add_sa(outbound)
            for p in policies:
                await self.kernel.update_policy(p)
        except NetlinkError as exc:
            self.log.error("cannot install manual SA", vpn=m.name, error=str(exc))
            for sa in (inbound, outbound):
                with contextlib.suppress(NetlinkError):
                    await self.kernel.delete_sa(sa.daddr, sa.spi, sa.proto)
            self._policies[m.name] = policies
            await self._remove_vpn_policies(m.name)
            self.store.failed([m.name], f"kernel refused the manual SA: {exc}")
            return
        self._policies[m.name] = policies
        self.store.manual_installed(m.name, ManualRecord(
            spi=m.spi, local=m.local_address, remote=m.remote_address, protocol=m.protocol,
            encr=m.encr, integ=m.integ, reqid=reqid))  # fmt: skip
        self.log.info("manual SA installed", vpn=m.name, spi=f"{m.spi:08x}",
                      remote=m.remote_address, protocol=m.protocol)  # fmt: skip

    async def _remove_manual(self, name: str) -> None:
        rec = self.store.vpns.get(name)
        if rec is None or rec.manual is None:
            return
        m = rec.manual
        proto = IPPROTO_AH if m.protocol == "ah" else IPPROTO_ESP
        for daddr in (m.local, m.remote):
            try:
                await self.kernel.delete_sa(daddr, m.spi, proto)
            except NetlinkError as exc:
                if exc.code not in _GONE:
                    self.log.error("cannot delete manual SA", vpn=name, error=str(exc))
        await self._remove_vpn_policies(name)
        self.store.manual_removed(name, "Configuration changed")

    def _kernel_reqid(self, vpn: VpnPlan) -> int:
        assert self.engine is not None
        return kernel_ops.kernel_reqid(self.engine.reqid_for(vpn.gateway, vpn.name))

    def _vpn_policies(self, vpn: VpnPlan, local: str, remote: str) -> list[XfrmPolicy]:
        return kernel_ops.child_policies(
            local=local,
            remote=remote,
            reqid=self._kernel_reqid(vpn),
            if_id=vpn.if_id,
            local_ts=vpn.child.local_ts,
            remote_ts=vpn.child.remote_ts,
            mode=vpn.child.mode.value,
        )

    async def _install_vpn_policies(
        self, vpn: VpnPlan, local: str | None = None, remote: str | None = None
    ) -> None:
        """0/0 (or proxy-id) in/out/fwd policies with templates; an ACQUIRE source too."""
        if vpn.multipoint:
            return  # NHTB plans every policy of a multipoint unit
        local = local or vpn.local_address
        remote = remote or vpn.remote_address
        if remote is None:
            return  # dynamic peer: policies come with its first child SA
        ends = self._policy_ends.get(vpn.name)
        if ends is not None and ends[0] is vpn and ends[1:] == (local, remote):
            return  # every child SA of a VPN asks; same plan and peer: same policies
        policies = self._vpn_policies(vpn, local, remote)
        if self._policies.get(vpn.name) == policies:
            self._policy_ends[vpn.name] = (vpn, local, remote)
            return
        await self._remove_vpn_policies(vpn.name, keep=policies)
        for p in policies:
            await self.kernel.update_policy(p)
        self._policies[vpn.name] = policies
        self._policy_ends[vpn.name] = (vpn, local, remote)

    async def _remove_vpn_policies(self, vpn: str, keep: list[XfrmPolicy] | None = None) -> None:
        keys = {(p.sel.src, p.sel.dst, p.dir, p.if_id) for p in keep or ()}
        self._policy_ends.pop(vpn, None)
        for p in self._policies.pop(vpn, []):
            if (p.sel.src, p.sel.dst, p.dir, p.if_id) in keys:
                continue
            try:
                await self.kernel.delete_policy(p.sel, p.dir, if_id=p.if_id)
            except NetlinkError as exc:
                if exc.code not in _GONE:
                    self.log.error("cannot delete policy", vpn=vpn, error=str(exc))

    # ------------------------------------------------------------------ VPN bookkeeping

    def _register_vpn(self, name: str, plan: Plan) -> None:
        vpn = plan.vpns.get(name)
        assert self.config is not None
        cfg = self.config.vpns[name]
        gw = cfg.ike.gateway if cfg.ike is not None else None
        gw_cfg = self.config.gateways.get(gw or "")
        self.store.set_vpn(
            name,
            gateway=vpn.gateway if vpn else (gw or "-"),
            bind_interface=str(cfg.bind_interface) if cfg.bind_interface else None,
            df_bit=cfg.df_bit,
            establish_immediately=cfg.establish_tunnels == "immediately",
            local=vpn.local_address if vpn else "0.0.0.0",  # noqa: S104
            remote=vpn.remote_address if vpn else None,
            version="IKEv2" if gw_cfg is not None and gw_cfg.version == "v2-only" else "IKEv1",
        )

    def _vpn(self, name: str) -> VpnPlan | None:
        return self.plan.vpns.get(name) if self.plan is not None else None

    def _initiate(self, name: str) -> None:
        vpn = self._vpn(name)
        if vpn is None or self.engine is None or self._stopping:
            return
        if vpn.remote_address is None:
            return
        now = self.now()
        self.store.attempt([name], now)
        self.log.info("initiating", vpn=name, peer=vpn.gateway, remote=vpn.remote_address)
        try:
            self._enqueue(self.engine.initiate(vpn.gateway, name, now))
        except (EngineError, ValueError) as exc:
            self.log.error("cannot initiate", vpn=name, error=str(exc))

    def _schedule_retry(self, vpns: Iterable[str]) -> None:
        if self._stopping:
            return
        now = self.now()
        for name in vpns:
            vpn = self._vpn(name)
            if vpn is None:
                continue
            # out of service (monitor): renegotiate actively, traffic no longer triggers it
            if vpn.establish_tunnels != "immediately" and name not in self._out_of_service:
                continue
            rec = self.store.vpns.get(name)
            if rec is not None and rec.children:
                continue
            prev = self._retry.get(name)
            if prev is not None and now < prev.at < float("inf"):
                continue  # already scheduled
            # after an attempt (at = inf while it runs) the next one waits twice as long
            delay = RETRY_FIRST if prev is None else min(prev.delay * 2, RETRY_MAX)
            self._retry[name] = _Retry(now + delay, delay)
        self._rearm()

    # ------------------------------------------------------------------ timer

    def _rearm(self) -> None:
        if self._loop is None or self._stopping:
            return
        deadlines = [r.at for r in self._retry.values()]
        deadlines.extend(d.at for d in self._deferred_out.values())
        dpd_due = self._liveness_due()
        if dpd_due is not None and not self._dpd_busy:
            deadlines.append(dpd_due)
        nhtb_due = self.nhtb.next_due()
        if nhtb_due is not None and not self._nhtb_busy:
            deadlines.append(nhtb_due)
        if self.engine is not None:
            d = self.engine.next_deadline()
            if d is not None:
                deadlines.append(d)
        at = min(deadlines) if deadlines else None
        if self._timer is not None:
            if at == self._timer_at:
                return  # armed for that already (most datagrams change no deadline)
            self._timer.cancel()
            self._timer = None
        self._timer_at = at
        if at is not None:
            self._timer = self.loop.call_at(at, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        now = self.now()
        if self.engine is not None:
            self._enqueue(self.engine.on_timer(now))
        dpd_due = self._liveness_due()
        if dpd_due is not None and dpd_due <= now and not self._dpd_busy:
            self._dpd_busy = True
            self._spawn(self._dpd_tick())
        if self.nhtb.due(now) and not self._nhtb_busy:
            self._nhtb_busy = True
            self._spawn(self._nhtb_tick())
        if any(d.at <= now for d in self._deferred_out.values()):
            self._wakeup.set()  # the worker switches them, in order with the queued actions
        for name, retry in list(self._retry.items()):
            if retry.at <= now:
                retry.at = float("inf")  # wait for the outcome before the next attempt
                rec = self.store.vpns.get(name)
                if rec is None or not rec.children:
                    self._initiate(name)
        self._rearm()

    # ------------------------------------------------------------------ datagrams

    def _datagram(self, data: bytes, local: Endpoint, remote: Endpoint) -> None:
        if self.engine is None or self._stopping:
            return
        self._enqueue(self.engine.receive(data, local, remote, self.now()))  # and re-arms

    # ------------------------------------------------------------------ actions

    def _enqueue(self, actions: list[Action]) -> None:
        if actions:
            self._queue.extend(actions)
            self._idle.clear()
            self._wakeup.set()
        self._rearm()

    async def _drain(self) -> None:
        """Execute queued actions now (used by shutdown and tests, outside the worker)."""
        while self._queue:
            await self._execute(self._queue.popleft())

    async def _worker(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            try:
                await self.switch_due_outbounds(self.now())
            except Exception:
                self.log.exception("outbound switch failed")
            while self._queue:
                action = self._queue.popleft()
                try:
                    await self._execute(action)
                except Exception:
                    self.log.exception("action failed", action=type(action).__name__)
            self._idle.set()
            if self.notifier.enabled:  # systemd: STATUS= only when the line changes
                status = self._status()
                if status != self._last_status:
                    self._last_status = status
                    self.notifier.status(status)

    async def wait_idle(self) -> None:
        while self._queue or not self._idle.is_set():
            await self._idle.wait()

    async def _execute(self, action: Action) -> None:
        if isinstance(action, Send):
            self._send(action)
        elif isinstance(action, InstallChild):
            await self._install_child(action)
        elif isinstance(action, DeleteChild):
            await self._delete_child(action)
        elif isinstance(action, IkeEstablished):
            self._dpd_add(action.ike_sa, action.peer)
            rec = self.store.ike_up(action)
            self.log.info("IKE SA established", peer=action.peer, ike_sa=str(action.ike_sa),
                          index=rec.index, remote=action.remote[0], port=action.remote[1],
                          initiator=action.initiator, exchange=action.exchange_type)  # fmt: skip
        elif isinstance(action, IkeRekeyed):
            self.store.ike_rekeyed(action.old, action.established)
            self.tallies.ike_rekeys[action.peer] += 1
            gateway = self._dpd_peers.pop(action.old, None)
            if gateway is not None:
                self._dpd_peers[action.new] = gateway
                self.dpd.rekey_peer(action.old, action.new, self.now())
            self.log.info("IKE SA rekeyed", peer=action.peer, old=str(action.old),
                          ike_sa=str(action.new))  # fmt: skip
        elif isinstance(action, IkeFailed):
            self._dpd_remove(action.ike_sa)
            vpns = self.store.vpns_of(action.peer)
            self.store.failed(vpns, _reason_text(action.reason, action.detail))
            self.tallies.ike_failed(action.peer, action.reason)
            self.log.warning("IKE SA failed", peer=action.peer, ike_sa=str(action.ike_sa),
                             reason=str(action.reason), detail=action.detail)  # fmt: skip
            self._schedule_retry(vpns)
        elif isinstance(action, IkeDeleted):
            self._dpd_remove(action.ike_sa)
            self.store.ike_down(action.ike_sa)
            self.log.info("IKE SA deleted", peer=action.peer, ike_sa=str(action.ike_sa),
                          reason=str(action.reason))  # fmt: skip
            if action.reason not in (Reason.REKEYED, Reason.REDUNDANT):
                self._schedule_retry(self.store.vpns_of(action.peer))
        elif isinstance(action, ChildFailed):
            self.store.failed([action.child], _reason_text(action.reason, action.detail),
                              consequential=action.reason is Reason.IKE_SA_GONE)  # fmt: skip
            self.tallies.child_failed(action.child, self._gateway_of(action.child), action.reason)
            self.log.warning("child SA failed", vpn=action.child, ike_sa=str(action.ike_sa),
                             reason=str(action.reason), detail=action.detail)  # fmt: skip
            self._schedule_retry([action.child])
        elif isinstance(action, PeerDead):
            self.log.warning("peer dead", peer=action.peer, ike_sa=str(action.ike_sa))
            self.tallies.dpd_failures[action.peer] += 1
            self._schedule_retry(self.store.vpns_of(action.peer))
        elif isinstance(action, LivenessResult):
            self.log.debug("liveness", peer=action.peer, alive=action.alive)
            if action.alive:
                self.dpd.probe_answered(action.ike_sa, action.at)

    def _send(self, action: Send) -> None:
        try:
            self.sockets.send(action.data, action.local, action.remote)
        except OSError as exc:
            self.log.warning("send failed", local=action.local[0], remote=action.remote[0],
                             port=action.remote[1], error=str(exc))  # fmt: skip

    async def _install_child(self, action: InstallChild) -> None:
        log = self.log.bind(
            vpn=action.child,
            ike_sa=str(action.ike_sa),
            spi_in=f"{action.spi_in:08x}",
            spi_out=f"{action.spi_out:08x}",
        )
        vpn = self._vpn(action.child)
        rec = self.store.vpns.get(action.child)
        if vpn is None or rec is None:
            log.warning("child SA for an unknown VPN; deleting it")
            self._delete_via_engine(action.unique_id)
            return
        inbound, outbound = kernel_ops.child_states(action, df_bit=vpn.df_bit)
        # IKEv2 responder of a rekey: the peer installs its inbound SA only when our answer
        # arrives, so our new outbound SA waits until the old SA is deleted (as strongSwan
        # does); until then the kernel keeps sending on the old one, which the peer accepts.
        # (IKEv1's quick-mode responder installs after the initiator's last message.)
        # `ike install-interval` bounds that wait (0: switch at once), for a peer that keeps
        # the old SA.
        defer = (action.rekey_of is not None and not action.initiator
                 and vpn.install_interval > 0
                 and action.rekey_of in rec.children
                 and self.engine is not None
                 and self.engine.version(vpn.gateway) == "IKEv2")  # fmt: skip
        try:
            await self.kernel.add_sa(inbound)
            if defer:
                assert action.rekey_of is not None
                self._deferred_out[action.unique_id] = _DeferredOut(
                    action.rekey_of, outbound, action.child, self.now() + vpn.install_interval
                )
                self._rearm()
            else:
                await self.kernel.add_sa(outbound)
            await self._install_vpn_policies(vpn, action.local, action.remote)
        except NetlinkError as exc:
            log.error("cannot install child SA", error=str(exc))
            self._deferred_out.pop(action.unique_id, None)
            with contextlib.suppress(NetlinkError):
                await self.kernel.delete_sa(inbound.daddr, inbound.spi)
            self.store.failed([action.child], f"kernel refused the SA: {exc}")
            self._delete_via_engine(action.unique_id)
            return
        self.store.child_installed(
            action.child, ChildRecord.of(action, inbound.reqid, self.now())
        )
        self._retry.pop(action.child, None)
        if action.rekey_of is not None:
            self.tallies.ipsec_rekeys[(action.child, vpn.gateway)] += 1
        if vpn.multipoint:
            self._nhtb_vpn_up(action, inbound.reqid)
        if action.child in self._out_of_service and (
            self.dpd.mon_state(action.child) is not MonState.DOWN
        ):
            self._back_in_service(action.child)  # after DPD: up again once renegotiated
        idle_time = self._idle_time(action.child)
        target = self._monitor_target(vpn)
        if target is not None:
            self.dpd.add_vpn(vpn.name, target, self.now())
            self._rearm()
        if action.ike_sa in self._dpd_peers or idle_time is not None or target is not None:
            now = self.now()
            ike = action.ike_sa if action.ike_sa in self._dpd_peers else None
            child = action.unique_id if idle_time is not None else None
            mon = vpn.name if target is not None else None
            for sa, direction in ((inbound, "in"), (outbound, "out")):
                self.dpd.sa_installed((sa.daddr, sa.spi, sa.proto), direction, now, ike=ike,
                                      vpn=mon if direction == "in" else None,
                                      child=child, idle_time=idle_time)  # fmt: skip
            self._rearm()  # the SA's first liveness or idle-time check may come before any other
        log.info("child SA installed", remote=action.remote, encap=action.encap is not None,
                 rekey=action.rekey_of is not None, algorithm=action.encr.name,
                 outbound_deferred=defer)  # fmt: skip

    def _delete_via_engine(self, unique_id: int) -> None:
        if self.engine is None:
            return
        with contextlib.suppress(EngineError):
            self._enqueue(self.engine.delete_child(unique_id, self.now()))

    async def _delete_child(self, action: DeleteChild) -> None:
        await self._install_deferred_outbound(action)
        for dst, spi in ((action.local, action.spi_in), (action.remote, action.spi_out)):
            try:
                await self.kernel.delete_sa(dst, spi, kernel_ops.ip_protocol(action.protocol))
            except NetlinkError as exc:
                if exc.code not in _GONE:
                    self.log.error("cannot delete SA", vpn=action.child, spi=f"{spi:08x}",
                                   error=str(exc))  # fmt: skip
        proto = kernel_ops.ip_protocol(action.protocol)
        for key in ((action.local, action.spi_in, proto), (action.remote, action.spi_out, proto)):
            self.dpd.sa_removed(key, self.now())
        reason = self._out_of_service.get(action.child) or _reason_text(action.reason, "")
        self.store.child_removed(action.child, action.unique_id, reason)
        rec = self.store.vpns.get(action.child)
        if rec is not None and not rec.children:
            self.nhtb.vpn_down(action.child, sas_gone=True, now=self.now())
            if self.dpd.mon_state(action.child) is not MonState.DOWN:
                self.dpd.remove_vpn(action.child)  # a D VPN keeps probing until it answers
            self._rearm()
        self.log.info("child SA deleted", vpn=action.child, ike_sa=str(action.ike_sa),
                      spi_in=f"{action.spi_in:08x}", reason=str(action.reason))  # fmt: skip
        if action.reason not in (Reason.REKEYED, Reason.REDUNDANT):
            self._schedule_retry([action.child])

    async def _install_deferred_outbound(self, action: DeleteChild) -> None:
        """A rekeyed SA goes: the outbound half of its successor takes over first, so traffic
        always has an outbound SA. A successor deleted before that never installs it."""
        for uid, deferred in list(self._deferred_out.items()):
            if action.unique_id not in (uid, deferred.old):
                continue
            del self._deferred_out[uid]
            if uid != action.unique_id:
                await self._switch_outbound(deferred, "the old SA goes")

    async def switch_due_outbounds(self, now: float) -> None:
        """Outbound SAs whose install-interval has passed take over, the old SA still there."""
        for uid, deferred in list(self._deferred_out.items()):
            if deferred.at <= now and self._deferred_out.pop(uid, None) is not None:
                await self._switch_outbound(deferred, "install-interval")
        self._rearm()

    async def _switch_outbound(self, deferred: _DeferredOut, why: str) -> None:
        try:
            await self.kernel.add_sa(deferred.sa)
        except NetlinkError as exc:
            self.log.error("cannot install the outbound SA of a rekey", vpn=deferred.vpn,
                           spi_out=f"{deferred.sa.spi:08x}", error=str(exc))  # fmt: skip
        else:
            self.log.info("outbound SA switched", vpn=deferred.vpn,
                          spi_out=f"{deferred.sa.spi:08x}", on=why)  # fmt: skip

    # ------------------------------------------------------------------ kernel events

    async def _events(self, events: AsyncIterator[KernelEvent]) -> None:
        async for event in events:
            if not isinstance(event, XfrmEvent):
                continue
            try:
                self._kernel_event(event)
            except Exception:
                self.log.exception("kernel event failed", type=event.type)

    def _kernel_event(self, event: XfrmEvent) -> None:
        msg = event.message
        if self.engine is None or self._stopping:
            return
        now = self.now()
        if event.type == XfrmMsg.XFRM_MSG_ACQUIRE and isinstance(msg, XfrmAcquire):
            reqids = [t.reqid for t in msg.tmpls or msg.policy.tmpls or ()]
            for name, vpn in (self.plan.vpns.items() if self.plan else ()):
                if self._kernel_reqid(vpn) in reqids:
                    rec = self.store.vpns.get(name)
                    if rec is not None and not rec.children:
                        self.log.info("acquire", vpn=name, src=msg.saddr, dst=msg.daddr)
                        self._initiate(name)
                    return
        elif event.type == XfrmMsg.XFRM_MSG_MAPPING and isinstance(msg, XfrmMapping):
            if owned_reqid(msg.reqid):
                self._spawn(self._mapping(msg))
        elif event.type == XfrmMsg.XFRM_MSG_EXPIRE and isinstance(msg, XfrmExpire):
            if not owned_reqid(msg.state.reqid):
                return
            self.log.info("expire", spi=f"{msg.state.spi:08x}", hard=msg.hard)
            self._enqueue(self.engine.child_expired(msg.state.spi, msg.hard, now))

    async def _mapping(self, msg: XfrmMapping) -> None:
        """The peer's NAT mapping moved (kernel MAPPING on an inbound ESP-in-UDP SA).

        A new port is written into both SAs' encapsulation in place (keys and counters stay);
        an address change needs new SAs, which the next rekey brings."""
        found = self.store.find_child(msg.spi)
        if found is None:
            return
        vpn, child = found
        log = self.log.bind(vpn=vpn.name, spi_in=f"{child.spi_in:08x}")
        if child.encap is None:
            return
        if msg.new_saddr != child.remote:
            log.warning("peer address behind NAT changed; waiting for the rekey",
                        old=child.remote, new=msg.new_saddr)  # fmt: skip
            return
        try:
            for dst, spi in ((child.local, child.spi_in), (child.remote, child.spi_out)):
                sa = await self.kernel.get_sa(dst, spi)
                if sa.encap is None:
                    continue
                inbound = dst == child.local
                encap = replace(sa.encap, sport=msg.new_sport) if inbound else replace(
                    sa.encap, dport=msg.new_sport)  # fmt: skip
                await self.kernel.update_sa(replace(sa, encap=encap))
        except NetlinkError as exc:
            log.error("cannot follow the NAT mapping", error=str(exc))
            return
        child.encap = (child.encap[0], msg.new_sport)
        log.info("NAT mapping changed", remote=msg.new_saddr, port=msg.new_sport)

    # ------------------------------------------------------------------ dead peer detection

    def _idle_time(self, vpn: str) -> float | None:
        """`ike idle-time`: delete the child SA after that long without traffic (None: off)."""
        cfg = self.config.vpns.get(vpn) if self.config is not None else None
        if cfg is None or cfg.ike is None or not cfg.ike.idle_time:
            return None
        return float(cfg.ike.idle_time)

    def _dpd_settings(self, gateway: str) -> DpdSettings | None:
        gw = self.config.gateways.get(gateway) if self.config is not None else None
        return DpdSettings.from_gateway(gw) if gw is not None else None

    def _dpd_add(self, ref: IkeSaRef, gateway: str) -> None:
        settings = self._dpd_settings(gateway)
        if settings is not None:
            self._dpd_peers[ref] = gateway
            self.dpd.add_peer(ref, settings, self.now())

    def _dpd_remove(self, ref: IkeSaRef) -> None:
        if self._dpd_peers.pop(ref, None) is not None:
            self.dpd.remove_peer(ref)

    def _dpd_reconfigure(self) -> None:
        """After a reload: live IKE SAs follow their gateway's new DPD settings."""
        now = self.now()
        for ref, gateway in list(self._dpd_peers.items()):
            settings = self._dpd_settings(gateway)
            if settings is None:
                self._dpd_remove(ref)
            else:
                self.dpd.reconfigure_peer(ref, settings, now)

    def _liveness_due(self) -> float | None:
        """When the next liveness tick runs: the earliest deadline, but no sooner than one
        quantum after the previous tick, so that tunnels whose timers have drifted apart share
        ticks (each tick dumps every SA) instead of costing one dump each."""
        due = self.dpd.next_deadline()
        if due is None:
            return None
        quantum = min(LIVENESS_QUANTUM_MAX, len(self._counters) * LIVENESS_QUANTUM_PER_SA)
        return max(due, self._dpd_last + quantum)

    async def _dpd_tick(self) -> None:
        """One batched counter dump, then DPD's verdicts (the timer fired)."""
        self._dpd_last = self.now()
        try:
            await self._refresh_counters()
            dump: dict[Hashable, tuple[int, int]] = {
                (c.daddr, c.spi, c.proto): (c.bytes, c.packets) for c in self._counters.values()
            }
            self.dpd_actions(self.dpd.on_timer(self.now(), dump))
        finally:
            self._dpd_busy = False
            self._rearm()

    def _fresh_evidence(self, ref: IkeSaRef, now: float) -> float | None:
        """The peer's latest authenticated IKE message, when it is within the DPD interval."""
        if self.engine is None:
            return None
        at = self.engine.last_authenticated_rx(ref)
        settings = self._dpd_settings(self._dpd_peers.get(ref, ""))
        if at is not None and settings is not None and at + settings.interval > now:
            return at
        return None

    def _always_send(self, ref: IkeSaRef) -> bool:
        settings = self._dpd_settings(self._dpd_peers.get(ref, ""))
        return settings is not None and settings.mode is DpdMode.ALWAYS_SEND

    def dpd_actions(self, actions: list[DpdAction]) -> None:
        """ProbePeer -> liveness check (unless the peer spoke lately); PeerDead -> drop the SA;
        IdleTimeout -> delete the idle child SA."""
        if self.engine is None:
            return
        now = self.now()
        for act in actions:
            if isinstance(act, SendEcho | MonitorDown | MonitorUp):
                self._monitor_action(act)
                continue
            if isinstance(act, IdleTimeout) and isinstance(act.child, int):
                self.log.info("idle-time reached; deleting the child SA", child=act.child)
                self._delete_via_engine(act.child)
                continue
            if not isinstance(act, ProbePeer | DpdPeerDead) or not isinstance(act.ike, IkeSaRef):
                continue
            decided_at = act.at if isinstance(act, ProbePeer) else act.detected_at
            fresh = self._fresh_evidence(act.ike, decided_at)
            if fresh is not None and isinstance(act, ProbePeer) and self._always_send(act.ike):
                fresh = None  # always-send: a probe every interval, whatever the peer said
            if fresh is not None:
                if isinstance(act, DpdPeerDead):
                    settings = self._dpd_settings(self._dpd_peers.get(act.ike, ""))
                    if settings is not None:
                        self.dpd.reconfigure_peer(act.ike, settings, now)
                self.dpd.ike_message_received(act.ike, fresh)
                continue
            try:
                if isinstance(act, ProbePeer):
                    self.log.info("DPD probe", ike_sa=str(act.ike), attempt=act.attempt)
                    self._enqueue(self.engine.liveness_check(act.ike, now))
                else:
                    self.log.warning("DPD: peer dead", ike_sa=str(act.ike),
                                     reason=str(act.reason))  # fmt: skip
                    gateway = self._dpd_peers.get(act.ike)
                    self._dpd_remove(act.ike)
                    for name in self.store.vpns_of(gateway) if gateway else ():
                        rec = self.store.vpns.get(name)
                        if rec is not None and any(c.ike_sa == act.ike
                                                   for c in rec.children.values()):  # fmt: skip
                            self._take_out_of_service(name, str(act.reason))
                    self._enqueue(self.engine.peer_dead(act.ike, now))
            except EngineError:
                self._dpd_remove(act.ike)

    # ------------------------------------------------------------------ NHTB

    async def _nhtb_configure(self) -> None:
        """A configuration load: units, Static entries, bound VPNs; then a full route dump."""
        assert self.config is not None and self.plan is not None
        now = self.now()
        self.nhtb.configure(
            multipoint_units(self.config),
            static_bindings(self.config.st0_units.values()),
            multipoint_vpns(self.plan),
            now=now,
        )
        await self._nhtb_routes()

    async def _nhtb_routes(self) -> None:
        try:
            routes = await self.kernel.list_routes()
        except NetlinkError as exc:
            self.log.warning("cannot list routes", error=str(exc))
            return
        self.nhtb.set_routes(routes, now=self.now())
        self._rearm()

    def _nhtb_usable(self, route: RoutePlan) -> bool:
        binding = self.nhtb.table.lookup(route.dev, route.via) if route.via else None
        if binding is None or binding.vpn in self._out_of_service:
            return False
        rec = self.store.vpns.get(binding.vpn)
        return rec is not None and bool(rec.children)

    async def _nhtb_route_service(self) -> None:
        """Our own routes on a multipoint unit follow their next hop: withdrawn while no up VPN
        carries their prefix (so a backup route elsewhere wins), back when a VPN bound to the
        next hop is up. Routes of other software are only watched."""
        if self.plan is None:
            return
        dead = {(o.route.dst, o.route.dev) for o in self.nhtb.last_plan.dead_routes()}
        changed = False
        for r in self.plan.routes:
            key = (r.dst, r.dev)
            if r.via is None or key not in dead or key not in self._routes:
                continue
            try:
                await self.kernel.delete_route(r.dst, dev=r.dev, metric=r.metric)
            except NetlinkError as exc:
                if exc.code not in _GONE:
                    self.log.error("cannot withdraw route", route=r.dst, error=str(exc))
                    continue
            self._routes.remove(key)
            self._nhtb_withdrawn.append(r)
            changed = True
            self.log.info("route withdrawn: no next-hop tunnel carries it", route=r.dst,
                          next_hop=r.via)  # fmt: skip
        for r in list(self._nhtb_withdrawn):
            if not self._nhtb_usable(r):
                continue
            self._nhtb_withdrawn.remove(r)
            try:
                await self.kernel.add_route(r.dst, dev=r.dev, via=r.via, metric=r.metric,
                                            onlink=True)  # fmt: skip
            except NetlinkError as exc:
                if exc.code != errno.EEXIST:
                    self.log.error("cannot restore route", route=r.dst, error=str(exc))
                    continue
            self._routes.append((r.dst, r.dev))
            changed = True
            self.log.info("route restored", route=r.dst, next_hop=r.via)
        if changed:
            await self._nhtb_routes()  # the next batch plans against the routes as they are now

    async def _route_events(self, events: AsyncIterator[RouteEvent]) -> None:
        async for event in events:
            if self._stopping:
                return
            self.nhtb.route_event(event, now=self.now())
            self._rearm()

    def _nhtb_vpn_up(self, action: InstallChild, reqid: int) -> None:
        outcomes = self.nhtb.vpn_up(
            action.child,
            local=action.local,
            remote=action.remote,
            reqid=reqid,
            learned=action.peer_tunnel_addresses,
            now=self.now(),
        )
        for addr, outcome in outcomes:
            if outcome in (LearnOutcome.SHADOWED, LearnOutcome.CONFLICT):
                self.log.warning("next-hop tunnel not learned as Auto", vpn=action.child,
                                 next_hop=str(addr), outcome=outcome.name)  # fmt: skip
            else:
                self.log.info("next-hop tunnel learned", vpn=action.child, next_hop=str(addr))
        self._rearm()

    async def _nhtb_tick(self) -> None:
        """One batch: plan against a fresh policy dump and apply; a stale dump syncs again."""
        try:
            for _ in range(3):
                installed = await self.kernel.list_policies(PolicyFilter(owned_only=True))
                ops = self.nhtb.sync(installed)
                if not ops:
                    break
                results = await self.kernel.apply(ops)
                errors = [e for e in results if e is not None]
                for e in errors:
                    if e.code not in (errno.EEXIST, errno.ENOENT):
                        self.log.error("NHTB policy change refused", error=str(e))
                if not any(e.code in (errno.EEXIST, errno.ENOENT) for e in errors):
                    break
                self.nhtb.invalidate(self.now())
            await self._nhtb_route_service()
            change = self.nhtb.last_change
            if change.lost or change.gained:
                self.log.info("next-hop tunnel routes changed",
                              lost=[_route_text(r) for r in change.lost],
                              gained=[_route_text(r) for r in change.gained])  # fmt: skip
        except NetlinkError as exc:
            self.log.error("NHTB sync failed", error=str(exc))
            self.nhtb.invalidate(self.now())
        finally:
            self._nhtb_busy = False
            self._rearm()

    # ------------------------------------------------------------------ VPN monitoring

    def _monitor_target(self, vpn: VpnPlan) -> MonitorTarget | None:
        """`vpn-monitor` resolved: echo source, destination and the st0 device it leaves by."""
        cfg = self.config.vpns.get(vpn.name) if self.config is not None else None
        mon = cfg.vpn_monitor if cfg is not None else None
        if mon is None or self.config is None:
            return None
        dst = str(mon.destination_ip) if mon.destination_ip is not None else vpn.remote_address
        if dst is None:
            return None
        src = vpn.local_address
        if mon.source_interface is not None:
            name = str(mon.source_interface)
            unit = next((u for u in self.config.st0_units.values() if u.name == name), None)
            family = ipaddress.ip_address(dst).version
            if unit is not None:
                addrs = [a.ip for a in unit.addresses if a.version == family]
                if addrs:
                    src = str(addrs[0])
        return MonitorTarget(src, dst, vpn.bind_interface, optimized=mon.optimized)

    def echo_reply(self, ident: int, seq: int) -> None:
        """An ICMP echo reply read from a monitoring socket."""
        if self._stopping:
            return
        self.dpd_actions(self.dpd.echo_reply(None, ident, seq, self.now()))
        self._rearm()

    def _monitor_action(self, act: SendEcho | MonitorDown | MonitorUp) -> None:
        if isinstance(act, SendEcho):
            if self.echo is None:
                return
            try:
                self.echo.send(act.src, act.dst, act.ident, act.seq, act.device)
            except OSError as exc:  # unanswered: the monitor counts it as a failure
                self.log.debug("VPN monitor echo not sent", vpn=act.vpn, error=str(exc))
            return
        if isinstance(act, MonitorDown):
            self.log.warning("VPN monitor: tunnel down", vpn=act.vpn, reason=str(act.reason))
            self.tallies.monitor_failures[(act.vpn, self._gateway_of(act.vpn))] += 1
            self._take_out_of_service(act.vpn, str(act.reason))
            rec = self.store.vpns.get(act.vpn)
            for uid in list(rec.children) if rec is not None else ():
                self._delete_via_engine(uid)
            return
        self.log.info("VPN monitor: tunnel up", vpn=act.vpn)
        self._back_in_service(act.vpn)

    def _take_out_of_service(self, name: str, reason: str) -> None:
        """DPD or the monitor declared `name` down: its routes go (a backup route wins), NHTB
        stops carrying it, and it renegotiates actively whatever establish-tunnels says."""
        self._out_of_service[name] = reason
        self.nhtb.vpn_down(name, sas_gone=False, now=self.now())
        rec = self.store.vpns.get(name)
        if rec is not None:
            rec.down_reason = reason
        routes = self._vpn_routes(name)  # now: deleting the SAs drops its Auto entries
        self._spawn(self._withdraw_routes(name, routes))
        self._schedule_retry([name])
        self._rearm()

    def _back_in_service(self, name: str) -> None:
        if self._out_of_service.pop(name, None) is not None or name in self._withdrawn:
            self._spawn(self._restore_routes(name))

    def _vpn_routes(self, name: str) -> list[RoutePlan]:
        """The daemon's routes that lead into `name`: all via its point-to-point unit, or on a
        multipoint unit those whose next hop is bound to it."""
        vpn = self._vpn(name)
        if vpn is None or vpn.bind_interface is None or self.plan is None:
            return []
        out: list[RoutePlan] = []
        for r in self.plan.routes:
            if r.dev != vpn.bind_interface or (r.dst, r.dev) not in self._routes:
                continue
            if vpn.multipoint:
                binding = self.nhtb.table.lookup(r.dev, r.via) if r.via else None
                if binding is None or binding.vpn != name:
                    continue
            out.append(r)
        return out

    async def _withdraw_routes(self, name: str, routes: list[RoutePlan]) -> None:
        """Out of service: delete the VPN's routes so a backup route (metric, plain) wins."""
        for r in routes:
            if (r.dst, r.dev) not in self._routes:
                continue
            try:
                await self.kernel.delete_route(r.dst, dev=r.dev, metric=r.metric)
            except NetlinkError as exc:
                if exc.code not in _GONE:
                    self.log.error("cannot withdraw route", route=r.dst, error=str(exc))
                    continue
            self._routes.remove((r.dst, r.dev))
            self._withdrawn.setdefault(name, []).append(r)
            self.log.info("route withdrawn", vpn=name, route=r.dst, dev=r.dev)

    async def _restore_routes(self, name: str) -> None:
        for r in self._withdrawn.pop(name, []):
            try:
                await self.kernel.add_route(r.dst, dev=r.dev, via=r.via, metric=r.metric,
                                            onlink=r.via is not None)  # fmt: skip
            except NetlinkError as exc:
                if exc.code != errno.EEXIST:
                    self.log.error("cannot restore route", route=r.dst, error=str(exc))
                    continue
            self._routes.append((r.dst, r.dev))
            self.log.info("route restored", vpn=name, route=r.dst, dev=r.dev)

    async def _nat_keepalives(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.nat_keepalive_tick(self.now())

    def nat_keepalive_tick(self, now: float) -> None:
        """`nat-keepalive N`: while we are behind a NAT, a 0xff datagram to the peer's NAT-T
        port every N seconds keeps the mapping open (IKEv1 and IKEv2 alike)."""
        if self.config is None or self._stopping:
            return
        for ref in [r for r in self._keepalive_sent if r not in self.store.ike]:
            del self._keepalive_sent[ref]
        for ref, rec in list(self.store.ike.items()):
            info = rec.info
            gw = self.config.gateways.get(info.peer)
            if not info.nat_local or gw is None:
                continue
            if now - self._keepalive_sent.get(ref, info.established_at) < gw.nat_keepalive:
                continue
            self._keepalive_sent[ref] = now
            try:
                self.sockets.send_keepalive(info.local, info.remote)
            except OSError as exc:
                self.log.debug("NAT keepalive not sent", peer=info.peer, error=str(exc))

    async def _watchdog(self) -> None:
        interval = self.notifier.watchdog_interval or 10.0
        while True:
            self.notifier.watchdog()
            await asyncio.sleep(interval)

    # ------------------------------------------------------------------ control

    async def _refresh_counters(self) -> None:
        try:
            counters = await self.kernel.sa_counters()
        except NetlinkError as exc:
            self.log.warning("cannot read SA counters", error=str(exc))
            return
        self._counters = {c.spi: c for c in counters if owned_reqid(c.reqid)}
        children = {name: (rec.gateway, [(c.spi_in, c.spi_out) for c in rec.children.values()])
                    for name, rec in self.store.vpns.items()}  # fmt: skip
        self.tallies.observe_traffic(children, self._counters)

    async def refresh_counters(self) -> None:
        """One batched SA counter dump (for the metrics exporter)."""
        await self._refresh_counters()

    def _gateway_of(self, vpn: str) -> str:
        rec = self.store.vpns.get(vpn)
        return rec.gateway if rec is not None else "-"

    async def _prepare(self, request: Request) -> Callable[[Request], JsonValue]:
        query = parse_query(request.command, request.args)
        if isinstance(query, RequestSystemReload):
            message = await self.reload()
            result = to_json(ActionResult(affected=1, message=message))
            return lambda _r: result
        # IKE SA queries read no VPN and no counter, the others no IKE SA
        ike_only = isinstance(query, ShowIkeSa | ClearIkeSa)
        if not ike_only:
            await self._refresh_counters()
        snapshot = self.snapshot(ike_sas=ike_only, vpns=not ike_only)
        if isinstance(query, ClearIkeSa):
            chosen = select_ike_sas(snapshot, query)
            n = self._clear_ike([sa.index for sa in chosen])
            result = to_json(ActionResult(affected=n))
            return lambda _r: result
        if isinstance(query, ClearIpsecSa):
            tunnels = select_tunnels(snapshot, query)
            n = self._clear_tunnels([t.tunnel_id for t in tunnels])
            result = to_json(ActionResult(affected=n))
            return lambda _r: result
        if isinstance(query, ClearIpsecStatistics):
            n = self.store.clear_statistics(self._counters, query.index)
            result = to_json(ActionResult(affected=n))
            return lambda _r: result
        view = answer(snapshot, query)
        data = to_json(view)
        return lambda _r: data

    def snapshot(self, *, ike_sas: bool = True, vpns: bool = True) -> Snapshot:
        """The state store's view plus the NHTB table, with the counters last read; a part
        not asked for is left empty."""
        snap = self.store.snapshot(self.now(), self.wall_offset, self._counters,
                                   ike_sas=ike_sas, vpns=vpns)  # fmt: skip
        if not vpns:
            return replace(snap, ike_security_associations=self._ike_with_phase2(snap))
        ids = {name: rec.tunnel_id for name, rec in self.store.vpns.items()}
        nhtb = show_entries(self.nhtb.table, tunnel_ids=ids)
        nhtb_by_vpn: dict[str, list[NhtbEntry]] = {}
        for entry in nhtb:
            nhtb_by_vpn.setdefault(entry.vpn_name, []).append(entry)
        tunnels = tuple(
            replace(
                t,
                vpn_monitoring=self.dpd.mon_state(t.vpn_name).detail,  # type: ignore[arg-type]
                tunnel_down_reason=self._out_of_service.get(t.vpn_name, t.tunnel_down_reason),
                next_hop_tunnels=tuple(nhtb_by_vpn.get(t.vpn_name, ())),
            )
            for t in snap.tunnels
        )
        return replace(
            snap,
            ike_security_associations=self._ike_with_phase2(snap),
            tunnels=tunnels,
            next_hop_tunnels=nhtb,
        )

    def _ike_with_phase2(self, snap: Snapshot) -> tuple[IkeSa, ...]:
        engine = self.engine
        ike = snap.ike_security_associations
        if engine is not None and ike:  # empty: not asked for
            ike = tuple(_with_phase2(sa, engine.phase2_negotiations(ref))
                        for sa, ref in zip(ike, self.store.ike, strict=True))  # fmt: skip
        return ike

    def _clear_ike(self, indexes: list[int]) -> int:
        assert self.engine is not None
        n = 0
        for ref, rec in list(self.store.ike.items()):
            if rec.index in indexes:
                with contextlib.suppress(EngineError):
                    self._enqueue(self.engine.delete_ike(ref, self.now()))
                    n += 1
        return n

    def _clear_tunnels(self, tunnel_ids: list[int]) -> int:
        assert self.engine is not None
        n = 0
        for rec in self.store.vpns.values():
            if rec.tunnel_id in tunnel_ids:
                for uid in list(rec.children):
                    with contextlib.suppress(EngineError):
                        self._enqueue(self.engine.delete_child(uid, self.now()))
                        n += 1
        return n

    # ------------------------------------------------------------------ reload

    def _sighup(self) -> None:
        if not self._ready or self._stopping:
            return  # still starting (or stopping): nothing to reload yet
        task = asyncio.create_task(self._reload_logged())
        self._tasks.append(task)

    async def _reload_logged(self) -> None:
        try:
            message = await self.reload()
            self.log.info("reloaded", result=message)
        except ReloadRefused as exc:
            self.log.error("reload refused; the running configuration stays",
                           errors=exc.message)  # fmt: skip

    async def reload(self) -> str:
        """Apply only the difference to the new file; refuse a file with errors.

        Reloads (SIGHUP, control socket) run one at a time."""
        async with self._reload_lock:
            return await self._reload()

    async def _reload(self) -> str:
        if self.config is None or self.plan is None or self.engine is None:
            raise ReloadRefused("the daemon is not running yet")
        new = self._load()
        old_config, old_plan = self.config, self.plan
        change = diff(old_config, new)
        if change.empty:
            return "configuration unchanged"
        plan = build_plan(new, await self._interface_addresses(new), _read_file)
        touched = _touched_vpns(change, old_plan, plan)
        now = self.now()
        # 1. Tear down what goes away or changes.
        for name in touched:
            rec = self.store.vpns.get(name)
            if rec is not None:
                for uid in list(rec.children):
                    with contextlib.suppress(EngineError):
                        self._enqueue(self.engine.delete_child(uid, now))
        for gw in (*change.gateways.removed,
                   *(c.name for c in change.gateways.changed if c.renegotiate)):  # fmt: skip
            for ref in self.engine.refs_of(gw):
                with contextlib.suppress(EngineError):
                    self._enqueue(self.engine.delete_ike(ref, now))
        await self.wait_idle()
        for name in touched:
            await self._remove_manual(name)
            await self._remove_vpn_policies(name)
            self._retry.pop(name, None)
        for name in change.vpns.removed:
            self.store.remove_vpn(name)
            self._out_of_service.pop(name, None)
            self._withdrawn.pop(name, None)
        for unit in change.st0_units.removed:
            with contextlib.suppress(NetlinkError):
                await self.kernel.delete_link(unit)
            if unit in self._links:
                self._links.remove(unit)
            self._addresses = [(d, a) for d, a in self._addresses if d != unit]
        for key in (*change.routes.removed, *change.routes.changed_names()):
            for dst, dev in list(self._routes):
                if key.endswith(dst):
                    with contextlib.suppress(NetlinkError):
                        await self.kernel.delete_route(dst, dev=dev)
                    self._routes.remove((dst, dev))
        # 2. The new configuration.
        self.config, self.plan = new, plan
        # Established IKE SAs of kept gateways answer new child requests from the new VPN set.
        self.engine.set_peers(plan.peers, plan.ikev1_peers)
        self.engine.set_protection(new.ike_flood_protection)
        self.store.unusable = dict(plan.unusable)
        units = {*change.st0_units.added, *change.st0_units.changed_names()}
        if units:
            await self._apply_interfaces(plan, units)
        await self._apply_tcp_mss(new)
        # withdrawn routes stay out until their VPN is back (if the new file still has them)
        self._nhtb_withdrawn = [r for r in self._nhtb_withdrawn if r in plan.routes]
        for name, held in list(self._withdrawn.items()):
            self._withdrawn[name] = [r for r in held if r in plan.routes]
        out = {(r.dst, r.dev) for r in self._nhtb_withdrawn}
        out |= {(r.dst, r.dev) for held in self._withdrawn.values() for r in held}
        out |= set(self._routes)
        new_routes = [r for r in plan.routes if (r.dst, r.dev) not in out]
        if new_routes:
            await self._apply_routes(Plan((), {}, (), tuple(new_routes), {}))
        for name in new.vpns:
            self._register_vpn(name, plan)
        for name in plan.vpns:
            if name in touched or name in change.vpns.added:
                await self._install_vpn_policies(plan.vpns[name])
                if plan.vpns[name].establish_tunnels == "immediately":
                    self._initiate(name)
        for name, manual in plan.manual.items():
            if name in touched or name in change.vpns.added:
                await self._install_manual(manual)
        self._dpd_reconfigure()
        self.dpd.monitor_settings = MonitorSettings.from_config(new.vpn_monitor_options)
        for name in list(self.dpd.monitors):
            vpn_plan = plan.vpns.get(name)
            if name in touched or vpn_plan is None or self._monitor_target(vpn_plan) is None:
                self.dpd.remove_vpn(name)
                self._out_of_service.pop(name, None)
                await self._restore_routes(name)
        await self._nhtb_configure()
        self._rearm()
        kept = [n for n in plan.vpns if n not in touched]
        return (
            f"reloaded: {len(change.vpns.added)} added, {len(change.vpns.removed)} removed, "
            f"{len(touched) - len(change.vpns.removed)} renegotiated, {len(kept)} kept"
        )


def _touched_vpns(change: ConfigDiff, old: Plan, new: Plan) -> list[str]:
    """VPNs whose SAs must go: removed, changed (renegotiate), or on a renegotiated gateway."""
    names = set(change.vpns.removed)
    names |= {c.name for c in change.vpns.changed if c.renegotiate}
    gws = set(change.gateways.removed) | {c.name for c in change.gateways.changed if c.renegotiate}
    names |= {v.name for v in old.vpns.values() if v.gateway in gws}
    names |= {n for n in new.unusable if n in old.vpns or n in old.manual}
    names |= {n for n in old.unusable if n in new.vpns or n in new.manual}
    return sorted(names)


def _with_phase2(sa: IkeSa, negotiations: tuple[Phase2Negotiation, ...] | None) -> IkeSa:
    """IKEv1: the quick modes of this ISAKMP SA still in progress."""
    if negotiations is None:
        return sa
    return replace(sa, phase2_negotiations_in_progress=len(negotiations),
                   negotiations=negotiations)  # fmt: skip


def _read_file(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def _route_text(route: tuple[str, str, str | None, str]) -> str:
    """(unit, prefix, next hop, VPN) as the log shows it."""
    unit, prefix, via, vpn = route
    return f"{prefix} via {via or unit} ({vpn})"


def _reason_text(reason: Reason, detail: str) -> str:
    return f"{reason}: {detail}" if detail else str(reason)
