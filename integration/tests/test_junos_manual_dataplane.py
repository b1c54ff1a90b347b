"""Junos data-plane options on one topology: two xfrmctl daemons with a manual-key VPN pass
traffic; `df-bit clear` (site a) and `df-bit copy` (site b) are seen on the wire; `tcp-mss
ipsec-vpn mss 1200` (site a) clamps a TCP SYN going through the tunnel."""

from __future__ import annotations

import re
import sys
import time

from integration.lab.capture import start_capture
from integration.lab.netns import Netns, run
from integration.lab.topology import Lab
from integration.lab.xfrmctl import XfrmctlDaemon

ENC_KEY = "00112233445566778899aabbccddeeff"
AUTH_KEY = "0123456789abcdef" * 4
SPI = 4660  # 0x1234
MSS = 1200


def manual_config(*, me: int, peer: int, dev: str, df_bit: str, mss: int | None) -> str:
    lines = [
        f"set interfaces st0 unit 0 family inet address 198.18.255.{me}/30",
        "set security ipsec vpn M bind-interface st0.0",
        f"set security ipsec vpn M df-bit {df_bit}",
        f"set security ipsec vpn M manual gateway 192.0.2.{peer}",
        f"set security ipsec vpn M manual external-interface {dev}",
        f"set security ipsec vpn M manual spi {SPI}",
        "set security ipsec vpn M manual protocol esp",
        "set security ipsec vpn M manual encryption algorithm aes-128-cbc key hexadecimal "
        f"{ENC_KEY}",
        "set security ipsec vpn M manual authentication algorithm hmac-sha-256-128 key "
        f"hexadecimal {AUTH_KEY}",
        f"set routing-options static route 198.18.{peer}.0/24 next-hop st0.0",
    ]  # fmt: skip
    if mss is not None:
        lines.append(f"set security flow tcp-mss ipsec-vpn mss {mss}")
    return "\n".join(lines) + "\n"


def daemon(lab: Lab, ns: Netns, text: str) -> XfrmctlDaemon:
    d = XfrmctlDaemon(ns, lab.workdir / f"xfrmctl-{ns.name}", lab.procs, text,
                      config_name="xfrmctl.set")  # fmt: skip
    d.start(wait=300)  # the daemon's first import is slow in a loaded emulated VM
    return d


def esp_flags(lab: Lab, ns: Netns, dev: str) -> dict[str, list[str]]:
    """Outer IPv4 `flags [..]` of every captured ESP packet, per source address."""
    out: dict[str, list[str]] = {}
    for pcap in lab.captured(ns, dev):
        text = run(["tcpdump", "-nn", "-v", "-r", str(pcap), "esp"], check=False).stdout
        for flags, src in re.findall(r"flags \[([^\]]*)\], proto ESP.*\n\s+(\S+) >", text):
            out.setdefault(src, []).append(flags)
    return out


def test_manual_sa_pair_df_bit_and_tcp_mss(lab: Lab) -> None:
    a, b = lab.netns("a"), lab.netns("b")
    dev_a, dev_b = lab.link(a, b, "192.0.2.1/24", "192.0.2.2/24")
    a.add_addr("lo", "198.18.1.1/24")
    b.add_addr("lo", "198.18.2.1/24")
    xa = daemon(lab, a, manual_config(me=1, peer=2, dev=dev_a, df_bit="clear", mss=MSS))
    xb = daemon(lab, b, manual_config(me=2, peer=1, dev=dev_b, df_bit="copy", mss=None))
    assert xa.wait_up("M", timeout=30) == ("00001234", "00001234")
    xb.wait_up("M", timeout=30)
    [tunnel] = xa.tunnels()
    assert [(s["direction"], s["type"], s["protocol"]) for s in tunnel["sas"]] == [
        ("inbound", "manual", "ESP"),
        ("outbound", "manual", "ESP"),
    ]

    # traffic both ways, DF set on the inner packets (ping -M do)
    ping_a = a.run("ping", "-n", "-M", "do", "-s", "1000", "-c", "3", "-i", "0.2", "-W", "2",
                   "-I", "198.18.1.1", "198.18.2.1", check=False, timeout=40)  # fmt: skip
    assert ping_a.returncode == 0, f"{ping_a.stdout}\n{xa.tail()}"
    ping_b = b.run("ping", "-n", "-M", "do", "-s", "1100", "-c", "3", "-i", "0.2", "-W", "2",
                   "-I", "198.18.2.1", "198.18.1.1", check=False, timeout=40)  # fmt: skip
    assert ping_b.returncode == 0, f"{ping_b.stdout}\n{xb.tail()}"

    # a TCP SYN from site a through the tunnel, seen decrypted on b's st0.0
    capture_dir = lab.workdir / "pcap"
    start_capture(lab.procs, b, "st0.0", capture_dir)
    deadline = time.monotonic() + 30
    while not lab.captured(b, "st0.0") and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # tcpdump opened the file; give it a moment to attach its filter
    connect = (
        "import socket\n"
        "s = socket.socket()\n"
        "s.settimeout(3)\n"
        "s.bind(('198.18.1.1', 0))\n"
        "print(s.connect_ex(('198.18.2.1', 5001)))\n"
    )
    a.run(sys.executable, "-c", connect, check=False, timeout=20)
    syn_mss: list[int] = []
    deadline = time.monotonic() + 20
    while not syn_mss and time.monotonic() < deadline:
        time.sleep(0.5)
        for pcap in lab.captured(b, "st0.0"):
            text = run(["tcpdump", "-nn", "-r", str(pcap), "tcp[tcpflags] & tcp-syn != 0"],
                       check=False).stdout  # fmt: skip
            syn_mss += [int(m) for m in re.findall(r"198\.18\.1\.1\.\d+ > .*mss (\d+)", text)]
    assert syn_mss == [MSS], syn_mss

    # df-bit on the wire (capture on a's end of the link): a clears DF, b copies it
    flags = esp_flags(lab, a, dev_a)
    assert flags.get("192.0.2.1") and set(flags["192.0.2.1"]) == {"none"}, flags
    assert flags.get("192.0.2.2", []).count("DF") >= 3, flags  # b's DF echo requests

    assert xa.stop() == 0
    assert xb.stop() == 0
    for ns in (a, b):
        assert ns.ip("xfrm", "state").stdout.strip() == ""
        assert ns.ip("xfrm", "policy").stdout.strip() == ""
    tables = a.run("nft", "list", "tables", check=False).stdout
    assert "xfrmctl_tcp_mss" not in tables, tables
