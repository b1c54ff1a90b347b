"""Dead peer detection, VPN monitoring and idle-time as sans-IO timers (spec §3.2, §3.3).

The daemon drives one `LivenessManager`:

    mgr = LivenessManager(MonitorSettings.from_config(cfg.ipsec.vpn_monitor_options))
    mgr.add_peer(ike_ref, DpdSettings.from_gateway(gw), now)      # IKE SA established
    mgr.sa_installed((daddr, spi, proto), "in", now, ike=ike_ref, vpn="vpn1", child=uid)
    mgr.add_vpn("vpn1", MonitorTarget(src, dst, "st0.0", optimized=True), now)
    mgr.ike_message_received(ike_ref, now) / mgr.probe_answered(ike_ref, now)
    mgr.echo_reply(None, ident, seq, now)                          # -> [MonitorUp] or []
    deadline = mgr.next_deadline()
    actions = mgr.on_timer(now, {(daddr, spi, proto): (bytes, packets), ...})

Actions (`actions.py`): `ProbePeer`, `PeerDead`, `SendEcho`, `MonitorDown`, `MonitorUp`,
`IdleTimeout`. `Backoff` spaces renegotiations after a tunnel went down. Nothing here reads a
clock, draws randomness of its own or touches a socket; docs/dpd.md has the exact timings.
"""

from xfrmctl.dpd.actions import (
    Action,
    DownReason,
    IdleTimeout,
    MonitorDown,
    MonitorUp,
    MonState,
    PeerDead,
    ProbePeer,
    SendEcho,
)
from xfrmctl.dpd.backoff import Backoff
from xfrmctl.dpd.errors import DpdError
from xfrmctl.dpd.evidence import CounterDump, Counts, Direction, TrafficLedger
from xfrmctl.dpd.manager import LivenessManager, MonitorStats
from xfrmctl.dpd.scheduler import Scheduler
from xfrmctl.dpd.settings import DpdMode, DpdSettings, MonitorSettings, MonitorTarget

__all__ = [
    "Action",
    "Backoff",
    "CounterDump",
    "Counts",
    "Direction",
    "DownReason",
    "DpdError",
    "DpdMode",
    "DpdSettings",
    "IdleTimeout",
    "LivenessManager",
    "MonState",
    "MonitorDown",
    "MonitorSettings",
    "MonitorStats",
    "MonitorTarget",
    "MonitorUp",
    "PeerDead",
    "ProbePeer",
    "Scheduler",
    "SendEcho",
    "TrafficLedger",
]
