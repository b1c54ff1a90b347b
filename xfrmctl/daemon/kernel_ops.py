"""Kernel objects of a child SA: the two XFRM states and a route-based VPN's 0/0 policies.

Pure translation of the engine's `InstallChild` (algorithm names from the one registry) into
`xfrmctl.netlink.codec` messages, so the exact objects are unit-testable without a kernel.

Ownership: every reqid is offset into the netlink layer's reserved band
(`XFRMCTL_REQID_MIN`), and every policy carries a priority in `XFRMCTL_PRIORITY_MIN..MAX`, so
`flush_owned` after a crash removes exactly what a daemon installed.
"""

from __future__ import annotations

import functools
import ipaddress

from xfrmctl.daemon.mapping import ManualPlan
from xfrmctl.daemon.store import FIRST_TUNNEL_ID
from xfrmctl.keying.constants import ProtocolId
from xfrmctl.keying.ikev2.actions import InstallChild
from xfrmctl.keying.ikev2.ts import TrafficSelector
from xfrmctl.netlink.codec import (
    AeadAlgo,
    Algo,
    AuthTruncAlgo,
    Encap,
    LifetimeCfg,
    ReplayEsn,
    Selector,
    Tmpl,
    XfrmPolicy,
    XfrmState,
)
from xfrmctl.netlink.constants import (
    AF_INET,
    AF_INET6,
    IPPROTO_AH,
    IPPROTO_ESP,
    UDP_ENCAP_ESPINUDP,
    XFRM_INF,
    XFRM_STATE_AF_UNSPEC,
    XFRM_STATE_ESN,
    XFRM_STATE_NOPMTUDISC,
    XFRMCTL_PRIORITY_MAX,
    XFRMCTL_PRIORITY_MIN,
    XFRMCTL_REQID_MAX,
    XFRMCTL_REQID_MIN,
    XfrmDir,
    XfrmMode,
)

# Base priority of our policies; longer selectors get a smaller (= preferred) value.
POLICY_PRIORITY_BASE = XFRMCTL_PRIORITY_MIN + 0x400


_UNSPECIFIED = {AF_INET: str(ipaddress.IPv4Address(0)), AF_INET6: str(ipaddress.IPv6Address(0))}


def kernel_reqid(engine_reqid: int) -> int:
    """The kernel reqid of an engine reqid (stable per peer and child across rekeys)."""
    reqid = XFRMCTL_REQID_MIN + engine_reqid
    if reqid > XFRMCTL_REQID_MAX:
        raise ValueError(f"reqid {engine_reqid} outside the daemon's band")
    return reqid


def ip_protocol(ike_protocol: int) -> int:
    """IKE's protocol id (RFC 7296 3.3.1: 2 AH, 3 ESP) as the kernel's IP protocol number."""
    return {int(ProtocolId.AH): IPPROTO_AH, int(ProtocolId.ESP): IPPROTO_ESP}[ike_protocol]


@functools.lru_cache(maxsize=4096)
def family_of(address: str) -> int:
    return AF_INET if ipaddress.ip_address(address).version == 4 else AF_INET6


def _limit(value: int) -> int:
    return value if value else XFRM_INF


def _lifetime(action: InstallChild) -> LifetimeCfg:
    lt = action.lifetime
    return LifetimeCfg(
        soft_byte_limit=_limit(lt.soft_bytes),
        hard_byte_limit=_limit(lt.hard_bytes),
        soft_packet_limit=_limit(lt.soft_packets),
        hard_packet_limit=_limit(lt.hard_packets),
        soft_add_expires_seconds=lt.soft_seconds,
        hard_add_expires_seconds=lt.hard_seconds,
    )


def _df_flags(df_bit: str) -> int:
    """Junos df-bit: clear (default) sets NOPMTUDISC, so the kernel writes DF=0 in the outer IPv4
    header; copy leaves it unset, so the kernel copies the inner DF (`set` is refused at check)."""
    return XFRM_STATE_NOPMTUDISC if df_bit == "clear" else 0


def _flags(action: InstallChild, df_bit: str) -> int:
    flags = _df_flags(df_bit)
    if action.esn:
        flags |= XFRM_STATE_ESN
    if action.mode == "tunnel" and _other_inner_family(action):
        # Without it the kernel gives the SA a selector of the outer family (::/0 over IPv6),
        # which IPv4 inner traffic never matches: the packet finds no SA and is refused.
        flags |= XFRM_STATE_AF_UNSPEC
    return flags


def _other_inner_family(action: InstallChild) -> bool:
    """The child carries traffic of a family other than its outer one (IPv4 in IPv6 or IPv6 in
    IPv4, as on an st0 unit with both families)."""
    outer = 6 if ":" in action.remote else 4
    return any(ts.version != outer for ts in (*action.local_ts, *action.remote_ts))


def _one_sa(
    action: InstallChild,
    *,
    inbound: bool,
    reqid: int,
    df_bit: str,
) -> XfrmState:
    encr_key = action.encr_key_in if inbound else action.encr_key_out
    integ_key = action.integ_key_in if inbound else action.integ_key_out
    aead = crypt = None
    auth = None
    name = action.encr.kernel_name
    if name is None:
        raise ValueError(f"{action.encr.name} has no kernel algorithm")
    if action.encr.aead:
        aead = AeadAlgo(name, encr_key, action.encr.kernel_icv_bits or 128)
    else:
        crypt = Algo(name, encr_key)
        if action.integ is not None:
            if action.integ.kernel_name is None:
                raise ValueError(f"{action.integ.name} has no kernel algorithm")
            auth = AuthTruncAlgo(
                action.integ.kernel_name, integ_key, action.integ.kernel_icv_bits or 0
            )
    src, dst = (action.remote, action.local) if inbound else (action.local, action.remote)
    encap = None
    if action.encap is not None:
        lport, rport = action.encap
        sport, dport = (rport, lport) if inbound else (lport, rport)
        encap = Encap(UDP_ENCAP_ESPINUDP, sport, dport, _UNSPECIFIED[family_of(src)])
    window = action.replay_window if inbound else 0
    use_esn_replay = action.esn or window > 32
    mode = XfrmMode.XFRM_MODE_TUNNEL if action.mode == "tunnel" else XfrmMode.XFRM_MODE_TRANSPORT
    return XfrmState(
        daddr=dst,
        spi=action.spi_in if inbound else action.spi_out,
        saddr=src,
        family=family_of(dst),
        proto=IPPROTO_ESP,
        mode=int(mode),
        reqid=reqid,
        replay_window=0 if use_esn_replay else window,
        flags=_flags(action, df_bit),
        lft=_lifetime(action),
        aead=aead,
        crypt=crypt,
        auth_trunc=auth,
        encap=encap,
        replay_esn=ReplayEsn.for_window(max(window, 32)) if use_esn_replay else None,
        if_id=action.if_id,
    )


def child_states(action: InstallChild, *, df_bit: str = "clear") -> tuple[XfrmState, XfrmState]:
    """(inbound, outbound) XFRM states of a child SA; inbound goes in first."""
    reqid = kernel_reqid(action.reqid)
    return (
        _one_sa(action, inbound=True, reqid=reqid, df_bit=df_bit),
        _one_sa(action, inbound=False, reqid=reqid, df_bit=df_bit),
    )


def manual_reqid(tunnel_id: int) -> int:
    """Manual VPNs take reqids from the top of the daemon's band (engine reqids count up from
    its bottom), one per tunnel ID, so they stay the same across reloads."""
    reqid = XFRMCTL_REQID_MAX - (tunnel_id - FIRST_TUNNEL_ID)
    if reqid <= XFRMCTL_REQID_MIN:
        raise ValueError(f"tunnel {tunnel_id} outside the daemon's reqid band")
    return reqid


def manual_policies(m: ManualPlan, reqid: int) -> list[XfrmPolicy]:
    """0/0 in/out/fwd policies (per inner IP version) on the unit's if_id."""
    any_ts = tuple(TrafficSelector.any(v) for v in m.inner_versions)
    proto = IPPROTO_AH if m.protocol == "ah" else IPPROTO_ESP
    return child_policies(
        local=m.local_address, remote=m.remote_address, reqid=reqid, if_id=m.if_id,
        local_ts=any_ts, remote_ts=any_ts, proto=proto,
    )  # fmt: skip


def manual_states(m: ManualPlan, reqid: int) -> tuple[XfrmState, XfrmState]:
    """(inbound, outbound) states of a manual VPN: one SPI and key set, told apart by the
    destination address; no lifetime and no replay window."""
    crypt = aead = auth = None
    if m.encr is not None:
        name = m.encr.kernel_name
        if name is None:
            raise ValueError(f"{m.encr.name} has no kernel algorithm")
        if m.encr.aead:
            aead = AeadAlgo(name, m.encr_key, m.encr.kernel_icv_bits or 128)
        else:
            crypt = Algo(name, m.encr_key)
    if m.integ is not None:
        if m.integ.kernel_name is None:
            raise ValueError(f"{m.integ.name} has no kernel algorithm")
        auth = AuthTruncAlgo(m.integ.kernel_name, m.integ_key, m.integ.kernel_icv_bits or 0)
    proto = IPPROTO_AH if m.protocol == "ah" else IPPROTO_ESP

    def state(src: str, dst: str) -> XfrmState:
        return XfrmState(
            daddr=dst,
            spi=m.spi,
            saddr=src,
            family=family_of(dst),
            proto=proto,
            mode=int(XfrmMode.XFRM_MODE_TUNNEL),
            reqid=reqid,
            replay_window=0,
            flags=_df_flags(m.df_bit),
            lft=LifetimeCfg(),
            aead=aead,
            crypt=crypt,
            auth_trunc=auth,
            if_id=m.if_id,
        )

    return state(m.remote_address, m.local_address), state(m.local_address, m.remote_address)


def _priority(sel: Selector) -> int:
    return min(POLICY_PRIORITY_BASE - sel.prefixlen_s - sel.prefixlen_d, XFRMCTL_PRIORITY_MAX)


def _ts_prefix(ts: TrafficSelector) -> str:
    nets = ts.to_networks()
    return str(nets[0])  # XFRM selectors are prefixes; a range installs its first block


def child_policies(
    *,
    local: str,
    remote: str,
    reqid: int,
    if_id: int | None,
    local_ts: tuple[TrafficSelector, ...],
    remote_ts: tuple[TrafficSelector, ...],
    mode: str = "tunnel",
    proto: int = IPPROTO_ESP,
) -> list[XfrmPolicy]:
    """out/in/fwd policies for every local x remote selector pair, templates on the outer IPs.

    `reqid` is the kernel reqid. With no SA installed, an out policy makes the kernel send an
    ACQUIRE for matching traffic (establish-tunnels on-traffic).
    """
    xmode = int(XfrmMode.XFRM_MODE_TUNNEL if mode == "tunnel" else XfrmMode.XFRM_MODE_TRANSPORT)
    outer = family_of(local)
    policies: list[XfrmPolicy] = []
    for lts in local_ts:
        for rts in remote_ts:
            if lts.version != rts.version:
                continue
            out_sel = Selector.between(
                _ts_prefix(lts), _ts_prefix(rts), proto=lts.protocol or rts.protocol
            )
            in_sel = Selector.between(
                _ts_prefix(rts), _ts_prefix(lts), proto=lts.protocol or rts.protocol
            )
            out_tmpl = Tmpl(daddr=remote, saddr=local, family=outer, reqid=reqid, mode=xmode,
                            proto=proto)  # fmt: skip
            in_tmpl = Tmpl(daddr=local, saddr=remote, family=outer, reqid=reqid, mode=xmode,
                           proto=proto)  # fmt: skip
            policies.append(_policy(out_sel, XfrmDir.XFRM_POLICY_OUT, out_tmpl, if_id))
            policies.append(_policy(in_sel, XfrmDir.XFRM_POLICY_IN, in_tmpl, if_id))
            if mode == "tunnel":
                policies.append(_policy(in_sel, XfrmDir.XFRM_POLICY_FWD, in_tmpl, if_id))
    return policies


def _policy(sel: Selector, direction: XfrmDir, tmpl: Tmpl, if_id: int | None) -> XfrmPolicy:
    return XfrmPolicy(
        sel=sel,
        dir=int(direction),
        priority=_priority(sel),
        tmpls=(tmpl,),
        if_id=if_id,
    )
