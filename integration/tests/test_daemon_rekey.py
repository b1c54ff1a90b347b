"""Rekey under traffic: child SAs of 30 s and IKE SAs of 60 s, rekeyed by both xfrmctl and
strongSwan (their timers run close, so exchanges collide now and then), while a ping every 100 ms
for 3 minutes loses no packet. Afterwards the kernel holds exactly the current SA pair and the
VPN's three policies: nothing a rekey replaced is left behind.

xfrmctl runs with `--lab-lifetime-floor 30` (the Junos minimum lifetime is 180 s).
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from integration.lab.netns import LabError, Netns
from integration.lab.topology import Lab, route_based_pair
from integration.lab.xfrmctl import XfrmctlDaemon, yaml_config
from integration.tests.test_daemon_strongswan import (
    PROPOSALS,
    PSK,
    check_clean,
    swan_connection,
)

SUITE = "aes256gcm16-prfsha256-x25519"
CHILD_LIFETIME, IKE_LIFETIME = 30, 60
PINGS, INTERVAL = 1800, 0.1  # 3 minutes

_SA = re.compile(r"^src (\S+) dst (\S+)\s+proto esp spi 0x([0-9a-f]{8})", re.MULTILINE)


def xfrmctl_config(dev: str) -> str:
    _, _, ike, esp, pfs = PROPOSALS[SUITE]
    data = json.loads(yaml_config(
        remote="192.0.2.2", external=dev, st0_address="198.18.255.1/30",
        route="198.18.2.0/24", psk=PSK, ike=ike, esp=esp, pfs=pfs, establish="immediately",
    ))  # fmt: skip
    data["security"]["ike"]["proposal"]["P1"]["lifetime-seconds"] = IKE_LIFETIME
    data["security"]["ipsec"]["proposal"]["P2"]["lifetime-seconds"] = CHILD_LIFETIME
    return json.dumps(data, indent=2)


def swan_rekeying() -> dict[str, Any]:
    """strongSwan rekeys at nearly the times xfrmctl does (child 14..18 s against xfrmctl's
    soft expiry at 15..16.4 s plus the kernel's expiry tick, IKE 28..34 s against 30..32.9 s):
    either side starts, about half the time each, sometimes both."""
    ike, esp = PROPOSALS[SUITE][:2]
    conns = swan_connection("192.0.2.2", "192.0.2.1", ike, esp)
    vpn = conns["vpn"]
    vpn.update({"rekey_time": "34s", "over_time": "26s", "rand_time": "6s", "reauth_time": "0"})
    vpn["children"]["net"].update({"rekey_time": "18s", "life_time": "30s", "rand_time": "4s"})
    return conns


def kernel_sas(ns: Netns) -> set[tuple[str, str, str]]:
    return set(_SA.findall(ns.ip("xfrm", "state").stdout))


def kernel_policies(ns: Netns) -> list[str]:
    """Each SPD policy as one line (per-socket IKE bypass policies left out)."""
    blocks = re.split(r"\n(?=src )", ns.ip("xfrm", "policy").stdout.strip())
    out = []
    for block in blocks:
        if not block or "socket " in block:
            continue
        words = block.split()
        direction = words[words.index("dir") + 1]
        if_id = words[words.index("if_id") + 1] if "if_id" in words else "-"
        out.append(f"{words[1]} {words[3]} {direction} if_id {if_id}")
    return sorted(out)


def events(daemon: XfrmctlDaemon, name: str) -> list[dict[str, Any]]:
    found = []
    for line in daemon.log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("event") == name:
                found.append(record)
    return found


def settled(a: Netns, daemon: XfrmctlDaemon, swan_sas: Any, timeout: float = 45.0) -> None:
    """Poll until no rekey is in flight: one IKE SA, one SA pair, and the kernel holds exactly
    that pair and the three policies (a rekey happens every ~15 s, so such moments come)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        tunnels = daemon.query("security", "ipsec", "security-associations")["tunnels"]
        ike = daemon.query("security", "ike", "security-associations")["ike_security_associations"]
        swan = swan_sas()
        children = list(swan.get("vpn", {}).get("child-sas", {}).values())
        if len(tunnels) == 1 and len(tunnels[0]["sas"]) == 2 and len(ike) == 1 and (
            len(children) == 1
        ):
            spi = {s["direction"]: f"{s['spi']:08x}" for s in tunnels[0]["sas"]}
            want = {("192.0.2.2", "192.0.2.1", spi["inbound"]),
                    ("192.0.2.1", "192.0.2.2", spi["outbound"])}  # fmt: skip
            have = kernel_sas(a)
            policies = kernel_policies(a)
            swan_pair = (children[0]["spi-out"], children[0]["spi-in"])
            if have == want and swan_pair == (spi["inbound"], spi["outbound"]):
                assert policies == [
                    "0.0.0.0/0 0.0.0.0/0 fwd if_id 0x1",
                    "0.0.0.0/0 0.0.0.0/0 in if_id 0x1",
                    "0.0.0.0/0 0.0.0.0/0 out if_id 0x1",
                ], policies
                return
            last = (have, want, swan_pair, policies)
        else:
            last = (tunnels, ike, children)
        time.sleep(0.3)
    raise LabError(f"state never settled to one SA pair: {last}\n{daemon.tail()}")


def test_rekey_under_traffic_loses_no_packet(lab: Lab) -> None:
    a, b, dev_a, _ = route_based_pair(lab)
    swan = lab.strongswan(b, swan_rekeying(), {"ike-1": {"secret": PSK}})
    swan.load()
    daemon = XfrmctlDaemon(a, lab.workdir / "xfrmctl-a", lab.procs, xfrmctl_config(dev_a),
                           extra_args=["--lab-lifetime-floor", str(CHILD_LIFETIME)])  # fmt: skip
    daemon.start()
    swan.wait_established("vpn", "net", timeout=120)
    first = daemon.wait_up("vpn1")
    assert events(daemon, "lab setting: lifetime-seconds and idle-time below the Junos minimum "
                          "accepted")

    result = a.ping("198.18.2.1", source="198.18.1.1", count=PINGS, interval=INTERVAL,
                    timeout=PINGS * INTERVAL + 30)  # fmt: skip
    summary = re.search(r"(\d+) packets transmitted, (\d+) received", result.stdout)
    assert summary is not None, result.stdout + result.stderr
    assert summary.groups() == (str(PINGS), str(PINGS)), result.stdout[-2000:]

    # both sides rekeyed many times: the children every ~15 s, IKE every ~30 s
    installed = events(daemon, "child SA installed")
    rekeys = [e for e in installed if e.get("rekey")]
    assert len(rekeys) >= 8, [(e.get("spi_in"), e.get("outbound_deferred")) for e in installed]
    assert any(e.get("outbound_deferred") for e in rekeys), "xfrmctl never answered a rekey"
    assert any(not e.get("outbound_deferred") for e in rekeys), "xfrmctl never started a rekey"
    assert len(events(daemon, "IKE SA rekeyed")) >= 3
    assert daemon.spis("vpn1") != first

    settled(a, daemon, swan.list_sas)
    check_clean(a, daemon)
