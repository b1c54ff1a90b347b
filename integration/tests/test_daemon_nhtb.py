"""NHTB on a real kernel: an xfrmctl hub with three spokes on one multipoint st0.0.

The hub (xfrmctl, Junos `set` file) binds three VPNs to `st0.0 multipoint`. Spokes 1 and 2 are
xfrmctl daemons on point-to-point units: the hub learns their tunnel addresses from the
negotiation (Auto). Spoke 3 is strongSwan, which advertises nothing: the hub has a Static
`next-hop-tunnel` entry for it. All four sit on one outer segment (a bridge). Each spoke's LAN is
a /24 on its loopback; each spoke routes 198.18.0.0/16 into its tunnel, so spoke-to-spoke traffic
crosses the hub, which picks the VPN by the route's next hop.

One topology serves the three scenarios (module scope): reachability and the NHTB table, a route
added and removed with `ip route` at the hub, and a spoke killed and restarted.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from integration.conftest import RESULTS
from integration.lab.netns import LabError, Netns, xfrm_interface
from integration.lab.procs import Started
from integration.lab.strongswan import StrongSwan, psk_secrets, route_based_connection
from integration.lab.topology import Lab
from integration.lab.xfrmctl import XfrmctlDaemon

PSK = "lab-only-secret-0123456789"
HUB = "192.0.2.1"
SPOKES = (1, 2, 3)  # spoke N: outer 192.0.2.1N, st0 198.18.254.1N, LAN 198.18.N.0/24
XFRMCTL_SPOKES = (1, 2)
START_WAIT = 300.0  # three daemons and charon in one emulated VM start slowly

COMMON = """\
set security ike proposal P1 authentication-method pre-shared-keys
set security ike proposal P1 dh-group group31
set security ike proposal P1 authentication-algorithm sha-256
set security ike proposal P1 encryption-algorithm aes-256-gcm
set security ike policy IKEPOL mode main
set security ike policy IKEPOL proposals P1
set security ike policy IKEPOL pre-shared-key ascii-text "{psk}"
set security ipsec proposal P2 protocol esp
set security ipsec proposal P2 encryption-algorithm aes-256-gcm
set security ipsec policy IPSECPOL perfect-forward-secrecy keys group31
set security ipsec policy IPSECPOL proposals P2
"""


def outer(n: int) -> str:
    return f"192.0.2.1{n}"


def tunnel_address(n: int) -> str:
    return f"198.18.254.1{n}"


def lan(n: int) -> str:
    """The host address on spoke n's LAN (n = 0: the hub's LAN)."""
    return f"198.18.{n}.1"


def hub_config(dev: str) -> str:
    lines = [COMMON.format(psk=PSK).rstrip("\n")]
    for n in SPOKES:
        lines += [
            f"set security ike gateway GW{n} ike-policy IKEPOL",
            f"set security ike gateway GW{n} address {outer(n)}",
            f"set security ike gateway GW{n} external-interface {dev}",
            f"set security ike gateway GW{n} version v2-only",
            f"set security ike gateway GW{n} dead-peer-detection always-send",
            f"set security ike gateway GW{n} dead-peer-detection interval 10",
            f"set security ipsec vpn spoke{n} bind-interface st0.0",
            f"set security ipsec vpn spoke{n} ike gateway GW{n}",
            f"set security ipsec vpn spoke{n} ike ipsec-policy IPSECPOL",
            f"set routing-options static route 198.18.{n}.0/24 next-hop {tunnel_address(n)}",
        ]
    lines += [
        "set interfaces st0 unit 0 multipoint",
        "set interfaces st0 unit 0 family inet address 198.18.254.1/24",
        f"set interfaces st0 unit 0 family inet next-hop-tunnel {tunnel_address(3)} "
        "ipsec-vpn spoke3",
    ]
    return "\n".join(lines) + "\n"


def spoke_config(n: int, dev: str) -> str:
    lines = [
        COMMON.format(psk=PSK).rstrip("\n"),
        "set security ike gateway HUB ike-policy IKEPOL",
        f"set security ike gateway HUB address {HUB}",
        f"set security ike gateway HUB external-interface {dev}",
        "set security ike gateway HUB version v2-only",
        "set security ipsec vpn to-hub bind-interface st0.0",
        "set security ipsec vpn to-hub ike gateway HUB",
        "set security ipsec vpn to-hub ike ipsec-policy IPSECPOL",
        "set security ipsec vpn to-hub establish-tunnels immediately",
        f"set interfaces st0 unit 0 family inet address {tunnel_address(n)}/24",
        "set routing-options static route 198.18.0.0/16 next-hop st0.0",
    ]
    return "\n".join(lines) + "\n"


@dataclass
class HubAndSpokes:
    lab: Lab
    hub: Netns
    spokes: dict[int, Netns]
    hub_daemon: XfrmctlDaemon
    spoke_daemons: dict[int, XfrmctlDaemon]
    swan: StrongSwan

    def wait_all_up(self, timeout: float = 150.0) -> None:
        for n in SPOKES:
            self.hub_daemon.wait_up(f"spoke{n}", timeout=timeout)
        for n in XFRMCTL_SPOKES:
            self.spoke_daemons[n].wait_up("to-hub", timeout=timeout)
        self.wait_entries(3, timeout=30)

    def wait_entries(self, count: int, timeout: float) -> list[dict[str, str]]:
        deadline = time.monotonic() + timeout
        entries: list[dict[str, str]] = []
        while time.monotonic() < deadline:
            view = self.hub_daemon.query("security", "ipsec", "next-hop-tunnels")
            entries = list(view["next_hop_tunnels"])
            if len(entries) == count:
                return entries
            time.sleep(0.5)
        raise LabError(f"hub: {len(entries)} NHTB entries, not {count}: {entries}")


def _start_spoke(lab: Lab, ns: Netns, n: int, dev: str) -> XfrmctlDaemon:
    d = XfrmctlDaemon(ns, lab.workdir / f"spoke{n}", lab.procs, spoke_config(n, dev),
                      config_name=f"spoke{n}.set")  # fmt: skip
    d.start(wait=START_WAIT)
    return d


@pytest.fixture(scope="module")
def topo(request: pytest.FixtureRequest) -> Iterator[HubAndSpokes]:
    lab = Lab.create("nhtb-hub-and-spokes", Path("/tmp/lab"))
    failed_before = request.session.testsfailed
    broken = True  # until the topology is up: a failed setup keeps its artefacts too
    try:
        sw = lab.netns("sw")
        sw.ip("link", "add", "br0", "type", "bridge")
        sw.ip("link", "set", "br0", "up")
        hub = lab.netns("hub")
        spokes = {n: lab.netns(f"s{n}") for n in SPOKES}
        devs: dict[int, str] = {}
        for n, ns in ((0, hub), *spokes.items()):
            address = f"{HUB}/24" if n == 0 else f"{outer(n)}/24"
            dev, port = lab.link(ns, sw, address, [])
            lab.capture = False  # one capture, on the hub's link, is enough to debug
            sw.ip("link", "set", port, "master", "br0")
            devs[n] = dev
            ns.add_addr("lo", f"{lan(n)}/24")
        s3 = spokes[3]
        xfrm_interface(s3, "st0.0", 1, devs[3], f"{tunnel_address(3)}/24")
        s3.add_route("198.18.0.0/16", "dev", "st0.0")
        hub_daemon = XfrmctlDaemon(hub, lab.workdir / "hub", lab.procs, hub_config(devs[0]),
                                   config_name="hub.set")  # fmt: skip
        hub_daemon.start(wait=START_WAIT)
        swan = lab.strongswan(
            s3, route_based_connection(outer(3), HUB, start=True), psk_secrets(PSK)
        )
        spoke_daemons = {n: _start_spoke(lab, spokes[n], n, devs[n]) for n in XFRMCTL_SPOKES}
        swan.load()
        topology = HubAndSpokes(lab, hub, spokes, hub_daemon, spoke_daemons, swan)
        topology.wait_all_up()
        broken = False
        yield topology
    finally:
        failed = broken or request.session.testsfailed > failed_before
        artifacts = RESULTS / "artifacts" if RESULTS else None
        kept = lab.close(failed, artifacts)
        if kept:
            print(f"\n[lab] artefacts of {__name__} kept in {kept}")


# ------------------------------------------------------------------ helpers


def policies(ns: Netns) -> list[str]:
    """`ip xfrm policy` split into one text block per policy."""
    blocks: list[str] = []
    for line in ns.ip("xfrm", "policy").stdout.splitlines():
        if line.startswith("src "):
            blocks.append(line)
        elif blocks:
            blocks[-1] += "\n" + line
    return blocks


def out_policies(ns: Netns) -> dict[str, str]:
    """Out policies by destination prefix -> the outer destination of their template."""
    found: dict[str, str] = {}
    for block in policies(ns):
        if "dir out" not in block:
            continue
        dst = re.search(r"^src \S+ dst (\S+)", block)
        tmpl = re.search(r"tmpl src \S+ dst (\S+)", block)
        assert dst and tmpl, block
        found[dst.group(1)] = tmpl.group(1)
    return found


def expected_out_policies() -> dict[str, str]:
    want = {f"198.18.{n}.0/24": outer(n) for n in SPOKES}
    want.update({f"{tunnel_address(n)}/32": outer(n) for n in SPOKES})
    return want


def ping_ok(ns: Netns, src: str, dst: str, daemon: XfrmctlDaemon | None = None) -> None:
    result = ns.ping(dst, source=src, count=2)
    assert result.returncode == 0, f"{src} -> {dst}: {result.stdout}{result.stderr}" + (
        daemon.tail() if daemon else ""
    )


def replied_seqs(text: str, dst: str) -> list[int]:
    return [int(m.group(1)) for m in re.finditer(
        rf"bytes from {re.escape(dst)}: icmp_seq=(\d+)", text)]  # fmt: skip


def start_ping_stream(topo: HubAndSpokes, n: int, dst: str, name: str, interval: float,
                      count: int = 100000) -> Started:  # fmt: skip
    ns = topo.spokes[n]
    argv = ns.exec_argv(["ping", "-n", "-D", "-i", str(interval), "-c", str(count),
                         "-I", lan(n), dst])  # fmt: skip
    return topo.lab.procs.start(name, argv, topo.lab.workdir / f"{name}.log")


# ------------------------------------------------------------------ scenarios


def test_hub_and_three_spokes_on_one_multipoint_unit(topo: HubAndSpokes) -> None:
    topo.wait_all_up()
    hub = topo.hub_daemon
    text = hub.cli("show", "security", "ipsec", "next-hop-tunnels").splitlines()
    assert text[:2] == [
        "Next-hop gateway  interface   IPSec VPN name            Flag",
        "198.18.254.13     st0.0       spoke3                    Static",
    ], text
    assert sorted(text[2:]) == [
        "198.18.254.11     st0.0       spoke1                    Auto",
        "198.18.254.12     st0.0       spoke2                    Auto",
    ], text
    as_json = hub.show("security", "ipsec", "next-hop-tunnels")["next_hop_tunnels"]
    assert sorted((e["next_hop"], e["vpn_name"], e["flag"]) for e in as_json) == [
        ("198.18.254.11", "spoke1", "Auto"),
        ("198.18.254.12", "spoke2", "Auto"),
        ("198.18.254.13", "spoke3", "Static"),
    ]
    assert out_policies(topo.hub) == expected_out_policies()

    for n in SPOKES:  # each spoke's LAN reaches the hub's LAN
        ping_ok(topo.spokes[n], lan(n), lan(0), hub)
    for a, b in ((1, 2), (1, 3), (2, 3)):  # and every other spoke's LAN, through the hub
        ping_ok(topo.spokes[a], lan(a), lan(b), hub)
        ping_ok(topo.spokes[b], lan(b), lan(a), hub)


def test_ip_route_at_the_hub_carries_traffic_within_one_second(topo: HubAndSpokes) -> None:
    topo.wait_all_up()
    hub_ns, s2 = topo.hub, topo.spokes[2]
    s2.add_addr("lo", "198.18.21.1/24")  # a second LAN at spoke 2 the hub has no route to
    before = policies(topo.hub)
    assert "198.18.21.0/24" not in "\n".join(before)

    # spoke 1 pings it through the hub: unreachable until the hub routes it into spoke 2's VPN
    stream = start_ping_stream(topo, 1, "198.18.21.1", "ping-route", 0.05, count=120)
    time.sleep(1.0)
    t0 = time.time()
    hub_ns.ip("route", "add", "198.18.21.0/24", "via", tunnel_address(2), "dev", "st0.0")
    stream.proc.wait(timeout=60)
    log = (topo.lab.workdir / "ping-route.log").read_text()
    stamps = [float(m.group(1)) for m in re.finditer(
        r"^\[(\d+\.\d+)\] \d+ bytes from 198\.18\.21\.1:", log, re.M)]  # fmt: skip
    assert stamps, log + topo.hub_daemon.tail()
    delay = stamps[0] - t0
    print(f"\nroute added at the hub -> first reply through spoke 2: {delay * 1000:.0f} ms")
    assert delay < 1.0, log

    # the route's policy: the same as spoke 2's configured /24 but for the prefix
    now = policies(topo.hub)
    added = [b for b in now if " dst 198.18.21.0/24" in b.splitlines()[0]]
    model = [b for b in now if " dst 198.18.2.0/24" in b.splitlines()[0]]
    assert len(added) == 1 and len(model) == 1, now
    assert added[0] == model[0].replace("198.18.2.0/24", "198.18.21.0/24"), now
    assert sorted(now) == sorted([*before, added[0]])

    # removing the route removes exactly its policy, within the batching interval
    hub_ns.ip("route", "del", "198.18.21.0/24", "via", tunnel_address(2), "dev", "st0.0")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and policies(topo.hub) != before:
        time.sleep(0.2)
    assert policies(topo.hub) == before
    s2.ip("addr", "del", "198.18.21.1/24", "dev", "lo")


def test_killed_spoke_loses_only_its_entries_and_comes_back(topo: HubAndSpokes) -> None:
    topo.wait_all_up()
    hub = topo.hub_daemon
    others_before = sorted(b for b in policies(topo.hub) if outer(1) not in b)

    # spoke 2 -> spoke 3 (through the hub) and spoke 3 -> hub, during the whole outage
    streams = [
        (start_ping_stream(topo, 2, lan(3), "ping-s2-s3", 0.5), lan(3), "ping-s2-s3"),
        (start_ping_stream(topo, 3, lan(0), "ping-s3-hub", 0.5), lan(0), "ping-s3-hub"),
    ]
    time.sleep(2.0)
    victim = topo.spoke_daemons[1]
    victim.signal(signal.SIGKILL)
    assert victim.process is not None
    victim.process.proc.wait(timeout=10)
    topo.lab.procs.stop(victim.process)  # reaped: only forget it

    # the hub's DPD finds spoke 1 dead: its Auto entry and its policies go, nothing else
    entries = topo.wait_entries(2, timeout=120)
    assert sorted((e["next_hop"], e["flag"]) for e in entries) == [
        (tunnel_address(2), "Auto"), (tunnel_address(3), "Static")]  # fmt: skip
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(outer(1) in b for b in policies(topo.hub)):
        time.sleep(0.2)
    now = policies(topo.hub)
    assert not any(outer(1) in b for b in now), now
    assert sorted(now) == others_before
    want = {k: v for k, v in expected_out_policies().items() if v != outer(1)}
    assert out_policies(topo.hub) == want
    time.sleep(2.0)  # the streams keep running after the change

    for entry, dst, name in streams:
        topo.lab.procs.stop(entry, signal.SIGINT, timeout=10)
        log = (topo.lab.workdir / f"{name}.log").read_text()
        seqs = replied_seqs(log, dst)
        sent = re.search(r"(\d+) packets transmitted", log)
        assert seqs and sent, log
        # every request but one still in flight at the interrupt was answered
        assert seqs == list(range(1, len(seqs) + 1)), log
        assert int(sent.group(1)) - len(seqs) <= 1, log

    # spoke 1 returns: learned again, its traffic flows
    victim.socket.unlink(missing_ok=True)
    victim.start()
    victim.wait_up("to-hub", timeout=150)
    topo.wait_entries(3, timeout=60)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and out_policies(topo.hub) != expected_out_policies():
        time.sleep(0.2)
    assert out_policies(topo.hub) == expected_out_policies()
    ping_ok(topo.spokes[1], lan(1), lan(0), hub)
    ping_ok(topo.spokes[1], lan(1), lan(3), hub)
