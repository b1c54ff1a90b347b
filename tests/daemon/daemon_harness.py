"""Two daemons in one process: fake kernels, and a wire that hands each one's datagrams to the
other, so real IKEv2 exchanges run without sockets, namespaces or root."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xfrmctl.daemon.runtime import Daemon
from xfrmctl.keying.ikev2.actions import Endpoint
from xfrmctl.netlink.fake import FakeKernel

PSK = "unit-test-secret-0123456789"
GCM_IKE = {"dh-group": "group31", "authentication-algorithm": "sha-256",
           "encryption-algorithm": "aes-256-gcm"}  # fmt: skip
GCM_ESP = {"encryption-algorithm": "aes-256-gcm"}

# The two routers of most tests: their outer addresses and one VPN seen from each side.
A, B = "192.0.2.1", "192.0.2.2"
VPN1 = {"unit": 0, "address": "198.18.255.1/30", "route": "198.18.2.0/24"}
VPN1_B = {"unit": 0, "address": "198.18.255.2/30", "route": "198.18.1.0/24"}


def fake_kernel(d: Daemon) -> FakeKernel:
    """The daemon's kernel, which these tests always build as a FakeKernel."""
    assert isinstance(d.kernel, FakeKernel)
    return d.kernel


def config(
    *,
    local: str,
    remote: str,
    vpns: dict[str, dict[str, Any]],
    establish: str = "immediately",
    ike: dict[str, str] | None = None,
    version: str = "v2-only",
    mode: str = "main",
) -> str:
    """YAML (as JSON) with one gateway and one route-based VPN per entry of `vpns`.

    Each `vpns` value: unit (st0 unit), address (st0 CIDR), route, esp (Junos ESP keywords),
    proxy ((local, remote) prefixes: VPNs sharing a gateway need distinct ones, as on Junos),
    install-interval (seconds).
    """
    proposals: dict[str, Any] = {}
    policies: dict[str, Any] = {}
    vpn_section: dict[str, Any] = {}
    units: dict[int, Any] = {}
    routes: dict[str, Any] = {}
    for name, v in vpns.items():
        proposals[f"P2-{name}"] = {"protocol": "esp", **v.get("esp", GCM_ESP)}
        policies[f"POL-{name}"] = {"proposals": f"P2-{name}"}
        vpn_ike: dict[str, Any] = {"gateway": "GW", "ipsec-policy": f"POL-{name}"}
        if "proxy" in v:
            local_net, remote_net = v["proxy"]
            vpn_ike["proxy-identity"] = {"local": local_net, "remote": remote_net}
        if "install-interval" in v:
            vpn_ike["install-interval"] = v["install-interval"]
        vpn_section[name] = {
            "bind-interface": f"st0.{v['unit']}",
            "ike": vpn_ike,
            "establish-tunnels": establish,
        }
        units[v["unit"]] = {"family": {"inet": {"address": v["address"]}}}
        routes[v["route"]] = {"next-hop": f"st0.{v['unit']}"}
    data = {
        "security": {
            "ike": {
                "proposal": {
                    "P1": {"authentication-method": "pre-shared-keys", **(ike or GCM_IKE)}
                },
                "policy": {
                    "IKEPOL": {
                        "mode": mode,
                        "proposals": ["P1"],
                        "pre-shared-key": {"ascii-text": PSK},
                    }
                },
                "gateway": {
                    "GW": {
                        "ike-policy": "IKEPOL",
                        "address": remote,
                        "external-interface": "eth0",
                        "version": version,
                    }
                },
            },
            "ipsec": {"proposal": proposals, "policy": policies, "vpn": vpn_section},
        },
        "interfaces": {"st0": {"unit": units}},
        "routing-options": {"static": {"route": routes}},
    }
    _ = local
    return json.dumps(data, indent=1)


class Wire:
    """Stands in for `IkeSockets`: delivers each Send to the daemon owning the remote address."""

    def __init__(self) -> None:
        self.daemons: dict[str, Daemon] = {}
        self.sent = 0
        self.cut = False
        self.keepalives: list[tuple[Endpoint, Endpoint]] = []

    def attach(self, address: str, daemon: Daemon) -> None:
        self.daemons[address] = daemon
        wire = self

        class _Port:
            def open(self, loop: object, families: object) -> None:
                return None

            def close(self, loop: object) -> None:
                return None

            def send(self, data: bytes, local: Endpoint, remote: Endpoint) -> None:
                wire.deliver(data, local, remote)

            def send_keepalive(self, local: Endpoint, remote: Endpoint) -> None:
                wire.keepalives.append((local, remote))

        daemon.sockets = _Port()  # type: ignore[assignment]

    def deliver(self, data: bytes, local: Endpoint, remote: Endpoint) -> None:
        self.sent += 1
        peer = self.daemons.get(remote[0])
        if peer is None or self.cut:
            return
        asyncio.get_running_loop().call_soon(peer._datagram, data, remote, local)


def make_daemon(
    tmp: Path,
    name: str,
    address: str,
    text: str,
    wire: Wire,
    clock: Callable[[], float] | None = None,
) -> Daemon:
    path = tmp / f"{name}.yaml"
    path.write_text(text)
    # eth0 carries the outer address (`external-interface eth0`)
    kernel = FakeKernel(clock=clock) if clock is not None else FakeKernel()
    daemon = Daemon(str(path), kernel, socket_path=str(tmp / f"{name}.sock"))
    wire.attach(address, daemon)
    return daemon


async def seed(daemon: Daemon, address: str) -> None:
    kernel = daemon.kernel
    assert isinstance(kernel, FakeKernel)
    await kernel.add_address("eth0", f"{address}/24")


async def until(cond: Callable[[], bool], turns: int = 5000) -> None:
    """Yield to the loop until `cond` holds: exchanges need loop turns, never wall time."""
    for _ in range(turns):
        if cond():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


class FakeEcho:
    """Records each echo; while `answering`, the reply comes back on the next loop turn."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.sent: list[tuple[str, str, int, int, str | None]] = []
        self.answering = True
        self.closed = False

    def send(self, src: str, dst: str, ident: int, seq: int, device: str | None) -> None:
        self.sent.append((src, dst, ident, seq, device))
        if self.answering:
            asyncio.get_running_loop().call_soon(self.daemon.echo_reply, ident, seq)

    def close(self) -> None:
        self.closed = True
