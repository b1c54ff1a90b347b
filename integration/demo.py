"""The README demo, run inside the lab VM: a real route-based IPsec tunnel over xfrm interfaces.

Two gateways in their own network namespaces, each with a LAN behind it and an `st0.0` xfrm
interface; IKEv2 negotiates the keys and the kernel carries the LAN-to-LAN traffic in ESP.
"""

from __future__ import annotations

import sys
from pathlib import Path

from integration.lab.netns import xfrm_interface
from integration.lab.strongswan import psk_secrets, route_based_connection
from integration.lab.topology import Lab


def banner(text: str) -> None:
    print(f"\n=== {text}", flush=True)


def main() -> int:
    lab = Lab.create("demo", Path("/tmp/lab"))
    ok = False
    try:
        banner("topology: gw-a 192.0.2.1 <-> 192.0.2.2 gw-b; LANs 198.18.1.0/24 and 198.18.2.0/24")
        a, b = lab.netns("a"), lab.netns("b")
        dev_a, dev_b = lab.link(a, b, "192.0.2.1/24", "192.0.2.2/24")
        for ns, dev, st0, lan, far in (
            (a, dev_a, "198.18.255.1/30", "198.18.1.1/24", "198.18.2.0/24"),
            (b, dev_b, "198.18.255.2/30", "198.18.2.1/24", "198.18.1.0/24"),
        ):
            xfrm_interface(ns, "st0.0", 1, dev, st0)
            ns.add_addr("lo", lan)
            ns.add_route(far, "dev", "st0.0")
        peer_b = lab.strongswan(
            b, route_based_connection("192.0.2.2", "192.0.2.1", start=False), psk_secrets()
        )
        peer_b.load()
        peer_a = lab.strongswan(
            a, route_based_connection("192.0.2.1", "192.0.2.2", start=False), psk_secrets()
        )
        peer_a.load()

        banner("gw-a initiates IKEv2 (aes256gcm16-prfsha256-x25519, PSK)")
        peer_a.initiate("net")
        peer_a.wait_established("vpn", "net")
        print(peer_a.swanctl("--list-sas"), end="")

        banner("kernel policies on gw-a (route-based: 0/0 selectors bound to st0.0's if_id)")
        print(a.ip("xfrm", "policy").stdout, end="")

        banner("ping from gw-a's LAN to gw-b's LAN, through ESP")
        result = a.ping("198.18.2.1", source="198.18.1.1", count=4)
        print(result.stdout, end="")
        banner("st0.0 counters on gw-a")
        print(a.ip("-s", "link", "show", "st0.0").stdout, end="")
        ok = result.returncode == 0
        banner("demo " + ("passed: traffic crossed the tunnel" if ok else "FAILED"))
    finally:
        lab.close(failed=not ok, artifacts=None)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
