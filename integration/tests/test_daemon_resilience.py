"""xfrmctl against strongSwan under attack and after a crash.

* Flood: a bounded generator in strongSwan's namespace sends IKE_SA_INIT requests that match
  xfrmctl's gateway (the peer's address, fresh SPIs, never answering a COOKIE) while the tunnel
  carries pings and strongSwan rekeys the child SA: xfrmctl demands COOKIEs above its threshold,
  its half-open count stays at the threshold, its memory stays bounded, the tunnel keeps working.
* Crash: `kill -9` with the tunnel up, then a restart: the stale SAs and policies are removed,
  the tunnel comes back with INITIAL_CONTACT so strongSwan drops its old SAs, and both kernels
  hold exactly the new pair (no orphan on either side).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from integration.lab.netns import Netns, xfrm_interface
from integration.lab.strongswan import route_based_connection
from integration.lab.topology import Lab
from integration.lab.xfrmctl import XfrmctlDaemon, yaml_config
from xfrmctl.keying.constants import ProtocolId
from xfrmctl.keying.ikev2.actions import Send
from xfrmctl.keying.ikev2.engine import Ikev2Engine
from xfrmctl.keying.ikev2.settings import ChildConfig, PeerConfig, PskAuth
from xfrmctl.keying.ikev2.ts import TrafficSelector
from xfrmctl.keying.transforms import parse_proposal

PSK = "lab-only-secret-0123456789"
IKE = {"dh-group": "group31", "authentication-algorithm": "sha-256",
       "encryption-algorithm": "aes-256-gcm"}  # fmt: skip
ESP = {"encryption-algorithm": "aes-256-gcm"}
THRESHOLD = 20
FLOOD_COUNT = 3000
FLOOD_SECONDS = 20.0

# The generator: FLOOD_COUNT requests at most, for FLOOD_SECONDS at most, each under a new SPI.
GENERATOR = """
import socket, sys, time
template, count, seconds = bytes.fromhex(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.2", 0))
s.setblocking(False)
end = time.monotonic() + seconds
sent = 0
while sent < count and time.monotonic() < end:
    try:
        s.sendto((0xF100D0000000 + sent).to_bytes(8, "big") + template[8:], ("192.0.2.1", 500))
        sent += 1
    except BlockingIOError:
        time.sleep(0.001)
    if sent % 50 == 0:
        time.sleep(0.05)
print(sent, round(seconds - max(0.0, end - time.monotonic()), 2))
"""


def topology(lab: Lab) -> tuple[Netns, Netns, str]:
    a, b = lab.netns("a"), lab.netns("b")
    dev_a, dev_b = lab.link(a, b, "192.0.2.1/24", "192.0.2.2/24")
    xfrm_interface(b, "st0.0", 1, dev_b, "198.18.255.2/30")
    a.add_addr("lo", "198.18.1.1/24")
    b.add_addr("lo", "198.18.2.1/24")
    b.add_route("198.18.1.0/24", "dev", "st0.0")
    return a, b, dev_a


def xfrmctl_config(dev: str, establish: str, protection: dict[str, int] | None = None) -> str:
    text = yaml_config(remote="192.0.2.2", external=dev, st0_address="198.18.255.1/30",
                       route="198.18.2.0/24", psk=PSK, ike=IKE, esp=ESP, pfs="group31",
                       establish=establish)  # fmt: skip
    if not protection:
        return text
    data = json.loads(text)  # JSON is YAML
    data["xfrmctl"] = {"ike-flood-protection": protection}
    return json.dumps(data, indent=2)


def ike_sa_init_template() -> bytes:
    """A genuine IKE_SA_INIT from 192.0.2.2 to 192.0.2.1 with the proposals xfrmctl accepts."""
    child = ChildConfig(
        name="net", local_ts=(TrafficSelector.from_network("0.0.0.0/0"),),
        remote_ts=(TrafficSelector.from_network("0.0.0.0/0"),),
        proposals=(parse_proposal("aes256gcm16-x25519", ProtocolId.ESP),),
    )  # fmt: skip
    peer = PeerConfig(name="flood", local_address="192.0.2.2", remote_address="192.0.2.1",
                      auth=PskAuth(b"not-the-key"),
                      proposals=(parse_proposal("aes256gcm16-prfsha256-x25519"),),
                      children=(child,))  # fmt: skip
    engine = Ikev2Engine([peer], os.urandom)
    sends = [a for a in engine.initiate("flood", "net", 0.0) if isinstance(a, Send)]
    return sends[0].data


def rss_kib(daemon: XfrmctlDaemon) -> int:
    assert daemon.process is not None
    status = Path(f"/proc/{daemon.process.proc.pid}/status").read_text()
    return int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("VmRSS:")))


def metrics(ns: Netns, port: int) -> dict[str, float]:
    code = (f"import urllib.request; print(urllib.request.urlopen("
            f"'http://127.0.0.1:{port}/metrics', timeout=20).read().decode())")  # fmt: skip
    out: dict[str, float] = {}
    for line in ns.run(sys.executable, "-c", code).stdout.splitlines():
        if line.startswith("xfrmctl_ike_"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def state_spis(ns: Netns) -> list[str]:
    """The SPI of every state `ip xfrm state` lists (8 hex digits)."""
    words = ns.ip("xfrm", "state").stdout.split()
    return sorted(f"{int(words[i + 1], 16):08x}" for i, w in enumerate(words) if w == "spi")


def wait_for(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what} not reached in {timeout}s")


def test_flood_engages_cookies_while_the_tunnel_works_and_rekeys(lab: Lab) -> None:
    a, b, dev_a = topology(lab)
    swan = lab.strongswan(b, route_based_connection("192.0.2.2", "192.0.2.1", start=False),
                          {"ike-1": {"secret": PSK}})  # fmt: skip
    swan.load()
    protection = {"cookie-threshold": THRESHOLD, "half-open-limit": 200, "half-open-timeout": 60}
    daemon = XfrmctlDaemon(a, lab.workdir / "xfrmctl-a", lab.procs,
                           xfrmctl_config(dev_a, "immediately", protection),
                           extra_args=["--metrics", "127.0.0.1:9464"])  # fmt: skip
    daemon.start()
    first = daemon.wait_up("vpn1")
    assert a.ping("198.18.2.1", source="198.18.1.1").returncode == 0, daemon.tail()
    rss_before = rss_kib(daemon)

    template = ike_sa_init_template()
    argv = b.exec_argv([sys.executable, "-c", GENERATOR, template.hex(), str(FLOOD_COUNT),
                        str(FLOOD_SECONDS)])  # fmt: skip
    flood = lab.procs.start("flood", argv, lab.workdir / "flood.log")
    # during the flood: pings through the tunnel, and strongSwan rekeys the child SA
    time.sleep(3.0)
    during = a.ping("198.18.2.1", source="198.18.1.1", count=5)
    swan.swanctl("--rekey", "--child", "net")
    flood.proc.wait(timeout=FLOOD_SECONDS + 30)
    sent, seconds = (lab.workdir / "flood.log").read_text().split()[:2]
    assert during.returncode == 0, during.stdout + daemon.tail()
    wait_for(lambda: daemon.spis("vpn1") != first, 60, "the child SA rekeyed")
    after = a.ping("198.18.2.1", source="198.18.1.1")
    assert after.returncode == 0, after.stdout + daemon.tail()

    m = metrics(a, 9464)
    demanded = m['xfrmctl_ike_engine_events_total{reason="COOKIE demanded",version="IKEv2"}']
    assert m['xfrmctl_ike_half_open{version="IKEv2"}'] <= THRESHOLD
    assert m["xfrmctl_ike_cookie_threshold"] == THRESHOLD
    # past the threshold every request that reached the daemon got a COOKIE, none created
    # state and none hit the limit (what the socket buffer dropped never reached it)
    assert 100 <= demanded <= int(sent) - THRESHOLD, (sent, m)
    assert m.get('xfrmctl_ike_engine_events_total{reason="half-open limit reached",'
                 'version="IKEv2"}', 0.0) == 0.0  # fmt: skip
    rss_after = rss_kib(daemon)
    udp = [ln for ln in a.run("cat", "/proc/net/snmp").stdout.splitlines() if ln.startswith("Udp:")]
    print(f"flood: {sent} IKE_SA_INIT in {seconds} s ({int(sent) / float(seconds):.0f}/s), "
          f"{demanded:.0f} COOKIEs demanded, RSS {rss_before} -> {rss_after} KiB; "
          f"{udp}")  # fmt: skip
    assert rss_after - rss_before < 20 * 1024, (rss_before, rss_after)
    assert [sa["state"] for sa in daemon.ike_sas() if sa["state"] == "UP"] == ["UP"]
    assert daemon.stop() == 0, daemon.tail()
    assert a.ip("xfrm", "state").stdout.strip() == ""


def test_kill_9_and_restart_recovers_with_no_orphan(lab: Lab) -> None:
    a, b, dev_a = topology(lab)
    swan = lab.strongswan(b, route_based_connection("192.0.2.2", "192.0.2.1", start=False),
                          {"ike-1": {"secret": PSK}})  # fmt: skip
    swan.load()
    daemon = XfrmctlDaemon(a, lab.workdir / "xfrmctl-a", lab.procs,
                           xfrmctl_config(dev_a, "immediately"))  # fmt: skip
    daemon.start()
    old_in, old_out = daemon.wait_up("vpn1")
    policies = a.ip("xfrm", "policy").stdout
    assert state_spis(a) == sorted([old_in, old_out])
    assert a.ping("198.18.2.1", source="198.18.1.1").returncode == 0, daemon.tail()

    assert daemon.process is not None
    daemon.procs.stop(daemon.process, signal.SIGKILL)
    assert daemon.process.proc.returncode == -signal.SIGKILL
    # what the killed daemon left: its SAs, policies and st0.0
    assert state_spis(a) == sorted([old_in, old_out])
    daemon.socket.unlink()  # the dead daemon's socket file; start() waits for a new one
    started = time.monotonic()
    daemon.start()
    new_in, new_out = daemon.wait_up("vpn1")
    assert {new_in, new_out}.isdisjoint({old_in, old_out})
    # strongSwan took INITIAL_CONTACT: its old SAs go, only the new pair is left on both sides
    wait_for(lambda: state_spis(b) == sorted([new_in, new_out]), 60,
             f"strongSwan's kernel holding only {new_in}/{new_out}: {state_spis(b)}")  # fmt: skip
    recovered = time.monotonic() - started
    assert state_spis(a) == sorted([new_in, new_out])
    assert a.ip("xfrm", "policy").stdout == policies  # the same policies, none twice
    assert a.ip("link", "show", "st0.0").returncode == 0
    assert a.ping("198.18.2.1", source="198.18.1.1").returncode == 0, daemon.tail()
    print(f"restart after kill -9: tunnel and peer recovered in {recovered:.1f} s")
    assert daemon.stop() == 0, daemon.tail()
    assert a.ip("xfrm", "state").stdout.strip() == ""
    assert a.ip("xfrm", "policy").stdout.strip() == ""
