"""The README demo, run inside the lab VM: an xfrmctl hub with two spokes, real IPsec tunnels.

The hub runs xfrmctl with one point-to-point st0 unit per spoke. Spoke 1 is a strongSwan
gateway, spoke 2 is another xfrmctl configured from Junos `set` commands. IKEv2 negotiates the
keys; the kernel carries LAN-to-LAN traffic in ESP, spoke to spoke through the hub. The hub's
state is read with the Junos commands.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from integration.lab.netns import Netns, xfrm_interface
from integration.lab.strongswan import psk_secrets, route_based_connection
from integration.lab.topology import Lab
from integration.lab.xfrmctl import XfrmctlDaemon

PSK = "lab-only-secret-0123456789"
IKE = {
    "authentication-method": "pre-shared-keys",
    "dh-group": "group31",
    "authentication-algorithm": "sha-256",
    "encryption-algorithm": "aes-256-gcm",
}
ESP = {"protocol": "esp", "encryption-algorithm": "aes-256-gcm"}

SPOKE2_SET = """\
set security ike proposal P1 authentication-method pre-shared-keys
set security ike proposal P1 dh-group group31
set security ike proposal P1 authentication-algorithm sha-256
set security ike proposal P1 encryption-algorithm aes-256-gcm
set security ike policy IKEPOL mode main
set security ike policy IKEPOL proposals P1
set security ike policy IKEPOL pre-shared-key ascii-text "{psk}"
set security ike gateway HUB ike-policy IKEPOL
set security ike gateway HUB address 198.51.100.1
set security ike gateway HUB external-interface {dev}
set security ike gateway HUB version v2-only
set security ipsec proposal P2 protocol esp
set security ipsec proposal P2 encryption-algorithm aes-256-gcm
set security ipsec policy IPSECPOL proposals P2
set security ipsec vpn to-hub bind-interface st0.0
set security ipsec vpn to-hub ike gateway HUB
set security ipsec vpn to-hub ike ipsec-policy IPSECPOL
set security ipsec vpn to-hub establish-tunnels immediately
set interfaces st0 unit 0 family inet address 198.18.254.6/30
set routing-options static route 198.18.0.0/24 next-hop st0.0
set routing-options static route 198.18.1.0/24 next-hop st0.0
"""


def hub_config(dev1: str, dev2: str) -> str:
    """Two gateways, two VPNs, two point-to-point st0 units, routes to each spoke's LAN."""
    gateways = {
        "SPOKE1": {"address": "192.0.2.2", "external-interface": dev1},
        "SPOKE2": {"address": "198.51.100.2", "external-interface": dev2},
    }
    data: dict[str, Any] = {
        "security": {
            "ike": {
                "proposal": {"P1": IKE},
                "policy": {"IKEPOL": {"mode": "main", "proposals": ["P1"],
                                      "pre-shared-key": {"ascii-text": PSK}}},
                "gateway": {name: {"ike-policy": "IKEPOL", "version": "v2-only", **gw}
                            for name, gw in gateways.items()},
            },
            "ipsec": {
                "proposal": {"P2": ESP},
                "policy": {"IPSECPOL": {"proposals": "P2"}},
                "vpn": {
                    "spoke1": {"bind-interface": "st0.0", "establish-tunnels": "on-traffic",
                               "ike": {"gateway": "SPOKE1", "ipsec-policy": "IPSECPOL"}},
                    "spoke2": {"bind-interface": "st0.1", "establish-tunnels": "on-traffic",
                               "ike": {"gateway": "SPOKE2", "ipsec-policy": "IPSECPOL"}},
                },
            },
        },
        "interfaces": {"st0": {"unit": {
            0: {"family": {"inet": {"address": "198.18.254.1/30"}}},
            1: {"family": {"inet": {"address": "198.18.254.5/30"}}},
        }}},
        "routing-options": {"static": {"route": {
            "198.18.1.0/24": {"next-hop": "st0.0"},
            "198.18.2.0/24": {"next-hop": "st0.1"},
        }}},
    }  # fmt: skip
    return json.dumps(data, indent=2)  # JSON is YAML


def banner(text: str) -> None:
    print(f"\n=== {text}", flush=True)


def ping(ns: Netns, src: str, dst: str, what: str) -> bool:
    result = ns.ping(dst, source=src, count=3)
    last = [line for line in result.stdout.splitlines() if "packets transmitted" in line]
    print(f"{what}: {last[0] if last else result.stdout.strip() or result.stderr.strip()}")
    return result.returncode == 0


def main() -> int:
    lab = Lab.create("demo", Path("/tmp/lab"))
    ok = False
    try:
        banner("topology")
        print("  hub (xfrmctl)      LAN 198.18.0.0/24  st0.0 -> spoke1, st0.1 -> spoke2")
        print("  spoke1 (strongSwan) 192.0.2.2     LAN 198.18.1.0/24")
        print("  spoke2 (xfrmctl, Junos set)  198.51.100.2  LAN 198.18.2.0/24")
        hub, s1, s2 = lab.netns("hub"), lab.netns("s1"), lab.netns("s2")
        hub_dev1, s1_dev = lab.link(hub, s1, "192.0.2.1/24", "192.0.2.2/24")
        hub_dev2, s2_dev = lab.link(hub, s2, "198.51.100.1/24", "198.51.100.2/24")
        hub.add_addr("lo", "198.18.0.1/24")
        s1.add_addr("lo", "198.18.1.1/24")
        s2.add_addr("lo", "198.18.2.1/24")
        xfrm_interface(s1, "st0.0", 1, s1_dev, "198.18.254.2/30")
        for prefix in ("198.18.0.0/24", "198.18.2.0/24"):
            s1.add_route(prefix, "dev", "st0.0")

        swan = lab.strongswan(s1, route_based_connection("192.0.2.2", "192.0.2.1", start=True),
                              psk_secrets(PSK))
        hub_d = XfrmctlDaemon(hub, lab.workdir / "hub", lab.procs, hub_config(hub_dev1, hub_dev2))
        spoke2 = XfrmctlDaemon(s2, lab.workdir / "spoke2", lab.procs,
                               SPOKE2_SET.format(psk=PSK, dev=s2_dev), config_name="spoke2.set")
        hub_d.start()
        spoke2.start()
        swan.load()

        banner("bringing the tunnels up (spoke1 initiates, spoke2 establishes immediately)")
        hub_d.wait_up("spoke1")
        hub_d.wait_up("spoke2")

        banner("hub> show security ike security-associations")
        print(hub_d.cli("show", "security", "ike", "security-associations"), end="")
        banner("hub> show security ipsec security-associations")
        print(hub_d.cli("show", "security", "ipsec", "security-associations"), end="")

        banner("traffic through ESP")
        results = [
            ping(s1, "198.18.1.1", "198.18.0.1", "spoke1 LAN -> hub LAN   "),
            ping(s2, "198.18.2.1", "198.18.0.1", "spoke2 LAN -> hub LAN   "),
            ping(s1, "198.18.1.1", "198.18.2.1", "spoke1 LAN -> spoke2 LAN"),
        ]
        banner("hub> show security ipsec statistics")
        print(hub_d.cli("show", "security", "ipsec", "statistics"), end="")
        ok = all(results)
        banner("demo " + ("passed: traffic crossed every tunnel" if ok else "FAILED"))
    finally:
        lab.close(failed=not ok, artifacts=None)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
