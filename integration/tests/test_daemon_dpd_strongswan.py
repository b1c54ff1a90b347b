"""Dead peer detection against strongSwan, both ways, on one tunnel.

1. charon with a short `dpd_delay` sends liveness checks; xfrmctl answers every one and the tunnel
   stays ESTABLISHED with the same SPIs over several intervals.
2. charon is killed (SIGKILL, by its PID): xfrmctl's DPD (`always-send`, interval 10 s, the
   minimum; IKEv2 threshold 5) declares the peer dead within interval x threshold + interval,
   removes the kernel SAs and the tunnel's route, shows `Peer is not responding` as the down
   reason, and brings the tunnel back (new SPIs, route restored, ping through ESP) once charon
   runs again.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path

from integration.lab.liveness import config_data, log_events, unix_time, wait_for
from integration.lab.strongswan import StrongSwan, psk_secrets, route_based_connection
from integration.lab.topology import Lab, route_based_pair
from integration.lab.xfrmctl import XfrmctlDaemon

PSK = "lab-only-secret-0123456789"
INTERVAL, THRESHOLD = 10, 5  # the minimum interval; IKEv2 always uses threshold 5
SWAN_DPD_DELAY = 2
REASON = "Peer is not responding"


def dpd_config(dev: str) -> str:
    data = config_data(dev)
    data["security"]["ike"]["gateway"]["GW"]["dead-peer-detection"] = {
        "always-send": None, "interval": INTERVAL, "threshold": THRESHOLD,
    }  # fmt: skip
    return json.dumps(data, indent=2)


def dpd_exchanges(swan: StrongSwan) -> tuple[int, int, int]:
    """(DPD requests charon sent, INFORMATIONAL responses it parsed, retransmissions)."""
    text = swan.log.read_text(errors="replace")
    return (
        len(re.findall(r"sending DPD request", text)),
        len(re.findall(r"parsed INFORMATIONAL response \d+ \[ \]", text)),
        len(re.findall(r"retransmit \d+ of request", text)),
    )


def test_dpd_answers_strongswan_then_detects_its_death(lab: Lab) -> None:
    a, b, dev_a, _ = route_based_pair(lab)
    conn = route_based_connection("192.0.2.2", "192.0.2.1", start=False)
    conn["vpn"]["dpd_delay"] = f"{SWAN_DPD_DELAY}s"
    swan = lab.strongswan(b, conn, psk_secrets(PSK))
    swan.load()
    daemon = XfrmctlDaemon(a, lab.workdir / "xfrmctl-a", lab.procs, dpd_config(dev_a))
    daemon.start(wait=300)  # under emulation on a busy host the first start can take minutes
    swan_ike = swan.wait_established("vpn", "net", timeout=120)
    spis = daemon.wait_up("vpn1")
    child = next(iter(swan_ike["child-sas"].values()))
    assert spis == (child["spi-out"], child["spi-in"])

    # 1. charon's liveness checks are answered; the tunnel keeps its SAs over several intervals
    sent0, answered0, _ = dpd_exchanges(swan)
    wait_for("three answered DPD checks of charon",
             lambda: min(d - d0 for d, d0 in zip(dpd_exchanges(swan)[:2], (sent0, answered0),
                                                 strict=True)) >= 3,
             timeout=10 * SWAN_DPD_DELAY)  # fmt: skip
    sent, answered, retransmits = dpd_exchanges(swan)
    assert retransmits == 0 and answered >= sent - 1, (sent, answered, retransmits)
    again = swan.list_sas()["vpn"]
    assert again["state"] == "ESTABLISHED"
    assert (again["initiator-spi"], again["responder-spi"]) == (
        swan_ike["initiator-spi"], swan_ike["responder-spi"])  # fmt: skip
    [now_child] = again["child-sas"].values()
    assert (now_child["state"], now_child["spi-in"], now_child["spi-out"]) == (
        "INSTALLED", child["spi-in"], child["spi-out"])  # fmt: skip
    assert daemon.spis("vpn1") == spis
    assert "198.18.2.0/24 dev st0.0" in a.ip("route").stdout

    # 2. SIGKILL: no Delete reaches xfrmctl, only DPD can tell
    assert swan.process is not None
    killed_at = time.time()
    os.kill(swan.process.proc.pid, signal.SIGKILL)
    swan.process.proc.wait(timeout=10)
    lab.procs.stop(swan.process)  # forget it (already dead)
    bound = INTERVAL * THRESHOLD + INTERVAL
    wait_for("DPD verdict", lambda: log_events(daemon, "DPD: peer dead"), timeout=bound + 15)
    [dead] = log_events(daemon, "DPD: peer dead")
    detected = unix_time(dead) - killed_at
    print(f"DPD detected the killed peer after {detected:.1f}s (bound {bound}s)")
    # the verdict is due at most `bound` after the kill; 1 s for the loop to run it under TCG
    assert 0 < detected <= bound + 1.0, detected
    assert dead["reason"] == REASON

    # kernel SAs gone (policies of the xfrm interface stay), route withdrawn, reason shown
    def sas_gone() -> bool:
        return a.ip("xfrm", "state").stdout.strip() == ""

    wait_for("kernel SAs removed", sas_gone, timeout=10)
    assert "198.18.2.0/24" not in a.ip("route").stdout
    inactive = daemon.show("security", "ipsec", "inactive-tunnels")
    [tunnel] = inactive["tunnels"]
    assert (tunnel["vpn_name"], tunnel["tunnel_down_reason"]) == ("vpn1", REASON), inactive
    assert inactive["total_inactive_tunnels"] == 1
    text = daemon.cli("show", "security", "ipsec", "inactive-tunnels", "detail")
    assert re.search(r"Tunnel Down Reason: +Peer is not responding", text), text
    assert daemon.tunnels() == []

    # charon returns: xfrmctl renegotiates on its own (backoff), route and traffic come back
    Path(swan.workdir / "charon.vici").unlink(missing_ok=True)
    swan.start()
    swan.load()
    back = daemon.wait_up("vpn1", timeout=90)
    assert back != spis
    swan.wait_established("vpn", "net", timeout=30)
    wait_for("route restored", lambda: "198.18.2.0/24 dev st0.0" in a.ip("route").stdout, 10)
    forth = a.ping("198.18.2.1", source="198.18.1.1")
    assert forth.returncode == 0, forth.stdout + daemon.tail()
    assert daemon.show("security", "ipsec", "inactive-tunnels")["total_inactive_tunnels"] == 0
    assert daemon.stop() == 0
    assert a.ip("xfrm", "state").stdout.strip() == ""
