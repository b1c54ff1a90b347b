"""The xfrmctl daemon's IKEv1 gateways (`version v1-only`) against strongSwan `version = 1`.

One topology (a: xfrmctl, b: charon over st0.0) runs four tunnels one after the other: main mode
and aggressive mode, each with xfrmctl as initiator and as responder, with the seed-000 suite
(3DES/SHA1, DH group 2, lifetime 1800) and a modern one (AES-256/SHA-256, group 14). Each time
ping passes through ESP both ways, `show` lists the SAs with charon's SPIs (in/out swapped) and
the exchange mode, and SIGTERM leaves nothing behind. Then NAT-T through the NAT namespace, and
RFC 3706 DPD: charon killed -> the SAs go, charon back -> the tunnel is up again.
"""

from __future__ import annotations

import signal
import time
from typing import Any

from integration.lab.netns import LabError, Netns, xfrm_interface
from integration.lab.strongswan import StrongSwan, route_based_connection
from integration.lab.topology import Lab, route_based_pair
from integration.lab.xfrmctl import XfrmctlDaemon, yaml_config

PSK = "lab-only-secret-0123456789"
START_WAIT = 300.0  # a busy emulated VM can take minutes to import and start the daemon
AGGRESSIVE_PSK = {"i_dont_care_about_security_and_use_aggressive_mode_psk": "yes"}

# name -> (charon IKE, charon ESP, Junos IKE proposal, Junos ESP proposal, PFS group)
SUITES: dict[str, tuple[str, str, dict[str, str], dict[str, str], str | None]] = {
    "seed000": (
        "3des-sha1-modp1024", "3des-sha1",
        {"dh-group": "group2", "authentication-algorithm": "sha1",
         "encryption-algorithm": "3des-cbc", "lifetime-seconds": "1800"},
        {"encryption-algorithm": "3des-cbc", "authentication-algorithm": "hmac-sha1-96"},
        None,
    ),
    "modern": (
        "aes256-sha256-modp2048", "aes256-sha256-modp2048",
        {"dh-group": "group14", "authentication-algorithm": "sha-256",
         "encryption-algorithm": "aes-256-cbc"},
        {"encryption-algorithm": "aes-256-cbc", "authentication-algorithm": "hmac-sha-256-128"},
        "group14",
    ),
}  # fmt: skip
# (exchange mode, xfrmctl's role, suite)
CASES = [
    ("main", "initiator", "seed000"),
    ("main", "responder", "modern"),
    ("aggressive", "initiator", "modern"),
    ("aggressive", "responder", "seed000"),
]
SHOWN_MODE = {"main": "Main", "aggressive": "Aggressive"}


def swan_conn(me: str, peer: str, suite: str, *, aggressive: bool) -> dict[str, Any]:
    ike, esp = SUITES[suite][:2]
    conn = route_based_connection(me, peer, start=False, proposals=ike, esp_proposals=esp,
                                  version=1, aggressive=aggressive)  # fmt: skip
    conn["vpn"]["rekey_time"] = "1800s" if suite == "seed000" else "14400s"
    return conn


def xfrmctl_config(remote: str, dev: str, suite: str, *, mode: str, establish: str,
                   gateway: dict[str, Any] | None = None) -> str:  # fmt: skip
    _, _, ike, esp, pfs = SUITES[suite]
    return yaml_config(
        remote=remote, external=dev, st0_address="198.18.255.1/30", route="198.18.2.0/24",
        psk=PSK, ike=ike, esp=esp, pfs=pfs, establish=establish, version="v1-only", mode=mode,
        gateway=gateway,
    )  # fmt: skip


def topology(lab: Lab) -> tuple[Netns, Netns, str]:
    a, b, dev_a, _ = route_based_pair(lab)
    return a, b, dev_a


def check_tunnel(a: Netns, b: Netns, daemon: XfrmctlDaemon, swan_ike: dict[str, Any],
                 mode: str) -> None:  # fmt: skip
    assert swan_ike["version"] == "1"
    (child,) = swan_ike["child-sas"].values()
    spi_in, spi_out = daemon.wait_up("vpn1")
    assert (spi_in, spi_out) == (child["spi-out"], child["spi-in"])
    [ike] = daemon.ike_sas()
    assert (ike["state"], ike["exchange_type"]) == ("UP", SHOWN_MODE[mode])
    assert ike["initiator_cookie"] == swan_ike["initiator-spi"]
    assert ike["responder_cookie"] == swan_ike["responder-spi"]
    [tunnel] = daemon.tunnels()
    assert tunnel["version"] == "IKEv1"
    listing = daemon.cli("show", "security", "ike", "security-associations")
    assert SHOWN_MODE[mode] in listing.splitlines()[1], listing
    forth = a.ping("198.18.2.1", source="198.18.1.1")
    back = b.ping("198.18.1.1", source="198.18.2.1")
    assert forth.returncode == 0, forth.stdout + daemon.tail()
    assert back.returncode == 0, back.stdout + daemon.tail()


def wait_gone(swan: StrongSwan, timeout: float = 60.0) -> None:
    """charon dropped the connection's SAs (our deletes reached it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "vpn" not in swan.list_sas():
            return
        time.sleep(0.5)
    raise LabError(f"charon still has SAs: {swan.list_sas()}")


def test_ikev1_main_and_aggressive_both_roles(lab: Lab) -> None:
    a, b, dev_a = topology(lab)
    swan = lab.strongswan(b, {}, {"ike-1": {"secret": PSK}}, charon_options=AGGRESSIVE_PSK)
    for mode, role, suite in CASES:
        aggressive = mode == "aggressive"
        swan.connections = swan_conn("192.0.2.2", "192.0.2.1", suite, aggressive=aggressive)
        swan.load()
        establish = "immediately" if role == "initiator" else "on-traffic"
        text = xfrmctl_config("192.0.2.2", dev_a, suite, mode=mode, establish=establish)
        daemon = XfrmctlDaemon(a, lab.workdir / f"xfrmctl-{mode}-{role}", lab.procs, text)
        daemon.start(wait=START_WAIT)
        if role == "responder":
            swan.initiate("net")
        swan_ike = swan.wait_established("vpn", "net", timeout=120)
        assert (swan_ike.get("initiator") == "yes") is (role == "responder"), swan_ike
        check_tunnel(a, b, daemon, swan_ike, mode)
        assert daemon.stop() == 0, daemon.tail()
        assert a.ip("xfrm", "state").stdout.strip() == ""
        assert a.ip("xfrm", "policy").stdout.strip() == ""
        wait_gone(swan)


def test_ikev1_behind_nat_floats_to_4500(lab: Lab) -> None:
    a, nat, b = lab.netns("a"), lab.netns("nat"), lab.netns("b")
    dev_a, _ = lab.link(a, nat, "203.0.113.1/24", "203.0.113.254/24")
    _, dev_b = lab.link(nat, b, "198.51.100.254/24", "198.51.100.2/24")
    lab.nat(nat, nat.links[0])
    b.ip("route", "add", "default", "via", "198.51.100.254")
    xfrm_interface(a, "st0.0", 1, dev_a, "198.18.255.2/30")
    a.add_addr("lo", "198.18.2.1/24")
    b.add_addr("lo", "198.18.1.1/24")
    a.add_route("198.18.1.0/24", "dev", "st0.0")
    conn = swan_conn("203.0.113.1", "%any", "modern", aggressive=False)
    conn["vpn"]["remote"]["id"] = "198.51.100.2"
    swan = lab.strongswan(a, conn, {"ike-1": {"secret": PSK}})
    swan.load()
    daemon = XfrmctlDaemon(b, lab.workdir / "xfrmctl-b", lab.procs, xfrmctl_config(
        "203.0.113.1", dev_b, "modern", mode="main", establish="immediately",
        gateway={"nat-keepalive": 5}))  # fmt: skip
    daemon.start(wait=START_WAIT)
    swan_ike = swan.wait_established("vpn", "net", timeout=120)
    assert swan_ike.get("nat-remote") == "yes"
    (child,) = swan_ike["child-sas"].values()
    assert child.get("encap") == "yes"
    spi_in, spi_out = daemon.wait_up("vpn1")
    assert (spi_in, spi_out) == (child["spi-out"], child["spi-in"])
    [sa] = daemon.ike_sas()
    assert (sa["local_port"], sa["remote_port"], sa["local_behind_nat"]) == (4500, 4500, True)
    assert "encap type espinudp" in b.ip("xfrm", "state").stdout
    forth = b.ping("198.18.2.1", source="198.18.1.1")
    back = a.ping("198.18.1.1", source="198.18.2.1")
    assert forth.returncode == 0, forth.stdout + daemon.tail()
    assert back.returncode == 0, back.stdout + daemon.tail()
    assert daemon.stop() == 0
    assert b.ip("xfrm", "state").stdout.strip() == ""


def test_ikev1_dpd_peer_killed_and_back(lab: Lab) -> None:
    a, b, dev_a = topology(lab)
    conn = swan_conn("192.0.2.2", "192.0.2.1", "modern", aggressive=False)
    swan = lab.strongswan(b, conn, {"ike-1": {"secret": PSK}})
    swan.load()
    dpd = {"dead-peer-detection": {"always-send": None, "interval": 10, "threshold": 2}}
    text = xfrmctl_config("192.0.2.2", dev_a, "modern", mode="main", establish="immediately",
                          gateway=dpd)  # fmt: skip
    daemon = XfrmctlDaemon(a, lab.workdir / "xfrmctl-a", lab.procs, text)
    daemon.start(wait=START_WAIT)
    swan.wait_established("vpn", "net", timeout=120)
    first = daemon.wait_up("vpn1")
    assert swan.process is not None
    lab.procs.stop(swan.process, signal.SIGKILL)
    b.ip("xfrm", "state", "flush")  # the peer "rebooted": its kernel forgot the SAs too
    b.ip("xfrm", "policy", "flush")
    deadline = time.monotonic() + 90
    while daemon.query("security", "ipsec", "security-associations")["tunnels"]:
        if time.monotonic() > deadline:
            raise LabError("DPD did not remove the SAs:\n" + daemon.tail())
        time.sleep(1)
    [inactive] = daemon.query("security", "ipsec", "inactive-tunnels")["tunnels"]
    assert inactive["tunnel_down_reason"].startswith("Peer is not responding"), inactive
    assert f"spi 0x{first[0]}" not in a.ip("xfrm", "state").stdout
    (swan.workdir / "charon.vici").unlink(missing_ok=True)  # the killed charon's socket
    swan.start()
    swan.load()
    again = daemon.wait_up("vpn1", timeout=120)
    assert again != first
    swan.wait_established("vpn", "net", timeout=60)
    forth = a.ping("198.18.2.1", source="198.18.1.1")
    assert forth.returncode == 0, forth.stdout + daemon.tail()
    assert daemon.stop() == 0
