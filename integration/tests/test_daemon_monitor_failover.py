"""VPN monitoring against strongSwan: ESP dies on the link while IKE still passes, the VPN goes D,
a backup route carries the traffic, and everything moves back when ESP flows again.

xfrmctl (a) monitors vpn1 with echoes from its st0.0 address to a host behind strongSwan (b),
`vpn-monitor-options interval 2 threshold 1` (the minimums). a also has a plain route to b's
network with a higher metric (the backup, in clear over the link); b answers by the path a
request came in on (conntrack mark and a policy route), as a site with a backup path does.
nftables on a's link then drops ESP both ways while UDP 500 passes:

* the monitor declares D within interval x threshold + interval; xfrmctl withdraws its route,
  the backup wins, and a continuous ping loses no more than that bound;
* the SAs are renegotiated over the still-working IKE SA and shown with `Mon` D;
* with ESP flowing again, the first answered echo brings `Mon` back to U, the route returns and
  pings go through the tunnel again (the outbound SA's packet counter grows with them).
"""

from __future__ import annotations

import json
import re
import signal
import time
from typing import Any

from integration.lab.liveness import PSK, config_data, log_events, unix_time, wait_for
from integration.lab.netns import Netns
from integration.lab.strongswan import psk_secrets, route_based_connection
from integration.lab.topology import Lab, route_based_pair
from integration.lab.xfrmctl import XfrmctlDaemon

INTERVAL, THRESHOLD = 2, 1  # vpn-monitor-options minimums
PING_INTERVAL = 0.2
BOUND = INTERVAL * THRESHOLD + INTERVAL


def monitor_config(dev: str) -> str:
    data = config_data(dev)
    ipsec = data["security"]["ipsec"]
    ipsec["vpn"]["vpn1"]["vpn-monitor"] = {
        "destination-ip": "198.18.2.1", "source-interface": "st0.0",
    }  # fmt: skip
    ipsec["vpn-monitor-options"] = {"interval": INTERVAL, "threshold": THRESHOLD}
    return json.dumps(data, indent=2)


def symmetric_return(b: Netns, dev_b: str) -> None:
    """b answers a request by the path it came in on: in clear over the link, or through st0."""
    rules = (
        "table inet labsym {\n"
        "  chain pre { type filter hook prerouting priority mangle; policy accept;\n"
        f'    iifname "{dev_b}" ip daddr 198.18.2.0/24 ct mark set 1\n'
        '    iifname "st0.0" ct mark set 0\n'
        "  }\n"
        "  chain out { type route hook output priority mangle; policy accept;\n"
        "    ct mark 1 meta mark set 1\n"
        "  }\n"
        "}\n"
    )
    b.run("nft", "-f", "-", input_text=rules)
    b.ip("rule", "add", "fwmark", "1", "lookup", "100")
    b.ip("route", "add", "198.18.1.0/24", "via", "192.0.2.1", "dev", dev_b, "table", "100")


def drop_esp(a: Netns, dev_a: str) -> None:
    rules = (
        "table inet labdrop {\n"
        "  chain in { type filter hook prerouting priority 0; policy accept;\n"
        f'    iifname "{dev_a}" meta l4proto esp drop\n'
        "  }\n"
        "  chain out { type filter hook postrouting priority 0; policy accept;\n"
        f'    oifname "{dev_a}" meta l4proto esp drop\n'
        "  }\n"
        "}\n"
    )
    a.run("nft", "-f", "-", input_text=rules)


def routes_to_b(a: Netns) -> list[str]:
    return [ln.strip() for ln in a.ip("route", "show", "198.18.2.0/24").stdout.splitlines()]


def vpn1(daemon: XfrmctlDaemon) -> dict[str, Any] | None:
    answer = daemon.query("security", "ipsec", "security-associations")
    return next((t for t in answer["tunnels"] if t["vpn_name"] == "vpn1" and t["sas"]), None)


def encrypted(daemon: XfrmctlDaemon) -> int:
    stats = daemon.query("security", "ipsec", "statistics")["statistics"]
    return int(stats["encrypted_packets"])


_REPLY = re.compile(r"^\[(?P<ts>[\d.]+)\] \d+ bytes from [\d.]+: icmp_seq=(?P<seq>\d+) ")
_SEQ = re.compile(r"icmp_seq=(?P<seq>\d+)")


def longest_loss(text: str) -> tuple[int, int, int]:
    """(pings sent, answered, longest run of consecutive unanswered sequence numbers)."""
    answered: set[int] = set()
    sent = 0
    for line in text.splitlines():
        m = _SEQ.search(line)
        if m:
            sent = max(sent, int(m.group("seq")))
        r = _REPLY.match(line)
        if r:
            answered.add(int(r.group("seq")))
    run = longest = 0
    for seq in range(1, sent + 1):
        run = 0 if seq in answered else run + 1
        longest = max(longest, run)
    return sent, len(answered), longest


def test_monitor_fails_over_to_backup_route_and_back(lab: Lab) -> None:
    a, b, dev_a, dev_b = route_based_pair(lab)
    for ns in (a, b):  # asymmetric paths are the point here: no reverse-path filter
        ns.sysctl("net.ipv4.conf.all.rp_filter", "0")
        ns.sysctl("net.ipv4.conf.default.rp_filter", "0")
    symmetric_return(b, dev_b)
    swan = lab.strongswan(b, route_based_connection("192.0.2.2", "192.0.2.1", start=False),
                          psk_secrets(PSK))  # fmt: skip
    swan.load()
    daemon = XfrmctlDaemon(a, lab.workdir / "xfrmctl-a", lab.procs, monitor_config(dev_a))
    daemon.start(wait=300)  # under emulation on a busy host the first start can take minutes
    spis = daemon.wait_up("vpn1")
    a.add_route("198.18.2.0/24", "via", "192.0.2.2", "metric", "100")  # the backup path
    ours, backup = routes_to_b(a)
    assert ours.startswith("198.18.2.0/24 dev st0.0 proto ") and "metric" not in ours, ours
    assert backup == f"198.18.2.0/24 via 192.0.2.2 dev {dev_a} metric 100"
    first = a.ping("198.18.2.1", source="198.18.1.1")
    assert first.returncode == 0, first.stdout + daemon.tail()
    tunnel = vpn1(daemon)
    assert tunnel is not None and tunnel["vpn_monitoring"] == "UP", tunnel
    text = daemon.cli("show", "security", "ipsec", "security-associations")
    spi_in = f"{int(spis[0], 16):x}"  # the list layout prints SPIs without zero padding
    assert re.search(rf"<\s*\d+\s+ESP:\S+\s+{spi_in}\s+\S+\s+\S+\s+U\s", text), text

    # a continuous ping across the outage and back (bounded by its own deadline)
    ping = lab.procs.start("ping-a", a.exec_argv([
        "ping", "-n", "-D", "-O", "-i", str(PING_INTERVAL), "-W", "1", "-w", "120",
        "-I", "198.18.1.1", "198.18.2.1",
    ]), lab.workdir / "ping.log")  # fmt: skip
    time.sleep(2)

    dropped_at = time.time()
    drop_esp(a, dev_a)
    wait_for("monitor D", lambda: log_events(daemon, "VPN monitor: tunnel down"), BOUND + 10)
    [down] = log_events(daemon, "VPN monitor: tunnel down")
    detected = unix_time(down) - dropped_at
    print(f"VPN monitor declared D {detected:.2f}s after ESP was dropped (bound {BOUND}s)")
    assert 0 < detected <= BOUND + 0.5, detected
    wait_for("route withdrawn", lambda: len(routes_to_b(a)) == 1, 5, step=0.1)
    assert routes_to_b(a) == [backup]

    # the SAs are renegotiated over the IKE SA (IKE passes) and shown with Mon D
    def renewed_down() -> bool:
        t = vpn1(daemon)
        return t is not None and t["vpn_monitoring"] == "DOWN" and daemon.spis("vpn1") != spis

    wait_for("new SAs with Mon D", renewed_down, 60)
    text = daemon.cli("show", "security", "ipsec", "security-associations")
    assert re.search(r"<\s*\d+\s+ESP:\S+\s+[0-9a-f]{8}\s+\S+\s+\S+\s+D\s", text), text
    time.sleep(2)  # pings keep flowing over the backup path

    ups_before = len(log_events(daemon, "VPN monitor: tunnel up"))
    a.run("nft", "delete", "table", "inet", "labdrop")
    restored_at = time.time()
    wait_for("monitor U", lambda: len(log_events(daemon, "VPN monitor: tunnel up")) > ups_before,
             2 * INTERVAL + 10)  # fmt: skip
    up = log_events(daemon, "VPN monitor: tunnel up")[-1]
    print(f"VPN monitor back to U {unix_time(up) - restored_at:.2f}s after ESP flows again")
    wait_for("route restored", lambda: len(routes_to_b(a)) == 2, 5, step=0.1)
    assert routes_to_b(a) == [ours, backup]
    tunnel = vpn1(daemon)
    assert tunnel is not None and tunnel["vpn_monitoring"] == "UP", tunnel
    assert "dev st0.0" in a.ip("route", "get", "198.18.2.1", "from", "198.18.1.1").stdout
    time.sleep(1)
    lab.procs.stop(ping, signal.SIGINT)
    sent, answered, longest = longest_loss(ping.log.read_text(errors="replace"))
    loss = longest * PING_INTERVAL
    print(f"ping: {sent} sent, {answered} answered, longest loss {loss:.1f}s (bound {BOUND}s)")
    assert sent >= 40 and answered >= sent - longest - 2, (sent, answered, longest)
    # measured in whole pings: one ping interval of granularity on top of the bound
    assert loss <= BOUND + PING_INTERVAL, loss

    # traffic is back in the tunnel: the outbound SA counts these pings
    before = encrypted(daemon)
    back = a.ping("198.18.2.1", source="198.18.1.1", count=5)
    assert back.returncode == 0, back.stdout + daemon.tail()
    assert encrypted(daemon) - before >= 5
    swan_child = next(iter(swan.list_sas()["vpn"]["child-sas"].values()))
    assert daemon.spis("vpn1") == (swan_child["spi-out"], swan_child["spi-in"])
    assert daemon.stop() == 0
    assert a.ip("xfrm", "state").stdout.strip() == ""
    assert routes_to_b(a) == [backup]
