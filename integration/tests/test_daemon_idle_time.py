"""`ike idle-time` against strongSwan: a child SA that carried no traffic for idle-time seconds is
deleted (both kernel SAs, and strongSwan is told), and with establish-tunnels on-traffic it stays
down until traffic comes again. The lab floor (`--lab-lifetime-floor 15`) allows a 15 s idle-time
instead of the Junos minimum of 60, to keep the scenario short.
"""

from __future__ import annotations

import json
import time

from integration.lab.topology import Lab, route_based_pair
from integration.lab.xfrmctl import XfrmctlDaemon, yaml_config
from integration.tests.test_daemon_strongswan import PROPOSALS, PSK, swan_connection

IDLE = 15


def test_idle_time_deletes_an_idle_child_sa(lab: Lab) -> None:
    a, b, dev_a, _ = route_based_pair(lab)
    name = "aes256gcm16-prfsha256-x25519"
    swan_ike, swan_esp, ike, esp, pfs = PROPOSALS[name]
    swan = lab.strongswan(b, swan_connection("192.0.2.2", "192.0.2.1", swan_ike, swan_esp),
                          {"ike-1": {"secret": PSK}})  # fmt: skip
    swan.load()
    data = json.loads(yaml_config(
        remote="192.0.2.2", external=dev_a, st0_address="198.18.255.1/30",
        route="198.18.2.0/24", psk=PSK, ike=ike, esp=esp, pfs=pfs, establish="on-traffic",
    ))  # fmt: skip
    data["security"]["ipsec"]["vpn"]["vpn1"]["ike"]["idle-time"] = IDLE
    daemon = XfrmctlDaemon(a, lab.workdir / "xfrmctl-a", lab.procs, json.dumps(data),
                           extra_args=["--lab-lifetime-floor", str(IDLE)])  # fmt: skip
    daemon.start()

    a.ping("198.18.2.1", source="198.18.1.1", count=1, timeout=5)  # ACQUIRE starts IKE
    daemon.wait_up("vpn1")
    ping = a.ping("198.18.2.1", source="198.18.1.1")
    assert ping.returncode == 0, ping.stdout + daemon.tail()
    last_traffic = time.monotonic()
    assert [t["vpn_name"] for t in daemon.tunnels()] == ["vpn1"]

    deadline = last_traffic + IDLE + 45
    while time.monotonic() < deadline:
        if not daemon.query("security", "ipsec", "security-associations")["tunnels"]:
            break
        time.sleep(0.5)
    gone_after = time.monotonic() - last_traffic
    assert not daemon.tunnels(), daemon.tail()
    assert gone_after >= IDLE - 1, gone_after
    assert "idle-time reached; deleting the child SA" in daemon.log.read_text()
    assert a.ip("xfrm", "state").stdout.strip() == ""
    # strongSwan was told: its IKE SA stays, the child SA is gone
    for _ in range(40):
        sas = swan.list_sas()
        if sas.get("vpn", {}).get("state") == "ESTABLISHED" and not sas["vpn"].get("child-sas"):
            break
        time.sleep(0.5)
    assert sas["vpn"]["state"] == "ESTABLISHED" and not sas["vpn"].get("child-sas"), sas
    # on-traffic: still down without traffic; the out policy stays to catch the next packet
    assert a.ip("xfrm", "state").stdout.strip() == ""
    assert "dir out" in a.ip("xfrm", "policy").stdout
    assert daemon.stop() == 0, daemon.tail()
