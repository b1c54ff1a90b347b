"""Pure renderers: a query and its result -> the exact Junos text (or JSON) to print."""

from __future__ import annotations

import json

from xfrmctl.cli.render.ike import render_ike_sa_detail, render_ike_sa_list
from xfrmctl.cli.render.ipsec import (
    render_inactive_tunnels,
    render_inactive_tunnels_detail,
    render_ipsec_sa_detail,
    render_ipsec_sa_list,
    render_ipsec_statistics,
    render_next_hop_tunnels,
)
from xfrmctl.state.codec import to_json
from xfrmctl.state.query import (
    ActionResult,
    IkeSaView,
    InactiveTunnelsView,
    IpsecSaView,
    IpsecStatisticsView,
    NextHopTunnelsView,
    Query,
    ShowIkeSa,
    ShowIpsecInactiveTunnels,
    ShowIpsecSa,
    View,
)

__all__ = ["render_json", "render_lines", "render_text"]


def render_lines(query: Query, view: View) -> list[str]:
    """The output lines of one command; ``clear`` and ``request`` print only a note, if any."""
    if isinstance(view, IkeSaView):
        detail = isinstance(query, ShowIkeSa) and query.level == "detail"
        return render_ike_sa_detail(view) if detail else render_ike_sa_list(view)
    if isinstance(view, IpsecSaView):
        detail = isinstance(query, ShowIpsecSa) and query.detail
        return render_ipsec_sa_detail(view) if detail else render_ipsec_sa_list(view)
    if isinstance(view, IpsecStatisticsView):
        return render_ipsec_statistics(view)
    if isinstance(view, InactiveTunnelsView):
        detail = isinstance(query, ShowIpsecInactiveTunnels) and query.level == "detail"
        return render_inactive_tunnels_detail(view) if detail else render_inactive_tunnels(view)
    if isinstance(view, NextHopTunnelsView):
        return render_next_hop_tunnels(view)
    assert isinstance(view, ActionResult)
    return [] if view.message is None else [view.message]


def render_text(query: Query, view: View) -> str:
    lines = render_lines(query, view)
    return "".join(f"{line}\n" for line in lines)


def render_json(view: View) -> str:
    """JSON with the snapshot's field names (keys in field order, two-space indent)."""
    return json.dumps(to_json(view), indent=2) + "\n"
