"""`xfrmctl daemon --metrics`: two xfrmctl routers bring a tunnel up on the real kernel, a ping
crosses it, and Prometheus' text exposition is scraped over HTTP inside the router's namespace:
the tunnel is up, its byte and packet counters are the kernel's, the IKE SA is established."""

from __future__ import annotations

import re
import sys

import pytest

from integration.lab.topology import Lab
from integration.lab.xfrmctl import XfrmctlDaemon, yaml_config

pytestmark = pytest.mark.vm
PSK = "lab-only-secret-0123456789"
IKE = {"dh-group": "group31", "authentication-algorithm": "sha-256",
       "encryption-algorithm": "aes-256-gcm"}  # fmt: skip
ESP = {"encryption-algorithm": "aes-256-gcm"}
LISTEN = "127.0.0.1:9571"
SCRAPE = (
    "import sys, urllib.request\n"
    "with urllib.request.urlopen('http://127.0.0.1:9571/metrics', timeout=30) as r:\n"
    "    print(r.headers['Content-Type']); sys.stdout.write(r.read().decode())\n"
)


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample; labels as Prometheus sorts them (alphabetically)."""
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    key = f"{name}{{{inner}}}" if labels else name
    found = [ln for ln in text.splitlines() if ln.startswith(key + " ")]
    assert len(found) == 1, f"{key} not in:\n{text}"
    return float(found[0].rsplit(" ", 1)[1])


def test_metrics_scraped_with_a_tunnel_up(lab: Lab) -> None:
    a, b = lab.netns("a"), lab.netns("b")
    dev_a, dev_b = lab.link(a, b, "192.0.2.1/24", "192.0.2.2/24")
    a.add_addr("lo", "198.18.1.1/24")
    b.add_addr("lo", "198.18.2.1/24")
    xa = XfrmctlDaemon(
        a,
        lab.workdir / "xfrmctl-a",
        lab.procs,
        yaml_config(
            remote="192.0.2.2",
            external=dev_a,
            st0_address="198.18.255.1/30",
            route="198.18.2.0/24",
            psk=PSK,
            ike=IKE,
            esp=ESP,
        ),
        extra_args=["--metrics", LISTEN],
    )
    xb = XfrmctlDaemon(b, lab.workdir / "xfrmctl-b", lab.procs, yaml_config(
        remote="192.0.2.1", external=dev_b, st0_address="198.18.255.2/30",
        route="198.18.1.0/24", psk=PSK, ike=IKE, esp=ESP, establish="on-traffic"))  # fmt: skip
    xb.start()
    xa.start()
    xa.wait_up("vpn1", timeout=120)
    ping = a.ping("198.18.2.1", source="198.18.1.1", count=5)
    assert ping.returncode == 0, f"{ping.stdout}\n{xa.tail()}"

    scraped = a.run(sys.executable, "-c", SCRAPE, timeout=60).stdout
    content_type, _, text = scraped.partition("\n")
    assert content_type.startswith("text/plain; version=0.0.4")
    assert sample(text, "xfrmctl_tunnels_configured") == 1
    assert sample(text, "xfrmctl_tunnels_established") == 1
    assert sample(text, "xfrmctl_tunnel_up", vpn="vpn1", gateway="GW") == 1
    assert sample(text, "xfrmctl_ike_security_associations", gateway="GW",
                  state="established") == 1  # fmt: skip
    # five echoes out and five replies in, at least (the kernel's SA counters)
    for direction in ("in", "out"):
        packets = sample(text, "xfrmctl_tunnel_packets_total", vpn="vpn1", gateway="GW",
                         direction=direction)  # fmt: skip
        nbytes = sample(text, "xfrmctl_tunnel_bytes_total", vpn="vpn1", gateway="GW",
                        direction=direction)  # fmt: skip
        assert packets >= 5 and nbytes >= packets * 64, text
    assert re.search(r"^process_resident_memory_bytes \d", text, re.MULTILINE)
    assert PSK not in text
    for d in (xa, xb):
        assert d.stop() == 0
