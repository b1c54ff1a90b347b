"""``show security ipsec ...`` in the Junos layouts of spec 4.4-4.6.

Security associations use the newer layout (tunnel IDs from 131073, ``Life:sec/kb`` as
``3571/ unlim``, hex SPIs, detail blocks as in seed 000), the one xfrmctl's tunnel IDs and
``Version``/``Bind-interface`` lines belong to. ``inactive-tunnels`` has no sample in the seeds;
its columns follow later Junos releases plus the VPN name and the time of the last attempt.
"""

from __future__ import annotations

import time

from xfrmctl.cli.render.columns import row
from xfrmctl.state.fields import columns, labels, titles
from xfrmctl.state.model import InactiveTunnel, IpsecSa, IpsecStatistics, Tunnel
from xfrmctl.state.query import (
    InactiveTunnelsView,
    IpsecSaView,
    IpsecStatisticsView,
    NextHopTunnelsView,
)

_TL = labels("Tunnel")
_TC = columns("Tunnel")
_SL = labels("IpsecSa")
_SC = columns("IpsecSa")
_VL = labels("IpsecSaView")
_STL = labels("IpsecStatistics")
_STT = titles("IpsecStatistics")
_SVL = labels("IpsecStatisticsView")
_IL = labels("InactiveTunnel")
_IC = columns("InactiveTunnel")
_IVL = labels("InactiveTunnelsView")
_NC = columns("NhtbEntry")
_NL = labels("NhtbEntry")

# `VPN Monitoring: -` sits on a continuation line whose comma is in column 30 (seed 000).
_MONITOR_INDENT = " " * 30
_SA_WIDTHS = (6, 16, 9, 13, 4, 5, 6)
_MON_LETTER = {"-": "-", "UP": "U", "DOWN": "D"}


def _life(sa: IpsecSa) -> str:
    seconds = "unlim" if sa.hard_lifetime_remaining is None else str(sa.hard_lifetime_remaining)
    kilobytes = "unlim" if sa.lifesize_remaining is None else str(sa.lifesize_remaining)
    return f"{seconds}/ {kilobytes}"


def render_ipsec_sa_list(view: IpsecSaView) -> list[str]:
    lines = [f"  {_VL['total_active_tunnels']}: {view.total_active_tunnels}"]
    if not view.tunnels:
        return lines
    header = (
        _TC["tunnel_id"],
        _SC["algorithm"],
        _SC["spi"],
        _SC["hard_lifetime_remaining"],
        _TC["vpn_monitoring"],
        _TC["virtual_system"],
        _TC["port"],
    )
    lines.append(row(list(zip(header, _SA_WIDTHS, strict=True)), _TC["remote_gateway"], "  "))
    for tunnel in view.tunnels:
        for sa in tunnel.sas:
            marker = "<" if sa.direction == "inbound" else ">"
            values = (
                f"{marker}{tunnel.tunnel_id}",
                sa.algorithm,
                f"{sa.spi:x}",
                _life(sa),
                _MON_LETTER[tunnel.vpn_monitoring],
                tunnel.virtual_system,
                str(tunnel.port),
            )
            cells = list(zip(values, _SA_WIDTHS, strict=True))
            lines.append(row(cells, tunnel.remote_gateway, "  "))
    return lines


def _sa_detail(tunnel: Tunnel, sa: IpsecSa) -> list[str]:
    lines = [
        f"    {_SL['direction']}: {sa.direction}, {_SL['spi']}: {sa.spi:x}, "
        f"{_SL['aux_spi']}: {sa.aux_spi}",
        f"{_MONITOR_INDENT}, {_TL['vpn_monitoring']}: {tunnel.vpn_monitoring}",
    ]
    if sa.hard_lifetime_remaining is not None:
        lines.append(
            f"    {_SL['hard_lifetime_remaining']}: Expires in {sa.hard_lifetime_remaining} seconds"
        )
    if sa.type == "dynamic" or sa.lifesize_remaining is not None:
        size = (
            "Unlimited" if sa.lifesize_remaining is None else f"{sa.lifesize_remaining} kilobytes"
        )
        lines.append(f"    {_SL['lifesize_remaining']}:  {size}")
    if sa.soft_lifetime_remaining is not None:
        soft = (
            "Expired"
            if sa.soft_lifetime_remaining <= 0
            else f"Expires in {sa.soft_lifetime_remaining} seconds"
        )
        lines.append(f"    {_SL['soft_lifetime_remaining']}: {soft}")
    replay = "counter-based enabled" if sa.anti_replay else "disabled"
    lines += [
        f"    {_SL['mode']}: {sa.mode.capitalize()}(0 0), {_SL['type']}: {sa.type}, "
        f"{_SL['state']}: {sa.state}",
        f"    {_SL['protocol']}: {sa.protocol}, {_SL['authentication']}: {sa.authentication}, "
        f"{_SL['encryption']}: {sa.encryption}",
        f"    {_SL['anti_replay']}: {replay}, {_SL['replay_window_size']}: {sa.replay_window_size}",
    ]
    return lines


def _tunnel_detail(tunnel: Tunnel) -> list[str]:
    lines = [
        f"  {_TL['tunnel_id']}: {tunnel.tunnel_id} {_TL['virtual_system']}: "
        f"{tunnel.virtual_system}, {_TL['vpn_name']}: {tunnel.vpn_name}",
        f"  {_TL['local_gateway']}: {tunnel.local_gateway}, "
        f"{_TL['remote_gateway']}: {tunnel.remote_gateway}",
        f"  {_TL['local_identity']}: {tunnel.local_identity}",
        f"  {_TL['remote_identity']}: {tunnel.remote_identity}",
        f"  {_TL['version']}: {tunnel.version}",
        f"    {_TL['df_bit']}: {tunnel.df_bit}",
    ]
    if tunnel.policy_name is not None:
        lines.append(f"    {_TL['policy_name']}: {tunnel.policy_name}")
    if tunnel.bind_interface is not None:
        lines.append(f"    {_TL['bind_interface']}: {tunnel.bind_interface}")
    for entry in tunnel.next_hop_tunnels:
        lines.append(f"    {_NL['next_hop']}: {entry.next_hop}, {_NL['flag']}: {entry.flag}")
    lines += [
        "",
        # Junos separates Def-Del# and Flag by a blank only and ends the line with one.
        f"  {_TL['port']}: {tunnel.port}, {_TL['nego_count']}: {tunnel.nego_count}, "
        f"{_TL['fail_count']}: {tunnel.fail_count}, {_TL['def_del_count']}: "
        f"{tunnel.def_del_count} {_TL['flag']}: {tunnel.flag:x} ",
    ]
    if tunnel.tunnel_down_reason is not None:
        lines.append(f"  {_TL['tunnel_down_reason']}: {tunnel.tunnel_down_reason}")
    for n, sa in enumerate(tunnel.sas):
        if n:
            lines.append("")
        lines.extend(_sa_detail(tunnel, sa))
    return lines


def render_ipsec_sa_detail(view: IpsecSaView) -> list[str]:
    lines: list[str] = []
    for n, tunnel in enumerate(view.tunnels):
        if n:
            lines.append("")
        lines.extend(_tunnel_detail(tunnel))
    return lines


_STAT_WIDTH = 35


def _counter(label: str, value: int) -> str:
    head = f"  {label}:"
    return head + str(value).rjust(max(_STAT_WIDTH - len(head), len(str(value)) + 1))


def _pair(stats: IpsecStatistics, first: str, second: str) -> str:
    return f"  {_STL[first]}: {getattr(stats, first)}, {_STL[second]}: {getattr(stats, second)}"


def render_ipsec_statistics(view: IpsecStatisticsView) -> list[str]:
    stats = view.statistics
    lines: list[str] = []
    if view.virtual_system is not None:
        lines.append(f"{_SVL['virtual_system']}: {view.virtual_system}")
    title = ""
    for name in (
        "encrypted_bytes",
        "decrypted_bytes",
        "encrypted_packets",
        "decrypted_packets",
        "ah_input_bytes",
        "ah_output_bytes",
        "ah_input_packets",
        "ah_output_packets",
    ):
        if _STT[name] != title:
            title = _STT[name]
            lines.append(f"{title}:")
        lines.append(_counter(_STL[name], getattr(stats, name)))
    lines += [
        f"{_STT['replay_errors']}:",
        _pair(stats, "ah_authentication_failures", "replay_errors"),
        _pair(stats, "esp_authentication_failures", "esp_decryption_failures"),
        _pair(stats, "bad_headers", "bad_trailers"),
    ]
    return lines


_INACTIVE_WIDTHS = (7, 6, 7, 7, 10, 17, 17, 25)


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))


def render_inactive_tunnels(view: InactiveTunnelsView) -> list[str]:
    lines = [
        f"  {_IVL['total_inactive_tunnels']}: {view.total_inactive_tunnels}",
        f"  {_IVL['total_inactive_tunnels_immediately']}: "
        f"{view.total_inactive_tunnels_immediately}",
    ]
    if not view.tunnels:
        return lines
    names = (
        "tunnel_id",
        "port",
        "nego_count",
        "fail_count",
        "flag",
        "remote_gateway",
        "vpn_name",
        "last_attempt",
    )
    header = [(_IC[n], w) for n, w in zip(names, _INACTIVE_WIDTHS, strict=True)]
    lines.append(row(header, _IC["tunnel_down_reason"], "  "))
    for t in view.tunnels:
        values = (
            str(t.tunnel_id),
            str(t.port),
            str(t.nego_count),
            str(t.fail_count),
            f"{t.flag:x}",
            t.remote_gateway,
            t.vpn_name,
            _when(t.last_attempt),
        )
        cells = list(zip(values, _INACTIVE_WIDTHS, strict=True))
        lines.append(row(cells, t.tunnel_down_reason, "  "))
    return lines


def _inactive_detail(t: InactiveTunnel) -> list[str]:
    lines = [
        f"  {_IL['tunnel_id']}: {t.tunnel_id} {_IL['virtual_system']}: {t.virtual_system}, "
        f"{_IL['vpn_name']}: {t.vpn_name}",
        f"  {_IL['local_gateway']}: {t.local_gateway}, {_IL['remote_gateway']}: {t.remote_gateway}",
        f"  {_IL['version']}: {t.version}",
    ]
    if t.bind_interface is not None:
        lines.append(f"    {_IL['bind_interface']}: {t.bind_interface}")
    establish = "immediately" if t.establish_immediately else "on-traffic"
    lines += [
        "",
        f"  {_IL['port']}: {t.port}, {_IL['nego_count']}: {t.nego_count}, "
        f"{_IL['fail_count']}: {t.fail_count}, {_IL['flag']}: {t.flag:x} ",
        f"  {_IL['establish_immediately']}: {establish}",
        f"  {_IL['last_attempt']}: {_when(t.last_attempt)}",
        f"  {_IL['tunnel_down_reason']}: {t.tunnel_down_reason}",
    ]
    return lines


def render_inactive_tunnels_detail(view: InactiveTunnelsView) -> list[str]:
    lines = render_inactive_tunnels(view)[:2]
    for t in view.tunnels:
        lines.append("")
        lines.extend(_inactive_detail(t))
    return lines


_NHTB_WIDTHS = (18, 12, 26)
_NHTB_NAMES = ("next_hop", "interface", "vpn_name")


def render_next_hop_tunnels(view: NextHopTunnelsView) -> list[str]:
    if not view.next_hop_tunnels:
        return []
    header = [(_NC[n], w) for n, w in zip(_NHTB_NAMES, _NHTB_WIDTHS, strict=True)]
    lines = [row(header, _NC["flag"])]
    for entry in view.next_hop_tunnels:
        values = (entry.next_hop, entry.interface, entry.vpn_name)
        lines.append(row(list(zip(values, _NHTB_WIDTHS, strict=True)), entry.flag))
    return lines
