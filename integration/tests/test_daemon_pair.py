"""Two xfrmctl daemons configured from Junos `set` files bring route-based tunnels up; a reload
that changes one of two VPNs leaves the other's SPIs alone, and a broken file is refused."""

from __future__ import annotations

import time

from integration.lab.netns import Netns
from integration.lab.topology import Lab
from integration.lab.xfrmctl import XfrmctlDaemon

PSK = "lab-only-secret-0123456789"


def set_config(
    *, remote: str, dev: str, me: int, peer: int, vpn2: bool, vpn2_esp: str = "aes-256-gcm"
) -> str:
    """me/peer: 1 or 2 (site numbers); site N owns 198.18.N.0/24 (vpn1), 198.18.1N.0/24 (vpn2)."""
    establish = "immediately" if me == 1 else "on-traffic"
    lines = [
        "set security ike proposal P1 authentication-method pre-shared-keys",
        "set security ike proposal P1 dh-group group31",
        "set security ike proposal P1 authentication-algorithm sha-256",
        "set security ike proposal P1 encryption-algorithm aes-256-gcm",
        "set security ike policy IKEPOL mode main",
        "set security ike policy IKEPOL proposals P1",
        f'set security ike policy IKEPOL pre-shared-key ascii-text "{PSK}"',
        "set security ike gateway GW ike-policy IKEPOL",
        f"set security ike gateway GW address {remote}",
        f"set security ike gateway GW external-interface {dev}",
        "set security ike gateway GW version v2-only",
        "set security ipsec proposal P2 protocol esp",
        "set security ipsec proposal P2 encryption-algorithm aes-256-gcm",
        "set security ipsec policy IPSECPOL proposals P2",
        "set security ipsec vpn vpn1 bind-interface st0.0",
        "set security ipsec vpn vpn1 ike gateway GW",
        "set security ipsec vpn vpn1 ike ipsec-policy IPSECPOL",
        f"set security ipsec vpn vpn1 ike proxy-identity local 198.18.{me}.0/24",
        f"set security ipsec vpn vpn1 ike proxy-identity remote 198.18.{peer}.0/24",
        f"set security ipsec vpn vpn1 establish-tunnels {establish}",
        f"set interfaces st0 unit 0 family inet address 198.18.255.{me}/30",
        f"set routing-options static route 198.18.{peer}.0/24 next-hop st0.0",
    ]  # fmt: skip
    if vpn2:
        if vpn2_esp.endswith("cbc"):
            esp = [
                f"set security ipsec proposal P3 encryption-algorithm {vpn2_esp}",
                "set security ipsec proposal P3 authentication-algorithm hmac-sha-256-128",
            ]
        else:
            esp = [f"set security ipsec proposal P3 encryption-algorithm {vpn2_esp}"]
        lines += [
            "set security ipsec proposal P3 protocol esp",
            *esp,
            "set security ipsec policy IPSECPOL3 proposals P3",
            "set security ipsec vpn vpn2 bind-interface st0.1",
            "set security ipsec vpn vpn2 ike gateway GW",
            "set security ipsec vpn vpn2 ike ipsec-policy IPSECPOL3",
            f"set security ipsec vpn vpn2 ike proxy-identity local 198.18.1{me}.0/24",
            f"set security ipsec vpn vpn2 ike proxy-identity remote 198.18.1{peer}.0/24",
            f"set security ipsec vpn vpn2 establish-tunnels {establish}",
            f"set interfaces st0 unit 1 family inet address 198.18.255.{4 + me}/30",
            f"set routing-options static route 198.18.1{peer}.0/24 next-hop st0.1",
        ]  # fmt: skip
    return "\n".join(lines) + "\n"


def sites(lab: Lab) -> tuple[Netns, Netns, str, str]:
    a, b = lab.netns("a"), lab.netns("b")
    dev_a, dev_b = lab.link(a, b, "192.0.2.1/24", "192.0.2.2/24")
    for ns, n in ((a, 1), (b, 2)):
        ns.add_addr("lo", f"198.18.{n}.1/24")
        ns.add_addr("lo", f"198.18.1{n}.1/24")
    return a, b, dev_a, dev_b


def daemon(lab: Lab, ns: Netns, text: str) -> XfrmctlDaemon:
    d = XfrmctlDaemon(ns, lab.workdir / f"xfrmctl-{ns.name}", lab.procs, text,
                      config_name="xfrmctl.set")  # fmt: skip
    d.start()
    return d


def test_two_xfrmctl_daemons_from_set_files_then_reload(lab: Lab) -> None:
    a, b, dev_a, dev_b = sites(lab)
    conf_b = set_config(remote="192.0.2.1", dev=dev_b, me=2, peer=1, vpn2=True)
    conf_a = set_config(remote="192.0.2.2", dev=dev_a, me=1, peer=2, vpn2=True)
    xb = daemon(lab, b, conf_b)
    xa = daemon(lab, a, conf_a)
    spis = {v: xa.wait_up(v, timeout=150) for v in ("vpn1", "vpn2")}
    for v, (spi_in, spi_out) in spis.items():
        assert xb.wait_up(v) == (spi_out, spi_in)
    for n, src, dst in ((1, "198.18.1.1", "198.18.2.1"), (2, "198.18.11.1", "198.18.12.1")):
        result = a.ping(dst, source=src)
        assert result.returncode == 0, f"vpn{n}: {result.stdout}\n{xa.tail()}"
        back = b.ping(src, source=dst)
        assert back.returncode == 0, f"vpn{n}: {back.stdout}\n{xb.tail()}"

    # change vpn2's proposal on both sides: vpn1 keeps its SAs
    xb.reload(set_config(remote="192.0.2.1", dev=dev_b, me=2, peer=1, vpn2=True,
                         vpn2_esp="aes-128-cbc"))  # fmt: skip
    out = xa.reload(set_config(remote="192.0.2.2", dev=dev_a, me=1, peer=2, vpn2=True,
                               vpn2_esp="aes-128-cbc"))  # fmt: skip
    assert "error" not in out.lower(), out
    xa.wait_up("vpn2", timeout=90)
    for _ in range(60):
        answer = xa.query("security", "ipsec", "security-associations")
        tunnels = {t["vpn_name"]: t for t in answer["tunnels"]}
        vpn2 = tunnels.get("vpn2")
        if vpn2 and vpn2["sas"][0]["algorithm"] == "ESP:aes-128/sha256":
            break
        time.sleep(1)
    new_vpn2 = xa.spis("vpn2")
    assert new_vpn2 != spis["vpn2"]
    assert xa.spis("vpn1") == spis["vpn1"]
    assert a.ping("198.18.12.1", source="198.18.11.1").returncode == 0

    # a broken file is refused with its line number; tunnels stay up
    broken = conf_a.replace("version v2-only", "version v7-only")
    answer = xa.reload(broken)
    line = next(i for i, ln in enumerate(broken.splitlines(), 1) if "v7-only" in ln)
    assert f"xfrmctl.set:{line}:" in answer, answer
    assert xa.spis("vpn1") == spis["vpn1"]
    assert a.ping("198.18.2.1", source="198.18.1.1").returncode == 0

    assert xa.stop() == 0
    assert xb.stop() == 0
    for ns in (a, b):
        assert ns.ip("xfrm", "state").stdout.strip() == ""
        assert ns.ip("xfrm", "policy").stdout.strip() == ""
