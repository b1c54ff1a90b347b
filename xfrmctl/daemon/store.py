"""The daemon's one state store: IKE SAs, tunnels (one per VPN) and their child SAs.

It records what the engine reported and the daemon installed, and builds the
`xfrmctl.state.Snapshot` the `show` commands print. Tunnel IDs start at 131073 and stay with a
VPN's name for the daemon's lifetime (across rekeys and reloads); IKE SA indexes count up.
No keys are kept here: a child record holds SPIs, algorithms and times only.

Times: `now` is the engine clock (monotonic); `wall_offset` turns it into Unix time for
the fields that print a date.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from xfrmctl.keying.ikev2.actions import IkeEstablished, IkeSaRef, InstallChild
from xfrmctl.keying.ikev2.ts import TrafficSelector
from xfrmctl.keying.transforms import Transform, junos_esp_brief
from xfrmctl.netlink.codec import SaCounters
from xfrmctl.state.model import (
    Direction,
    ExchangeType,
    IkeSa,
    IkeVersion,
    InactiveTunnel,
    IpsecSa,
    IpsecStatistics,
    Snapshot,
    Tunnel,
)

FIRST_TUNNEL_ID = 131073
_DIRECTIONS: tuple[Direction, Direction] = ("inbound", "outbound")
NOT_INITIATED = "Not initiated yet"
NEGOTIATING = "Negotiation in progress"
# The engine's method names -> the `Authentication method` vocabulary of spec §4.1.
_AUTH_METHODS = {
    "psk": "Pre-shared-keys",
    "pre-shared-keys": "Pre-shared-keys",
    "rsa-signatures": "RSA-signatures",
    "dsa-signatures": "DSA-signatures",
    "ecdsa-signatures-256": "ECDSA-signatures-256",
    "ecdsa-signatures-384": "ECDSA-signatures-384",
    "ecdsa-signatures-521": "ECDSA-signatures-521",
    "digital-signatures": "Digital-signatures",
}


def ts_identity(selectors: tuple[TrafficSelector, ...]) -> str:
    """Junos proxy-ID text: ``ipv4_subnet(any:0,[0..7]=10.0.0.0/24)`` (first selector)."""
    if not selectors:
        return "-"
    ts = selectors[0]
    nets = ts.to_networks()
    net = nets[0]
    proto = "any" if ts.protocol == 0 else str(ts.protocol)
    port = 0 if (ts.start_port, ts.end_port) == (0, 65535) else ts.start_port
    fam = "ipv4" if ts.version == 4 else "ipv6"
    if net.prefixlen == net.max_prefixlen:
        return f"{fam}({proto}:{port},[0..{net.max_prefixlen // 8 - 1}]={net.network_address})"
    size = 2 * net.max_prefixlen // 8 - 1
    return f"{fam}_subnet({proto}:{port},[0..{size}]={net})"


@dataclass
class ChildRecord:
    unique_id: int
    ike_sa: IkeSaRef
    spi_in: int
    spi_out: int
    local: str
    remote: str
    encr: Transform
    integ: Transform | None
    encap: tuple[int, int] | None
    replay_window: int
    local_ts: tuple[TrafficSelector, ...]
    remote_ts: tuple[TrafficSelector, ...]
    installed_at: float
    soft_at: float
    hard_at: float
    hard_kilobytes: int
    reqid: int

    @classmethod
    def of(cls, action: InstallChild, reqid: int, now: float) -> ChildRecord:
        lt = action.lifetime
        return cls(
            unique_id=action.unique_id,
            ike_sa=action.ike_sa,
            spi_in=action.spi_in,
            spi_out=action.spi_out,
            local=action.local,
            remote=action.remote,
            encr=action.encr,
            integ=action.integ,
            encap=action.encap,
            replay_window=action.replay_window,
            local_ts=action.local_ts,
            remote_ts=action.remote_ts,
            installed_at=now,
            soft_at=now + lt.soft_seconds,
            hard_at=now + lt.hard_seconds,
            hard_kilobytes=lt.hard_bytes // 1024,
            reqid=reqid,
        )


@dataclass
class ManualRecord:
    """A manual-key VPN as installed: one SPI both ways, no keys kept."""

    spi: int
    local: str
    remote: str
    protocol: str  # "esp" | "ah"
    encr: Transform | None
    integ: Transform | None
    reqid: int


@dataclass
class VpnRecord:
    name: str
    gateway: str
    tunnel_id: int
    bind_interface: str | None
    df_bit: str
    establish_immediately: bool
    local_gateway: str
    remote_gateway: str
    nego_count: int = 0
    fail_count: int = 0
    down_reason: str | None = NOT_INITIATED
    last_attempt: float | None = None  # engine time
    version: IkeVersion = "IKEv2"
    children: dict[int, ChildRecord] = field(default_factory=dict)
    manual: ManualRecord | None = None
    stats_baseline: dict[int, tuple[int, int]] = field(default_factory=dict)  # spi -> bytes, pkts


@dataclass
class IkeRecord:
    index: int
    info: IkeEstablished
    created: int = 0
    deleted: int = 0

    @property
    def exchange_type(self) -> ExchangeType:
        """As the engine negotiated it: IKEv2, or IKEv1's Main / Aggressive."""
        return self.info.exchange_type


class StateStore:
    def __init__(self) -> None:
        self.vpns: dict[str, VpnRecord] = {}
        self.ike: dict[IkeSaRef, IkeRecord] = {}
        self._tunnel_ids: dict[str, int] = {}
        self._next_tunnel = FIRST_TUNNEL_ID
        self._next_index = 1
        self.unusable: dict[str, str] = {}

    # ---- VPNs

    def tunnel_id(self, vpn: str) -> int:
        if vpn not in self._tunnel_ids:
            self._tunnel_ids[vpn] = self._next_tunnel
            self._next_tunnel += 1
        return self._tunnel_ids[vpn]

    def set_vpn(
        self,
        name: str,
        *,
        gateway: str,
        bind_interface: str | None,
        df_bit: str,
        establish_immediately: bool,
        local: str,
        remote: str | None,
        version: IkeVersion = "IKEv2",
    ) -> VpnRecord:
        """Add or update a VPN's static facts; its counters and children stay."""
        rec = self.vpns.get(name)
        if rec is None:
            rec = VpnRecord(
                name=name,
                gateway=gateway,
                tunnel_id=self.tunnel_id(name),
                bind_interface=bind_interface,
                df_bit=df_bit,
                establish_immediately=establish_immediately,
                local_gateway=local,
                remote_gateway=remote or "0.0.0.0",  # noqa: S104 - Junos prints this for dynamic
                version=version,
            )
            self.vpns[name] = rec
        else:
            rec.gateway, rec.bind_interface, rec.df_bit = gateway, bind_interface, df_bit
            rec.establish_immediately = establish_immediately
            rec.local_gateway = local
            rec.remote_gateway = remote or rec.remote_gateway
            rec.version = version
        return rec

    def remove_vpn(self, name: str) -> None:
        self.vpns.pop(name, None)

    def child_installed(self, vpn: str, record: ChildRecord) -> None:
        rec = self.vpns[vpn]
        rec.children[record.unique_id] = record
        rec.remote_gateway = record.remote
        rec.local_gateway = record.local
        rec.down_reason = None
        ike = self.ike.get(record.ike_sa)
        if ike is not None:
            ike.created += 1

    def child_removed(self, vpn: str, unique_id: int, reason: str) -> ChildRecord | None:
        rec = self.vpns.get(vpn)
        if rec is None:
            return None
        child = rec.children.pop(unique_id, None)
        if child is not None:
            ike = self.ike.get(child.ike_sa)
            if ike is not None:
                ike.deleted += 1
            if not rec.children:
                rec.down_reason = reason
        return child

    def manual_installed(self, vpn: str, record: ManualRecord) -> None:
        rec = self.vpns[vpn]
        rec.manual = record
        rec.local_gateway, rec.remote_gateway = record.local, record.remote
        rec.down_reason = None

    def manual_removed(self, vpn: str, reason: str) -> None:
        rec = self.vpns.get(vpn)
        if rec is not None and rec.manual is not None:
            rec.manual = None
            rec.down_reason = reason

    def find_child(self, spi: int) -> tuple[VpnRecord, ChildRecord] | None:
        for rec in self.vpns.values():
            for child in rec.children.values():
                if spi in (child.spi_in, child.spi_out):
                    return rec, child
        return None

    # ---- IKE SAs

    def ike_up(self, info: IkeEstablished) -> IkeRecord:
        rec = IkeRecord(self._next_index, info)
        self._next_index += 1
        self.ike[info.ike_sa] = rec
        return rec

    def ike_rekeyed(
        self, old: IkeSaRef, info: IkeEstablished
    ) -> None:
        prev = self.ike.pop(old, None)
        rec = self.ike_up(info)
        if prev is not None:
            rec.created, rec.deleted = prev.created, prev.deleted
        for vpn in self.vpns.values():
            for child in vpn.children.values():
                if child.ike_sa == old:
                    child.ike_sa = info.ike_sa

    def ike_down(self, ref: IkeSaRef) -> None:
        self.ike.pop(ref, None)

    def attempt(self, vpns: Iterable[str], now: float) -> None:
        for name in vpns:
            rec = self.vpns.get(name)
            if rec is not None:
                rec.nego_count += 1
                rec.last_attempt = now
                if not rec.children and rec.down_reason == NOT_INITIATED:
                    rec.down_reason = NEGOTIATING

    def failed(self, vpns: Iterable[str], reason: str, *, consequential: bool = False) -> None:
        """A negotiation failed. A `consequential` failure (the child SA went because its IKE
        SA did) does not replace the reason the tunnel already went down for (e.g. DPD's)."""
        for name in vpns:
            rec = self.vpns.get(name)
            if rec is not None:
                rec.fail_count += 1
                if rec.children:
                    continue
                if consequential and rec.down_reason not in (None, NOT_INITIATED, NEGOTIATING):
                    continue
                rec.down_reason = reason

    def vpns_of(self, gateway: str) -> list[str]:
        return [v.name for v in self.vpns.values() if v.gateway == gateway]

    def clear_statistics(self, counters: Mapping[int, SaCounters], tunnel: int | None) -> int:
        n = 0
        for rec in self.vpns.values():
            if tunnel is not None and rec.tunnel_id != tunnel:
                continue
            for child in rec.children.values():
                for spi in (child.spi_in, child.spi_out):
                    c = counters.get(spi)
                    if c is not None:
                        rec.stats_baseline[spi] = (c.bytes, c.packets)
            n += 1
        return n

    # ---- snapshot

    def snapshot(
        self,
        now: float,
        wall_offset: float,
        counters: Mapping[int, SaCounters],
        *,
        ike_sas: bool = True,
        vpns: bool = True,
    ) -> Snapshot:
        """IKE SAs and VPNs (up and inactive tunnels); a query that reads only one of them
        leaves the other empty (with 10,000 tunnels each costs a noticeable part of a show)."""
        ike = tuple(self._ike_sa(r, now, wall_offset) for r in self.ike.values()) if ike_sas else ()
        tunnels: list[Tunnel] = []
        inactive: list[InactiveTunnel] = []
        for rec in self.vpns.values() if vpns else ():
            if rec.manual is not None:
                tunnels.append(self._manual_tunnel(rec, rec.manual))
            elif rec.children:
                tunnels.append(self._tunnel(rec, now, counters))
            else:
                inactive.append(self._inactive(rec, wall_offset))
        return Snapshot(
            ike_security_associations=ike,
            tunnels=tuple(tunnels),
            inactive_tunnels=tuple(inactive),
        )

    def _ike_sa(self, rec: IkeRecord, now: float, wall_offset: float) -> IkeSa:
        i = rec.info
        integ = i.integ.junos_show if i.integ is not None else "-"
        return IkeSa(
            index=rec.index,
            gateway_name=i.peer,
            remote_address=i.remote[0],
            remote_port=i.remote[1],
            local_address=i.local[0],
            local_port=i.local[1],
            state="UP",
            role="Initiator" if i.initiator else "Responder",
            initiator_cookie=f"{i.ike_sa.spi_i:016x}",
            responder_cookie=f"{i.ike_sa.spi_r:016x}",
            exchange_type=i.exchange_type,
            authentication_method=_AUTH_METHODS.get(i.auth_method, i.auth_method),
            lifetime_remaining=max(0, int(i.established_at + i.lifetime_seconds - now)),
            lifetime=i.lifetime_seconds,
            peer_ike_id=i.remote_id,
            authentication_algorithm=integ or "-",
            encryption_algorithm=i.encr.junos_show or i.encr.name,
            prf_algorithm=i.prf.junos_show or i.prf.name,
            dh_group=i.dh_group.junos_show or i.dh_group.name,
            flags=("IKE SA is created",),
            ipsec_sas_created=rec.created,
            ipsec_sas_deleted=rec.deleted,
            phase2_negotiations_in_progress=None if rec.exchange_type == "IKEv2" else 0,
            local_behind_nat=i.nat_local,
            remote_behind_nat=i.nat_remote,
            established_at=i.established_at + wall_offset,
        )

    def _tunnel(self, rec: VpnRecord, now: float, counters: Mapping[int, SaCounters]) -> Tunnel:
        sas: list[IpsecSa] = []
        enc_bytes = enc_packets = dec_bytes = dec_packets = 0
        port = 500
        newest = max(rec.children.values(), key=lambda c: c.installed_at)
        for child in sorted(rec.children.values(), key=lambda c: c.installed_at):
            port = child.encap[1] if child.encap else 500
            brief = junos_esp_brief(child.encr, child.integ)
            enc = child.encr.junos_show or child.encr.name
            auth = child.integ.junos_show if child.integ is not None else "none"
            for direction, spi in (("inbound", child.spi_in), ("outbound", child.spi_out)):
                c = counters.get(spi)
                used = 0
                if c is not None:
                    base = rec.stats_baseline.get(spi, (0, 0))
                    nbytes, npkts = max(0, c.bytes - base[0]), max(0, c.packets - base[1])
                    used = c.bytes
                    if direction == "inbound":
                        dec_bytes, dec_packets = dec_bytes + nbytes, dec_packets + npkts
                    else:
                        enc_bytes, enc_packets = enc_bytes + nbytes, enc_packets + npkts
                sas.append(
                    IpsecSa(
                        direction=direction,  # type: ignore[arg-type]
                        spi=spi,
                        algorithm=brief,
                        hard_lifetime_remaining=max(0, int(child.hard_at - now)),
                        soft_lifetime_remaining=int(child.soft_at - now),
                        lifesize_remaining=(
                            max(0, child.hard_kilobytes - used // 1024)
                            if child.hard_kilobytes
                            else None
                        ),
                        authentication=auth or "none",
                        encryption=enc,
                        anti_replay=child.replay_window > 0,
                        replay_window_size=child.replay_window,
                    )
                )
        return Tunnel(
            tunnel_id=rec.tunnel_id,
            vpn_name=rec.name,
            local_gateway=newest.local,
            remote_gateway=newest.remote,
            local_identity=ts_identity(newest.local_ts),
            remote_identity=ts_identity(newest.remote_ts),
            version=rec.version,
            df_bit=rec.df_bit if rec.df_bit in ("clear", "set", "copy") else "clear",  # type: ignore[arg-type]
            bind_interface=rec.bind_interface,
            port=port,
            nego_count=rec.nego_count,
            fail_count=rec.fail_count,
            sas=tuple(sas),
            statistics=IpsecStatistics(
                encrypted_bytes=enc_bytes,
                decrypted_bytes=dec_bytes,
                encrypted_packets=enc_packets,
                decrypted_packets=dec_packets,
            ),
        )

    def _manual_tunnel(self, rec: VpnRecord, m: ManualRecord) -> Tunnel:
        """No lifetimes, no anti-replay; traffic statistics are not reported, since both
        directions share the SPI by which the daemon keys its counters."""
        ah = m.protocol == "ah"
        brief = junos_esp_brief(m.encr, m.integ)
        if ah:
            brief = "AH:" + brief.split("/", 1)[1]
        sas = tuple(
            IpsecSa(
                direction=direction,
                spi=m.spi,
                algorithm=brief,
                hard_lifetime_remaining=None,
                soft_lifetime_remaining=None,
                type="manual",
                protocol="AH" if ah else "ESP",
                authentication=(m.integ.junos_show or m.integ.name) if m.integ else "none",
                encryption=(m.encr.junos_show or m.encr.name) if m.encr is not None else "none",
                anti_replay=False,
                replay_window_size=0,
            )
            for direction in _DIRECTIONS
        )
        return Tunnel(
            tunnel_id=rec.tunnel_id,
            vpn_name=rec.name,
            local_gateway=m.local,
            remote_gateway=m.remote,
            local_identity=ts_identity(()),
            remote_identity=ts_identity(()),
            version="-",
            df_bit=rec.df_bit if rec.df_bit in ("clear", "set", "copy") else "clear",  # type: ignore[arg-type]
            bind_interface=rec.bind_interface,
            port=0,
            sas=sas,
        )

    def _inactive(self, rec: VpnRecord, wall_offset: float) -> InactiveTunnel:
        remote = rec.remote_gateway
        try:
            ipaddress.ip_address(remote)
        except ValueError:
            remote = "0.0.0.0"  # noqa: S104
        return InactiveTunnel(
            tunnel_id=rec.tunnel_id,
            vpn_name=rec.name,
            local_gateway=rec.local_gateway,
            remote_gateway=remote,
            version=rec.version,
            bind_interface=rec.bind_interface,
            nego_count=rec.nego_count,
            fail_count=rec.fail_count,
            establish_immediately=rec.establish_immediately,
            tunnel_down_reason=self.unusable.get(rec.name) or rec.down_reason or "Unknown",
            last_attempt=None if rec.last_attempt is None else rec.last_attempt + wall_offset,
        )
