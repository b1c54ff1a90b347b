"""Liveness settings from the configuration model, and refusal of impossible values."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from xfrmctl.config import Config, load_text
from xfrmctl.dpd import DpdError, DpdMode, DpdSettings, MonitorSettings

EXAMPLE = (Path(__file__).parents[2] / "examples" / "p2p-site-b.set").read_text()


def load(extra: str = "", drop: str = "") -> Config:
    text = EXAMPLE
    if drop:
        text = "\n".join(line for line in text.splitlines() if drop not in line) + "\n"
    return load_text(text + extra, "site-b.set").require()


def test_ikev2_gateway_uses_the_predefined_threshold_five() -> None:
    cfg = load(
        "set security ike gateway gw-site-a dead-peer-detection always-send\n"
        "set security ike gateway gw-site-a dead-peer-detection interval 20\n"
        "set security ike gateway gw-site-a dead-peer-detection threshold 3\n",
        drop="dead-peer-detection",
    )
    assert DpdSettings.from_gateway(cfg.gateways["gw-site-a"]) == DpdSettings(
        DpdMode.ALWAYS_SEND, 20.0, 5
    )


def test_ikev1_gateway_keeps_the_configured_threshold() -> None:
    cfg = load(
        "set security ike gateway gw-site-a dead-peer-detection probe-idle-tunnel\n"
        "set security ike gateway gw-site-a dead-peer-detection threshold 3\n",
        drop="dead-peer-detection",
    )
    gw = dataclasses.replace(cfg.gateways["gw-site-a"], version="v1-only")
    assert DpdSettings.from_gateway(gw) == DpdSettings(DpdMode.PROBE_IDLE_TUNNEL, 10.0, 3)


def test_no_dpd_configured() -> None:
    cfg = load(drop="dead-peer-detection")
    assert DpdSettings.from_gateway(cfg.gateways["gw-site-a"]) is None


def test_monitor_options_defaults_and_configured() -> None:
    assert MonitorSettings.from_config(load().vpn_monitor_options) == MonitorSettings(10.0, 10)
    cfg = load(
        "set security ipsec vpn-monitor-options interval 15\n"
        "set security ipsec vpn-monitor-options threshold 15\n"
    )
    assert MonitorSettings.from_config(cfg.vpn_monitor_options) == MonitorSettings(15.0, 15)


def test_defaults() -> None:
    assert DpdSettings() == DpdSettings(DpdMode.OPTIMIZED, 10.0, 5)
    assert DpdSettings(mode="always-send").mode is DpdMode.ALWAYS_SEND  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"interval": 0}, "interval must be positive"),
        ({"threshold": 0}, "threshold must be at least 1"),
        ({"mode": "sometimes"}, "unknown DPD mode"),
    ],
)
def test_bad_dpd_settings(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(DpdError, match=message):
        DpdSettings(**kwargs)  # type: ignore[arg-type]


def test_bad_monitor_settings() -> None:
    with pytest.raises(DpdError, match="interval must be positive"):
        MonitorSettings(interval=-1)
    with pytest.raises(DpdError, match="threshold must be at least 1"):
        MonitorSettings(threshold=0)
