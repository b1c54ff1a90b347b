"""What the liveness logic asks the daemon to do, and what it reports.

Every action is a small frozen dataclass; the daemon executes them in the order given. Nothing here
sends a packet: `ProbePeer` becomes an IKEv2 liveness check (`Ikev2Engine.liveness_check`) or an
IKEv1 R-U-THERE, `SendEcho` an ICMP echo bound to the tunnel's st0 device.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from enum import StrEnum


class DownReason(StrEnum):
    """`Tunnel Down Reason` strings of `show security ipsec security-associations detail`."""

    PEER_NOT_RESPONDING = "Peer is not responding"
    VPN_MONITOR = "VPN monitoring detected tunnel as down"
    IDLE_TIMEOUT = "Idle timeout"


class MonState(StrEnum):
    """The `Mon` column: up, down, or `-` when the VPN is not monitored."""

    UP = "U"
    DOWN = "D"
    OFF = "-"

    @property
    def detail(self) -> str:
        """The `VPN Monitoring:` value of the detail layout."""
        return {"U": "UP", "D": "DOWN", "-": "-"}[self.value]


@dataclass(frozen=True)
class ProbePeer:
    """Ask the peer whether it is alive (IKEv2 empty INFORMATIONAL / IKEv1 R-U-THERE).

    `attempt` counts the unanswered probes of this round, 1 for the first."""

    ike: Hashable
    attempt: int
    at: float


@dataclass(frozen=True)
class PeerDead:
    """The peer missed `threshold` probes: delete the IKE SA and its children, routes out."""

    ike: Hashable
    reason: DownReason
    detected_at: float
    last_alive: float  # the last evidence of the peer being alive


@dataclass(frozen=True)
class SendEcho:
    """One ICMP echo request through the tunnel (`device` is the bound st0 unit, if any)."""

    vpn: str
    src: str
    dst: str
    ident: int
    seq: int
    device: str | None = None


@dataclass(frozen=True)
class MonitorDown:
    """`threshold` consecutive cycles failed: tear down the children, routes out of service."""

    vpn: str
    reason: DownReason
    at: float


@dataclass(frozen=True)
class MonitorUp:
    """A monitored VPN answers again after being down: routes back in service."""

    vpn: str
    at: float


@dataclass(frozen=True)
class IdleTimeout:
    """A child SA (both directions) carried no traffic for its `idle-time`: delete it."""

    child: Hashable
    idle_since: float
    at: float
    reason: DownReason = DownReason.IDLE_TIMEOUT


Action = ProbePeer | PeerDead | SendEcho | MonitorDown | MonitorUp | IdleTimeout
