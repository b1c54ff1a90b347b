"""The xfrmctl daemon's IKEv1 gateway against Libreswan's pluto: main mode, pre-shared key.

One topology (a: xfrmctl, b: pluto, 192.0.2.0/24), both roles one after the other: xfrmctl
initiates to pluto, then pluto initiates to xfrmctl. Each time the SPIs xfrmctl shows are the
ones in pluto's kernel (directions swapped), ping passes through ESP both ways, and SIGTERM
leaves nothing of xfrmctl's behind.
"""

from __future__ import annotations

from integration.lab.libreswan import Libreswan, esp_spis
from integration.lab.netns import Netns
from integration.lab.topology import Lab
from integration.lab.xfrmctl import XfrmctlDaemon, yaml_config

PSK = "lab-only-secret-0123456789"
START_WAIT = 300.0  # a busy emulated VM can take minutes to import and start the daemon
A, B = "192.0.2.1", "192.0.2.2"
IKE = {"dh-group": "group14", "authentication-algorithm": "sha-256",
       "encryption-algorithm": "aes-128-cbc"}  # fmt: skip
ESP = {"encryption-algorithm": "aes-128-cbc", "authentication-algorithm": "hmac-sha-256-128"}


def pluto_conn(interface: int) -> dict[str, str]:
    """Pluto does not re-create ipsecN for a second connection: each role gets its own N."""
    return {
        "ikev2": "no", "authby": "secret",
        "left": B, "leftid": B, "right": A, "rightid": A,
        "leftsubnet": "0.0.0.0/0", "rightsubnet": "0.0.0.0/0",
        "ike": "aes128-sha2_256;modp2048", "esp": "aes128-sha2_256;modp2048",
        "ipsec-interface": str(interface), "leftupdown": "%disabled", "auto": "ignore",
    }  # fmt: skip


def check(a: Netns, b: Netns, daemon: XfrmctlDaemon, pluto: Libreswan, dev: str) -> None:
    spi_in, spi_out = daemon.wait_up("vpn1")
    kernel_b = esp_spis(b)
    assert (A, B, spi_out) in kernel_b and (B, A, spi_in) in kernel_b, kernel_b
    [ike] = daemon.ike_sas()
    assert (ike["state"], ike["exchange_type"]) == ("UP", "Main")
    pluto.interface_up(dev, "198.18.255.2/30", "198.18.1.0/24")
    forth = a.ping("198.18.2.1", source="198.18.1.1")
    back = b.ping("198.18.1.1", source="198.18.2.1")
    assert forth.returncode == 0, forth.stdout + daemon.tail() + pluto.tail()
    assert back.returncode == 0, back.stdout + daemon.tail() + pluto.tail()
    assert daemon.stop() == 0, daemon.tail()
    assert a.ip("xfrm", "state").stdout.strip() == ""
    assert a.ip("xfrm", "policy").stdout.strip() == ""


def test_ikev1_main_mode_with_pluto_both_roles(lab: Lab) -> None:
    a, b = lab.netns("a"), lab.netns("b")
    dev_a, _ = lab.link(a, b, f"{A}/24", f"{B}/24")
    a.add_addr("lo", "198.18.1.1/24")
    b.add_addr("lo", "198.18.2.1/24")
    pluto = Libreswan(b, lab.workdir / "pluto-b", lab.procs,
                      conns={"v1": pluto_conn(1), "v1r": pluto_conn(2)},
                      secrets=[f'{B} {A} : PSK "{PSK}"'])  # fmt: skip
    pluto.start()

    def xfrmctl(name: str, establish: str) -> XfrmctlDaemon:
        text = yaml_config(remote=B, external=dev_a, st0_address="198.18.255.1/30",
                           route="198.18.2.0/24", psk=PSK, ike=IKE, esp=ESP, pfs="group14",
                           establish=establish, version="v1-only")  # fmt: skip
        daemon = XfrmctlDaemon(a, lab.workdir / name, lab.procs, text)
        daemon.start(wait=START_WAIT)
        return daemon

    # xfrmctl initiates, pluto responds
    pluto.add("v1")
    daemon = xfrmctl("xfrmctl-initiator", "immediately")
    pluto.wait_established("v1")
    check(a, b, daemon, pluto, "ipsec1")
    pluto.delete("v1")

    # pluto initiates, xfrmctl responds
    daemon = xfrmctl("xfrmctl-responder", "on-traffic")
    pluto.add("v1r")
    pluto.initiate("v1r")
    check(a, b, daemon, pluto, "ipsec2")
