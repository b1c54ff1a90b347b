"""Liveness settings as the sans-IO logic takes them, and their derivation from the config model.

Defaults and names follow Junos: DPD `interval` 10 s and `threshold` 5 in the mode `optimized`;
`vpn-monitor-options interval` 10 s and `threshold` 10. IKEv2 gateways always use threshold 5
(spec §3.3: "The threshold number for the IKEv2 protocol is predefined as 5").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from xfrmctl.config import model
from xfrmctl.dpd.errors import DpdError

IKEV2_THRESHOLD = 5


class DpdMode(StrEnum):
    """Which traffic suppresses a probe (see docs/dpd.md for the exact timing of each)."""

    OPTIMIZED = "optimized"  # probe only when we sent traffic and heard nothing back
    PROBE_IDLE_TUNNEL = "probe-idle-tunnel"  # probe whenever we heard nothing, idle or not
    ALWAYS_SEND = "always-send"  # probe every interval whatever the traffic


@dataclass(frozen=True)
class DpdSettings:
    mode: DpdMode = DpdMode.OPTIMIZED
    interval: float = 10.0
    threshold: int = 5

    def __post_init__(self) -> None:
        if not self.interval > 0:
            raise DpdError(f"DPD interval must be positive, not {self.interval}")
        if self.threshold < 1:
            raise DpdError(f"DPD threshold must be at least 1, not {self.threshold}")
        try:
            object.__setattr__(self, "mode", DpdMode(self.mode))
        except ValueError:
            raise DpdError(f"unknown DPD mode {self.mode!r}") from None

    @classmethod
    def from_gateway(cls, gateway: model.IkeGateway) -> DpdSettings | None:
        """The gateway's DPD settings, or None when `dead-peer-detection` is not configured."""
        dpd = gateway.dead_peer_detection
        if dpd is None:
            return None
        threshold = IKEV2_THRESHOLD if gateway.version == "v2-only" else dpd.threshold
        return cls(DpdMode(dpd.mode), float(dpd.interval), threshold)


@dataclass(frozen=True)
class MonitorSettings:
    """`vpn-monitor-options`: global to every monitored VPN."""

    interval: float = 10.0
    threshold: int = 10

    def __post_init__(self) -> None:
        if not self.interval > 0:
            raise DpdError(f"VPN monitor interval must be positive, not {self.interval}")
        if self.threshold < 1:
            raise DpdError(f"VPN monitor threshold must be at least 1, not {self.threshold}")

    @classmethod
    def from_config(cls, options: model.VpnMonitorOptions) -> MonitorSettings:
        return cls(float(options.interval), options.threshold)


@dataclass(frozen=True)
class MonitorTarget:
    """Where one VPN's echoes go; the daemon resolves interfaces to addresses.

    `src`: the primary address of `source-interface`, else the local tunnel endpoint address.
    `dst`: `destination-ip`, else the peer gateway address. `device`: the bound st0 unit."""

    src: str
    dst: str
    device: str | None = None
    optimized: bool = False
