"""Shared pieces of the liveness scenarios (DPD, VPN monitoring): xfrmctl in `a` facing a
strongSwan in `b`, bounded polling, and the daemon's log events with their times."""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from integration.lab.netns import LabError
from integration.lab.xfrmctl import XfrmctlDaemon, yaml_config

PSK = "lab-only-secret-0123456789"
# strongSwan's route_based_connection defaults: aes256gcm16-prfsha256-x25519, ESP aes256gcm16
IKE = {"dh-group": "group31", "authentication-algorithm": "sha-256",
       "encryption-algorithm": "aes-256-gcm"}  # fmt: skip
ESP = {"encryption-algorithm": "aes-256-gcm"}

T = TypeVar("T")




def config_data(dev: str) -> dict[str, Any]:
    """a's one-VPN configuration (st0.0, route to b's network) as data, to add liveness to."""
    data: dict[str, Any] = json.loads(yaml_config(
        remote="192.0.2.2", external=dev, st0_address="198.18.255.1/30",
        route="198.18.2.0/24", psk=PSK, ike=IKE, esp=ESP, pfs="group31",
    ))  # fmt: skip
    return data


def wait_for(what: str, probe: Callable[[], T], timeout: float, step: float = 0.5) -> T:
    """Poll `probe` until it returns something true; its value, or LabError after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise LabError(f"{what}: not seen within {timeout}s")
        time.sleep(step)


def log_events(daemon: XfrmctlDaemon, event: str) -> list[dict[str, Any]]:
    """The daemon's JSON log records whose message is `event`, in order."""
    out = []
    for line in daemon.log.read_text(errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and rec.get("event") == event:
            out.append(rec)
    return out


def unix_time(record: dict[str, Any]) -> float:
    """A log record's timestamp (ISO 8601, UTC) as Unix time, to compare with time.time()."""
    return datetime.datetime.fromisoformat(str(record["timestamp"])).timestamp()
