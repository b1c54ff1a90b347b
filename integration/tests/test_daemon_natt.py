"""xfrmctl behind a NAT router against strongSwan: IKE and ESP move to UDP 4500, ESP is
UDP-encapsulated in the kernel, ping passes, and `show` prints port 4500."""

from __future__ import annotations

from typing import Any

from integration.lab.netns import xfrm_interface
from integration.lab.topology import Lab
from integration.lab.xfrmctl import XfrmctlDaemon, yaml_config

PSK = "lab-only-secret-0123456789"


def test_xfrmctl_behind_nat_floats_to_4500(lab: Lab) -> None:
    a, nat, b = lab.netns("a"), lab.netns("nat"), lab.netns("b")
    dev_a, _ = lab.link(a, nat, "203.0.113.1/24", "203.0.113.254/24")
    _, dev_b = lab.link(nat, b, "198.51.100.254/24", "198.51.100.2/24")
    lab.nat(nat, nat.links[0])
    b.ip("route", "add", "default", "via", "198.51.100.254")
    xfrm_interface(a, "st0.0", 1, dev_a, "198.18.255.1/30")
    a.add_addr("lo", "198.18.1.1/24")
    b.add_addr("lo", "198.18.2.1/24")
    a.add_route("198.18.2.0/24", "dev", "st0.0")

    conn: dict[str, Any] = {
        "vpn": {
            "version": 2,
            "local_addrs": "203.0.113.1",
            "remote_addrs": "%any",
            "proposals": "aes256gcm16-prfsha256-x25519",
            "if_id_in": 1,
            "if_id_out": 1,
            "local": {"auth": "psk", "id": "203.0.113.1"},
            "remote": {"auth": "psk", "id": "198.51.100.2"},
            "children": {
                "net": {
                    "local_ts": "0.0.0.0/0",
                    "remote_ts": "0.0.0.0/0",
                    "esp_proposals": "aes256gcm16",
                    "start_action": "none",
                }
            },
        }
    }
    swan = lab.strongswan(a, conn, {"ike-1": {"secret": PSK}})
    swan.load()
    text = yaml_config(
        remote="203.0.113.1", external=dev_b, st0_address="198.18.255.2/30",
        route="198.18.1.0/24", psk=PSK,
        ike={"dh-group": "group31", "authentication-algorithm": "sha-256",
             "encryption-algorithm": "aes-256-gcm"},
        esp={"encryption-algorithm": "aes-256-gcm"},
    )  # fmt: skip
    daemon = XfrmctlDaemon(b, lab.workdir / "xfrmctl-b", lab.procs, text)
    daemon.start()

    ike = swan.wait_established("vpn", "net", timeout=120)
    assert ike.get("nat-remote") == "yes"
    child = next(iter(ike["child-sas"].values()))
    assert child.get("encap") == "yes"
    spi_in, spi_out = daemon.wait_up("vpn1")
    assert (spi_in, spi_out) == (child["spi-out"], child["spi-in"])
    [sa] = daemon.ike_sas()
    assert (sa["remote_port"], sa["local_port"]) == (4500, 4500)
    assert sa["local_behind_nat"] is True
    [tunnel] = daemon.tunnels()
    assert tunnel["port"] == 4500
    assert "encap type espinudp" in b.ip("xfrm", "state").stdout
    text_sa = daemon.cli("show", "security", "ipsec", "security-associations")
    assert " 4500 " in text_sa, text_sa

    result = b.ping("198.18.1.1", source="198.18.2.1")
    assert result.returncode == 0, result.stdout + daemon.tail()
    back = a.ping("198.18.2.1", source="198.18.1.1")
    assert back.returncode == 0, back.stdout + daemon.tail()
    assert daemon.stop() == 0
    assert b.ip("xfrm", "state").stdout.strip() == ""
