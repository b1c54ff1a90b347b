"""``show security ike security-associations`` in the Junos list and detail layouts (spec 4.1).

List: the newer column order (Index, Remote Address, State, cookies, Mode) used by the guide's
route-based, IKEv2, IPv6 and hub examples; it belongs to the same release generation as the
verbatim seed-000 detail output, so list and detail agree. The older order (Remote Address
last) appears only in the NAT examples. Detail: seed 000 verbatim, including its trailing
blanks after the IKE authentication algorithm and the SA flags.
"""

from __future__ import annotations

from xfrmctl.cli.render.columns import row
from xfrmctl.state.fields import columns, labels, titles
from xfrmctl.state.model import IkeSa, Phase2Negotiation
from xfrmctl.state.query import IkeSaView

_L = labels("IkeSa")
_C = columns("IkeSa")
_T = titles("IkeSa")
_N = labels("Phase2Negotiation")

_WIDTHS = (8, 16, 7, 18, 18)


def render_ike_sa_list(view: IkeSaView) -> list[str]:
    sas = view.ike_security_associations
    if not sas:
        return []
    names = ("index", "remote_address", "state", "initiator_cookie", "responder_cookie")
    lines = [row(list(zip((_C[n] for n in names), _WIDTHS, strict=True)), _C["exchange_type"])]
    for sa in sas:
        values = (
            str(sa.index),
            sa.remote_address,
            sa.state,
            sa.initiator_cookie,
            sa.responder_cookie,
        )
        lines.append(row(list(zip(values, _WIDTHS, strict=True)), sa.exchange_type))
    return lines


def _endpoint(address: str, port: int) -> str:
    return f"{address}:{port}"


def _negotiation(neg: Phase2Negotiation) -> list[str]:
    lines = [
        f"    {_N['negotiation_type']}: {neg.negotiation_type}, {_N['role']}: {neg.role}, "
        f"{_N['message_id']}: {neg.message_id}",
        f"    {_N['local_address']}: {_endpoint(neg.local_address, neg.local_port)}, "
        f"{_N['remote_address']}: {_endpoint(neg.remote_address, neg.remote_port)}",
        f"    {_N['local_identity']}: {neg.local_identity}",
        f"    {_N['remote_identity']}: {neg.remote_identity}",
    ]
    if neg.flags:
        lines.append(f"    {_N['flags']}: {', '.join(neg.flags)}")
    return lines


def _one_detail(sa: IkeSa) -> list[str]:
    # The header keeps its comma when no gateway name follows, as the guide prints it.
    gateway = "" if sa.gateway_name is None else f" {_L['gateway_name']}: {sa.gateway_name}"
    lines = [
        f"{_T['remote_address']} {sa.remote_address}, {_L['index']} {sa.index},{gateway}",
        f"  {_L['role']}: {sa.role}, {_L['state']}: {sa.state}",
        f"  {_L['initiator_cookie']}: {sa.initiator_cookie}, "
        f"{_L['responder_cookie']}: {sa.responder_cookie}",
        f"  {_L['exchange_type']}: {sa.exchange_type}, "
        f"{_L['authentication_method']}: {sa.authentication_method}",
        f"  {_L['local_address']}: {_endpoint(sa.local_address, sa.local_port)}, "
        f"{_L['remote_address']}: {_endpoint(sa.remote_address, sa.remote_port)}",
        f"  {_L['lifetime_remaining']}: Expires in {sa.lifetime_remaining} seconds",
    ]
    if sa.peer_ike_id is not None:
        lines.append(f"  {_L['peer_ike_id']}: {sa.peer_ike_id}")
    if sa.xauth_user_name is not None:
        lines.append(f"  {_L['xauth_user_name']}: {sa.xauth_user_name}")
    if sa.xauth_assigned_ip is not None:
        lines.append(f"  {_L['xauth_assigned_ip']}: {sa.xauth_assigned_ip}")
    lines.append(f"  {_T['authentication_algorithm']}:")
    # Junos prints a blank after the integrity algorithm (seed 000); kept for diff-ability.
    algorithms = [
        ("authentication_algorithm", f"{sa.authentication_algorithm} "),
        ("encryption_algorithm", sa.encryption_algorithm),
        ("prf_algorithm", sa.prf_algorithm),
    ]
    if sa.dh_group is not None:
        algorithms.append(("dh_group", sa.dh_group))
    lines.extend(f"   {_L[name]:<22}: {value}" for name, value in algorithms)
    lines.append(f"  {_T['input_bytes']}:")
    for name in ("input_bytes", "output_bytes", "input_packets", "output_packets"):
        lines.append(f"   {_L[name]}:{getattr(sa, name):>21}")
    if sa.flags:
        lines.append(f"  {_L['flags']}: {', '.join(sa.flags)} ")
    lines.append(
        f"  {_T['ipsec_sas_created']}: {sa.ipsec_sas_created} {_L['ipsec_sas_created']}, "
        f"{sa.ipsec_sas_deleted} {_L['ipsec_sas_deleted']}"
    )
    if sa.phase2_negotiations_in_progress is not None:
        lines.append(
            f"  {_L['phase2_negotiations_in_progress']}: {sa.phase2_negotiations_in_progress}"
        )
    for neg in sa.negotiations:
        lines.append("")
        lines.extend(_negotiation(neg))
    return lines


def render_ike_sa_detail(view: IkeSaView) -> list[str]:
    lines: list[str] = []
    for n, sa in enumerate(view.ike_security_associations):
        if n:
            lines.append("")
        lines.extend(_one_detail(sa))
    return lines
